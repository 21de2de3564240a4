// SIMULATOR — test-only. The script-hash index an Electrum server keeps over a chain it follows,
// with the answers electrs derives from it (romanz/electrs v0.11.1 src/status.rs, unchanged since v0.10):
//  - history: confirmed entries in block order (height, then position in the block), then mempool
//    entries sorted by (has unconfirmed inputs, txid) — so height 0 comes before height -1 — each
//    mempool entry with its fee (Electrum protocol: blockchain.scripthash.get_history);
//  - status: sha256 of the concatenated "tx_hash:height:" of that history, hex; null when empty
//    (Electrum protocol basics, "Status");
//  - balance and unspent outputs as electrs' Unspent::build: confirmed outputs minus confirmed
//    spends; then mempool outputs (height 0) minus mempool spends; "unconfirmed" is the signed
//    mempool delta.
// Blocks are real serialized blocks (bitcoinjs-lib); nothing enters the index any other way.
import { createHash } from 'node:crypto'
import { Block, Transaction } from 'bitcoinjs-lib'
import { headerHash } from './merkle'

/** Electrum script hash: sha256(scriptPubKey), byte-reversed, hex. */
export function scriptHashOf(script: Uint8Array): string {
  return Buffer.from(createHash('sha256').update(script).digest()).reverse().toString('hex')
}

export interface HistoryEntry {
  readonly tx_hash: string
  /** Block height; 0 in the mempool with confirmed inputs only; -1 with an unconfirmed input. */
  readonly height: number
  /** Mempool entries only, in satoshis. */
  readonly fee?: number
}

export interface UnspentEntry {
  readonly tx_hash: string
  readonly tx_pos: number
  /** 0 for mempool outputs (electrs). */
  readonly height: number
  readonly value: number
}

export interface Balance {
  readonly confirmed: number
  /** Signed: mempool spends of confirmed coins make it negative. */
  readonly unconfirmed: number
}

/** What bitcoind's getmempoolentry says about a transaction, as electrs uses it. */
export interface MempoolTx {
  readonly hex: string
  /** fees.base, satoshis. */
  readonly fee: number
  /** `depends` is not empty: it spends an output of another mempool transaction. */
  readonly hasUnconfirmedInputs: boolean
}

interface Funding {
  readonly height: number
  readonly pos: number
  readonly txid: string
  readonly vout: number
  readonly value: number
}
interface Spend {
  readonly height: number
  readonly pos: number
  readonly txid: string
}
interface IndexedBlock {
  readonly hash: string
  readonly header: string
  readonly txids: readonly string[]
  readonly scripthashes: ReadonlySet<string>
  readonly spent: readonly string[]
}
interface MempoolEntry extends MempoolTx {
  readonly txid: string
  readonly tx: Transaction
}

const outpoint = (txid: string, vout: number) => `${txid}:${vout}`
const internalOrder = (txid: string) => Buffer.from(txid, 'hex').reverse()
/** Coinbase inputs spend nothing. */
const isNullPrevout = (hash: Uint8Array) => hash.every((b) => b === 0)

export class ScriptIndex {
  private readonly blocks: IndexedBlock[] = []
  private readonly funding = new Map<string, Funding[]>()
  private readonly spends = new Map<string, Spend>()
  private readonly txs = new Map<string, { hex: string; height: number }>()
  private mempool = new Map<string, MempoolEntry>()
  private mempoolFunding = new Map<string, { txid: string; vout: number; value: number }[]>()
  private mempoolSpends = new Map<string, string>()

