// SIMULATOR — test-only. One regtest Bitcoin chain for the test world (issue 9): real block and
// transaction serialization (bitcoinjs-lib), a UTXO set, a mempool with Bitcoin Core v31's policy,
// fee-ordered block templates, mining on demand or on a timer, and invalidateblock reorgs.
// Never imported by production code (src/, services/).
//
// API (amounts are satoshis as bigint, feerates sat/vB as number):
//   const chain = new Chain()                        regtest genesis; chain.tip() → { height, hash }
//   chain.blockAt(heightOrHash)                      { block, height, hash } on the active chain
//   chain.getTransaction(txid)                       { tx, blockHash?, height?, inMempool }
//   chain.utxo(txid, vout)                           { value, script, height, coinbase } (confirmed only)
//   chain.testAccept(txOrHex, { maxFeeRate })        { allowed: true, vsize, fee } | { allowed: false, reason, details, code, message }
//   chain.submit(txOrHex, { maxFeeRate })            txid; throws ChainPolicyError { code, reason, message } as sendrawtransaction
//   chain.mine(n, scriptOrAddress)                   block hashes; coinbase = subsidy + fees, BIP34, witness commitment
//   chain.submitBlock(blockOrHex)                    connects a block built elsewhere (fully validated)
//   chain.invalidateBlock(hash)                      disconnects it and its descendants; txs back to the mempool or dropped
//   chain.mempool() / chain.mempoolEntry(txid)       fee, vsize, ancestors/descendants
//   chain.estimateFee(target)                        { feeRate, blocks } | undefined ("Insufficient data" on a fresh chain)
//   chain.startMining(intervalMs, script) / stopMining()
// Events: 'block' (block, height, hash), 'disconnect' (block, height, hash), 'tx' (tx, entry) when a tx
// enters the mempool, 'removed' (txid, reason: 'block' | 'conflict' | 'replaced' | 'reorg').
//
// Checked against Bitcoin Core v31 (tests/fixtures/bitcoind-v31): every recorded block is accepted
// from genesis and every recorded mempool refusal gets the same reason, code and message
// (tests/unit/world-chain-replay.test.ts). What is simplified is listed in tests/simulators/README.md.
import { EventEmitter } from 'node:events'
import { createHash } from 'node:crypto'
import { address as baddress, Block, networks, script as bscript, Transaction } from 'bitcoinjs-lib'
import { isP2SH, isPushOnly, ScriptError, verifyInput, witnessProgram } from './script'

export const REGTEST = networks.regtest

/** The regtest genesis block (Bitcoin Core chainparams.cpp). */
const REGTEST_GENESIS_HEX =
  '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4adae5494dffff7f20020000000101000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000'

// Consensus (regtest) and v31 default policy constants.
export const COIN = 100_000_000n
const MAX_MONEY = 21_000_000n * COIN
const COINBASE_MATURITY = 100
const HALVING_INTERVAL = 150 // regtest
const REGTEST_BITS = 0x207fffff
const MAX_BLOCK_WEIGHT = 4_000_000
const BLOCK_TEMPLATE_WEIGHT = MAX_BLOCK_WEIGHT - 4_000
const MAX_STANDARD_TX_WEIGHT = 400_000
const MIN_STANDARD_TX_NONWITNESS_SIZE = 65
const MAX_SCRIPTSIG_SIZE = 1650
const LOCKTIME_THRESHOLD = 500_000_000
const SEQUENCE_FINAL = 0xffffffff
const MEMPOOL_HEIGHT = 0x7fffffff
/** v31 defaults: -minrelaytxfee and -incrementalrelayfee 100 sat/kvB, -dustrelayfee 3000 sat/kvB. */
export const MIN_RELAY_FEE_PER_KVB = 100n
export const INCREMENTAL_RELAY_FEE_PER_KVB = 100n
export const DUST_RELAY_FEE_PER_KVB = 3000n
/** sendrawtransaction / testmempoolaccept default maxfeerate: 0.10 BTC/kvB. */
export const DEFAULT_MAX_FEE_PER_KVB = 10_000_000n
const MAX_DATACARRIER_BYTES = 100_000
const CLUSTER_COUNT_LIMIT = 64
const CLUSTER_VSIZE_LIMIT = 101_000
const MAX_REPLACEMENT_CANDIDATES = 100
const TRUC_MAX_VSIZE = 10_000
const TRUC_CHILD_MAX_VSIZE = 1_000

export interface Coin {
  readonly value: bigint
  readonly script: Uint8Array
  /** Height of the block that created it; MEMPOOL_HEIGHT for an unconfirmed output. */
  readonly height: number
  readonly coinbase: boolean
}

export interface ChainBlock {
  readonly block: Block
  readonly height: number
  readonly hash: string
}

interface StoredBlock extends ChainBlock {
  readonly txids: string[]
  readonly undo: Array<[string, Coin]>
  /** The coin each input spent, per transaction (coinbase: none), as Core's undo data. */
  readonly spent: Coin[][]
  readonly medianTime: number
  invalid: boolean
  active: boolean
}

export interface MempoolEntry {
  readonly tx: Transaction
  readonly txid: string
  readonly wtxid: string
  readonly fee: bigint
  readonly vsize: number
  readonly weight: number
  /** Unix seconds when it entered. */
  readonly time: number
  /** Tip height when it entered. */
  readonly height: number
  readonly parents: Set<string>
  readonly children: Set<string>
}

export interface MempoolEntryView extends MempoolEntry {
  readonly ancestorCount: number
  readonly ancestorSize: number
  readonly ancestorFees: bigint
  readonly descendantCount: number
  readonly descendantSize: number
  readonly descendantFees: bigint
}

/** A refusal as bitcoind reports it: testmempoolaccept's reject-reason/-details, sendrawtransaction's code/message. */
export interface Reject {
  readonly reason: string
  /** testmempoolaccept's "reject-details" (absent for missing-inputs and max-fee-exceeded). */
  readonly details?: string
  readonly code: number
  readonly message: string
}

export class ChainPolicyError extends Error {
  readonly code: number
  readonly reason: string
  readonly details?: string
  constructor(r: Reject) {
    super(r.message)
    this.code = r.code
    this.reason = r.reason
    if (r.details !== undefined) this.details = r.details
  }
}

export type AcceptResult =
  | {
      readonly allowed: true
      readonly txid: string
      readonly wtxid: string
      readonly vsize: number
      readonly fee: bigint
      readonly replaces: string[]
    }
  | ({ readonly allowed: false; readonly txid?: string; readonly wtxid?: string } & Reject)

export interface AcceptOptions {
  /** sat/kvB; 0 disables the check. Default 0.10 BTC/kvB like bitcoind. */
  readonly maxFeePerKvB?: bigint
}

