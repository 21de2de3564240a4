// The electrs SIMULATOR over bitcoind answers recorded from a real Bitcoin Core v31
// (tests/fixtures/bitcoind-v31): real blocks 0–114, the real mempool at height 113, real
// sendrawtransaction refusals. A small JSON-RPC server below replays those recordings as the
// chain "grows" (110 → 113 with a mempool → 114 → reorganised back to 113), and the box's own
// Electrum client (src/core/clients/electrum.ts) reads what the simulator makes of them. Merkle
// proofs are folded here, independently, up to the merkle roots in the real headers.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Transaction } from 'bitcoinjs-lib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ElectrumClient } from '../../src/core/clients/electrum'
import { scriptHashOf } from './electrum/script-index'
import { startElectrsSimulator, type ElectrsSimulator } from './electrs-simulator'

const fixtures = join(__dirname, '..', 'fixtures', 'bitcoind-v31')
const read = (p: string) => JSON.parse(readFileSync(join(fixtures, p), 'utf8')) as unknown
const blocks = readFileSync(join(fixtures, 'chain', 'blocks.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { height: number; hash: string; header: string; block: string })
const txs = (read('chain/transactions.json') as { transactions: Record<string, { hex: string }> })
  .transactions
const recorded = read('blocks-and-headers.json') as {
  mempool_txids: Record<string, string>
  mempool_queries_at_height_113: { name: string; body: { result: unknown } }[]
}
const mempool113 = recorded.mempool_queries_at_height_113.find(
  (q) => q.name === 'getrawmempool true',
)!.body.result as Record<string, { fees: { base: number }; depends: string[] }>
type Recorded = { body: { result?: unknown; error?: { code: number; message: string } } }
const policy = (
  read('mempool-policy.json') as {
    cases: { name: string; tx_hex: string; sendrawtransaction?: Recorded }[]
  }
).cases
const state250 = (
  read('node-state.json') as {
    states: { calls: { name: string; body: { result: unknown } }[] }[]
  }
).states.at(-1)!.calls
const recordedCall = (name: string) => state250.find((c) => c.name === name)!.body.result
const ids = recorded.mempool_txids

/** Replays the recorded node: the active chain is blocks[0..height]; the mempool as at 113. */
class RecordedBitcoind {
  height = 110
  withMempool = false
  calls: string[] = []
  private server!: Server
  url = ''

  private mempool(): Record<string, { fees: { base: number }; depends: string[] }> {
    return this.withMempool && this.height === 113 ? mempool113 : {}
  }

  private answer(method: string, params: unknown[]): { result?: unknown; error?: unknown } {
    const err = (code: number, message: string) => ({ error: { code, message } })
    const active = blocks.slice(0, this.height + 1)
    switch (method) {
      case 'getblockchaininfo':
        return {
          result: { blocks: this.height, headers: this.height, initialblockdownload: false },
        }
      case 'getblockcount':
        return { result: this.height }
      case 'getbestblockhash':
        return { result: active.at(-1)!.hash }
      case 'getblockhash': {
        const h = params[0] as number
        return h <= this.height ? { result: active[h]!.hash } : err(-8, 'Block height out of range')
      }
      case 'getblock': {
        const b = active.find((x) => x.hash === params[0])
        return b ? { result: b.block } : err(-5, 'Block not found')
      }
      case 'getrawmempool':
        return { result: Object.keys(this.mempool()) }
      case 'getmempoolentry': {
        const e = this.mempool()[params[0] as string]
        return e ? { result: e } : err(-5, 'Transaction not in mempool')
      }
      case 'getrawtransaction': {
        const txid = params[0] as string
        const inMempool = txid in this.mempool()
        const confirmed = active.some((b) => b.block.includes(txs[txid]?.hex ?? '-'))
        if (!inMempool && !confirmed)
          return err(
            -5,
            'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.',
          )
        return { result: txs[txid]!.hex }
      }
      case 'sendrawtransaction': {
        const c = policy.find((p) => p.tx_hex === params[0] && p.sendrawtransaction)
        if (!c) throw new Error('no recording for this transaction')
        const { result, error } = c.sendrawtransaction!.body
        return error ? { error } : { result }
      }
      case 'estimatesmartfee':
        return { result: recordedCall(`estimatesmartfee ${String(params[0])}`) }
      case 'getnetworkinfo':
        return { result: recordedCall('getnetworkinfo') }
      default:
        return err(-32601, 'Method not found')
    }
  }

  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as
          | { id: unknown; method: string; params: unknown[] }
          | { id: unknown; method: string; params: unknown[] }[]
        const one = (r: { id: unknown; method: string; params: unknown[] }) => {
          this.calls.push(r.method)
          return { jsonrpc: '2.0', id: r.id, ...this.answer(r.method, r.params ?? []) }
        }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(Array.isArray(body) ? body.map(one) : one(body)))
      })
    })
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }
  close() {
    this.server.closeAllConnections()
    return new Promise<void>((r) => this.server.close(() => r()))
  }
}