  /** Height of the last indexed block; -1 when empty. */
  get tipHeight(): number {
    return this.blocks.length - 1
  }
  blockHash(height: number): string | undefined {
    return this.blocks[height]?.hash
  }
  /** The raw 80-byte header, hex. */
  header(height: number): string | undefined {
    return this.blocks[height]?.header
  }
  headers(from: number, count: number): string[] {
    return this.blocks.slice(from, from + count).map((b) => b.header)
  }
  /** Transaction ids of the block at `height`, in block order (display hex). */
  txids(height: number): readonly string[] | undefined {
    return this.blocks[height]?.txids
  }
  /** A confirmed transaction's raw hex (electrs looks these up in its own index). */
  confirmedTx(txid: string): string | undefined {
    return this.txs.get(txid)?.hex
  }
  mempoolTx(txid: string): string | undefined {
    return this.mempool.get(txid)?.hex
  }
  mempoolTxids(): string[] {
    return [...this.mempool.keys()]
  }

  /** Appends the block at `tipHeight + 1`; it must extend the indexed tip. */
  connect(blockHex: string): string {
    const block = Block.fromHex(blockHex)
    const height = this.blocks.length
    const hash = block.getId()
    const prev = Buffer.from(block.prevHash!).reverse().toString('hex')
    if (height > 0 && prev !== this.blocks[height - 1]!.hash)
      throw new Error(`block ${hash} does not extend the indexed tip at ${height - 1}`)
    const txids: string[] = []
    const scripthashes = new Set<string>()
    const spent: string[] = []
    for (const [pos, tx] of (block.transactions ?? []).entries()) {
      const txid = tx.getId()
      txids.push(txid)
      this.txs.set(txid, { hex: tx.toHex(), height })
      for (const input of tx.ins) {
        if (isNullPrevout(input.hash)) continue
        const op = outpoint(Buffer.from(input.hash).reverse().toString('hex'), input.index)
        this.spends.set(op, { height, pos, txid })
        spent.push(op)
      }
      for (const [vout, out] of tx.outs.entries()) {
        const sh = scriptHashOf(out.script)
        const list = this.funding.get(sh) ?? []
        list.push({ height, pos, txid, vout, value: Number(out.value) })
        this.funding.set(sh, list)
        scripthashes.add(sh)
      }
    }
    this.blocks.push({
      hash,
      header: blockHex.slice(0, 160),
      txids,
      scripthashes,
      spent,
    })
    return hash
  }

  /**
   * Appends a block known by its header only (a bitcoind SIMULATOR in sync mode serves headers
   * and no transactions): it extends the chain, and no script hash changes.
   */
  connectHeader(headerHex: string): string {
    const height = this.blocks.length
    const raw = Buffer.from(headerHex, 'hex')
    const prev = Buffer.from(raw.subarray(4, 36)).reverse().toString('hex')
    if (height > 0 && prev !== this.blocks[height - 1]!.hash)
      throw new Error(`header at ${height} does not extend the indexed tip`)
    const hash = headerHash(headerHex)
    this.blocks.push({ hash, header: headerHex, txids: [], scripthashes: new Set(), spent: [] })
    return hash
  }

  /** Removes the tip block (a reorganisation); its transactions leave the index. */
  disconnectTip(): void {
    const block = this.blocks.pop()
    if (!block) return
    const height = this.blocks.length
    for (const sh of block.scripthashes) {
      const kept = (this.funding.get(sh) ?? []).filter((f) => f.height !== height)
      if (kept.length > 0) this.funding.set(sh, kept)
      else this.funding.delete(sh)
    }
    for (const op of block.spent) this.spends.delete(op)
    for (const txid of block.txids) this.txs.delete(txid)
  }

  /** Replaces the mempool view (electrs re-syncs it from bitcoind every round). */
  setMempool(entries: ReadonlyMap<string, MempoolTx>): void {
    this.mempool = new Map()
    this.mempoolFunding = new Map()
    this.mempoolSpends = new Map()
    for (const [txid, e] of entries) {
      const tx = Transaction.fromHex(e.hex)
      this.mempool.set(txid, { ...e, txid, tx })
      for (const input of tx.ins)
        this.mempoolSpends.set(
          outpoint(Buffer.from(input.hash).reverse().toString('hex'), input.index),
          txid,
        )
      for (const [vout, out] of tx.outs.entries()) {
        const sh = scriptHashOf(out.script)
        const list = this.mempoolFunding.get(sh) ?? []
        list.push({ txid, vout, value: Number(out.value) })
        this.mempoolFunding.set(sh, list)
      }
    }
  }