export interface ChainOptions {
  /** Clock in ms (block times, mempool entry times). */
  readonly now?: () => number
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()
const hash256 = (b: Uint8Array): Buffer => sha256(sha256(b))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const reversedHex = (b: Uint8Array): string => Buffer.from(b).reverse().toString('hex')
const outpointKey = (txid: string, vout: number): string => `${txid}:${vout}`

/** bitcoind's FormatMoney: at least two decimals, trailing zeros trimmed. */
export function formatMoney(sats: bigint): string {
  const neg = sats < 0n
  const abs = neg ? -sats : sats
  let frac = (abs % COIN).toString().padStart(8, '0')
  while (frac.length > 2 && frac.endsWith('0')) frac = frac.slice(0, -1)
  return `${neg ? '-' : ''}${abs / COIN}.${frac}`
}

/** CFeeRate::GetFee: fee for `vsize` at `perKvB`, rounded up. */
export function feeAt(perKvB: bigint, vsize: number): bigint {
  return (perKvB * BigInt(vsize) + 999n) / 1000n
}

export function subsidyAt(height: number): bigint {
  const halvings = Math.floor(height / HALVING_INTERVAL)
  return halvings >= 64 ? 0n : (50n * COIN) >> BigInt(halvings)
}

/** txid and wtxid hashes (internal byte order) of a transaction, hashed once with node's SHA-256. */
function txHashes(tx: Transaction): { hash: Buffer; witnessHash: Buffer; txid: string } {
  const full = tx.toBuffer()
  let hash: Buffer
  let witnessHash: Buffer
  if (tx.hasWitnesses()) {
    // BIP144 layout: version | 00 01 | inputs and outputs | witnesses | locktime; the txid
    // commits to the same bytes without the marker, flag and witnesses.
    const body = tx.byteLength(false) - 8
    hash = hash256(
      Buffer.concat([
        full.subarray(0, 4),
        full.subarray(6, 6 + body),
        full.subarray(full.length - 4),
      ]),
    )
    witnessHash = hash256(full)
  } else {
    hash = hash256(full)
    witnessHash = hash
  }
  return { hash, witnessHash, txid: Buffer.from(hash).reverse().toString('hex') }
}

function merkleRoot(hashes: Uint8Array[]): { root: Uint8Array; mutated: boolean } {
  if (hashes.length === 0) return { root: new Uint8Array(32), mutated: false }
  let level = hashes
  let mutated = false
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i]!
      const b = level[i + 1] ?? a
      if (i + 1 < level.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0)
        mutated = true
      next.push(hash256(Buffer.concat([a, b])))
    }
    level = next
  }
  return { root: level[0]!, mutated }
}

/** Core's GetDustThreshold at -dustrelayfee. */
export function dustThreshold(script: Uint8Array): bigint {
  if ((script.length > 0 && script[0] === bscript.OPS.OP_RETURN) || script.length > 10_000)
    return 0n
  const outSize = 8 + (script.length < 253 ? 1 : 3) + script.length
  const spendSize = witnessProgram(script)
    ? 32 + 4 + 1 + Math.floor(107 / 4) + 4
    : 32 + 4 + 1 + 107 + 4
  return feeAt(DUST_RELAY_FEE_PER_KVB, outSize + spendSize)
}

/** Core's Solver(): whether an output script is one of the standard templates. */
function isStandardOutput(s: Uint8Array): boolean {
  const OP = bscript.OPS
  if (s.length > 0 && s[0] === OP.OP_RETURN) return isPushOnly(s.subarray(1))
  if (witnessProgram(s)) return true
  if (isP2SH(s)) return true
  if (
    s.length === 25 &&
    s[0] === OP.OP_DUP &&
    s[1] === OP.OP_HASH160 &&
    s[2] === 20 &&
    s[23] === OP.OP_EQUALVERIFY &&
    s[24] === OP.OP_CHECKSIG
  )
    return true
  if ((s.length === 35 && s[0] === 33) || (s.length === 67 && s[0] === 65))
    return s[s.length - 1] === OP.OP_CHECKSIG
  // Bare multisig, up to 3 keys (permitbaremultisig defaults to on).
  const chunks = bscript.decompile(s)
  if (chunks && chunks.length >= 4 && chunks[chunks.length - 1] === OP.OP_CHECKMULTISIG) {
    const m = chunks[0]
    const n = chunks[chunks.length - 2]
    if (typeof m !== 'number' || typeof n !== 'number') return false
    const mm = m - (OP.OP_1! - 1)
    const nn = n - (OP.OP_1! - 1)
    const keys = chunks.slice(1, -2)
    return (
      mm >= 1 &&
      nn >= 1 &&
      nn <= 3 &&
      mm <= nn &&
      keys.length === nn &&
      keys.every((k) => k instanceof Uint8Array && (k.length === 33 || k.length === 65))
    )
  }
  return false
}

const reject = (reason: string, debug?: string): Reject => {
  const details = debug ? `${reason}, ${debug}` : reason
  return { reason, details, code: -26, message: details }
}
const MISSING_INPUTS: Reject = {
  reason: 'missing-inputs',
  code: -25,
  message: 'bad-txns-inputs-missingorspent',
}

/** Context-free consensus checks (Core's CheckTransaction). */
function checkTransaction(tx: Transaction): Reject | undefined {
  if (tx.ins.length === 0) return reject('bad-txns-vin-empty')
  if (tx.outs.length === 0) return reject('bad-txns-vout-empty')
  if (tx.byteLength(false) * 4 > MAX_BLOCK_WEIGHT) return reject('bad-txns-oversize')
  let total = 0n
  for (const o of tx.outs) {
    if (o.value < 0n) return reject('bad-txns-vout-negative')
    if (o.value > MAX_MONEY) return reject('bad-txns-vout-toolarge')
    total += o.value
    if (total > MAX_MONEY) return reject('bad-txns-txouttotal-toolarge')
  }
  const seen = new Set<string>()
  for (const i of tx.ins) {
    const k = outpointKey(reversedHex(i.hash), i.index)
    if (seen.has(k)) return reject('bad-txns-inputs-duplicate')
    seen.add(k)
  }
  if (tx.isCoinbase()) {
    const len = tx.ins[0]!.script.length
    if (len < 2 || len > 100) return reject('bad-cb-length')
  } else {
    for (const i of tx.ins) {
      if (i.index === 0xffffffff && i.hash.every((b) => b === 0))
        return reject('bad-txns-prevout-null')
    }
  }
  return undefined
}

function isFinalTx(tx: Transaction, height: number, time: number): boolean {
  if (tx.locktime === 0) return true
  if (tx.locktime < (tx.locktime < LOCKTIME_THRESHOLD ? height : time)) return true
  return tx.ins.every((i) => i.sequence === SEQUENCE_FINAL)
}

export class Chain extends EventEmitter {
  private readonly blocks: StoredBlock[] = []
  private readonly byHash = new Map<string, StoredBlock>()
  private readonly coins = new Map<string, Coin>()
  private readonly txIndex = new Map<string, { blockHash: string; height: number }>()
  private readonly pool = new Map<string, MempoolEntry>()
  /** outpoint → txid of the mempool tx spending it. */
  private readonly poolSpends = new Map<string, string>()
  private readonly scriptCache = new Set<string>()
  private readonly now: () => number
  private timer: NodeJS.Timeout | undefined
  // Fee estimation samples (see estimateFee).
  private readonly feeSamples: Array<{ feeRate: number; blocks: number }> = []
  private readonly trackedEntryHeight = new Map<string, number>()
  private firstRecordedHeight: number | undefined
  private sequence = 1

  constructor(opts: ChainOptions = {}) {
    super()
    this.now = opts.now ?? (() => Date.now())
    const genesis = Block.fromHex(REGTEST_GENESIS_HEX)
    const stored: StoredBlock = {
      block: genesis,
      height: 0,
      hash: genesis.getId(),
      txids: genesis.transactions!.map((t) => t.getId()),
      undo: [],
      spent: [[]],
      medianTime: genesis.timestamp,
      invalid: false,
      active: true,
    }
    this.blocks.push(stored)
    this.byHash.set(stored.hash, stored)
    // The genesis coinbase is not in the UTXO set (Core never added it).
    this.txIndex.set(stored.txids[0]!, { blockHash: stored.hash, height: 0 })
  }

