// PSBTs (BIP174) for the box's wallet: built with every key origin an external signer needs
// (PSBT_IN/OUT_BIP32_DERIVATION for wpkh; PSBT_IN/OUT_TAP_INTERNAL_KEY and TAP_BIP32_DERIVATION
// for tr, BIP371), signed with the box's seed when it holds the keys, finalized and extracted.
// Imports read BIP174 (v0) and BIP370 (v2, converted to v0 here), as base64, hex or the binary
// file; a PSBT that spends coins of another wallet, or that is already final, is refused.
import {
  crypto as bcrypto,
  initEccLib,
  Psbt,
  Transaction,
  toXOnly,
  type Network,
} from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import type { BIP32Interface } from 'bip32'
import { FlashError } from '../../errors'
import type { WalletAddress, WalletCoin } from '../types'
import type { PlannedOutput } from './send-plan'
import { compactSizeLength } from './weights'

initEccLib(ecc)

/** BIP125: signals replaceability (and is not final, so nLockTime applies). */
export const RBF_SEQUENCE = 0xfffffffd
/** Bitcoin Core's -maxfeerate default in sat/vB; bitcoinjs refuses to extract above its own limit. */
const MAX_FEE_RATE_SAT_PER_VB = 10_000

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

/** What a PSBT input needs to know of a coin. */
export type SpendableCoin = Pick<
  WalletCoin,
  'txid' | 'vout' | 'valueSat' | 'scriptPubKey' | 'derivation'
>

export interface PsbtInputCoin {
  readonly coin: SpendableCoin
  /** The raw previous transaction (PSBT_IN_NON_WITNESS_UTXO), which hardware signers check for wpkh. */
  readonly prevTxHex?: string
}

export interface PsbtOutputSpec extends PlannedOutput {
  /** For the wallet's own outputs (change): its derivation, so signers can recognise it. */
  readonly ownAddress?: WalletAddress
}

/** Builds an unsigned PSBT (version 2 transaction, RBF on, anti-fee-sniping lock time). */
export function buildPsbt(opts: {
  network: Network
  inputs: readonly PsbtInputCoin[]
  outputs: readonly PsbtOutputSpec[]
  /** The node's tip height: nLockTime as Bitcoin Core sets it, against fee sniping. */
  lockTime?: number
  rbf?: boolean
}): Psbt {
  const psbt = new Psbt({ network: opts.network })
  psbt.setVersion(2)
  if (opts.lockTime !== undefined) psbt.setLocktime(opts.lockTime)
  psbt.setMaximumFeeRate(MAX_FEE_RATE_SAT_PER_VB)
  for (const { coin, prevTxHex } of opts.inputs) {
    const d = coin.derivation
    const script = bytes(coin.scriptPubKey)
    const base = {
      hash: coin.txid,
      index: coin.vout,
      sequence: opts.rbf === false ? 0xfffffffe : RBF_SEQUENCE,
      witnessUtxo: { script, value: BigInt(coin.valueSat) },
    }
    if (d.kind === 'tr') {
      const xonly = bytes(d.tapInternalKey ?? d.pubkey.slice(2))
      psbt.addInput({
        ...base,
        tapInternalKey: xonly,
        tapBip32Derivation: [
          {
            masterFingerprint: bytes(d.masterFingerprint),
            path: d.path,
            pubkey: xonly,
            leafHashes: [],
          },
        ],
      })
    } else {
      psbt.addInput({
        ...base,
        ...(prevTxHex ? { nonWitnessUtxo: bytes(prevTxHex) } : {}),
        bip32Derivation: [
          { masterFingerprint: bytes(d.masterFingerprint), path: d.path, pubkey: bytes(d.pubkey) },
        ],
      })
    }
  }
  for (const o of opts.outputs) {
    const d = o.ownAddress?.derivation
    if (d?.kind === 'tr') {
      const xonly = bytes(d.tapInternalKey ?? d.pubkey.slice(2))
      psbt.addOutput({
        script: o.script,
        value: BigInt(o.amountSat),
        tapInternalKey: xonly,
        tapBip32Derivation: [
          {
            masterFingerprint: bytes(d.masterFingerprint),
            path: d.path,
            pubkey: xonly,
            leafHashes: [],
          },
        ],
      })
    } else if (d) {
      psbt.addOutput({
        script: o.script,
        value: BigInt(o.amountSat),
        bip32Derivation: [
          { masterFingerprint: bytes(d.masterFingerprint), path: d.path, pubkey: bytes(d.pubkey) },
        ],
      })
    } else {
      psbt.addOutput({ script: o.script, value: BigInt(o.amountSat) })
    }
  }
  return psbt
}