  history(scripthash: string): HistoryEntry[] {
    const funded = this.funding.get(scripthash) ?? []
    const confirmed = new Map<string, Spend>()
    for (const f of funded) confirmed.set(`${f.height}:${f.pos}`, f)
    for (const f of funded) {
      const s = this.spends.get(outpoint(f.txid, f.vout))
      if (s) confirmed.set(`${s.height}:${s.pos}`, s)
    }
    const out: HistoryEntry[] = [...confirmed.values()]
      .sort((a, b) => a.height - b.height || a.pos - b.pos)
      .map((e) => ({ tx_hash: e.txid, height: e.height }))
    const mempool = [...this.mempoolTxidsOf(scripthash)].map((txid) => this.mempool.get(txid)!)
    mempool.sort(
      (a, b) =>
        Number(a.hasUnconfirmedInputs) - Number(b.hasUnconfirmedInputs) ||
        Buffer.compare(internalOrder(a.txid), internalOrder(b.txid)),
    )
    for (const e of mempool)
      out.push({ tx_hash: e.txid, height: e.hasUnconfirmedInputs ? -1 : 0, fee: e.fee })
    return out
  }

  /** The Electrum status of a script hash (null: no history). */
  status(scripthash: string): string | null {
    return statusHash(this.history(scripthash))
  }

  unspent(scripthash: string): UnspentEntry[] {
    return this.unspentAndBalance(scripthash).unspent
  }

  balance(scripthash: string): Balance {
    return this.unspentAndBalance(scripthash).balance
  }

  private mempoolTxidsOf(scripthash: string): Set<string> {
    const txids = new Set<string>()
    const outpoints: string[] = []
    for (const f of this.funding.get(scripthash) ?? []) outpoints.push(outpoint(f.txid, f.vout))
    for (const f of this.mempoolFunding.get(scripthash) ?? []) {
      txids.add(f.txid)
      outpoints.push(outpoint(f.txid, f.vout))
    }
    for (const op of outpoints) {
      const spender = this.mempoolSpends.get(op)
      if (spender) txids.add(spender)
    }
    return txids
  }

  private unspentAndBalance(scripthash: string): { unspent: UnspentEntry[]; balance: Balance } {
    const coins = new Map<string, UnspentEntry>()
    const sum = () => [...coins.values()].reduce((a, c) => a + c.value, 0)
    const funded = this.funding.get(scripthash) ?? []
    for (const f of funded)
      coins.set(outpoint(f.txid, f.vout), {
        tx_hash: f.txid,
        tx_pos: f.vout,
        height: f.height,
        value: f.value,
      })
    for (const f of funded)
      if (this.spends.has(outpoint(f.txid, f.vout))) coins.delete(outpoint(f.txid, f.vout))
    const confirmed = sum()
    for (const f of this.mempoolFunding.get(scripthash) ?? [])
      coins.set(outpoint(f.txid, f.vout), {
        tx_hash: f.txid,
        tx_pos: f.vout,
        height: 0,
        value: f.value,
      })
    for (const op of [...coins.keys()]) if (this.mempoolSpends.has(op)) coins.delete(op)
    return { unspent: [...coins.values()], balance: { confirmed, unconfirmed: sum() - confirmed } }
  }
}

/** Electrum protocol "Status": sha256 over "tx_hash:height:" of each history entry, hex. */
export function statusHash(history: readonly HistoryEntry[]): string | null {
  if (history.length === 0) return null
  const h = createHash('sha256')
  for (const e of history) h.update(`${e.tx_hash}:${e.height}:`)
  return h.digest('hex')
}