  // ---------------------------------------------------------------- reading

  tip(): { height: number; hash: string } {
    const t = this.blocks[this.blocks.length - 1]!
    return { height: t.height, hash: t.hash }
  }

  blockAt(heightOrHash: number | string): ChainBlock | undefined {
    const b =
      typeof heightOrHash === 'number' ? this.blocks[heightOrHash] : this.byHash.get(heightOrHash)
    return b && b.active ? { block: b.block, height: b.height, hash: b.hash } : undefined
  }

  /** Any block ever seen, including invalidated ones, with its status. */
  knownBlock(hash: string): (ChainBlock & { invalid: boolean; active: boolean }) | undefined {
    const b = this.byHash.get(hash)
    return (
      b && { block: b.block, height: b.height, hash: b.hash, invalid: b.invalid, active: b.active }
    )
  }

  /** Median time past of the block at `height` (BIP113). */
  medianTimePast(height = this.tip().height): number {
    return this.blocks[height]!.medianTime
  }

  getTransaction(
    txid: string,
  ): { tx: Transaction; blockHash?: string; height?: number; inMempool: boolean } | undefined {
    const m = this.pool.get(txid)
    if (m) return { tx: m.tx, inMempool: true }
    const loc = this.txIndex.get(txid)
    if (!loc) return undefined
    const b = this.byHash.get(loc.blockHash)!
    const i = b.txids.indexOf(txid)
    return {
      tx: b.block.transactions![i]!,
      blockHash: loc.blockHash,
      height: loc.height,
      inMempool: false,
    }
  }

  /** A confirmed unspent output (gettxout without the mempool). */
  utxo(txid: string, vout: number): Coin | undefined {
    return this.coins.get(outpointKey(txid, vout))
  }

  /** Unspent output as seen with the mempool: unconfirmed outputs included, mempool-spent ones hidden. */
  utxoWithMempool(txid: string, vout: number): Coin | undefined {
    const key = outpointKey(txid, vout)
    if (this.poolSpends.has(key)) return undefined
    const c = this.coins.get(key)
    if (c) return c
    const m = this.pool.get(txid)
    const o = m?.tx.outs[vout]
    return o
      ? { value: o.value, script: o.script, height: MEMPOOL_HEIGHT, coinbase: false }
      : undefined
  }

  /** Every confirmed unspent output (for wallets and tests; a copy). */
  utxos(): Array<{ txid: string; vout: number } & Coin> {
    return [...this.coins].map(([k, c]) => {
      const [txid, vout] = k.split(':')
      return { txid: txid!, vout: Number(vout), ...c }
    })
  }

  /** The mempool tx spending an outpoint, if any. */
  spentInMempool(txid: string, vout: number): string | undefined {
    return this.poolSpends.get(outpointKey(txid, vout))
  }

  /** Core's mempool sequence number: +1 for every transaction added to or removed from the mempool. */
  mempoolSequence(): number {
    return this.sequence
  }

  /** The coins a block's transactions spent (getblock verbosity 3's prevouts and fees). */
  blockUndo(hash: string): Coin[][] | undefined {
    return this.byHash.get(hash)?.spent
  }

  /** Blocks known but not on the active chain whose children are unknown (getchaintips). */
  staleTips(): Array<ChainBlock & { invalid: boolean; forkHeight: number }> {
    const hasChild = new Set<string>()
    for (const b of this.byHash.values())
      if (b.block.prevHash) hasChild.add(reversedHex(b.block.prevHash))
    const out: Array<ChainBlock & { invalid: boolean; forkHeight: number }> = []
    for (const b of this.byHash.values()) {
      if (b.active || hasChild.has(b.hash)) continue
      let a: StoredBlock | undefined = b
      while (a && !a.active) a = this.byHash.get(reversedHex(a.block.prevHash!))
      out.push({
        block: b.block,
        height: b.height,
        hash: b.hash,
        invalid: b.invalid,
        forkHeight: a?.height ?? 0,
      })
    }
    return out
  }

  /** The whole mempool as chunks in mining order (Core v31's linearization, simplified). */
  mempoolChunks(): Array<{ txids: string[]; fee: bigint; weight: number }> {
    const info = new Map<string, { fee: number; vsize: number; parents: string[] }>()
    for (const [t, e] of this.pool)
      info.set(t, { fee: Number(e.fee), vsize: e.vsize, parents: [...e.parents] })
    return linearize(info).map((c) => ({
      txids: c.txids,
      fee: c.txids.reduce((a, t) => a + this.pool.get(t)!.fee, 0n),
      weight: c.txids.reduce((a, t) => a + this.pool.get(t)!.weight, 0),
    }))
  }

  mempool(): MempoolEntryView[] {
    return [...this.pool.keys()].map((t) => this.mempoolEntry(t)!)
  }

  mempoolEntry(txid: string): MempoolEntryView | undefined {
    const e = this.pool.get(txid)
    if (!e) return undefined
    const anc = this.ancestors(txid)
    const desc = this.descendants(txid)
    const sum = (s: Set<string>, f: (x: MempoolEntry) => number | bigint) => {
      let n = 0n
      for (const t of s) n += BigInt(f(this.pool.get(t)!))
      return n
    }
    return {
      ...e,
      ancestorCount: anc.size + 1,
      ancestorSize: Number(sum(anc, (x) => x.vsize)) + e.vsize,
      ancestorFees: sum(anc, (x) => x.fee) + e.fee,
      descendantCount: desc.size + 1,
      descendantSize: Number(sum(desc, (x) => x.vsize)) + e.vsize,
      descendantFees: sum(desc, (x) => x.fee) + e.fee,
    }
  }

  /** In-mempool ancestors of a mempool tx (not including itself). */
  ancestors(txid: string): Set<string> {
    return this.walk(txid, (e) => e.parents)
  }

  descendants(txid: string): Set<string> {
    return this.walk(txid, (e) => e.children)
  }

  private walk(txid: string, next: (e: MempoolEntry) => Set<string>): Set<string> {
    const out = new Set<string>()
    const todo = [...(this.pool.get(txid) ? next(this.pool.get(txid)!) : [])]
    while (todo.length) {
      const t = todo.pop()!
      if (out.has(t)) continue
      out.add(t)
      const e = this.pool.get(t)
      if (e) todo.push(...next(e))
    }
    return out
  }

  private cluster(seed: Iterable<string>): Set<string> {
    const out = new Set<string>()
    const todo = [...seed]
    while (todo.length) {
      const t = todo.pop()!
      if (out.has(t)) continue
      const e = this.pool.get(t)
      if (!e) continue
      out.add(t)
      todo.push(...e.parents, ...e.children)
    }
    return out
  }

  // ------------------------------------------------------------- mempool

