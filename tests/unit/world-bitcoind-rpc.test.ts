// Replays what a real Bitcoin Core v31 regtest node answered (tests/fixtures/bitcoind-v31) against
// the bitcoind simulator in world mode, over HTTP: the node-state calls on the fresh node, after 101
// and after 250 blocks; every error and edge case (JSON-RPC 1.0/2.0, batches, named params, auth);
// the mempool queries with block 114's transactions pending; every mempool-policy answer of
// testmempoolaccept and sendrawtransaction; and the block, header and UTXO queries. The chain is
// rebuilt from the recorded blocks, each block's transactions first sent through the mempool as
// the real node received them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Block } from 'bitcoinjs-lib'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { Chain } from '../simulators/world/chain'

const dir = join(__dirname, '../fixtures/bitcoind-v31')
const read = (f: string) =>
  JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>
const blocks = readFileSync(join(dir, 'chain/blocks.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { height: number; hash: string; block: string })

interface Recorded {
  name: string
  request: {
    method: string
    path: string
    body?: unknown
    body_raw?: string
    authorization?: string
  }
  status: number
  headers: Record<string, string>
  body: unknown
}

/** Fields the fixtures' README lists as varying from run to run (or here: allocator-dependent). */
const VARYING = new Set(['uptime', 'usage', 'time', 'mempool_sequence', 'size_on_disk'])
function mask(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => mask(x))
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, VARYING.has(k) ? '<varies>' : mask(x, k)]),
    )
  return key === 'uptime' ? '<varies>' : v
}

// A clock just after the recording (block times are from December 2026).
const NOW = 1_796_441_000_000
const now = () => NOW

let sim: BitcoindSimulator
let chain: Chain
const auth = 'Basic ' + Buffer.from('u:p').toString('base64')

async function replay(c: Recorded): Promise<{ status: number; headers: Headers; body: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  const a = c.request.authorization
  if (a === undefined) headers.authorization = auth
  else if (a !== 'none')
    headers.authorization = 'Basic ' + Buffer.from(a.replace(/^basic /, '')).toString('base64')
  const res = await fetch(sim.url + c.request.path, {
    method: c.request.method,
    headers,
    ...(c.request.method === 'GET'
      ? {}
      : { body: c.request.body_raw ?? JSON.stringify(c.request.body) }),
  })
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = text
  }
  return { status: res.status, headers: res.headers, body }
}

async function expectSame(c: Recorded): Promise<void> {
  const got = await replay(c)
  if ((c.request.body as { method?: string } | undefined)?.method === 'uptime') {
    expect(got.status).toBe(200)
    expect(typeof (got.body as { result: unknown }).result).toBe('number')
    return
  }
  expect({ status: got.status, body: mask(got.body) }, c.name).toEqual({
    status: c.status,
    body: mask(c.body),
  })
}

/** Sends a recorded block's transactions through the mempool, then connects the block. */
function connectViaMempool(height: number): void {
  const b = Block.fromHex(blocks[height]!.block)
  for (const tx of b.transactions!.slice(1)) {
    if (!chain.mempoolEntry(tx.getId())) chain.submit(tx)
  }
  expect(chain.submitBlock(b)).toBe(blocks[height]!.hash)
}

const nodeState = read('node-state.json') as { states: Array<{ label: string; calls: Recorded[] }> }
const errors = read('errors.json') as { cases: Recorded[] }
const policy = read('mempool-policy.json') as {
  cases: Array<Record<string, Recorded | string | null>>
}
const headers = read('blocks-and-headers.json') as {
  chain_queries: Recorded[]
  mempool_queries_at_height_113: Recorded[] | { calls: Recorded[] }
}
const state = (label: string) => nodeState.states.find((s) => s.label === label)!.calls

// Wallets are not modelled: a node without wallets cannot answer these the way the recording's
// four loaded wallets did.
const NEEDS_WALLETS = (name: string) => /several wallets|insufficient funds/.test(name)

describe('bitcoind simulator (world mode) answers as Bitcoin Core v31', () => {
  beforeAll(async () => {
    chain = new Chain({ now })
    sim = await startBitcoindSimulator({
      rpcauth: [makeRpcauth('u', 'p', '0123456789abcdef0123456789abcdef')],
      chain,
      log: () => undefined,
    })
  })
  afterAll(async () => {
    await sim?.close()
  })

  it('on the fresh node: node state and the no-wallet / no-block errors', async () => {
    for (const c of state('fresh')) if (!/estimaterawfee/.test(c.name)) await expectSame(c) // not modelled
    for (const c of errors.cases.slice(0, 3)) await expectSame(c)
  })

  it('after 101 blocks: node state and every error and edge case', async () => {
    for (let h = 1; h <= 101; h++) connectViaMempool(h)
    for (const c of state('after_101_blocks'))
      if (!/estimaterawfee/.test(c.name)) await expectSame(c)
    for (const c of errors.cases.slice(3)) {
      if (NEEDS_WALLETS(c.name)) continue
      if (c.status === 401) {
        const t0 = Date.now()
        const got = await replay(c)
        expect(got.status, c.name).toBe(401)
        expect(got.headers.get('www-authenticate'), c.name).toBe('Basic realm="jsonrpc"')
        expect(got.body, c.name).toBe('')
        // Wrong credentials are answered after bitcoind's 250 ms pause; a missing header at once.
        if (c.request.authorization === 'none') expect(Date.now() - t0).toBeLessThan(200)
        else expect(Date.now() - t0).toBeGreaterThanOrEqual(240)
        continue
      }
      await expectSame(c)
    }
  })

  it('at height 113 with block 114 pending: mempool queries', async () => {
    for (let h = 102; h <= 113; h++) connectViaMempool(h)
    for (const tx of Block.fromHex(blocks[114]!.block).transactions!.slice(1)) chain.submit(tx)
    const q = headers.mempool_queries_at_height_113
    for (const c of Array.isArray(q) ? q : q.calls) await expectSame(c)
  })

  it('at height 114: every testmempoolaccept / sendrawtransaction answer of the policy cases', async () => {
    expect(chain.submitBlock(blocks[114]!.block)).toBe(blocks[114]!.hash)
    for (const c of policy.cases) {
      for (const k of [
        'testmempoolaccept',
        'sendrawtransaction',
        'sendrawtransaction_jsonrpc_1_0',
      ]) {
        const rec = c[k] as Recorded | undefined
        if (rec) await expectSame(rec)
      }
    }
    // Block 115 mined exactly what the mempool then held.
    expect(chain.submitBlock(blocks[115]!.block)).toBe(blocks[115]!.hash)
  })

  it('after 250 blocks: block, header, UTXO queries and node state', async () => {
    for (let h = 116; h <= 250; h++) connectViaMempool(h)
    for (const c of headers.chain_queries) {
      await expectSame(c)
    }
    for (const c of state('after_250_blocks')) {
      if (/estimaterawfee/.test(c.name)) continue // not modelled
      if (/estimatesmartfee/.test(c.name)) {
        // Feerates vary from run to run (README); the horizon in "blocks" is Core's rule.
        const got = (await replay(c)).body as { result: { feerate?: number; blocks: number } }
        const want = c.body as { result: { feerate?: number; blocks: number } }
        expect(got.result.blocks, c.name).toBe(want.result.blocks)
        expect(typeof got.result.feerate, c.name).toBe('number')
        continue
      }
      await expectSame(c)
    }
  })
})
