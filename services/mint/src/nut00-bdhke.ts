// NUT-00 Blind Diffie-Hellman key exchange, mint side: sign B_, verify (secret, C).
// The point arithmetic runs on libsecp256k1 compiled to WebAssembly (tiny-secp256k1): an
// arbitrary-point multiplication is ~10× faster there than in pure JS, and a swap is a handful
// of them. Points are kept uncompressed (65 bytes) between calls, so libsecp256k1 never has to
// take a square root again to read one back; they are compressed (by the parity of y) only for
// the wire.
// https://github.com/cashubtc/nuts/blob/main/00.md
import { createHash } from 'node:crypto'
import * as ecc from 'tiny-secp256k1'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'

/** A curve point as 65-byte uncompressed SEC1 (never the point at infinity). */
export type Point = Uint8Array

/** 33-byte compressed SEC1 of a point: 0x02/0x03 by the parity of y, then x. */
export function compress(p: Point): Uint8Array {
  const out = new Uint8Array(33)
  out[0] = 0x02 | (p[64]! & 1)
  out.set(p.subarray(1, 33), 1)
  return out
}

/** Compressed hex of a point, as the wire carries it. */
export const pointHex = (p: Point): string => bytesToHex(compress(p))

const DOMAIN_SEPARATOR = new TextEncoder().encode('Secp256k1_HashToCurve_Cashu_')
const encoder = new TextEncoder()

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

/**
 * hash_to_curve(x): msg_hash = SHA256(DOMAIN_SEPARATOR ‖ x); the first counter (uint32 LE) for
 * which 0x02 ‖ SHA256(msg_hash ‖ counter) is a valid point gives Y.
 */
export function hashToCurve(message: Uint8Array): Point {
  const msgHash = sha256(DOMAIN_SEPARATOR, message)
  const counter = new Uint8Array(4)
  const view = new DataView(counter.buffer)
  const candidate = new Uint8Array(33)
  candidate[0] = 0x02
  for (let i = 0; i < 2 ** 16; i++) {
    view.setUint32(0, i, true)
    candidate.set(sha256(msgHash, counter), 1)
    if (ecc.isPoint(candidate)) return ecc.pointCompress(candidate, false)
  }
  throw new Error('hash_to_curve: no valid point found')
}

/** Y = hash_to_curve(secret), the proof's nullifier, as compressed hex. */
export function proofY(secret: string): string {
  return pointHex(secretPoint(secret))
}

/** Y = hash_to_curve(secret) as a point. */
export function secretPoint(secret: string): Point {
  return hashToCurve(encoder.encode(secret))
}

/** Parse a SEC1 point (compressed or not); throws on anything not on the curve (incl. infinity). */
export function parsePoint(hex: string): Point {
  if (!/^[0-9a-fA-F]+$/.test(hex) || (hex.length !== 66 && hex.length !== 130))
    throw new Error('not a SEC1 point')
  const bytes = hexToBytes(hex)
  if (!ecc.isPoint(bytes)) throw new Error('not a point on secp256k1')
  return bytes.length === 65 ? bytes : ecc.pointCompress(bytes, false)
}

/** k · P; throws if k is not a valid scalar. */
export function multiply(P: Point, k: Uint8Array): Point {
  const out = ecc.pointMultiply(P, k, false)
  if (!out) throw new Error('point multiplication gave the point at infinity')
  return out
}

/** C_ = k · B_ */
export function signBlinded(B_: Point, k: Uint8Array): Point {
  return multiply(B_, k)
}

/** k · hash_to_curve(secret) == C. Pass Y = hash_to_curve(secret) when already computed. */
export function verifyProofSignature(
  secret: string,
  C: string,
  k: Uint8Array,
  Y: Point = hashToCurve(encoder.encode(secret)),
): boolean {
  let c: Point
  try {
    c = parsePoint(C)
  } catch {
    return false
  }
  const expected = multiply(Y, k)
  return Buffer.compare(expected, c) === 0 // both uncompressed: equal bytes, equal points
}
