import { describe, expect, it } from 'vitest'
import {
  blindMessage,
  createBlindSignature,
  createDLEQProof,
  hasValidDleq as cashuHasValidDleq,
  hashToCurve as cashuHashToCurve,
} from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js'
import { hashToCurve, hasValidDleq } from './nut12-dleq'
import vectors from './nut12-dleq.vectors.json'

const v = vectors.proof
const keyset = { id: v.proof.id, keys: { [String(v.proof.amount)]: v.A } }

/** A proof as a wallet receives it: unblinded, with the DLEQ and blinding factor r. */
function issued() {
  const a = secp256k1.utils.randomSecretKey()
  const A = secp256k1.Point.fromBytes(secp256k1.getPublicKey(a, true))
  const secret = bytesToHex(randomBytes(32))
  const { B_, r } = blindMessage(new TextEncoder().encode(secret))
  const C_ = createBlindSignature(B_, a, '00').C_
  const dleq = createDLEQProof(B_, a)
  const proof = {
    id: '00',
    amount: 8,
    secret,
    C: C_.subtract(A.multiply(r)).toHex(true),
    dleq: { e: bytesToHex(dleq.e), s: bytesToHex(dleq.s), r: r.toString(16).padStart(64, '0') },
  }
  return { proof, keyset: { id: '00', keys: { '8': A.toHex(true) } } }
}

describe('NUT-12 proof DLEQ on libsecp256k1', () => {
  it('accepts the spec vector', () => {
    expect(hasValidDleq(v.proof, keyset)).toBe(true)
  })

  it('hash_to_curve matches cashu-ts', () => {
    for (let i = 0; i < 20; i++) {
      const m = randomBytes(1 + i)
      expect(bytesToHex(hashToCurve(m))).toBe(cashuHashToCurve(m).toHex(true))
    }
  })

  it.each([
    ['another secret', { secret: v.proof.secret.replace(/^d/, 'e') }],
    ['another C', { C: v.A }],
    ['another amount (no key)', { amount: 2 }],
    ['e changed', { dleq: { ...v.proof.dleq, e: v.proof.dleq.s } }],
    ['s ≥ n', { dleq: { ...v.proof.dleq, s: 'f'.repeat(64) } }],
    ['r missing', { dleq: { e: v.proof.dleq.e, s: v.proof.dleq.s } }],
    ['no DLEQ', { dleq: undefined }],
    ['C not a point', { C: '02' + '00'.repeat(32) }],
  ])('refuses the spec vector with %s', (_what, change) => {
    expect(hasValidDleq({ ...v.proof, ...change }, keyset)).toBe(false)
  })

  it('agrees with cashu-ts on 25 freshly issued proofs, valid and tampered', () => {
    for (let i = 0; i < 25; i++) {
      const { proof, keyset: ks } = issued()
      expect(hasValidDleq(proof, ks)).toBe(true)
      expect(cashuHasValidDleq(proof as never, ks)).toBe(true)
      const other = issued().keyset
      expect(hasValidDleq(proof, other)).toBe(false)
      expect(cashuHasValidDleq(proof as never, other)).toBe(false)
    }
  })
})
