// NUT-00 Blind Diffie-Hellman key exchange, mint side: sign B_, verify (secret, C).
// Uses the primitives @cashu/cashu-ts exports (hash_to_curve, createBlindSignature).
// https://github.com/cashubtc/nuts/blob/main/00.md
import { createBlindSignature, hashToCurve, pointFromHex } from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex } from '@noble/hashes/utils.js'

type Point = ReturnType<typeof pointFromHex>

const encoder = new TextEncoder()

/** Y = hash_to_curve(secret), the proof's nullifier, as compressed hex. */
export function proofY(secret: string): string {
  return hashToCurve(encoder.encode(secret)).toHex(true)
}

/** Parse a compressed point; throws on anything not on the curve (incl. infinity). */
export function parsePoint(hex: string): Point {
  const p = pointFromHex(hex)
  p.assertValidity()
  return p
}

/** C_ = k * B_ */
export function signBlinded(B_: Point, k: Uint8Array, keysetId: string): string {
  return createBlindSignature(B_, k, keysetId).C_.toHex(true)
}

/** k * hash_to_curve(secret) == C */
export function verifyProofSignature(secret: string, C: string, k: Uint8Array): boolean {
  let c: Point
  try {
    c = parsePoint(C)
  } catch {
    return false
  }
  const Y = hashToCurve(encoder.encode(secret))
  const scalar = secp256k1.Point.Fn.fromBytes(k)
  return Y.multiply(scalar).equals(c)
}

export const toHex = bytesToHex
