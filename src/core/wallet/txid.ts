// The id of a raw transaction: double SHA-256 of its serialization without the witness
// (BIP144: marker, flag and witness data are left out), byte-reversed. A sync checks every
// transaction electrs sends against the id it asked for; this hashes the raw bytes with Node's
// native SHA-256 instead of bitcoinjs-lib's getId(), which re-serializes the parsed transaction
// and hashes it in JavaScript (a tenth of a full sync's CPU time, for 2,000 transactions).
// https://github.com/bitcoin/bips/blob/master/bip-0144.mediawiki#serialization
import { createHash } from 'node:crypto'

/** Reads a CompactSize at `pos`; returns [value, next position]. */
function compactSize(raw: Uint8Array, pos: number): [number, number] {
  const first = raw[pos]
  if (first === undefined) throw new RangeError('transaction ends inside a length')
  if (first < 0xfd) return [first, pos + 1]
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  if (first === 0xfd) return [view.getUint16(pos + 1, true), pos + 3]
  if (first === 0xfe) return [view.getUint32(pos + 1, true), pos + 5]
  const value = view.getBigUint64(pos + 1, true)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('length out of range')
  return [Number(value), pos + 9]
}

/** An output as serialized: its value (sat) and its script. */
export interface RawOutput {
  readonly valueSat: number
  readonly script: Uint8Array
}

/**
 * Where the outputs of a transaction end (the witness, if any, starts there); with `outputs`,
 * each output is read into it on the way.
 */
function outputsEnd(raw: Uint8Array, start: number, outputs?: RawOutput[]): number {
  let pos = start
  let count: number
  ;[count, pos] = compactSize(raw, pos)
  for (let i = 0; i < count; i++) {
    let len: number
    ;[len, pos] = compactSize(raw, pos + 36) // previous output (32 + 4), then the script length
    pos += len + 4 // script, sequence
  }
  ;[count, pos] = compactSize(raw, pos)
  for (let i = 0; i < count; i++) {
    const valueAt = pos
    let len: number
    ;[len, pos] = compactSize(raw, pos + 8) // value, then the script length
    if (pos + len > raw.length) throw new RangeError('transaction ends inside its outputs')
    if (outputs) {
      // Little-endian 64-bit; any real amount (at most 21e14 sat) is below 2^53.
      const view = new DataView(raw.buffer, raw.byteOffset + valueAt, 8)
      const valueSat = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32
      outputs.push({ valueSat, script: raw.subarray(pos, pos + len) })
    }
    pos += len
  }
  if (pos > raw.length) throw new RangeError('transaction ends inside its outputs')
  return pos
}

/**
 * The outputs of a raw transaction, read straight from its bytes (no full parse). Once the
 * bytes hash to the txid asked for (transactionId), these are that transaction's outputs: they
 * lie in the part the id covers.
 */
export function transactionOutputs(raw: Uint8Array): RawOutput[] {
  if (raw.length < 10) throw new RangeError('too short for a transaction')
  const outputs: RawOutput[] = []
  outputsEnd(raw, raw[4] === 0x00 && raw[5] === 0x01 ? 6 : 4, outputs)
  return outputs
}

/** The txid (display hex) of a raw transaction, with or without witness. */
export function transactionId(raw: Uint8Array): string {
  if (raw.length < 10) throw new RangeError('too short for a transaction')
  const inner = createHash('sha256')
  // BIP144: marker 0x00 then flag 0x01 after the version. (A transaction without inputs cannot
  // be told apart from this; bitcoinjs-lib and Bitcoin Core read it as the witness form too.)
  if (raw[4] === 0x00 && raw[5] === 0x01) {
    const end = outputsEnd(raw, 6)
    if (end + 4 > raw.length) throw new RangeError('transaction ends before its lock time')
    inner.update(raw.subarray(0, 4))
    inner.update(raw.subarray(6, end))
    inner.update(raw.subarray(raw.length - 4))
  } else {
    inner.update(raw)
  }
  const id = createHash('sha256').update(inner.digest()).digest()
  return id.reverse().toString('hex')
}
