// NIP-17 private direct messages: a kind 14 rumor (unsigned), sealed (kind 13, NIP-44 v2 to the
// recipient, signed by the sender) and gift-wrapped (kind 1059, NIP-44 v2 from a one-time key)
// once per recipient and once to ourselves, sent to each recipient's kind 10050 inbox relays.
// Relays only ever see kind 1059 from us. Legacy NIP-04 (kind 4) is read here, never written.
// https://github.com/nostr-protocol/nips/blob/master/17.md, …/59.md, …/04.md
// The crypto is nostr-tools' (nip44, nip59, nip04); this file only decides what goes in them.
import * as nip59 from 'nostr-tools/nip59'
import * as nip04 from 'nostr-tools/nip04'
import { getPublicKey, type Event, type EventTemplate } from 'nostr-tools/pure'
import { FlashError } from '../errors'

export const KIND_CHAT = 14
export const KIND_SEAL = 13
export const KIND_GIFT_WRAP = 1059
export const KIND_LEGACY_DM = 4
export const KIND_DM_RELAYS = 10050

export interface Rumor {
  readonly id: string
  readonly pubkey: string
  readonly created_at: number
  readonly kind: number
  readonly tags: string[][]
  readonly content: string
}

/**
 * NIP-44 v2 plaintexts are 1..65535 bytes. nostr-tools also accepts a proposed extended length;
 * other clients would reject such payloads, so we hold to the published limit.
 */
export function checkNip44PlaintextSize(plaintext: string): void {
  const bytes = new TextEncoder().encode(plaintext).length
  if (bytes < 1 || bytes > 65535) {
    throw new FlashError(
      'nostr.message_too_long',
      bytes < 1 ? 'The message is empty.' : 'This message is too long to send privately.',
      'Shorten the message (or split it in several) and send it again.',
    )
  }
}

/** A DM conversation is the set of its participants other than us (NIP-17: pubkey + p tags). */
export function dmConversationId(me: string, participants: readonly string[]): string {
  const others = [...new Set(participants.filter((p) => p !== me))].sort()
  return `dm:${(others.length ? others : [me]).join(',')}`
}

export function peersOfConversation(id: string): string[] {
  return id.startsWith('dm:') ? id.slice(3).split(',').filter(Boolean) : []
}

/**
 * Builds the wraps for one message: one per recipient and one for us (our copy, so our other
 * devices and our own history can read what we sent). All wraps carry the same rumor.
 */
export function createDirectMessage(
  senderKey: Uint8Array,
  recipients: readonly string[],
  text: string,
  opts: { subject?: string; replyTo?: string; now?: number } = {},
): { rumor: Rumor; wraps: { recipient: string; wrap: Event }[] } {
  const me = getPublicKey(senderKey)
  const to = [...new Set(recipients)].filter((p) => p !== me)
  const tags: string[][] = to.map((p) => ['p', p])
  if (opts.replyTo) tags.push(['e', opts.replyTo, '', 'reply'])
  if (opts.subject) tags.push(['subject', opts.subject])
  const rumor = nip59.createRumor(
    {
      kind: KIND_CHAT,
      content: text,
      tags,
      created_at: opts.now ?? Math.floor(Date.now() / 1000),
    },
    senderKey,
  ) as Rumor
  checkNip44PlaintextSize(JSON.stringify(rumor))
  const wraps = [...to, me].map((recipient) => {
    const seal = nip59.createSeal(rumor, senderKey, recipient)
    checkNip44PlaintextSize(JSON.stringify(seal))
    return { recipient, wrap: nip59.createWrap(seal, recipient) }
  })
  return { rumor, wraps }
}

/** Opens a gift wrap addressed to us: verifies the seal and that it and the rumor agree. */
export function openGiftWrap(wrap: Event, recipientKey: Uint8Array): Rumor {
  return nip59.unwrapEvent(wrap, recipientKey) as Rumor
}

/** Participants named by a kind 14 rumor: its author and its p tags. */
export function rumorParticipants(rumor: Rumor): string[] {
  return [rumor.pubkey, ...rumor.tags.filter((t) => t[0] === 'p' && t[1]).map((t) => t[1]!)]
}

/** Our kind 10050: where others should send us private messages. */
export function inboxRelayList(relays: readonly string[]): EventTemplate {
  return {
    kind: KIND_DM_RELAYS,
    created_at: Math.floor(Date.now() / 1000),
    tags: relays.map((r) => ['relay', r]),
    content: '',
  }
}

export function inboxRelaysOf(event: Event): string[] {
  return event.tags
    .filter((t) => t[0] === 'relay' && typeof t[1] === 'string' && /^wss?:\/\//.test(t[1]))
    .map((t) => t[1]!)
}

/** Reads a legacy NIP-04 message (to us or from us). Returns the peer and the text. */
export function readLegacyDirectMessage(
  event: Event,
  myKey: Uint8Array,
): { peer: string; text: string } {
  const me = getPublicKey(myKey)
  const tagged = event.tags.find((t) => t[0] === 'p')?.[1]
  const peer = event.pubkey === me ? tagged : event.pubkey
  if (!peer) throw new Error('legacy message without a recipient')
  return { peer, text: nip04.decrypt(myKey, peer, event.content) }
}
