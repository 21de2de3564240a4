// Boltcard deterministic keys against the spec's vectors (boltcard docs/DETERMINISTIC.md).
import { describe, expect, it } from 'vitest'
import d from './deterministic-keys.vectors.json'
import { fromHex, hex } from './aes-cmac'
import { cardId, cardKey, deriveKeys, encryptionKey } from './deterministic-keys'

describe('DETERMINISTIC.md', () => {
  it.each(d.vectors.map((x) => [x.uid, x] as const))('UID %s', (_uid, x) => {
    const issuer = fromHex(x.issuerKey)
    const uid = fromHex(x.uid)
    expect(hex(cardKey(issuer, uid, x.version))).toBe(x.cardKey)
    const k = deriveKeys(issuer, uid, x.version)
    expect([k.k0, k.k1, k.k2, k.k3, k.k4].map(hex)).toEqual([x.k0, x.k1, x.k2, x.k3, x.k4])
    expect(hex(cardId(issuer, uid))).toBe(x.id)
    expect(hex(encryptionKey(issuer))).toBe(x.k1)
  })

  it('another version gives other card keys but the same K1 and ID', () => {
    const x = d.vectors[0]!
    const issuer = fromHex(x.issuerKey)
    const uid = fromHex(x.uid)
    const next = deriveKeys(issuer, uid, x.version + 1)
    expect(hex(next.k0)).not.toBe(x.k0)
    expect(hex(next.k2)).not.toBe(x.k2)
    expect(hex(next.k1)).toBe(x.k1)
    expect(() => deriveKeys(issuer, uid.subarray(0, 6), 1)).toThrow(RangeError)
  })
})