  /** testmempoolaccept for one transaction. */
  testAccept(txOrHex: Transaction | string, opts: AcceptOptions = {}): AcceptResult {
    let tx: Transaction
    try {
      tx = typeof txOrHex === 'string' ? decodeTx(txOrHex) : txOrHex
    } catch {
      return { allowed: false, ...DECODE_FAILED }
    }
    const txid = tx.getId()
    const wtxid = reversedHex(tx.getHash(true))
    const r = this.check(tx, false)
    if ('reason' in r) return { allowed: false, txid, wtxid, ...r }
    const max = opts.maxFeePerKvB ?? DEFAULT_MAX_FEE_PER_KVB
    if (max > 0n && r.fee > feeAt(max, r.vsize))
      return {
        allowed: false,
        txid,
        wtxid,
        reason: 'max-fee-exceeded',
        code: -25,
        message: MAX_FEE_MESSAGE,
      }
    return { allowed: true, txid, wtxid, vsize: r.vsize, fee: r.fee, replaces: [...r.evict] }
  }

  /** sendrawtransaction: accepts into the mempool (replacing conflicts) or throws ChainPolicyError. */
  submit(txOrHex: Transaction | string, opts: AcceptOptions = {}): string {
    let tx: Transaction
    try {
      tx = typeof txOrHex === 'string' ? decodeTx(txOrHex) : txOrHex
    } catch {
      throw new ChainPolicyError(DECODE_FAILED)
    }
    const txid = tx.getId()
    if (this.pool.has(txid)) return txid
    for (let i = 0; i < tx.outs.length; i++) {
      if (this.coins.has(outpointKey(txid, i)))
        throw new ChainPolicyError({
          reason: 'txn-already-known',
          code: -27,
          message: 'Transaction outputs already in utxo set',
        })
    }
    const r = this.check(tx, false)
    if ('reason' in r) throw new ChainPolicyError(r)
    const max = opts.maxFeePerKvB ?? DEFAULT_MAX_FEE_PER_KVB
    if (max > 0n && r.fee > feeAt(max, r.vsize))
      throw new ChainPolicyError({
        reason: 'max-fee-exceeded',
        code: -25,
        message: MAX_FEE_MESSAGE,
      })
    this.addToPool(tx, r, true)
    return txid
  }

  private addToPool(tx: Transaction, r: Accepted, track: boolean): void {
    for (const t of r.evict) this.removeFromPool(t, 'replaced')
    const txid = tx.getId()
    const parents = new Set<string>()
    for (const i of tx.ins) {
      const prev = reversedHex(i.hash)
      if (this.pool.has(prev)) parents.add(prev)
      this.poolSpends.set(outpointKey(prev, i.index), txid)
    }
    const entry: MempoolEntry = {
      tx,
      txid,
      wtxid: reversedHex(tx.getHash(true)),
      fee: r.fee,
      vsize: r.vsize,
      weight: tx.weight(),
      time: Math.floor(this.now() / 1000),
      height: this.tip().height,
      parents,
      children: new Set(),
    }
    for (const p of parents) this.pool.get(p)!.children.add(txid)
    this.pool.set(txid, entry)
    this.sequence++
    // Core's fee estimator tracks only transactions without mempool parents.
    if (track && parents.size === 0) this.trackedEntryHeight.set(txid, entry.height)
    this.emit('tx', tx, entry)
  }

  private removeFromPool(txid: string, reason: 'block' | 'conflict' | 'replaced' | 'reorg'): void {
    const e = this.pool.get(txid)
    if (!e) return
    if (reason !== 'block') for (const d of this.descendants(txid)) this.removeOne(d, reason)
    this.removeOne(txid, reason)
  }

  private removeOne(txid: string, reason: string): void {
    const e = this.pool.get(txid)
    if (!e) return
    this.pool.delete(txid)
    this.sequence++
    for (const i of e.tx.ins) {
      const k = outpointKey(reversedHex(i.hash), i.index)
      if (this.poolSpends.get(k) === txid) this.poolSpends.delete(k)
    }
    for (const p of e.parents) this.pool.get(p)?.children.delete(txid)
    for (const c of e.children) this.pool.get(c)?.parents.delete(txid)
    if (reason !== 'block') this.trackedEntryHeight.delete(txid)
    this.emit('removed', txid, reason)
  }

  /**
   * AcceptToMemoryPool's checks in Core's order (PreChecks, ReplacementChecks, PolicyScriptChecks):
   * the first failing rule decides the reason, as in bitcoind.
   */
  private check(tx: Transaction, bypassLimits: boolean): Accepted | Reject {
    const bad = checkTransaction(tx)
    if (bad) return bad
    if (tx.isCoinbase()) return reject('coinbase')
    const std = this.standard(tx)
    if (std) return std
    if (tx.byteLength(false) < MIN_STANDARD_TX_NONWITNESS_SIZE) return reject('tx-size-small')
    const tip = this.tip()
    if (!isFinalTx(tx, tip.height + 1, this.medianTimePast())) return reject('non-final')
    const txid = tx.getId()
    if (this.pool.has(txid)) {
      const same = this.pool.get(txid)!.wtxid === reversedHex(tx.getHash(true))
      return reject(same ? 'txn-already-in-mempool' : 'txn-same-nonwitness-data-in-mempool')
    }
    // Conflicts (full RBF: any conflicting mempool tx may be replaced).
    const conflicts = new Set<string>()
    for (const i of tx.ins) {
      const s = this.poolSpends.get(outpointKey(reversedHex(i.hash), i.index))
      if (s) conflicts.add(s)
    }
    // Inputs.
    const prevs: Coin[] = []
    for (const i of tx.ins) {
      const prevTxid = reversedHex(i.hash)
      const key = outpointKey(prevTxid, i.index)
      let c = this.coins.get(key)
      if (!c) {
        const m = this.pool.get(prevTxid)
        const o = m?.tx.outs[i.index]
        if (o) c = { value: o.value, script: o.script, height: MEMPOOL_HEIGHT, coinbase: false }
      }
      if (!c) {
        for (let o = 0; o < tx.outs.length; o++) {
          if (this.coins.has(outpointKey(txid, o))) return reject('txn-already-known')
        }
        return MISSING_INPUTS
      }
      prevs.push(c)
    }
    if (!this.sequenceLocksOk(tx, prevs, tip.height + 1)) return reject('non-BIP68-final')
    const inputs = this.checkTxInputs(tx, prevs, tip.height + 1)
    if ('reason' in inputs) return inputs
    const fee = inputs.fee
    const vsize = tx.virtualSize()
    if (!bypassLimits) {
      const min = feeAt(MIN_RELAY_FEE_PER_KVB, vsize)
      if (fee < min) return reject('min relay fee not met', `${fee} < ${min}`)
    }
    // Ephemeral dust (v29+): a transaction with a dust output must pay no fee.
    const dust = tx.outs.filter((o) => o.value < dustThreshold(o.script)).length
    if (dust === 1 && fee !== 0n) return reject('dust', 'tx with dust output must be 0-fee')
    // Mempool parents and TRUC (BIP431) rules.
    const parents = new Set<string>()
    for (const i of tx.ins) {
      const p = reversedHex(i.hash)
      if (this.pool.has(p)) parents.add(p)
    }
    const truc = this.trucCheck(tx, vsize, parents, conflicts)
    if (truc) return truc
    // Replacement (Core v31's ReplacementChecks).
    const evict = new Set<string>()
    if (conflicts.size > 0) {
      for (const c of conflicts) {
        evict.add(c)
        for (const d of this.descendants(c)) evict.add(d)
      }
      if (evict.size > MAX_REPLACEMENT_CANDIDATES)
        return reject(
          'too many potential replacements',
          `rejecting replacement ${txid}; too many potential replacements (${evict.size} > ${MAX_REPLACEMENT_CANDIDATES})`,
        )
      for (const p of parents) {
        if (evict.has(p))
          return reject(
            'bad-txns-spends-conflicting-tx',
            `${txid} spends conflicting transaction ${p}`,
          )
      }
      let replacedFees = 0n
      for (const t of evict) replacedFees += this.pool.get(t)!.fee
      if (fee < replacedFees)
        return reject(
          'insufficient fee',
          `rejecting replacement ${txid}, less fees than conflicting txs; ${formatMoney(fee)} < ${formatMoney(replacedFees)}`,
        )
      const additional = fee - replacedFees
      const relay = feeAt(INCREMENTAL_RELAY_FEE_PER_KVB, vsize)
      if (additional < relay)
        return reject(
          'insufficient fee',
          `rejecting replacement ${txid}, not enough additional fees to relay; ${formatMoney(additional)} < ${formatMoney(relay)}`,
        )
      if (!this.improvesDiagram(tx, fee, vsize, parents, evict))
        return reject(
          'replacement-failed',
          'insufficient feerate: does not improve feerate diagram',
        )
    }
    // Cluster limits (v31 cluster mempool).
    const cl = this.cluster(parents)
    for (const t of evict) cl.delete(t)
    let clSize = vsize
    for (const t of cl) clSize += this.pool.get(t)!.vsize
    if (cl.size + 1 > CLUSTER_COUNT_LIMIT || clSize > CLUSTER_VSIZE_LIMIT)
      return reject('too-large-cluster', txid)
    // Scripts.
    const wtxid = reversedHex(tx.getHash(true))
    if (!this.scriptCache.has(wtxid)) {
      const ctx = {
        tx,
        prevScripts: prevs.map((p) => p.script),
        prevValues: prevs.map((p) => p.value),
        policy: true,
      }
      for (let i = 0; i < tx.ins.length; i++) {
        try {
          verifyInput(ctx, i)
        } catch (e) {
          if (!(e instanceof ScriptError)) throw e
          const reason = `mempool-script-verify-flag-failed (${e.text})`
          const input = tx.ins[i]!
          return reject(
            reason,
            `input ${i} of ${txid} (wtxid ${wtxid}), spending ${reversedHex(input.hash)}:${input.index}`,
          )
        }
      }
      this.scriptCache.add(wtxid)
    }
    return { fee, vsize, evict }
  }

