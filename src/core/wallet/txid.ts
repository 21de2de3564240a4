// Raw transactions read straight from their bytes, in one walk and without building objects for
// what a sync does not need: the id (double SHA-256 of the serialization without the witness —
// BIP144: marker, flag and witness data are left out — byte-reversed), the outputs the inputs
// spend, and, for a parent transaction, the outputs a deposit spends. A sync checks every
// transaction electrs sends against the id it asked for and needs no more than this from it;
// bitcoinjs-lib's full parse (and its getId(), which re-serializes the parsed transaction and
// hashes it in JavaScript) is left to the views that show a transaction (AccountState.tx()).
// The walk is as strict as bitcoinjs-lib's parse: a transaction cut short or with bytes after
// its lock time is refused (RangeError).
// https://github.com/bitcoin/bips/blob/master/bip-0144.mediawiki#serialization
import { hash } from 'node:crypto'

/** An output as serialized: its value (sat) and its script. */
export interface RawOutput {
  readonly valueSat: number
  readonly script: Uint8Array
}

/** An output a transaction's input spends. */
export interface RawOutpoint {
  /** Display hex. */
  readonly txid: string
  readonly vout: number
}

/** What a sync needs of a transaction: its id and what it spends (nothing for a coinbase). */
export interface RawTransaction {
  readonly txid: string
  readonly spends: readonly RawOutpoint[]
}

/** A cursor over a raw transaction; every read checks that the bytes are there. */
class Reader {
  pos: number
  constructor(
    readonly raw: Uint8Array,
    start: number,
  ) {
    this.pos = start
  }

  /** Fails unless `n` more bytes are there. */
  need(n: number): void {
    if (this.pos + n > this.raw.length) throw new RangeError('the transaction ends too early')
  }

  u32(): number {
    this.need(4)
    const r = this.raw
    const p = this.pos
    this.pos += 4
    return (r[p]! | (r[p + 1]! << 8) | (r[p + 2]! << 16)) + r[p + 3]! * 0x1000000
  }

  /** A CompactSize (bounded by what a transaction can hold). */
  compactSize(): number {
    this.need(1)
    const first = this.raw[this.pos++]!
    if (first < 0xfd) return first
    const r = this.raw
    const p = this.pos
    if (first === 0xfd) {
      this.need(2)
      this.pos += 2
      return r[p]! | (r[p + 1]! << 8)
    }
    if (first === 0xfe) return this.u32()
    this.need(8)
    if (r[p + 7] || r[p + 6] || r[p + 5] || r[p + 4]) throw new RangeError('length out of range')
    const value = this.u32()
    this.pos += 4 // the high word, zero
    return value
  }

  skip(n: number): void {
    this.need(n)
    this.pos += n
  }
}

/** Display hex (byte-reversed) of 32 bytes at `at`. */
const reversedHex = (() => {
  const scratch = Buffer.allocUnsafe(32)
  return (raw: Uint8Array, at: number): string => {
    for (let i = 0; i < 32; i++) scratch[i] = raw[at + 31 - i]!
    return scratch.toString('hex')
  }
})()

const NULL_HASH = '0'.repeat(64)

/** BIP144: marker 0x00 then flag 0x01 after the version. */
const hasWitness = (raw: Uint8Array) => raw.length >= 6 && raw[4] === 0x00 && raw[5] === 0x01

interface Walk {
  /** Where the inputs' count starts and where the outputs end (the witness, if any, starts there). */
  readonly inputsAt: number
  readonly outputsEnd: number
}

/**
 * Walks the whole transaction, checking its layout to the last byte; calls `input` for each
 * input's outpoint position and `output` for each output.
 */