const dsha = (b: Buffer) =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()
/** An SPV client's check: fold the branch from the leaf up to the root (display hex). */
function fold(leaf: string, branch: string[], pos: number): string {
  let h = Buffer.from(leaf, 'hex').reverse()
  for (const [i, s] of branch.entries()) {
    const sib = Buffer.from(s, 'hex').reverse()
    h = (pos >> i) & 1 ? dsha(Buffer.concat([sib, h])) : dsha(Buffer.concat([h, sib]))
  }
  return h.reverse().toString('hex')
}
const merkleRootOf = (header: string) =>
  Buffer.from(header.slice(72, 136), 'hex').reverse().toString('hex')
const MerkleSchema = z.object({
  block_height: z.number(),
  merkle: z.array(z.string()),
  pos: z.number(),
})

/** One raw JSON-RPC exchange on a fresh connection (to see codes and shapes as sent). */
async function raw(port: number, request: unknown): Promise<Record<string, unknown>> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.setEncoding('utf8')
  socket.write((typeof request === 'string' ? request : JSON.stringify(request)) + '\n')
  let buf = ''
  for await (const chunk of socket) {
    buf += chunk as string
    if (buf.includes('\n')) break
  }
  socket.destroy()
  return JSON.parse(buf.slice(0, buf.indexOf('\n'))) as Record<string, unknown>
}
const call = (method: string, params: unknown) =>
  raw(electrs.electrumPort, { jsonrpc: '2.0', id: 7, method, params })

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex')

let bitcoind: RecordedBitcoind
let electrs: ElectrsSimulator
let client: ElectrumClient