  /** IsStandardTx (policy/policy.cpp) with v31 defaults. */
  private standard(tx: Transaction): Reject | undefined {
    if (tx.version < 1 || tx.version > 3) return reject('version')
    if (tx.weight() > MAX_STANDARD_TX_WEIGHT) return reject('tx-size')
    for (const i of tx.ins) {
      if (i.script.length > MAX_SCRIPTSIG_SIZE) return reject('scriptsig-size')
      if (!isPushOnly(i.script)) return reject('scriptsig-not-pushonly')
    }
    let dataBytes = 0
    let dust = 0
    for (const o of tx.outs) {
      if (!isStandardOutput(o.script)) return reject('scriptpubkey')
      if (o.script[0] === bscript.OPS.OP_RETURN) dataBytes += o.script.length
      else if (o.value < dustThreshold(o.script)) dust++
    }
    if (dataBytes > MAX_DATACARRIER_BYTES) return reject('datacarrier')
    if (dust > 1) return reject('dust')
    return undefined
  }

  private trucCheck(
    tx: Transaction,
    vsize: number,
    parents: Set<string>,
    conflicts: Set<string>,
  ): Reject | undefined {
    const txid = tx.getId()
    const wtxid = reversedHex(tx.getHash(true))
    if (tx.version === 3) {
      if (vsize > TRUC_MAX_VSIZE)
        return reject(
          'TRUC-violation',
          `version=3 tx ${txid} (wtxid=${wtxid}) is too big: ${vsize} > ${TRUC_MAX_VSIZE} virtual bytes`,
        )
      for (const p of parents) {
        const pe = this.pool.get(p)!
        if (pe.tx.version !== 3)
          return reject(
            'TRUC-violation',
            `version=3 tx ${txid} (wtxid=${wtxid}) cannot spend from non-version=3 tx ${p} (wtxid=${pe.wtxid})`,
          )
      }
      if (parents.size > 0) {
        const anc = new Set<string>()
        for (const p of parents) {
          anc.add(p)
          for (const a of this.ancestors(p)) anc.add(a)
        }
        if (anc.size > 1)
          return reject(
            'TRUC-violation',
            `tx ${txid} (wtxid=${wtxid}) would have too many ancestors`,
          )
        if (vsize > TRUC_CHILD_MAX_VSIZE)
          return reject(
            'TRUC-violation',
            `version=3 child tx ${txid} (wtxid=${wtxid}) is too big: ${vsize} > ${TRUC_CHILD_MAX_VSIZE} virtual bytes`,
          )
        const parent = this.pool.get([...parents][0]!)!
        const otherChildren = [...parent.children].filter((c) => !conflicts.has(c))
        if (otherChildren.length > 0)
          return reject(
            'TRUC-violation',
            `tx ${parent.txid} (wtxid=${parent.wtxid}) would exceed descendant count limit`,
          )
      }
    } else {
      for (const p of parents) {
        const pe = this.pool.get(p)!
        if (pe.tx.version === 3)
          return reject(
            'TRUC-violation',
            `non-version=3 tx ${txid} (wtxid=${wtxid}) cannot spend from version=3 tx ${p} (wtxid=${pe.wtxid})`,
          )
      }
    }
    return undefined
  }

  /** Core's CheckSequenceLocks (BIP68) for the block at `height`. */
  private sequenceLocksOk(tx: Transaction, prevs: Coin[], height: number): boolean {
    if (tx.version < 2) return true
    let minHeight = -1
    let minTime = -1
    tx.ins.forEach((input, i) => {
      const seq = input.sequence
      if (seq & 0x80000000) return
      const coinHeight = prevs[i]!.height === MEMPOOL_HEIGHT ? height : prevs[i]!.height
      if (seq & 0x00400000) {
        const base = this.blocks[Math.max(coinHeight - 1, 0)]!.medianTime
        minTime = Math.max(minTime, base + (seq & 0xffff) * 512 - 1)
      } else {
        minHeight = Math.max(minHeight, coinHeight + (seq & 0xffff) - 1)
      }
    })
    return minHeight < height && minTime < this.blocks[height - 1]!.medianTime
  }

  /** Core's Consensus::CheckTxInputs. */
  private checkTxInputs(
    tx: Transaction,
    prevs: Coin[],
    spendHeight: number,
  ): { fee: bigint } | Reject {
    let valueIn = 0n
    for (const c of prevs) {
      if (c.coinbase && spendHeight - c.height < COINBASE_MATURITY)
        return reject(
          'bad-txns-premature-spend-of-coinbase',
          `tried to spend coinbase at depth ${spendHeight - c.height}`,
        )
      valueIn += c.value
    }
    let valueOut = 0n
    for (const o of tx.outs) valueOut += o.value
    if (valueIn < valueOut)
      return reject(
        'bad-txns-in-belowout',
        `value in (${formatMoney(valueIn)}) < value out (${formatMoney(valueOut)})`,
      )
    return { fee: valueIn - valueOut }
  }

