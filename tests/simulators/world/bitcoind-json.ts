// SIMULATOR — test-only. How Bitcoin Core v31 renders scripts, transactions and amounts in JSON-RPC
// answers (core_write.cpp: ScriptToAsmStr, ScriptToUniv, TxToUniv; descriptor checksums from
// script/descriptor.cpp), so the bitcoind façade's answers have the recorded shapes.
import { createHash } from 'node:crypto'
import { address as baddress, initEccLib, script as bscript, type Transaction } from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { type Coin, REGTEST } from './chain'
import { witnessProgram } from './script'

/** A BTC amount that serializes as bitcoind does: a JSON number with 8 decimals. */
export class Btc {
  constructor(readonly sats: bigint) {}
}

/** JSON.stringify that writes Btc amounts as fixed 8-decimal numbers (ValueFromAmount). */
export function stringifyRpc(value: unknown): string {
  const marks: string[] = []
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Btc) {
      const neg = v.sats < 0n
      const abs = neg ? -v.sats : v.sats
      marks.push(
        `${neg ? '-' : ''}${abs / 100_000_000n}.${(abs % 100_000_000n).toString().padStart(8, '0')}`,
      )
      return `\u0000BTC${marks.length - 1}\u0000`
    }
    if (typeof v === 'bigint') return Number(v)
    return v
  })
  return text.replace(/"\\u0000BTC(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!)
}

const INPUT_CHARSET =
  '0123456789()[],\'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#"\\ '
const CHECKSUM_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
const GEN = [0xf5dee51989n, 0xa9fdca3312n, 0x1bab10e32dn, 0x3706b1677an, 0x644d626ffdn]

function polymod(c: bigint, val: number): bigint {
  const c0 = c >> 35n
  let r = ((c & 0x7ffffffffn) << 5n) ^ BigInt(val)
  for (let i = 0; i < 5; i++) if ((c0 >> BigInt(i)) & 1n) r ^= GEN[i]!
  return r
}

/** BIP380 descriptor checksum. */
export function descriptorChecksum(desc: string): string {
  let c = 1n
  let cls = 0
  let count = 0
  for (const ch of desc) {
    const pos = INPUT_CHARSET.indexOf(ch)
    if (pos < 0) return ''
    c = polymod(c, pos & 31)
    cls = cls * 3 + (pos >> 5)
    if (++count === 3) {
      c = polymod(c, cls)
      cls = 0
      count = 0
    }
  }
  if (count > 0) c = polymod(c, cls)
  for (let j = 0; j < 8; j++) c = polymod(c, 0)
  c ^= 1n
  let out = ''
  for (let j = 0; j < 8; j++) out += CHECKSUM_CHARSET[Number((c >> BigInt(5 * (7 - j))) & 31n)]
  return out
}

// Taproot addresses (bech32m) need an ECC library in bitcoinjs-lib.
initEccLib(ecc)

const withChecksum = (d: string): string => `${d}#${descriptorChecksum(d)}`
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const SIGHASH_NAMES: Record<number, string> = {
  1: 'ALL',
  2: 'NONE',
  3: 'SINGLE',
  0x81: 'ALL|ANYONECANPAY',
  0x82: 'NONE|ANYONECANPAY',
  0x83: 'SINGLE|ANYONECANPAY',
}
const OP_NAMES = new Map<number, string>()
for (const [name, code] of Object.entries(bscript.OPS))
  if (typeof code === 'number' && !OP_NAMES.has(code)) OP_NAMES.set(code, name)
OP_NAMES.set(0xb1, 'OP_CHECKLOCKTIMEVERIFY')
OP_NAMES.set(0xb2, 'OP_CHECKSEQUENCEVERIFY')
OP_NAMES.set(0x50, 'OP_RESERVED')

function scriptNum(b: Uint8Array): number {
  if (b.length === 0) return 0
  let r = 0
  for (let i = 0; i < b.length; i++) r += b[i]! * 2 ** (8 * i)
  if (b[b.length - 1]! & 0x80) return -(r - 0x80 * 2 ** (8 * (b.length - 1)))
  return r
}

function isDerWithHashType(sig: Uint8Array): boolean {
  if (sig.length < 9 || sig.length > 73 || sig[0] !== 0x30 || sig[1] !== sig.length - 3)
    return false
  const lenR = sig[3]!
  if (5 + lenR >= sig.length) return false
  const lenS = sig[5 + lenR]!
  return lenR + lenS + 7 === sig.length && sig[2] === 0x02 && sig[lenR + 4] === 0x02
}

/** Core's ScriptToAsmStr. */
export function scriptToAsm(script: Uint8Array, sighashDecode = false): string {
  const parts: string[] = []
  let i = 0
  const unspendable = script.length > 0 && script[0] === 0x6a
  while (i < script.length) {
    const op = script[i++]!
    if (op > 0 && op <= 0x4e) {
      let len = op
      if (op === 0x4c) len = script[i++] ?? -1
      else if (op === 0x4d) {
        len = (script[i] ?? 0) | ((script[i + 1] ?? 0) << 8)
        i += 2
      } else if (op === 0x4e) {
        len =
          (script[i] ?? 0) +
          (script[i + 1] ?? 0) * 256 +
          (script[i + 2] ?? 0) * 65536 +
          (script[i + 3] ?? 0) * 16777216
        i += 4
      }
      if (len < 0 || i + len > script.length) {
        parts.push('[error]')
        break
      }
      const data = script.subarray(i, i + len)
      i += len
      if (data.length <= 4) parts.push(String(scriptNum(data)))
      else if (
        sighashDecode &&
        !unspendable &&
        isDerWithHashType(data) &&
        SIGHASH_NAMES[data[data.length - 1]!]
      )
        parts.push(`${hex(data.subarray(0, -1))}[${SIGHASH_NAMES[data[data.length - 1]!]}]`)
      else parts.push(hex(data))
    } else if (op === 0) parts.push('0')
    else if (op === 0x4f) parts.push('-1')
    else if (op >= 0x51 && op <= 0x60) parts.push(String(op - 0x50))
    else parts.push(OP_NAMES.get(op) ?? 'OP_UNKNOWN')
  }
  return parts.join(' ')
}