function walk(
  raw: Uint8Array,
  input?: (at: number, vout: number) => void,
  output?: (index: number, valueAt: number, scriptAt: number, scriptLen: number) => void,
): Walk {
  if (raw.length < 10) throw new RangeError('too short for a transaction')
  const witness = hasWitness(raw)
  const r = new Reader(raw, witness ? 6 : 4)
  const inputsAt = r.pos
  const inputs = r.compactSize()
  for (let i = 0; i < inputs; i++) {
    const at = r.pos
    r.skip(32)
    const vout = r.u32()
    input?.(at, vout)
    r.skip(r.compactSize() + 4) // script, sequence
  }
  const outputs = r.compactSize()
  for (let i = 0; i < outputs; i++) {
    const valueAt = r.pos
    r.skip(8)
    const len = r.compactSize()
    output?.(i, valueAt, r.pos, len)
    r.skip(len)
  }
  const outputsEnd = r.pos
  if (witness) {
    for (let i = 0; i < inputs; i++) {
      const items = r.compactSize()
      for (let k = 0; k < items; k++) r.skip(r.compactSize())
    }
  }
  r.skip(4) // lock time
  if (r.pos !== raw.length) throw new RangeError('the transaction has bytes after its lock time')
  return { inputsAt, outputsEnd }
}

/** Where a segwit transaction is laid out without its witness (grown as needed, never handed out). */
let stripped = Buffer.allocUnsafe(4096)

function idOf(raw: Uint8Array, w: Walk): string {
  let serialized = raw
  if (hasWitness(raw)) {
    // Version, then inputs and outputs (after the marker and flag), then the lock time.
    const n = 4 + (w.outputsEnd - 6) + 4
    if (stripped.length < n) stripped = Buffer.allocUnsafe(2 * n)
    stripped.set(raw.subarray(0, 4), 0)
    stripped.set(raw.subarray(6, w.outputsEnd), 4)
    stripped.set(raw.subarray(raw.length - 4), n - 4)
    serialized = stripped.subarray(0, n)
  }
  // One-shot hashes (crypto.hash): no Hash object per call.
  return hash('sha256', hash('sha256', serialized, 'buffer'), 'buffer')
    .reverse()
    .toString('hex')
}

/** The txid (display hex) of a raw transaction, with or without witness. */
export function transactionId(raw: Uint8Array): string {
  return idOf(raw, walk(raw))
}

/** Its id and the outputs its inputs spend (none for a coinbase), in one walk. */
export function readTransaction(raw: Uint8Array): RawTransaction {
  const spends: RawOutpoint[] = []
  const w = walk(raw, (at, vout) => spends.push({ txid: reversedHex(raw, at), vout }))
  // A coinbase (one input, a null previous hash, as bitcoinjs-lib's isCoinbase) spends nothing.
  const coinbase = spends.length === 1 && spends[0]!.txid === NULL_HASH
  return { txid: idOf(raw, w), spends: coinbase ? [] : spends }
}

/**
 * The outputs of a raw transaction, read straight from its bytes (no full parse); with `only`,
 * just those (the others are undefined). Once the bytes hash to the txid asked for
 * (transactionId), these are that transaction's outputs: they lie in the part the id covers.
 */
export function transactionOutputs(raw: Uint8Array, only?: ReadonlySet<number>): RawOutput[] {
  const outputs: RawOutput[] = []
  walk(raw, undefined, (index, valueAt, scriptAt, scriptLen) => {
    if (only && !only.has(index)) return
    // Little-endian 64-bit; any real amount (at most 21e14 sat) is below 2^53.
    const lo = (raw[valueAt]! | (raw[valueAt + 1]! << 8) | (raw[valueAt + 2]! << 16)) >>> 0
    const valueSat =
      lo +
      raw[valueAt + 3]! * 2 ** 24 +
      (raw[valueAt + 4]! | (raw[valueAt + 5]! << 8) | (raw[valueAt + 6]! << 16)) * 2 ** 32 +
      raw[valueAt + 7]! * 2 ** 56
    outputs[index] = { valueSat, script: raw.subarray(scriptAt, scriptAt + scriptLen) }
  })
  return outputs
}
