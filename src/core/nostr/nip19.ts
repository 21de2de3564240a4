// NIP-19 for display and input: what the user types (npub, nprofile, nevent, naddr, note, hex,
// `nostr:` URIs) becomes a typed reference; nsec is refused here (keys go through the keystore).
// https://github.com/nostr-protocol/nips/blob/master/19.md — codec by nostr-tools.
import * as nip19 from 'nostr-tools/nip19'
import { FlashError } from '../errors'
import type { DecodedReference } from '../../shared/api/nostr'

const HEX64 = /^[0-9a-f]{64}$/

export function npub(pubkey: string): string {
  return nip19.npubEncode(pubkey)
}

export function nprofile(pubkey: string, relays: readonly string[] = []): string {
  return nip19.nprofileEncode({ pubkey, relays: [...relays] })
}

export function nevent(id: string, opts: { relays?: string[]; author?: string; kind?: number }) {
  return nip19.neventEncode({ id, ...opts })
}

export function naddr(pointer: {
  identifier: string
  pubkey: string
  kind: number
  relays?: string[]
}): string {
  return nip19.naddrEncode(pointer)
}

function badReference(text: string): FlashError {
  return new FlashError(
    'nostr.bad_reference',
    `"${text.length > 24 ? text.slice(0, 24) + '…' : text}" is not a Nostr address this app understands.`,
    'Paste an npub1…, nprofile1…, nevent1… or naddr1… code, or a name@domain address.',
  )
}

/** Decodes a NIP-19 code or hex key typed by the user (NIP-05 names are resolved elsewhere). */
export function decodeReference(input: string): DecodedReference {
  let text = input.trim()
  if (text.toLowerCase().startsWith('nostr:')) text = text.slice(6)
  if (HEX64.test(text.toLowerCase())) {
    const pubkey = text.toLowerCase()
    return { type: 'hex', pubkey, npub: npub(pubkey), relays: [] }
  }
  if (text.startsWith('nsec1') || text.startsWith('ncryptsec1')) {
    throw new FlashError(
      'nostr.secret_pasted',
      'This is a secret key, not an address. Never share it.',
      'Ask the other person for their npub (it starts with npub1).',
    )
  }
  let decoded: nip19.DecodedResult
  try {
    decoded = nip19.decode(text)
  } catch {
    throw badReference(text)
  }
  switch (decoded.type) {
    case 'npub':
      return { type: 'npub', pubkey: decoded.data, npub: text, relays: [] }
    case 'nprofile':
      return {
        type: 'nprofile',
        pubkey: decoded.data.pubkey,
        npub: npub(decoded.data.pubkey),
        relays: decoded.data.relays ?? [],
      }
    case 'nevent':
      return {
        type: 'nevent',
        eventId: decoded.data.id,
        ...(decoded.data.author
          ? { pubkey: decoded.data.author, npub: npub(decoded.data.author) }
          : {}),
        ...(decoded.data.kind !== undefined ? { kind: decoded.data.kind } : {}),
        relays: decoded.data.relays ?? [],
      }
    case 'naddr':
      return {
        type: 'naddr',
        pubkey: decoded.data.pubkey,
        npub: npub(decoded.data.pubkey),
        kind: decoded.data.kind,
        identifier: decoded.data.identifier,
        relays: decoded.data.relays ?? [],
      }
    case 'note':
      return { type: 'note', eventId: decoded.data, relays: [] }
    default:
      throw badReference(text)
  }
}

/** A person's public key (hex) and relay hints from npub, nprofile or hex. */
export function decodePubkey(input: string): { pubkey: string; relays: readonly string[] } {
  const ref = decodeReference(input)
  if (!ref.pubkey || (ref.type !== 'npub' && ref.type !== 'nprofile' && ref.type !== 'hex')) {
    throw new FlashError(
      'nostr.not_a_person',
      'This code points to a post, not to a person.',
      'Paste the person’s npub1… or nprofile1… code.',
    )
  }
  return { pubkey: ref.pubkey, relays: ref.relays }
}
