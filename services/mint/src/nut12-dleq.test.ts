import { describe, expect, it } from 'vitest'
import { hash_e, hasValidDleq, pointFromHex, verifyDLEQProof } from '@cashu/cashu-ts'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { dleqProof } from './nut12-dleq'
import vectors from './nut12-dleq.vectors.json'

describe('NUT-12 DLEQ (spec vectors)', () => {
  it('hash_e(R1, R2, K, C_)', () => {
    const v = vectors.hashE
    expect(bytesToHex(hash_e([v.R1, v.R2, v.K, v.C_].map(pointFromHex)))).toBe(v.hash)
  })

  it('derives the nonce deterministically and reproduces e and s exactly', () => {
    const v = vectors.deterministicNonce
    const p = dleqProof(pointFromHex(v.B_), hexToBytes(v.a))
    expect(p).toEqual({ e: v.e, s: v.s })
    const again = dleqProof(pointFromHex(v.B_), hexToBytes(v.a))
    expect(again).toEqual(p)
  })

  it('verifies the DLEQ on a BlindSignature', () => {
    const v = vectors.blindSignature
    const ok = verifyDLEQProof(
      { e: hexToBytes(v.signature.dleq.e), s: hexToBytes(v.signature.dleq.s) },
      pointFromHex(v.B_),
      pointFromHex(v.signature.C_),
      pointFromHex(v.A),
    )
    expect(ok).toBe(true)
  })

  it('verifies the DLEQ carried in a Proof', () => {
    const v = vectors.proof
    const keyset = { id: v.proof.id, keys: { [String(v.proof.amount)]: v.A } }
    expect(hasValidDleq(v.proof as never, keyset as never)).toBe(true)
  })
})