  /** Feerate diagram of a set of mempool txs plus optional extra, chunked by ancestor-set feerate. */
  private diagram(
    set: Set<string>,
    extra?: { txid: string; fee: bigint; vsize: number; parents: Set<string> },
  ): Array<[number, number]> {
    const info = new Map<string, { fee: number; vsize: number; parents: string[] }>()
    for (const t of set) {
      const e = this.pool.get(t)!
      info.set(t, {
        fee: Number(e.fee),
        vsize: e.vsize,
        parents: [...e.parents].filter((p) => set.has(p)),
      })
    }
    if (extra)
      info.set(extra.txid, {
        fee: Number(extra.fee),
        vsize: extra.vsize,
        parents: [...extra.parents].filter((p) => info.has(p) || set.has(p)),
      })
    const chunks = linearize(info)
    const pts: Array<[number, number]> = [[0, 0]]
    let x = 0
    let y = 0
    for (const c of chunks) {
      x += c.vsize
      y += c.fee
      pts.push([x, y])
    }
    return pts
  }

  private improvesDiagram(
    tx: Transaction,
    fee: bigint,
    vsize: number,
    parents: Set<string>,
    evict: Set<string>,
  ): boolean {
    const affected = this.cluster([...evict, ...parents])
    const before = this.diagram(affected)
    const after = new Set([...affected].filter((t) => !evict.has(t)))
    const withNew = this.diagram(after, { txid: tx.getId(), fee, vsize, parents })
    return compareDiagrams(withNew, before) > 0
  }

  // --------------------------------------------------------------- blocks

  /** Fee-ordered selection (ancestor-set feerate), as Core's BlockAssembler. */
  blockTemplate(maxWeight = BLOCK_TEMPLATE_WEIGHT): MempoolEntry[] {
    const info = new Map<string, { fee: number; vsize: number; parents: string[] }>()
    for (const [t, e] of this.pool)
      info.set(t, { fee: Number(e.fee), vsize: e.vsize, parents: [...e.parents] })
    const order: MempoolEntry[] = []
    let weight = 0
    const skipped = new Set<string>()
    for (const chunk of linearize(info)) {
      const w = chunk.txids.reduce((a, t) => a + this.pool.get(t)!.weight, 0)
      if (
        chunk.txids.some(
          (t) => skipped.has(t) || [...this.pool.get(t)!.parents].some((p) => skipped.has(p)),
        ) ||
        weight + w > maxWeight
      ) {
        for (const t of chunk.txids) skipped.add(t)
        continue
      }
      weight += w
      for (const t of chunk.txids) order.push(this.pool.get(t)!)
    }
    return order
  }

  /** Mines `n` blocks paying the coinbase to `scriptOrAddress`; returns their hashes. */
  mine(n: number, scriptOrAddress: Uint8Array | string): string[] {
    const script =
      typeof scriptOrAddress === 'string'
        ? baddress.toOutputScript(scriptOrAddress, REGTEST)
        : scriptOrAddress
    const hashes: string[] = []
    for (let i = 0; i < n; i++) {
      const block = this.buildBlock(script)
      this.connect(block)
      hashes.push(block.getId())
    }
    return hashes
  }

