import { describe, expect, it } from 'vitest'
import { generateSecretKey, getPublicKey, finalizeEvent } from 'nostr-tools/pure'
import * as nip04 from 'nostr-tools/nip04'
import * as nip59 from 'nostr-tools/nip59'
import {
  createDirectMessage,
  dmConversationId,
  openGiftWrap,
  readLegacyDirectMessage,
  rumorParticipants,
} from './nip17'

const alice = generateSecretKey()
const bob = generateSecretKey()
const A = getPublicKey(alice)
const B = getPublicKey(bob)

describe('NIP-17 direct messages', () => {
  it('wraps one rumor for the recipient and for ourselves; only kind 1059 leaves', () => {
    const { rumor, wraps } = createDirectMessage(alice, [B], 'hello', { subject: 'Order' })
    expect(rumor.kind).toBe(14)
    expect(rumor.tags).toEqual([
      ['p', B],
      ['subject', 'Order'],
    ])
    expect((rumor as { sig?: string }).sig).toBeUndefined()
    expect(wraps.map((w) => w.recipient)).toEqual([B, A])
    for (const w of wraps) {
      expect(w.wrap.kind).toBe(1059)
      expect(w.wrap.pubkey).not.toBe(A) // one-time key
      expect(w.wrap.tags).toEqual([['p', w.recipient]])
      expect(w.wrap.content).not.toContain('hello')
    }
    const forBob = openGiftWrap(wraps[0]!.wrap, bob)
    const forMe = openGiftWrap(wraps[1]!.wrap, alice)
    expect(forBob.id).toBe(rumor.id)
    expect(forMe.id).toBe(rumor.id)
    expect(forMe.tags).toEqual(rumor.tags) // our copy still names Bob, not us
    expect(dmConversationId(B, rumorParticipants(forBob))).toBe(`dm:${A}`)
    expect(dmConversationId(A, rumorParticipants(forMe))).toBe(`dm:${B}`)
    expect(() => openGiftWrap(wraps[0]!.wrap, generateSecretKey())).toThrow()
  })

  it('refuses a seal whose author differs from the rumor’s (impersonation)', () => {
    const mallory = generateSecretKey()
    const rumor = nip59.createRumor({ kind: 14, content: 'pay me', tags: [['p', B]] }, alice)
    const seal = nip59.createSeal(rumor, mallory, B)
    expect(() => openGiftWrap(nip59.createWrap(seal, B), bob)).toThrow()
  })

  it('reads legacy NIP-04 messages both ways', () => {
    const sent = finalizeEvent(
      { kind: 4, created_at: 1, tags: [['p', B]], content: nip04.encrypt(alice, B, 'old hi') },
      alice,
    )
    expect(readLegacyDirectMessage(sent, bob)).toEqual({ peer: A, text: 'old hi' })
    expect(readLegacyDirectMessage(sent, alice)).toEqual({ peer: B, text: 'old hi' })
  })
})