beforeAll(async () => {
  bitcoind = new RecordedBitcoind()
  await bitcoind.start()
  electrs = await startElectrsSimulator({
    bitcoind: { url: bitcoind.url, user: 'u', password: 'p' },
    pollMs: 50,
    checkpoints: false,
    log: () => {},
  })
  client = await ElectrumClient.connect({ host: electrs.host, port: electrs.electrumPort })
  for (
    let i = 0;
    i < 200 &&
    !(await client.ping().then(
      () => true,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 50))
})
afterAll(async () => {
  client?.close()
  await electrs?.close()
  await bitcoind?.close()
})

describe('electrs SIMULATOR following recorded v31 answers', () => {
  // bob's P2TR output of `parent` (0.3 BTC), spent in the mempool by `child`.
  const parent = Transaction.fromHex(txs[ids.parent!]!.hex)
  const bobVout = parent.outs.findIndex((o) => o.value === 30_000_000n)
  const bob = scriptHashOf(parent.outs[bobVout]!.script)
  const fee = (txid: string) => Math.round(mempool113[txid]!.fees.base * 1e8)

  it('notifies a subscribed script hash through mempool, confirmation and a reorganisation', async () => {
    const tips: number[] = []
    const statuses: (string | null)[] = []
    expect((await client.subscribeHeaders((h) => tips.push(h.height))).height).toBe(110)
    expect(await client.subscribeScriptHash(bob, (s) => statuses.push(s))).toBeNull()

    // Blocks 111–113 arrive and the 113 mempool appears: parent (confirmed inputs) then child.
    bitcoind.withMempool = true
    bitcoind.height = 113
    const inMempool = sha256hex(`${ids.parent}:0:${ids.child}:-1:`)
    await expect.poll(() => statuses.at(-1), { timeout: 10_000 }).toBe(inMempool)
    await expect.poll(() => tips.at(-1)).toBe(113)
    expect(await client.getHistory(bob)).toEqual([
      { tx_hash: ids.parent, height: 0, fee: fee(ids.parent!) },
      { tx_hash: ids.child, height: -1, fee: fee(ids.child!) },
    ])
    expect(await client.getBalance(bob)).toEqual({ confirmed: 0, unconfirmed: 0 })
    expect(await client.listUnspent(bob)).toEqual([])

    // Block 114 confirms both, in block order.
    bitcoind.height = 114
    const order = blocks[114]!.block
    const inBlock = [ids.parent!, ids.child!].sort(
      (a, b) => order.indexOf(txs[a]!.hex) - order.indexOf(txs[b]!.hex),
    )
    const confirmed = sha256hex(inBlock.map((t) => `${t}:114:`).join(''))
    await expect.poll(() => statuses.at(-1), { timeout: 10_000 }).toBe(confirmed)
    await expect.poll(() => tips.at(-1)).toBe(114)
    expect(await client.getHistory(bob)).toEqual(inBlock.map((t) => ({ tx_hash: t, height: 114 })))

    // invalidateblock 114: both go back to the mempool and the tip back to 113.
    bitcoind.height = 113
    await expect.poll(() => statuses.at(-1), { timeout: 10_000 }).toBe(inMempool)
    await expect.poll(() => tips.at(-1)).toBe(113)
    expect(tips.filter((t) => t === 113).length).toBeGreaterThanOrEqual(2)

    bitcoind.height = 114
    await expect.poll(() => statuses.at(-1), { timeout: 10_000 }).toBe(confirmed)
    // One notification per change, none repeated for an unchanged status.
    expect(statuses).toEqual([inMempool, confirmed, inMempool, confirmed])
  })

  it('serves merkle proofs that fold up to the real headers’ merkle roots', async () => {
    await expect.poll(() => electrs.indexedHeight(), { timeout: 10_000 }).toBe(114)
    for (const height of [101, 111, 112, 114]) {
      const header = await client.blockHeader(height)
      expect(header).toBe(blocks[height]!.header)
      const block = blocks[height]!.block
      const inBlock = Object.keys(txs).filter((t) => block.includes(txs[t]!.hex))
      expect(inBlock.length).toBeGreaterThan(0)
      for (const txid of inBlock) {
        const proof = await client.request(
          'blockchain.transaction.get_merkle',
          [txid, height],
          MerkleSchema,
        )
        expect(proof.block_height).toBe(height)
        expect(fold(txid, proof.merkle, proof.pos)).toBe(merkleRootOf(header))
      }
    }
  })

  it('gets transactions: confirmed from its index, unknown ones as bitcoind’s error (code 2)', async () => {
    const independent = ids.independent!
    expect(await call('blockchain.transaction.get', [independent])).toEqual({
      jsonrpc: '2.0',
      id: 7,
      result: txs[independent]!.hex,
    })
    expect(await call('blockchain.transaction.get', [independent, false])).toMatchObject({
      result: txs[independent]!.hex,
    })
    expect(await call('blockchain.transaction.get', ['ab'.repeat(32)])).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: {
        code: 2,
        message:
          'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.',
      },
    })
    expect(await call('blockchain.transaction.get_merkle', [independent, 113])).toMatchObject({
      error: { code: 1, message: `missing txid ${independent} in block ${blocks[113]!.hash}` },
    })
    expect(await call('blockchain.transaction.get_merkle', [independent, 999])).toMatchObject({
      error: { code: 1, message: 'missing block at 999' },
    })
    const coinbase114 = Object.keys(txs).find(
      (t) =>
        blocks[114]!.block.includes(txs[t]!.hex) && Transaction.fromHex(txs[t]!.hex).isCoinbase(),
    )
    // electrs v0.11 answers an object with `tx_hash` (v0.10: `tx_id`), with or without merkle.
    expect((await call('blockchain.transaction.id_from_pos', [114, 0])).result).toEqual({
      tx_hash: coinbase114,
    })
    const withBranch = (await call('blockchain.transaction.id_from_pos', [114, 0, true]))
      .result as { tx_hash: string; merkle: string[] }
    expect(Object.keys(withBranch).sort()).toEqual(['merkle', 'tx_hash'])
    expect(withBranch.tx_hash).toBe(coinbase114)
    expect(fold(coinbase114!, withBranch.merkle, 0)).toBe(merkleRootOf(blocks[114]!.header))
  })

  it('broadcasts through bitcoind and passes its refusals on as electrs does (code 2)', async () => {
    const refused = policy.filter(
      (c) =>
        c.sendrawtransaction?.body.error &&
        !c.sendrawtransaction.body.error.message.startsWith('TX decode failed'),
    )
    expect(refused.length).toBeGreaterThan(10)
    for (const c of refused) {
      const answer = await call('blockchain.transaction.broadcast', [c.tx_hex])
      expect(answer, c.name).toEqual({
        jsonrpc: '2.0',
        id: 7,
        error: { code: 2, message: c.sendrawtransaction!.body.error!.message },
      })
    }
    // electrs decodes first: what is not a transaction never reaches bitcoind.
    const before = bitcoind.calls.filter((m) => m === 'sendrawtransaction').length
    expect(await call('blockchain.transaction.broadcast', ['zz'])).toMatchObject({
      error: { code: 1, message: 'non-hex transaction' },
    })
    expect(await call('blockchain.transaction.broadcast', ['0200'])).toMatchObject({
      error: { code: 1, message: 'invalid transaction' },
    })
    expect(bitcoind.calls.filter((m) => m === 'sendrawtransaction').length).toBe(before)
  })

  it('answers the server and fee methods from bitcoind, with electrs’ errors', async () => {
    expect(await client.serverVersion('flashbox', '1.4')).toEqual(['electrs/0.11.1', '1.4'])
    expect(await call('server.version', ['x', ['1.2', '1.4']])).toMatchObject({
      result: ['electrs/0.11.1', '1.4'],
    })
    expect(await call('server.version', ['x', '1.5'])).toMatchObject({
      error: { code: 1, message: 'unsupported request Single("1.5") by x' },
    })
    expect(await call('server.version', ['x'])).toMatchObject({
      error: { code: -32602, message: 'invalid params' },
    })
    expect(await call('server.features', [])).toMatchObject({
      result: { genesis_hash: blocks[0]!.hash, hash_function: 'sha256', pruning: null },
    })
    expect(await client.estimateFee(6)).toBe(
      (recordedCall('estimatesmartfee 6') as { feerate: number }).feerate,
    )
    expect(await client.relayFee()).toBe(
      (recordedCall('getnetworkinfo') as { relayfee: number }).relayfee,
    )
    expect(await call('blockchain.estimatefee', [-1])).toMatchObject({
      error: { code: -32602, message: 'invalid params' },
    })
    expect(await call('blockchain.scripthash.get_balance', ['xyz'])).toMatchObject({
      error: { code: -32602 },
    })
    expect(await call('no.such.method', [])).toMatchObject({
      id: 7,
      error: { code: -32601, message: 'method not found' },
    })
    expect(await raw(electrs.electrumPort, 'not json')).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: 'parse error' },
    })
    expect(await raw(electrs.electrumPort, { method: 'server.ping' })).toMatchObject({
      error: { code: -32600, message: 'invalid request' },
    })
    // electrs (v0.10 and v0.11) has no cp_height: a second argument is invalid params.
    expect(await call('blockchain.block.header', [100, 114])).toMatchObject({
      error: { code: -32602 },
    })
    expect(await call('blockchain.block.headers', [113, 5])).toMatchObject({
      result: { count: 2, hex: blocks[113]!.header + blocks[114]!.header, max: 2016 },
    })
    expect(await call('blockchain.block.header', [115])).toMatchObject({
      error: { code: 1, message: 'no header at 115' },
    })
  })
})