  /** A valid next block (not connected): coinbase + fee-ordered mempool txs, proof of work found. */
  buildBlock(
    payout: Uint8Array,
    txs: Transaction[] = this.blockTemplate().map((e) => e.tx),
  ): Block {
    const tip = this.blocks[this.blocks.length - 1]!
    const height = tip.height + 1
    let fees = 0n
    for (const t of txs) {
      const e = this.pool.get(t.getId())
      if (e) fees += e.fee
    }
    const cb = new Transaction()
    cb.version = 2
    cb.locktime = height - 1
    cb.addInput(
      new Uint8Array(32),
      0xffffffff,
      0xfffffffe,
      bscript.compile([bscript.number.encode(height), bscript.OPS.OP_0!]),
    )
    cb.setWitness(0, [new Uint8Array(32)])
    cb.addOutput(payout, subsidyAt(height) + fees)
    const all = [cb, ...txs]
    const witnessRoot = merkleRoot(
      all.map((t, i) => (i === 0 ? new Uint8Array(32) : t.getHash(true))),
    ).root
    const commitment = hash256(Buffer.concat([witnessRoot, new Uint8Array(32)]))
    cb.addOutput(Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), commitment]), 0n)
    const block = new Block()
    block.version = 0x20000000
    block.prevHash = Buffer.from(tip.hash, 'hex').reverse()
    block.merkleRoot = merkleRoot(all.map((t) => t.getHash(false))).root
    block.timestamp = Math.max(tip.medianTime + 1, Math.floor(this.now() / 1000))
    block.bits = REGTEST_BITS
    block.transactions = all
    block.nonce = 0
    // A block identical to an invalidated one (same second, same transactions) would have its hash;
    // search on so a re-mined chain really is a new one.
    while (!block.checkProofOfWork() || this.byHash.get(block.getId())?.invalid) block.nonce++
    return block
  }

  /** Connects a block built elsewhere on top of the tip; throws ChainPolicyError with Core's reason. */
  submitBlock(blockOrHex: Block | string): string {
    let block: Block
    try {
      block = typeof blockOrHex === 'string' ? Block.fromHex(blockOrHex) : blockOrHex
    } catch {
      throw new ChainPolicyError({
        reason: 'Block decode failed',
        code: -22,
        message: 'Block decode failed',
      })
    }
    const hash = block.getId()
    const known = this.byHash.get(hash)
    if (known)
      throw new ChainPolicyError({
        reason: known.invalid ? 'duplicate-invalid' : 'duplicate',
        code: -1,
        message: known.invalid ? 'duplicate-invalid' : 'duplicate',
      })
    this.connect(block)
    return hash
  }

  private connect(block: Block): void {
    const fail = (reason: string, debug?: string): never => {
      throw new ChainPolicyError({
        reason,
        code: -1,
        message: debug ? `${reason}, ${debug}` : reason,
      })
    }
    const tip = this.blocks[this.blocks.length - 1]!
    const height = tip.height + 1
    const hash = block.getId()
    if (this.byHash.get(hash)?.invalid) fail('duplicate-invalid', 'block was invalidated')
    if (!block.prevHash || reversedHex(block.prevHash) !== tip.hash)
      fail('prev-blk-not-found', 'SIMULATOR: blocks must extend the tip')
    if (block.bits !== REGTEST_BITS) fail('bad-diffbits', 'incorrect proof of work')
    if (!block.checkProofOfWork()) fail('high-hash', 'proof of work failed')
    if (block.timestamp <= tip.medianTime) fail('time-too-old', "block's timestamp is too early")
    if (block.timestamp > Math.floor(this.now() / 1000) + 7200)
      fail('time-too-new', 'block timestamp too far in the future')
    if (block.version < 4 && block.version >= 0)
      fail(
        `bad-version(0x${block.version.toString(16).padStart(8, '0')})`,
        `rejected nVersion=0x${block.version.toString(16).padStart(8, '0')} block`,
      )
    const txs = block.transactions ?? []
    if (txs.length === 0) fail('bad-blk-length', 'size limits failed')
    // Every transaction hashed once, with node's SHA-256 (txid and wtxid).
    const hashes = txs.map(txHashes)
    const mr = merkleRoot(hashes.map((h) => h.hash))
    if (!block.merkleRoot || toHex(mr.root) !== toHex(block.merkleRoot))
      fail('bad-txnmrklroot', 'hashMerkleRoot mismatch')
    if (mr.mutated) fail('bad-txns-duplicate', 'duplicate transaction')
    if (!txs[0]!.isCoinbase()) fail('bad-cb-missing', 'first tx is not coinbase')
    for (let i = 1; i < txs.length; i++)
      if (txs[i]!.isCoinbase()) fail('bad-cb-multiple', 'more than one coinbase')
    for (const t of txs) {
      const r = checkTransaction(t)
      if (r)
        fail(r.reason, `Transaction check failed (tx hash ${t.getId()}) ${r.details ?? ''}`.trim())
    }
    if (block.weight() > MAX_BLOCK_WEIGHT) fail('bad-blk-weight', 'weight limit failed')
    // BIP34: the coinbase starts with the height.
    const cb = txs[0]!
    const expect = bscript.compile([bscript.number.encode(height)])
    const sig = cb.ins[0]!.script
    if (sig.length < expect.length || toHex(sig.subarray(0, expect.length)) !== toHex(expect))
      fail('bad-cb-height', 'block height mismatch in coinbase')
    // BIP141 witness commitment.
    let commitIndex = -1
    cb.outs.forEach((o, i) => {
      if (o.script.length >= 38 && toHex(o.script.subarray(0, 6)) === '6a24aa21a9ed')
        commitIndex = i
    })
    if (commitIndex >= 0) {
      const w = cb.ins[0]!.witness
      if (w.length !== 1 || w[0]!.length !== 32)
        fail('bad-witness-nonce-size', 'invalid witness reserved value size')
      const root = merkleRoot(
        hashes.map((h, i) => (i === 0 ? new Uint8Array(32) : h.witnessHash)),
      ).root
      const c = hash256(Buffer.concat([root, w[0]!]))
      if (toHex(c) !== toHex(cb.outs[commitIndex]!.script.subarray(6, 38)))
        fail('bad-witness-merkle-match', 'witness merkle commitment mismatch')
    } else if (txs.some((t) => t.hasWitnesses()))
      fail('unexpected-witness', 'unexpected witness data found')
    // Contextual checks and UTXO updates on a scratch view.
    const mtp = tip.medianTime
    const created = new Map<string, Coin>()
    const spent = new Map<string, Coin>()
    const view = (k: string): Coin | undefined =>
      spent.has(k) ? undefined : (created.get(k) ?? this.coins.get(k))
    let fees = 0n
    const txids = hashes.map((h) => h.txid)
    const spentPerTx: Coin[][] = [[]]
    for (let ti = 0; ti < txs.length; ti++) {
      const tx = txs[ti]!
      const txid = txids[ti]!
      if (!isFinalTx(tx, height, mtp)) fail('bad-txns-nonfinal', 'non-final transaction')
      if (ti > 0) {
        const prevs: Coin[] = []
        for (const i of tx.ins) {
          const k = outpointKey(reversedHex(i.hash), i.index)
          const c = view(k)
          if (!c)
            fail('bad-txns-inputs-missingorspent', `CheckTxInputs: inputs missing/spent in ${txid}`)
          prevs.push(c!)
          spent.set(k, c!)
        }
        spentPerTx.push(prevs)
        if (!this.sequenceLocksOk(tx, prevs, height))
          fail('bad-txns-nonfinal', 'contains a non-BIP68-final transaction')
        const r = this.checkTxInputs(tx, prevs, height)
        if ('reason' in r) fail(r.reason, r.details)
        else fees += r.fee
        const wtxid = reversedHex(hashes[ti]!.witnessHash)
        if (!this.scriptCache.has(wtxid)) {
          const ctx = {
            tx,
            prevScripts: prevs.map((p) => p.script),
            prevValues: prevs.map((p) => p.value),
            policy: false,
          }
          for (let i = 0; i < tx.ins.length; i++) {
            try {
              verifyInput(ctx, i)
            } catch (e) {
              if (!(e instanceof ScriptError)) throw e
              fail(`mandatory-script-verify-flag-failed (${e.text})`, `input ${i} of ${txid}`)
            }
          }
        }
      }
      tx.outs.forEach((o, vout) => {
        if (o.script.length > 0 && o.script[0] === bscript.OPS.OP_RETURN) return
        created.set(outpointKey(txid, vout), {
          value: o.value,
          script: o.script,
          height,
          coinbase: ti === 0,
        })
      })
    }
    const cbOut = cb.outs.reduce((a, o) => a + o.value, 0n)
    if (cbOut > subsidyAt(height) + fees)
      fail(
        'bad-cb-amount',
        `coinbase pays too much (actual=${cbOut} vs limit=${subsidyAt(height) + fees})`,
      )
    // Commit.
    const undo: Array<[string, Coin]> = []
    for (const [k, c] of spent) {
      if (this.coins.has(k)) undo.push([k, c])
      this.coins.delete(k)
      created.delete(k)
    }
    for (const [k, c] of created) this.coins.set(k, c)
    const times = [block.timestamp]
    for (let h = height - 1; h >= Math.max(0, height - 10); h--)
      times.push(this.blocks[h]!.block.timestamp)
    times.sort((a, b) => a - b)
    const stored: StoredBlock = {
      block,
      height,
      hash,
      txids,
      undo,
      spent: spentPerTx,
      medianTime: times[Math.floor(times.length / 2)]!,
      invalid: false,
      active: true,
    }
    this.blocks.push(stored)
    this.byHash.set(hash, stored)
    txids.forEach((t) => this.txIndex.set(t, { blockHash: hash, height }))
    // Mempool: drop what confirmed, then what now conflicts with the block.
    for (let ti = 1; ti < txs.length; ti++) {
      const txid = txids[ti]!
      const entry = this.pool.get(txid)
      if (entry) {
        this.recordConfirmation(entry, height)
        this.removeFromPool(txid, 'block')
      }
      for (const i of txs[ti]!.ins) {
        const s = this.poolSpends.get(outpointKey(reversedHex(i.hash), i.index))
        if (s && s !== txid) this.removeFromPool(s, 'conflict')
      }
    }
    this.emit('block', block, height, hash)
  }

  /** Disconnects `hash` and every block above it; their transactions go back to the mempool when still valid. */
  invalidateBlock(hash: string): void {
    const target = this.byHash.get(hash)
    if (!target)
      throw new ChainPolicyError({
        reason: 'Block not found',
        code: -5,
        message: 'Block not found',
      })
    if (target.height === 0)
      throw new ChainPolicyError({
        reason: 'genesis',
        code: -1,
        message: 'SIMULATOR: the genesis block cannot be invalidated',
      })
    target.invalid = true
    if (!target.active) return
    const disconnected: StoredBlock[] = []
    while (this.blocks.length - 1 >= target.height) {
      const b = this.blocks.pop()!
      b.active = false
      if (b !== target) b.invalid = true
      const txs = b.block.transactions!
      for (const t of b.txids) this.txIndex.delete(t)
      b.txids.forEach((t, ti) => {
        txs[ti]!.outs.forEach((_, vout) => this.coins.delete(outpointKey(t, vout)))
      })
      for (const [k, c] of b.undo) this.coins.set(k, c)
      disconnected.unshift(b)
      this.emit('disconnect', b.block, b.height, b.hash)
    }
    // Core's MaybeUpdateMempoolForReorg: re-accept the disconnected txs (no fee limits), then drop
    // whatever no longer fits (spends vanished coinbases, immature coinbase, non-final).
    const old = [...this.pool.values()]
    for (const e of old) {
      this.pool.delete(e.txid)
    }
    this.poolSpends.clear()
    const resubmit: Array<{ tx: Transaction; fromBlock: boolean; entry?: MempoolEntry }> = []
    for (const b of disconnected)
      for (const t of b.block.transactions!.slice(1)) resubmit.push({ tx: t, fromBlock: true })
    for (const e of old) resubmit.push({ tx: e.tx, fromBlock: false, entry: e })
    for (const { tx, fromBlock, entry } of resubmit) {
      const r = this.check(tx, true)
      if ('reason' in r) {
        if (!fromBlock) this.emit('removed', entry!.txid, 'reorg')
        continue
      }
      if (fromBlock) {
        this.addToPool(tx, r, false)
      } else {
        // Keep the original entry time; silently re-link.
        const parents = new Set<string>()
        for (const i of tx.ins) {
          const p = reversedHex(i.hash)
          if (this.pool.has(p)) parents.add(p)
          this.poolSpends.set(outpointKey(p, i.index), entry!.txid)
        }
        const again: MempoolEntry = { ...entry!, parents, children: new Set() }
        for (const p of parents) this.pool.get(p)!.children.add(again.txid)
        this.pool.set(again.txid, again)
      }
    }
  }

  // -------------------------------------------------------- fee estimation

  private recordConfirmation(entry: MempoolEntry, height: number): void {
    const entered = this.trackedEntryHeight.get(entry.txid)
    if (entered === undefined) return
    this.trackedEntryHeight.delete(entry.txid)
    this.feeSamples.push({ feeRate: Number(entry.fee) / entry.vsize, blocks: height - entered })
    if (this.firstRecordedHeight === undefined) this.firstRecordedHeight = height
  }

  /**
   * A simplified CBlockPolicyEstimator: the lowest feerate (sat/vB) at which at least 85% of the
   * tracked transactions paying that much or more confirmed within the target. Like Core, it has no
   * answer until transactions it saw enter the mempool have confirmed, and the usable horizon is
   * half the blocks since the first one recorded (target 1 is answered as 2).
   */
  estimateFee(targetBlocks: number): { feeRate: number; blocks: number } | undefined {
    if (this.firstRecordedHeight === undefined) return undefined
    const maxUsable = Math.floor((this.tip().height - this.firstRecordedHeight) / 2)
    if (maxUsable <= 1) return undefined
    const blocks = Math.min(Math.max(targetBlocks, 2), maxUsable, 1008)
    const rates = [...new Set(this.feeSamples.map((s) => s.feeRate))].sort((a, b) => b - a)
    let best: number | undefined
    for (const r of rates) {
      const above = this.feeSamples.filter((s) => s.feeRate >= r)
      const ok = above.filter((s) => s.blocks <= blocks).length
      if (above.length >= 3 && ok / above.length >= 0.85) best = r
      else if (above.length >= 3) break
    }
    if (best === undefined) return undefined
    return { feeRate: Math.max(best, Number(MIN_RELAY_FEE_PER_KVB) / 1000), blocks }
  }

  // ------------------------------------------------------------- mining timer

  startMining(intervalMs: number, scriptOrAddress: Uint8Array | string): void {
    this.stopMining()
    this.timer = setInterval(() => this.mine(1, scriptOrAddress), intervalMs)
    this.timer.unref()
  }

  stopMining(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}

