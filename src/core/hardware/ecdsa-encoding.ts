// What a PKCS#11 token gives back for secp256k1, turned into what Bitcoin expects.
// - CKM_ECDSA returns the raw r‖s (PKCS#11 v2.40 §2.3.1, "ECDSA signature … r and s, each nLen
//   bytes"); Bitcoin wants DER (BIP66) with a low S (BIP146 LOW_S, standardness since Core 0.11.1).
// - CKA_EC_POINT is the point's X9.62 encoding wrapped in a DER OCTET STRING (PKCS#11 v2.40
//   §2.3.3); Bitcoin scripts use the 33-byte compressed form (BIP143: only compressed keys in
//   segwit v0).
import { secp256k1 } from '@noble/curves/secp256k1.js'

const N = secp256k1.Point.Fn.ORDER
const HALF_N = N >> 1n

function toBigInt(bytes: Uint8Array): bigint {
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  return n
}

function toBytes32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}

export interface LowSSignature {
  /** 64 bytes r‖s with s ≤ n/2. */
  compact: Uint8Array
  /** True when the token's s was high and was replaced by n − s. */
  normalised: boolean
}

/** r‖s from CKM_ECDSA → the same signature with low S (s and n − s are both valid). */
export function lowS(rawRS: Uint8Array): LowSSignature {
  if (rawRS.length !== 64)
    throw new Error(`CKM_ECDSA on secp256k1 gives 64 bytes (r‖s), got ${rawRS.length}`)
  const r = toBigInt(rawRS.subarray(0, 32))
  const s = toBigInt(rawRS.subarray(32))
  if (r === 0n || r >= N || s === 0n || s >= N) throw new Error('ECDSA r or s out of range')
  if (s <= HALF_N) return { compact: Uint8Array.from(rawRS), normalised: false }
  const out = new Uint8Array(64)
  out.set(rawRS.subarray(0, 32))
  out.set(toBytes32(N - s), 32)
  return { compact: out, normalised: true }
}

/** 64-byte r‖s → strict DER (BIP66): minimal integers, a 0x00 pad where the top bit is set. */
export function derFromCompact(compact: Uint8Array): Uint8Array {
  const int = (b: Uint8Array): number[] => {
    let i = 0
    while (i < b.length - 1 && b[i] === 0) i++
    const v = [...b.subarray(i)]
    if (v[0]! & 0x80) v.unshift(0)
    return [0x02, v.length, ...v]
  }
  const body = [...int(compact.subarray(0, 32)), ...int(compact.subarray(32))]
  return Uint8Array.from([0x30, body.length, ...body])
}

/**
 * CKA_EC_POINT → 33-byte compressed key. Accepts the DER OCTET STRING the spec requires and, as
 * some tokens return, the bare X9.62 point; the point must be on secp256k1.
 */
export function compressedFromEcPoint(ecPoint: Uint8Array): Uint8Array {
  let point = ecPoint
  if (ecPoint[0] === 0x04 && ecPoint.length !== 65) {
    // DER OCTET STRING: 0x04, length (short or 0x81 long form), contents.
    let off = 2
    let len = ecPoint[1]!
    if (len === 0x81) {
      len = ecPoint[2]!
      off = 3
    }
    if (off + len !== ecPoint.length) throw new Error('CKA_EC_POINT is not a DER OCTET STRING')
    point = ecPoint.subarray(off)
  }
  return secp256k1.Point.fromBytes(point).toBytes(true)
}

/** DER of the named curve secp256k1 (OID 1.3.132.0.10), the CKA_EC_PARAMS for key generation. */
export const SECP256K1_EC_PARAMS = Uint8Array.from([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a])