/**
 * Signs every input whose key origin names `master`'s fingerprint: ECDSA for wpkh (BIP143),
 * Schnorr with the BIP86 tweak for tr key-path spends (BIP341). Returns how many it signed.
 */
export function signPsbt(psbt: Psbt, master: BIP32Interface): number {
  let signed = 0
  psbt.data.inputs.forEach((input, i) => {
    const tap = input.tapBip32Derivation?.find(
      (d) => hex(d.masterFingerprint) === hex(master.fingerprint),
    )
    if (tap && input.tapInternalKey) {
      const node = master.derivePath(tap.path)
      if (hex(toXOnly(node.publicKey)) !== hex(input.tapInternalKey)) {
        throw new FlashError(
          'wallet.psbt-key-mismatch',
          `Input ${i + 1} of this PSBT names a key this wallet's seed does not have at ${tap.path}.`,
          'The PSBT was made for another wallet; sign it there.',
        )
      }
      const tweaked = node.tweak(bcrypto.taggedHash('TapTweak', toXOnly(node.publicKey)))
      psbt.signTaprootInput(i, tweaked)
      signed++
      return
    }
    const ecdsa = input.bip32Derivation?.some(
      (d) => hex(d.masterFingerprint) === hex(master.fingerprint),
    )
    if (ecdsa) {
      psbt.signInputHD(i, master)
      signed++
    }
  })
  return signed
}

/** Inputs that have their signature(s) but are not finalized yet, or final already. */
export function inputReady(psbt: Psbt, i: number): boolean {
  const input = psbt.data.inputs[i]!
  if (input.finalScriptWitness || input.finalScriptSig) return true
  if (input.tapKeySig) return true
  return (input.partialSig?.length ?? 0) > 0
}

export function isFinal(psbt: Psbt): boolean {
  return (
    psbt.data.inputs.length > 0 &&
    psbt.data.inputs.every((i) => !!(i.finalScriptWitness || i.finalScriptSig))
  )
}

/** Finalizes every input and extracts the network transaction. */
export function finalizeAndExtract(psbt: Psbt): Transaction {
  const missing = psbt.data.inputs.map((_, i) => i).filter((i) => !inputReady(psbt, i))
  if (missing.length > 0) {
    throw new FlashError(
      'wallet.psbt-not-signed',
      `This PSBT still lacks the signature for ${missing.length} of its ${psbt.data.inputs.length} input${psbt.data.inputs.length === 1 ? '' : 's'}.`,
      'Sign it with the wallet or device that holds the keys, then import the signed PSBT.',
    )
  }
  try {
    psbt.data.inputs.forEach((input, i) => {
      if (!(input.finalScriptWitness || input.finalScriptSig)) psbt.finalizeInput(i)
    })
    return psbt.extractTransaction()
  } catch (e) {
    throw new FlashError(
      'wallet.psbt-bad-signature',
      'A signature in this PSBT does not match its inputs, so it cannot be finalized.',
      'Sign it again with the wallet that owns these coins.',
      { cause: e },
    )
  }
}

/** Reads a PSBT as base64, hex or the raw binary file; BIP370 version 2 is converted to v0. */
export function decodePsbt(input: string | Uint8Array, network: Network): Psbt {
  let raw: Uint8Array
  if (typeof input === 'string') {
    const text = input.trim()
    if (/^70736274ff[0-9a-f]*$/i.test(text)) raw = bytes(text)
    else if (/^[A-Za-z0-9+/=\s]+$/.test(text))
      raw = Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'base64'))
    else raw = new Uint8Array(0)
  } else raw = input
  if (raw.length < 5 || hex(raw.subarray(0, 5)) !== '70736274ff') {
    throw new FlashError(
      'wallet.psbt-invalid',
      'This is not a PSBT (a partially signed Bitcoin transaction): it does not start with the PSBT marker.',
      'Export the PSBT again as a .psbt file or as base64 text, and import that.',
    )
  }
  const maps = readMaps(raw)
  const version = maps.global.find((kv) => kv.key.length === 1 && kv.key[0] === 0xfb)
  const v = version
    ? new DataView(version.value.buffer, version.value.byteOffset).getUint32(0, true)
    : 0
  if (v !== 0 && v !== 2) {
    throw new FlashError(
      'wallet.psbt-unsupported-version',
      `This PSBT uses version ${v} of the format, which Flash Box cannot read (it reads versions 0 and 2).`,
      'Export it from the other wallet as a version 0 PSBT (BIP174).',
    )
  }
  const buf = v === 2 ? fromV2(maps) : raw
  try {
    return Psbt.fromBuffer(buf, { network })
  } catch (e) {
    throw new FlashError(
      'wallet.psbt-invalid',
      'This PSBT is damaged or incomplete: Flash Box could not read it.',
      'Export it again from the wallet that made it.',
      { cause: e },
    )
  }
}

