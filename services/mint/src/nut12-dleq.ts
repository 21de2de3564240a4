// NUT-12 DLEQ proofs on blind signatures, with the spec's deterministic nonce
// r = HMAC-SHA256(a, "Cashu_DLEQ_R_v1" ‖ A ‖ B' ‖ C' ‖ ctr) (points uncompressed, ctr one byte,
// first r in [1, n)). R1 = r·G, R2 = r·B', e = hash(R1, R2, A, C'), s = r + e·a mod n.
// Point arithmetic on libsecp256k1 (WebAssembly), scalars as bigint.
// https://github.com/cashubtc/nuts/blob/main/12.md
import { createHash, createHmac } from 'node:crypto'
import * as ecc from 'tiny-secp256k1'
import { bytesToHex } from '@noble/hashes/utils.js'
import { multiply, type Point } from './nut00-bdhke'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const NONCE_TAG = new TextEncoder().encode('Cashu_DLEQ_R_v1')

const toBigInt = (b: Uint8Array) => BigInt('0x' + bytesToHex(b))
const to32 = (n: bigint) => n.toString(16).padStart(64, '0')
/** hash_e: SHA256 of the concatenated uncompressed hex encodings of the points (all uncompressed here). */
export function hashE(points: readonly Point[]): Uint8Array {
  const hex = points.map((p) => bytesToHex(p)).join('')
  return createHash('sha256').update(hex, 'utf8').digest()
}

// A = a·G per key: the keyset's keys are few and fixed, so cache them.
const publicKeys = new WeakMap<Uint8Array, Point>()
function publicKeyOf(a: Uint8Array): Point {
  let A = publicKeys.get(a)
  if (!A) {
    A = ecc.pointFromScalar(a, false)!
    publicKeys.set(a, A)
  }
  return A
}

function nonce(a: Uint8Array, A: Point, B_: Point, C_: Point): Uint8Array {
  const base = Buffer.concat([NONCE_TAG, A, B_, C_])
  for (let ctr = 0; ctr < 256; ctr++) {
    const r = createHmac('sha256', a).update(base).update(Uint8Array.of(ctr)).digest()
    const v = toBigInt(r)
    if (v > 0n && v < N) return r
  }
  throw new Error('DLEQ nonce derivation failed')
}

/** The DLEQ proof that C_ = a·B_ uses the same a as A = a·G. Pass C_ when already computed. */
export function dleqProof(
  B_: Point,
  a: Uint8Array,
  C_ = multiply(B_, a),
): { e: string; s: string } {
  const A = publicKeyOf(a)
  const r = nonce(a, A, B_, C_)
  const R1 = ecc.pointFromScalar(r, false)!
  const R2 = multiply(B_, r)
  const e = hashE([R1, R2, A, C_])
  const s = (toBigInt(r) + (((toBigInt(e) % N) * toBigInt(a)) % N)) % N
  return { e: bytesToHex(e), s: to32(s) }
}