/** Core's Solver type names. */
export function scriptType(s: Uint8Array): string {
  const wp = witnessProgram(s)
  if (wp) {
    if (wp.version === 0 && wp.program.length === 20) return 'witness_v0_keyhash'
    if (wp.version === 0 && wp.program.length === 32) return 'witness_v0_scripthash'
    if (wp.version === 1 && wp.program.length === 32) return 'witness_v1_taproot'
    if (
      wp.version === 1 &&
      wp.program.length === 2 &&
      wp.program[0] === 0x4e &&
      wp.program[1] === 0x73
    )
      return 'anchor'
    if (wp.version !== 0) return 'witness_unknown'
    return 'nonstandard'
  }
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) return 'scripthash'
  if (
    s.length === 25 &&
    s[0] === 0x76 &&
    s[1] === 0xa9 &&
    s[2] === 0x14 &&
    s[23] === 0x88 &&
    s[24] === 0xac
  )
    return 'pubkeyhash'
  if (
    ((s.length === 35 && s[0] === 33) || (s.length === 67 && s[0] === 65)) &&
    s[s.length - 1] === 0xac
  )
    return 'pubkey'
  if (s.length > 0 && s[0] === 0x6a) return 'nulldata'
  const chunks = bscript.decompile(s)
  if (chunks && chunks.length >= 4 && chunks[chunks.length - 1] === 0xae) return 'multisig'
  return 'nonstandard'
}

/** Core's ScriptToUniv with address and inferred descriptor. */
export function scriptPubKeyJson(s: Uint8Array): Record<string, unknown> {
  const type = scriptType(s)
  let address: string | undefined
  try {
    if (!['pubkey', 'nulldata', 'multisig', 'nonstandard'].includes(type))
      address = baddress.fromOutputScript(s, REGTEST)
  } catch {
    address = undefined
  }
  let desc: string
  if (type === 'witness_v1_taproot') desc = `rawtr(${hex(s.subarray(2))})`
  else if (address) desc = `addr(${address})`
  else if (type === 'pubkey') desc = `pk(${hex(s.subarray(1, s.length - 1))})`
  else desc = `raw(${hex(s)})`
  return {
    asm: scriptToAsm(s),
    desc: withChecksum(desc),
    hex: hex(s),
    ...(address ? { address } : {}),
    type,
  }
}

export interface TxJsonOptions {
  /** Coins spent by each input (enables "fee", and "prevout" when verbosity is 3 / getrawtransaction 2). */
  readonly prevouts?: readonly Coin[]
  readonly withPrevout?: boolean
  readonly withHex?: boolean
}

/** Core's TxToUniv. */
export function txToJson(tx: Transaction, opts: TxJsonOptions = {}): Record<string, unknown> {
  const coinbase = tx.isCoinbase()
  const vin = tx.ins.map((input, i) => {
    const witness = input.witness.length > 0 ? { txinwitness: input.witness.map(hex) } : {}
    if (coinbase) return { coinbase: hex(input.script), ...witness, sequence: input.sequence }
    const prev = opts.prevouts?.[i]
    return {
      txid: Buffer.from(input.hash).reverse().toString('hex'),
      vout: input.index,
      scriptSig: { asm: scriptToAsm(input.script, true), hex: hex(input.script) },
      ...witness,
      ...(prev && opts.withPrevout
        ? {
            prevout: {
              generated: prev.coinbase,
              height: prev.height,
              value: new Btc(prev.value),
              scriptPubKey: scriptPubKeyJson(prev.script),
            },
          }
        : {}),
      sequence: input.sequence,
    }
  })
  const vout = tx.outs.map((o, n) => ({
    value: new Btc(o.value),
    n,
    scriptPubKey: scriptPubKeyJson(o.script),
  }))
  let fee: Btc | undefined
  if (!coinbase && opts.prevouts && opts.prevouts.length === tx.ins.length) {
    const inValue = opts.prevouts.reduce((a, c) => a + c.value, 0n)
    fee = new Btc(inValue - tx.outs.reduce((a, o) => a + o.value, 0n))
  }
  return {
    txid: tx.getId(),
    // The wtxid, also for a coinbase (bitcoinjs-lib gives zeros there, as the witness merkle tree uses).
    hash: createHash('sha256')
      .update(createHash('sha256').update(tx.toBuffer()).digest())
      .digest()
      .reverse()
      .toString('hex'),
    version: tx.version,
    size: tx.byteLength(),
    vsize: tx.virtualSize(),
    weight: tx.weight(),
    locktime: tx.locktime,
    vin,
    vout,
    ...(fee ? { fee } : {}),
    ...(opts.withHex === false ? {} : { hex: tx.toHex() }),
  }
}
