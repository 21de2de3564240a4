// The electrs SIMULATOR's script-hash index and merkle proofs, checked against the real regtest
// chain recorded from Bitcoin Core v31 (tests/fixtures/bitcoind-v31): real blocks, the real
// mempool at height 113 (getmempoolentry fees and depends), and the real headers' merkle roots.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Transaction } from 'bitcoinjs-lib'
import { beforeEach, describe, expect, it } from 'vitest'
import { headerHash, merkleProof } from './merkle'
import { ScriptIndex, scriptHashOf, statusHash, type MempoolTx } from './script-index'

const fixtures = join(__dirname, '..', '..', 'fixtures', 'bitcoind-v31')
const blocks = readFileSync(join(fixtures, 'chain', 'blocks.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { height: number; hash: string; header: string; block: string })
const txs = (
  JSON.parse(readFileSync(join(fixtures, 'chain', 'transactions.json'), 'utf8')) as {
    transactions: Record<string, { hex: string; block_height: number | null }>
  }
).transactions
const recorded = JSON.parse(readFileSync(join(fixtures, 'blocks-and-headers.json'), 'utf8')) as {
  mempool_txids: Record<string, string>
  mempool_queries_at_height_113: { name: string; body: { result: unknown } }[]
}
const verboseMempool = recorded.mempool_queries_at_height_113.find(
  (q) => q.name === 'getrawmempool true',
)!.body.result as Record<string, { fees: { base: number }; depends: string[] }>
const ids = recorded.mempool_txids

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex')
const dsha = (b: Buffer) =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()
/** Folds a branch up to the root the way an Electrum client verifies it (SPV). */
function foldBranch(txid: string, branch: string[], pos: number): string {
  let h = Buffer.from(txid, 'hex').reverse()
  for (const [i, sibling] of branch.entries()) {
    const s = Buffer.from(sibling, 'hex').reverse()
    h = (pos >> i) & 1 ? dsha(Buffer.concat([s, h])) : dsha(Buffer.concat([h, s]))
  }
  return h.reverse().toString('hex')
}
/** The merkle root field of a real 80-byte header (bytes 36..68), display hex. */
const headerMerkleRoot = (header: string) =>
  Buffer.from(header.slice(72, 136), 'hex').reverse().toString('hex')

function indexUpTo(height: number): ScriptIndex {
  const index = new ScriptIndex()
  for (const b of blocks.slice(0, height + 1)) index.connect(b.block)
  return index
}
/** The mempool as bitcoind showed it at height 113 (what electrs reads over RPC). */
function recordedMempool(): Map<string, MempoolTx> {
  const m = new Map<string, MempoolTx>()
  for (const [txid, e] of Object.entries(verboseMempool))
    m.set(txid, {
      hex: txs[txid]!.hex,
      fee: Math.round(e.fees.base * 1e8),
      hasUnconfirmedInputs: e.depends.length > 0,
    })
  return m
}
const scriptOf = (txid: string, vout: number) => Transaction.fromHex(txs[txid]!.hex).outs[vout]!

describe('ScriptIndex over the recorded v31 chain', () => {
  let index: ScriptIndex
  beforeEach(() => {
    index = indexUpTo(113)
  })

  it('indexes every real block with its real header and hash', () => {
    const all = indexUpTo(250)
    expect(all.tipHeight).toBe(250)
    for (const b of blocks) {
      expect(all.header(b.height)).toBe(b.header)
      expect(all.blockHash(b.height)).toBe(b.hash)
      expect(headerHash(b.header)).toBe(b.hash)
    }
  })

  it('serves merkle branches that fold to the merkle root in the real headers', () => {
    const all = indexUpTo(114)
    let checked = 0
    for (const height of [0, 1, 111, 112, 113, 114]) {
      const txids = all.txids(height)!
      for (const [pos, txid] of txids.entries()) {
        const proof = merkleProof(txids, pos)
        expect(foldBranch(txid, proof.branch, pos)).toBe(headerMerkleRoot(blocks[height]!.header))
        expect(proof.root).toBe(headerMerkleRoot(blocks[height]!.header))
        checked++
      }
    }
    expect(checked).toBeGreaterThan(20)
    expect(() => merkleProof(all.txids(114)!, 7)).toThrow(RangeError)
  })

  it('orders mempool history with confirmed-input transactions (height 0) before -1', () => {
    index.setMempool(recordedMempool())
    // bob's P2TR output of `parent` (confirmed inputs), spent by `child` (unconfirmed input).
    const parent = Transaction.fromHex(txs[ids.parent!]!.hex)
    const vout = parent.outs.findIndex((o) => o.value === 30_000_000n)
    const sh = scriptHashOf(parent.outs[vout]!.script)
    const feeOf = (txid: string) => Math.round(verboseMempool[txid]!.fees.base * 1e8)
    expect(index.history(sh)).toEqual([
      { tx_hash: ids.parent, height: 0, fee: feeOf(ids.parent!) },
      { tx_hash: ids.child, height: -1, fee: feeOf(ids.child!) },
    ])
    expect(index.status(sh)).toBe(sha256hex(`${ids.parent}:0:${ids.child}:-1:`))
    expect(index.balance(sh)).toEqual({ confirmed: 0, unconfirmed: 0 })
    expect(index.unspent(sh)).toEqual([])
  })

  it('shows a confirmed coin spent in the mempool as a negative unconfirmed balance', () => {
    // A confirmed P2PKH output (block 111) that a mempool transaction spends at height 113.
    const funding = '8647f0cbea95db44270a31483446af78272903e8526636970e05ebf72e3cb537'
    const out = scriptOf(funding, 4)
    const sh = scriptHashOf(out.script)
    const before = index.history(sh)
    expect(before.every((e) => e.height > 0)).toBe(true)
    expect(index.balance(sh).unconfirmed).toBe(0)
    const confirmed = index.balance(sh).confirmed
    expect(index.unspent(sh)).toContainEqual({
      tx_hash: funding,
      tx_pos: 4,
      height: 111,
      value: Number(out.value),
    })

    index.setMempool(recordedMempool())
    const spender = [...recordedMempool()].find(([, e]) =>
      Transaction.fromHex(e.hex).ins.some(
        (i) => Buffer.from(i.hash).reverse().toString('hex') === funding && i.index === 4,
      ),
    )![0]
    const after = index.history(sh)
    expect(after.slice(0, before.length)).toEqual(before)
    expect(after.at(-1)).toMatchObject({ tx_hash: spender, height: 0 })
    const bal = index.balance(sh)
    expect(bal.confirmed).toBe(confirmed)
    const change = Transaction.fromHex(txs[spender]!.hex)
      .outs.filter((o) => scriptHashOf(o.script) === sh)
      .reduce((a, o) => a + Number(o.value), 0)
    expect(bal.unconfirmed).toBe(change - Number(out.value))
    expect(index.unspent(sh).some((u) => u.tx_hash === funding && u.tx_pos === 4)).toBe(false)
  })

  it('moves mempool entries into block order when the block confirms them, and back on a reorg', () => {
    index.setMempool(recordedMempool())
    const parent = Transaction.fromHex(txs[ids.parent!]!.hex)
    const vout = parent.outs.findIndex((o) => o.value === 30_000_000n)
    const sh = scriptHashOf(parent.outs[vout]!.script)
    const unconfirmed = index.status(sh)

    index.setMempool(new Map())
    index.connect(blocks[114]!.block)
    const order = index.txids(114)!
    const expected = [ids.parent!, ids.child!].sort((a, b) => order.indexOf(a) - order.indexOf(b))
    expect(index.history(sh)).toEqual(expected.map((t) => ({ tx_hash: t, height: 114 })))
    expect(index.status(sh)).toBe(statusHash(expected.map((t) => ({ tx_hash: t, height: 114 }))))

    // invalidateblock 114: its transactions return to the mempool (bitcoind), electrs follows.
    index.disconnectTip()
    expect(index.tipHeight).toBe(113)
    expect(index.history(sh)).toEqual([])
    index.setMempool(recordedMempool())
    expect(index.status(sh)).toBe(unconfirmed)
  })

  it('refuses a block that does not extend the tip', () => {
    expect(() => index.connect(blocks[115]!.block)).toThrow(/does not extend/)
  })

  it('sees coinbase outputs as confirmed coins of the script they pay', () => {
    const coinbase = Transaction.fromHex(txs[index.txids(101)![0]!]!.hex)
    const sh = scriptHashOf(coinbase.outs[0]!.script)
    const history = index.history(sh)
    expect(history.length).toBeGreaterThan(1)
    expect(history).toContainEqual({ tx_hash: index.txids(101)![0], height: 101 })
    for (let i = 1; i < history.length; i++)
      expect(history[i]!.height).toBeGreaterThanOrEqual(history[i - 1]!.height)
  })
})
