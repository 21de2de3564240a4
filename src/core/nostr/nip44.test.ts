// The official NIP-44 v2 vectors (paulmillr/nip44, nip44.vectors.json) through nostr-tools'
// nip44 — the implementation our NIP-17 gift wraps use.
import { describe, expect, it } from 'vitest'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { getPublicKey } from 'nostr-tools/pure'
import * as nip44 from 'nostr-tools/nip44'
import vectors from './nip44.vectors.json'
import { checkNip44PlaintextSize } from './nip17'

const v2 = vectors.v2

describe('NIP-44 v2 vectors', () => {
  it('derives every conversation key', () => {
    for (const v of v2.valid.get_conversation_key) {
      const key = nip44.v2.utils.getConversationKey(hexToBytes(v.sec1), v.pub2)
      expect(bytesToHex(key)).toBe(v.conversation_key)
    }
  })

  it('computes padded lengths', () => {
    for (const [len, padded] of v2.valid.calc_padded_len) {
      expect(nip44.v2.utils.calcPaddedLen(len!)).toBe(padded)
    }
  })

  it('encrypts to the exact payloads and decrypts them back', () => {
    for (const v of v2.valid.encrypt_decrypt) {
      const key = nip44.v2.utils.getConversationKey(
        hexToBytes(v.sec1),
        getPublicKey(hexToBytes(v.sec2)),
      )
      expect(bytesToHex(key)).toBe(v.conversation_key)
      const payload = nip44.v2.encrypt(v.plaintext, key, hexToBytes(v.nonce))
      expect(payload).toBe(v.payload)
      expect(nip44.v2.decrypt(v.payload, key)).toBe(v.plaintext)
    }
  })

  it('handles the long messages', () => {
    for (const v of v2.valid.encrypt_decrypt_long_msg) {
      const plaintext = v.pattern.repeat(v.repeat)
      expect(bytesToHex(sha256(new TextEncoder().encode(plaintext)))).toBe(v.plaintext_sha256)
      const payload = nip44.v2.encrypt(
        plaintext,
        hexToBytes(v.conversation_key),
        hexToBytes(v.nonce),
      )
      expect(bytesToHex(sha256(new TextEncoder().encode(payload)))).toBe(v.payload_sha256)
      expect(nip44.v2.decrypt(payload, hexToBytes(v.conversation_key))).toBe(plaintext)
    }
  })

  it('refuses the lengths the spec forbids (our guard before every NIP-17 encryption)', () => {
    for (const len of v2.invalid.encrypt_msg_lengths) {
      expect(() => checkNip44PlaintextSize('a'.repeat(len))).toThrow(/too long|empty/)
    }
    expect(() => checkNip44PlaintextSize('a'.repeat(65535))).not.toThrow()
  })

  it('refuses invalid keys', () => {
    for (const v of v2.invalid.get_conversation_key) {
      expect(() => nip44.v2.utils.getConversationKey(hexToBytes(v.sec1), v.pub2)).toThrow()
    }
  })

  it('refuses every invalid payload', () => {
    for (const v of v2.invalid.decrypt) {
      expect(() => nip44.v2.decrypt(v.payload, hexToBytes(v.conversation_key))).toThrow()
    }
  })
})
