// NUT-12 DLEQ verification of a proof the wallet receives (Carol's check), on libsecp256k1
// compiled to WebAssembly (tiny-secp256k1) instead of cashu-ts's pure-JS point arithmetic:
//   Y = hash_to_curve(secret), C' = C + r·A, B' = Y + r·G,
//   R1 = s·G − e·A, R2 = s·B' − e·C', valid iff e == hash(R1, R2, A, C').
// The mint has its own copy of hash_to_curve (services/ are standalone).
// https://github.com/cashubtc/nuts/blob/main/12.md
import { createHash } from 'node:crypto'
import * as ecc from 'tiny-secp256k1'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'

const DOMAIN_SEPARATOR = new TextEncoder().encode('Secp256k1_HashToCurve_Cashu_')

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** NUT-00 hash_to_curve, as a 33-byte compressed point. */
export function hashToCurve(message: Uint8Array): Uint8Array {
  const msgHash = sha256(DOMAIN_SEPARATOR, message)
  const counter = new Uint8Array(4)
  const view = new DataView(counter.buffer)
  const candidate = new Uint8Array(33)
  candidate[0] = 0x02
  for (let i = 0; i < 2 ** 16; i++) {
    view.setUint32(0, i, true)
    candidate.set(sha256(msgHash, counter), 1)
    if (ecc.isPoint(candidate)) return candidate
  }
  throw new Error('hash_to_curve: no valid point found')
}

/** −P for a compressed point: the same x, the other y. */
function negate(p: Uint8Array): Uint8Array {
  const out = p.slice()
  out[0] = p[0] === 0x02 ? 0x03 : 0x02
  return out
}

const HEX64 = /^[0-9a-fA-F]{64}$/
const HEX66 = /^0[23][0-9a-fA-F]{64}$/

export interface DleqProof {
  readonly amount: number | { toString(): string }
  readonly secret: string
  readonly C: string
  readonly dleq?: { readonly e: string; readonly s: string; readonly r?: string }
}

/**
 * Does the proof's DLEQ show the mint's key for its amount signed it? false for anything
 * malformed, a missing key or a missing DLEQ (the caller decides whether a DLEQ is required).
 */
export function hasValidDleq(
  proof: DleqProof,
  keyset: { readonly keys: Readonly<Record<string, string>> },
): boolean {
  const d = proof.dleq
  const A = keyset.keys[String(proof.amount)]
  if (!d || !A || !HEX66.test(A) || !HEX66.test(proof.C)) return false
  if (![d.e, d.s, d.r ?? ''].every((x) => HEX64.test(x))) return false
  try {
    const a = hexToBytes(A)
    const e = hexToBytes(d.e)
    const s = hexToBytes(d.s)
    const r = hexToBytes(d.r!)
    const C = hexToBytes(proof.C)
    const Y = hashToCurve(new TextEncoder().encode(proof.secret))
    const C_ = ecc.pointAdd(C, ecc.pointMultiply(a, r, true)!, true)
    const B_ = ecc.pointAdd(Y, ecc.pointFromScalar(r, true)!, true)
    if (!C_ || !B_) return false
    const R1 = ecc.pointAdd(
      ecc.pointFromScalar(s, true)!,
      negate(ecc.pointMultiply(a, e, true)!),
      false,
    )
    const R2 = ecc.pointAdd(
      ecc.pointMultiply(B_, s, true)!,
      negate(ecc.pointMultiply(C_, e, true)!),
      false,
    )
    if (!R1 || !R2) return false
    const hex = [R1, R2, ecc.pointCompress(a, false), ecc.pointCompress(C_, false)]
      .map(bytesToHex)
      .join('')
    return bytesToHex(createHash('sha256').update(hex, 'utf8').digest()) === d.e.toLowerCase()
  } catch {
    // A scalar out of range (e, s or r ≥ n, or 0) or a point not on the curve.
    return false
  }
}