interface Accepted {
  readonly fee: bigint
  readonly vsize: number
  readonly evict: Set<string>
}

const MAX_FEE_MESSAGE = 'Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)'
const DECODE_FAILED: Reject = {
  reason: 'TX decode failed',
  code: -22,
  message: 'TX decode failed. Make sure the tx has at least one input.',
}

/** Decodes a raw transaction as bitcoind's DecodeHexTx: hex only, the whole string consumed. */
export function decodeTx(hex: string): Transaction {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex) || hex.length === 0) throw new Error('not hex')
  const tx = Transaction.fromHex(hex)
  if (tx.ins.length === 0) throw new Error('no inputs')
  return tx
}

/** Greedy linearization by ancestor-set feerate, then chunked (merging while a later chunk pays more). */
function linearize(
  info: Map<string, { fee: number; vsize: number; parents: string[] }>,
): Array<{ txids: string[]; fee: number; vsize: number }> {
  const done = new Set<string>()
  const seq: Array<{ txids: string[]; fee: number; vsize: number }> = []
  const children = new Map<string, string[]>()
  for (const [t, x] of info)
    for (const p of x.parents) if (info.has(p)) children.set(p, [...(children.get(p) ?? []), t])
  // Ancestor packages are cached and recomputed only for descendants of what was taken.
  const cache = new Map<string, { txids: string[]; fee: number; vsize: number }>()
  const packageOf = (t: string): { txids: string[]; fee: number; vsize: number } => {
    const hit = cache.get(t)
    if (hit) return hit
    const out = new Set<string>()
    const todo = [t]
    let fee = 0
    let vsize = 0
    while (todo.length) {
      const x = todo.pop()!
      if (out.has(x) || done.has(x)) continue
      out.add(x)
      const xi = info.get(x)!
      fee += xi.fee
      vsize += xi.vsize
      for (const p of xi.parents) if (info.has(p)) todo.push(p)
    }
    const pkg = { txids: [...out], fee, vsize }
    cache.set(t, pkg)
    return pkg
  }
  while (done.size < info.size) {
    let best: { txids: string[]; fee: number; vsize: number } | undefined
    for (const t of info.keys()) {
      if (done.has(t)) continue
      const pkg = packageOf(t)
      if (!best || pkg.fee * best.vsize > best.fee * pkg.vsize) best = pkg
    }
    // Parents first inside the package.
    const members = new Set(best!.txids)
    const order: string[] = []
    const placed = new Set<string>()
    const visit = (t: string): void => {
      if (placed.has(t) || !members.has(t)) return
      placed.add(t)
      for (const p of info.get(t)!.parents) visit(p)
      order.push(t)
    }
    for (const t of best!.txids) visit(t)
    for (const t of order) done.add(t)
    const stale = [...order]
    while (stale.length) {
      const t = stale.pop()!
      cache.delete(t)
      for (const c of children.get(t) ?? []) if (cache.has(c)) stale.push(c)
    }
    const chunk = { txids: order, fee: best!.fee, vsize: best!.vsize }
    // Merge with the previous chunk while this one has the higher feerate.
    while (seq.length > 0) {
      const prev = seq[seq.length - 1]!
      if (chunk.fee * prev.vsize > prev.fee * chunk.vsize) {
        seq.pop()
        chunk.txids = [...prev.txids, ...chunk.txids]
        chunk.fee += prev.fee
        chunk.vsize += prev.vsize
      } else break
    }
    seq.push(chunk)
  }
  return seq
}

/** >0 when diagram `a` is at least `b` everywhere and better somewhere; <0 when worse somewhere. */
function compareDiagrams(a: Array<[number, number]>, b: Array<[number, number]>): number {
  const at = (d: Array<[number, number]>, x: number): number => {
    for (let i = 1; i < d.length; i++) {
      const [x0, y0] = d[i - 1]!
      const [x1, y1] = d[i]!
      if (x <= x1) return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0)
    }
    return d[d.length - 1]![1]
  }
  let better = false
  for (const x of new Set([...a.map((p) => p[0]), ...b.map((p) => p[0])])) {
    const ya = at(a, x)
    const yb = at(b, x)
    if (ya < yb - 1e-9) return -1
    if (ya > yb + 1e-9) better = true
  }
  return better ? 1 : 0
}