export function encodePsbt(psbt: Psbt): string {
  return psbt.toBase64()
}

// ---- BIP370 (PSBT version 2) → BIP174 (version 0) ---------------------------------------------

interface KeyValue {
  key: Uint8Array
  value: Uint8Array
}
interface Maps {
  global: KeyValue[]
  rest: KeyValue[][]
}

function readCompactSize(b: Uint8Array, at: number): [number, number] {
  const first = b[at]
  if (first === undefined) throw truncated()
  const view = new DataView(b.buffer, b.byteOffset)
  if (first < 0xfd) return [first, at + 1]
  if (first === 0xfd) return [view.getUint16(at + 1, true), at + 3]
  if (first === 0xfe) return [view.getUint32(at + 1, true), at + 5]
  return [Number(view.getBigUint64(at + 1, true)), at + 9]
}

function truncated(): FlashError {
  return new FlashError(
    'wallet.psbt-invalid',
    'This PSBT is damaged or incomplete: Flash Box could not read it.',
    'Export it again from the wallet that made it.',
  )
}

function readMap(b: Uint8Array, at: number): [KeyValue[], number] {
  const out: KeyValue[] = []
  for (;;) {
    const [klen, a1] = readCompactSize(b, at)
    if (klen === 0) return [out, a1]
    const key = b.subarray(a1, a1 + klen)
    const [vlen, a2] = readCompactSize(b, a1 + klen)
    const value = b.subarray(a2, a2 + vlen)
    if (key.length !== klen || value.length !== vlen) throw truncated()
    out.push({ key, value })
    at = a2 + vlen
  }
}

function readMaps(b: Uint8Array): Maps {
  const [global, after] = readMap(b, 5)
  const rest: KeyValue[][] = []
  let at = after
  while (at < b.length) {
    const [m, next] = readMap(b, at)
    rest.push(m)
    at = next
  }
  return { global, rest }
}

function writeCompactSize(n: number): Uint8Array {
  const out = new Uint8Array(compactSizeLength(n))
  const view = new DataView(out.buffer)
  if (n < 0xfd) out[0] = n
  else if (n <= 0xffff) {
    out[0] = 0xfd
    view.setUint16(1, n, true)
  } else {
    out[0] = 0xfe
    view.setUint32(1, n, true)
  }
  return out
}

function writeMap(kvs: KeyValue[]): Uint8Array[] {
  const parts: Uint8Array[] = []
  for (const { key, value } of kvs) {
    parts.push(writeCompactSize(key.length), key, writeCompactSize(value.length), value)
  }
  parts.push(new Uint8Array([0]))
  return parts
}

const u32 = (v: Uint8Array): number => new DataView(v.buffer, v.byteOffset).getUint32(0, true)
const isKey = (kv: KeyValue, type: number): boolean => kv.key.length === 1 && kv.key[0] === type

/** BIP370's fields that v0 keeps in the unsigned transaction instead. */
const V2_GLOBAL = new Set([0x02, 0x03, 0x04, 0x05, 0x06, 0xfb])
const V2_INPUT = new Set([0x0e, 0x0f, 0x10, 0x11, 0x12])
const V2_OUTPUT = new Set([0x03, 0x04])

