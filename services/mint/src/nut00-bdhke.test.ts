import { describe, expect, it } from 'vitest'
import { blindMessage, hashToCurve as cashuHashToCurve, pointFromHex } from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js'
import {
  hashToCurve,
  parsePoint,
  proofY,
  secretPoint,
  signBlinded,
  pointHex,
  verifyProofSignature,
} from './nut00-bdhke'
import vectors from './nut00-bdhke.vectors.json'

describe('NUT-00 BDHKE on libsecp256k1 (spec vectors)', () => {
  it.each(vectors.hashToCurve)('hash_to_curve($message)', ({ message, point }) => {
    expect(pointHex(hashToCurve(hexToBytes(message)))).toBe(point)
  })

  it.each(vectors.blindedMessages)('blinded message B_ for x=$x', ({ x, r, B_ }) => {
    const { B_: b } = blindMessage(hexToBytes(x), BigInt('0x' + r))
    expect(b.toHex(true)).toBe(B_)
  })

  it.each(vectors.blindSignatures)('blind signature C_ = k·B_ (k=$k)', ({ k, B_, C_ }) => {
    expect(pointHex(signBlinded(parsePoint(B_), hexToBytes(k)))).toBe(C_)
  })
})

describe('agrees with the pure-JS implementation (cashu-ts on @noble/curves)', () => {
  it('hash_to_curve and k·B_ on 50 random inputs', () => {
    for (let i = 0; i < 50; i++) {
      const msg = randomBytes(1 + (i % 40))
      expect(pointHex(hashToCurve(msg))).toBe(cashuHashToCurve(msg).toHex(true))
      const k = secp256k1.utils.randomSecretKey()
      const B = secp256k1.Point.BASE.multiply(secp256k1.Point.Fn.fromBytes(randomBytes(32)))
      expect(pointHex(signBlinded(parsePoint(B.toHex(true)), k))).toBe(
        B.multiply(secp256k1.Point.Fn.fromBytes(k)).toHex(true),
      )
    }
  })

  it('parses an uncompressed point to its compressed form', () => {
    const P = secp256k1.Point.BASE.multiply(7n)
    expect(pointHex(parsePoint(P.toHex(false)))).toBe(P.toHex(true))
  })

  it.each([
    ['x not on the curve', '02' + '00'.repeat(32)],
    ['bad prefix', '05' + secp256k1.Point.BASE.toHex(true).slice(2)],
    ['too short', '02abcd'],
    ['not hex', 'zz'.repeat(33)],
    ['empty', ''],
  ])('refuses a point that is %s', (_what, hex) => {
    expect(() => parsePoint(hex)).toThrow()
  })
})

describe('mint verification of (secret, C)', () => {
  it('accepts an unblinded signature and rejects a forged one', () => {
    const k = secp256k1.utils.randomSecretKey()
    const K = secp256k1.Point.fromBytes(secp256k1.getPublicKey(k, true))
    const secret = bytesToHex(randomBytes(32))
    const { B_, r } = blindMessage(new TextEncoder().encode(secret))
    const C_ = pointFromHex(pointHex(signBlinded(parsePoint(B_.toHex(true)), k)))
    const C = C_.subtract(K.multiply(r)).toHex(true)
    expect(verifyProofSignature(secret, C, k)).toBe(true)
    expect(verifyProofSignature(secret, C, k, secretPoint(secret))).toBe(true)
    expect(verifyProofSignature(secret, C, k, secretPoint(secret + 'x'))).toBe(false)
    expect(verifyProofSignature(secret, C.toUpperCase(), k)).toBe(true)
    expect(verifyProofSignature(secret + 'x', C, k)).toBe(false)
    expect(verifyProofSignature(secret, C, secp256k1.utils.randomSecretKey())).toBe(false)
    expect(verifyProofSignature(secret, '02' + '00'.repeat(32), k)).toBe(false)
    expect(verifyProofSignature(secret, C_.toHex(true), k)).toBe(false)
    expect(proofY(secret)).toBe(cashuHashToCurve(new TextEncoder().encode(secret)).toHex(true))
  })
})