describe('cp_height, as the Electrum protocol defines it (checkpoints: true)', () => {
  it('proves a header against the root of the header hashes up to cp_height', async () => {
    const cp = await startElectrsSimulator({
      bitcoind: { url: bitcoind.url, user: 'u', password: 'p' },
      pollMs: 50,
      checkpoints: true,
      log: () => {},
    })
    try {
      await expect.poll(() => cp.indexedHeight(), { timeout: 10_000 }).toBe(bitcoind.height)
      const one = (await raw(cp.electrumPort, {
        id: 1,
        method: 'blockchain.block.header',
        params: [100, 114],
      })) as { result: { header: string; branch: string[]; root: string } }
      expect(one.result.header).toBe(blocks[100]!.header)
      // The root, computed here from the real block hashes 0..114.
      let level: Buffer[] = blocks.slice(0, 115).map((b) => Buffer.from(b.hash, 'hex').reverse())
      while (level.length > 1) {
        if (level.length % 2) level.push(level.at(-1)!)
        const next: Buffer[] = []
        for (let i = 0; i < level.length; i += 2)
          next.push(dsha(Buffer.concat([level[i]!, level[i + 1]!])))
        level = next
      }
      const root = Buffer.from(level[0]!).reverse().toString('hex')
      expect(one.result.root).toBe(root)
      expect(fold(blocks[100]!.hash, one.result.branch, 100)).toBe(root)

      const many = (await raw(cp.electrumPort, {
        id: 2,
        method: 'blockchain.block.headers',
        params: [110, 3, 114],
      })) as { result: { count: number; branch: string[]; root: string } }
      expect(many.result.count).toBe(3)
      expect(many.result.root).toBe(root)
      expect(fold(blocks[112]!.hash, many.result.branch, 112)).toBe(root)
      expect(
        await raw(cp.electrumPort, {
          id: 3,
          method: 'blockchain.block.header',
          params: [100, 500],
        }),
      ).toMatchObject({ error: { code: 1 } })
    } finally {
      await cp.close()
    }
  })
})
