import { describe, expect, it } from 'vitest'
import { createDLEQProof, hasValidDleq, pointFromHex, verifyDLEQProof } from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js'
import { parsePoint, pointHex, signBlinded } from './nut00-bdhke'
import { dleqProof, hashE } from './nut12-dleq'
import vectors from './nut12-dleq.vectors.json'

describe('NUT-12 DLEQ on libsecp256k1 (spec vectors)', () => {
  it('hash_e(R1, R2, K, C_)', () => {
    const v = vectors.hashE
    expect(bytesToHex(hashE([v.R1, v.R2, v.K, v.C_].map(parsePoint)))).toBe(v.hash)
  })

  it('derives the nonce deterministically and reproduces e and s exactly', () => {
    const v = vectors.deterministicNonce
    const B_ = parsePoint(v.B_)
    const a = hexToBytes(v.a)
    expect(pointHex(signBlinded(B_, a))).toBe(v.C_)
    expect(dleqProof(B_, a)).toEqual({ e: v.e, s: v.s })
    expect(dleqProof(B_, a, signBlinded(B_, a))).toEqual({ e: v.e, s: v.s })
  })

  it('the spec vectors for verification hold (checked with cashu-ts)', () => {
    const v = vectors.blindSignature
    const ok = verifyDLEQProof(
      { e: hexToBytes(v.signature.dleq.e), s: hexToBytes(v.signature.dleq.s) },
      pointFromHex(v.B_),
      pointFromHex(v.signature.C_),
      pointFromHex(v.A),
    )
    expect(ok).toBe(true)
    const p = vectors.proof
    const keyset = { id: p.proof.id, keys: { [String(p.proof.amount)]: p.A } }
    expect(hasValidDleq(p.proof as never, keyset as never)).toBe(true)
  })
})

describe('agrees with the pure-JS implementation (cashu-ts on @noble/curves)', () => {
  it('same e and s as createDLEQProof, and cashu-ts verifies ours, on 30 random keys', () => {
    for (let i = 0; i < 30; i++) {
      const a = secp256k1.utils.randomSecretKey()
      const A = secp256k1.Point.fromBytes(secp256k1.getPublicKey(a, true))
      const Bp = secp256k1.Point.BASE.multiply(secp256k1.Point.Fn.fromBytes(randomBytes(32)))
      const ours = dleqProof(parsePoint(Bp.toHex(true)), a)
      const theirs = createDLEQProof(Bp, a)
      expect(ours).toEqual({ e: bytesToHex(theirs.e), s: bytesToHex(theirs.s) })
      const C_ = Bp.multiply(secp256k1.Point.Fn.fromBytes(a))
      const proof = { e: hexToBytes(ours.e), s: hexToBytes(ours.s) }
      expect(verifyDLEQProof(proof, Bp, C_, A)).toBe(true)
      // The same proof does not vouch for a different signature.
      expect(verifyDLEQProof(proof, Bp, C_.add(secp256k1.Point.BASE), A)).toBe(false)
    }
  })
})