function fromV2(maps: Maps): Uint8Array {
  const g = (t: number) => maps.global.find((kv) => isKey(kv, t))?.value
  const txVersion = g(0x02)
  const inCount = g(0x04)
  const outCount = g(0x05)
  if (!txVersion || !inCount || !outCount) throw truncated()
  const nIn = readCompactSize(inCount, 0)[0]
  const nOut = readCompactSize(outCount, 0)[0]
  if (maps.rest.length !== nIn + nOut) throw truncated()
  const inputs = maps.rest.slice(0, nIn)
  const outputs = maps.rest.slice(nIn)

  const tx = new Transaction()
  tx.version = u32(txVersion)
  const heightLocks: number[] = []
  const timeLocks: number[] = []
  let anyLock = false
  for (const m of inputs) {
    const prev = m.find((kv) => isKey(kv, 0x0e))?.value
    const index = m.find((kv) => isKey(kv, 0x0f))?.value
    if (!prev || prev.length !== 32 || !index) throw truncated()
    const seq = m.find((kv) => isKey(kv, 0x10))?.value
    tx.addInput(prev, u32(index), seq ? u32(seq) : 0xffffffff)
    const time = m.find((kv) => isKey(kv, 0x11))?.value
    const height = m.find((kv) => isKey(kv, 0x12))?.value
    if (time || height) anyLock = true
    if (time) timeLocks.push(u32(time))
    if (height) heightLocks.push(u32(height))
  }
  for (const m of outputs) {
    const amount = m.find((kv) => isKey(kv, 0x03))?.value
    const script = m.find((kv) => isKey(kv, 0x04))?.value
    if (!amount || amount.length !== 8 || !script) throw truncated()
    tx.addOutput(script, new DataView(amount.buffer, amount.byteOffset).getBigInt64(0, true))
  }
  // BIP370 "Determining Lock Time": without required lock times, the fallback (or 0); otherwise
  // the largest required one of the type every input can take, heights preferred.
  const fallback = g(0x03)
  if (!anyLock) tx.locktime = fallback ? u32(fallback) : 0
  else {
    const locking = inputs.filter((m) => m.some((kv) => isKey(kv, 0x11) || isKey(kv, 0x12)))
    const allHeight = locking.every((m) => m.some((kv) => isKey(kv, 0x12)))
    const allTime = locking.every((m) => m.some((kv) => isKey(kv, 0x11)))
    if (allHeight) tx.locktime = Math.max(...heightLocks)
    else if (allTime) tx.locktime = Math.max(...timeLocks)
    else {
      throw new FlashError(
        'wallet.psbt-locktime-conflict',
        'This version 2 PSBT has inputs that need a lock time by block height and others by clock time; no transaction can satisfy both.',
        'Make the PSBT again in the wallet that created it.',
      )
    }
  }
  const unsigned = tx.toBuffer()
  const global: KeyValue[] = [
    { key: new Uint8Array([0x00]), value: unsigned },
    ...maps.global.filter((kv) => !(kv.key.length === 1 && V2_GLOBAL.has(kv.key[0]!))),
  ]
  const parts: Uint8Array[] = [bytes('70736274ff'), ...writeMap(global)]
  for (const m of inputs)
    parts.push(...writeMap(m.filter((kv) => !(kv.key.length === 1 && V2_INPUT.has(kv.key[0]!)))))
  for (const m of outputs)
    parts.push(...writeMap(m.filter((kv) => !(kv.key.length === 1 && V2_OUTPUT.has(kv.key[0]!)))))
  return Buffer.concat(parts)
}

/** v0 → v2, for tests of the reader and for signers that only take BIP370. */
export function toV2(psbt: Psbt): Uint8Array {
  const maps = readMaps(psbt.toBuffer())
  const tx = Transaction.fromBuffer(maps.global.find((kv) => isKey(kv, 0x00))!.value)
  const le32 = (n: number) => {
    const b = new Uint8Array(4)
    new DataView(b.buffer).setUint32(0, n, true)
    return b
  }
  const global: KeyValue[] = [
    ...maps.global.filter((kv) => !isKey(kv, 0x00)),
    { key: new Uint8Array([0x02]), value: le32(tx.version) },
    { key: new Uint8Array([0x03]), value: le32(tx.locktime) },
    { key: new Uint8Array([0x04]), value: writeCompactSize(tx.ins.length) },
    { key: new Uint8Array([0x05]), value: writeCompactSize(tx.outs.length) },
    { key: new Uint8Array([0xfb]), value: le32(2) },
  ]
  const parts: Uint8Array[] = [bytes('70736274ff'), ...writeMap(global)]
  tx.ins.forEach((inp, i) => {
    parts.push(
      ...writeMap([
        ...maps.rest[i]!,
        { key: new Uint8Array([0x0e]), value: inp.hash },
        { key: new Uint8Array([0x0f]), value: le32(inp.index) },
        { key: new Uint8Array([0x10]), value: le32(inp.sequence) },
      ]),
    )
  })
  tx.outs.forEach((out, i) => {
    const amount = new Uint8Array(8)
    new DataView(amount.buffer).setBigInt64(0, out.value, true)
    parts.push(
      ...writeMap([
        ...maps.rest[tx.ins.length + i]!,
        { key: new Uint8Array([0x03]), value: amount },
        { key: new Uint8Array([0x04]), value: out.script },
      ]),
    )
  })
  return Buffer.concat(parts)
}
