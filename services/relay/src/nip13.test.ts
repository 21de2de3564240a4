import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { getPow } from 'nostr-tools/nip13'
import { difficulty } from './nip13'

describe('NIP-13', () => {
  it('counts leading zero bits like the spec example and nostr-tools', () => {
    expect(difficulty('000000000e9d97a1ab09fc381030b346cdd7a142ad57e6df0b46dc9bef6c7e2d')).toBe(36)
    expect(difficulty('f'.repeat(64))).toBe(0)
    expect(difficulty('0'.repeat(64))).toBe(256)
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(32)
      bytes[0] = bytes[0]! >> (i % 8)
      if (i % 3 === 0) bytes[1] = 0
      const id = bytes.toString('hex')
      expect(difficulty(id)).toBe(getPow(id))
    }
  })
})
