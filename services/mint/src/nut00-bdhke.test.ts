import { describe, expect, it } from 'vitest'
import { blindMessage, hashToCurve } from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js'
import { parsePoint, proofY, signBlinded, verifyProofSignature } from './nut00-bdhke'
import vectors from './nut00-bdhke.vectors.json'

describe('NUT-00 BDHKE (spec vectors)', () => {
  it.each(vectors.hashToCurve)('hash_to_curve($message)', ({ message, point }) => {
    expect(hashToCurve(hexToBytes(message)).toHex(true)).toBe(point)
  })

  it.each(vectors.blindedMessages)('blinded message B_ for x=$x', ({ x, r, B_ }) => {
    const { B_: b } = blindMessage(hexToBytes(x), BigInt('0x' + r))
    expect(b.toHex(true)).toBe(B_)
  })

  it.each(vectors.blindSignatures)('blind signature C_ = k·B_ (k=$k)', ({ k, B_, C_ }) => {
    expect(signBlinded(parsePoint(B_), hexToBytes(k), '00')).toBe(C_)
  })
})

describe('mint verification of (secret, C)', () => {
  it('accepts an unblinded signature and rejects a forged one', () => {
    const k = secp256k1.utils.randomSecretKey()
    const K = secp256k1.Point.fromBytes(secp256k1.getPublicKey(k, true))
    const secret = bytesToHex(randomBytes(32))
    const { B_, r } = blindMessage(new TextEncoder().encode(secret))
    const C_ = parsePoint(signBlinded(B_, k, '00'))
    const C = C_.subtract(K.multiply(r)).toHex(true)
    expect(verifyProofSignature(secret, C, k)).toBe(true)
    expect(verifyProofSignature(secret + 'x', C, k)).toBe(false)
    expect(verifyProofSignature(secret, C, secp256k1.utils.randomSecretKey())).toBe(false)
    expect(verifyProofSignature(secret, '02' + '00'.repeat(32), k)).toBe(false)
    expect(proofY(secret)).toBe(hashToCurve(new TextEncoder().encode(secret)).toHex(true))
  })
})
