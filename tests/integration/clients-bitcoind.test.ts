// The bitcoind JSON-RPC client against the bitcoind SIMULATOR (in-process, no Docker).
import { createHash } from 'node:crypto'
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { FlashError } from '../../src/core/errors'
import {
  makeRpcauth,
  rpcauthMatches,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'

const USER = 'flashbox'
const PASSWORD = 'correct horse battery staple'
const RPCAUTH = makeRpcauth(USER, PASSWORD, '0123456789abcdef0123456789abcdef')
const quiet = () => {}

let sim: BitcoindSimulator | undefined
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(FlashError)
    return (err as FlashError).code
  }
  throw new Error('expected a FlashError')
}

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

describe('rpcauth (Bitcoin Core share/rpcauth, test/functional/rpc_users.py vector)', () => {
  it('accepts the password of the rpc_users.py rpcauth line and nothing else', () => {
    const line =
      'rpcauth=rt:93648e835a54c573682c2eb19f882535$7681e9c5b74bdd85e78166031d2058e1069b3ed7ed967c93fc63abba06f31144'
    expect(rpcauthMatches(line, 'rt', 'cA773lm788buwYe4g4WT+05pKyNruVKjQ25x3n0DQcM=')).toBe(true)
    expect(rpcauthMatches(line, 'rt', 'cA773lm788buwYe4g4WT+05pKyNruVKjQ25x3n0DQcM')).toBe(false)
    expect(rpcauthMatches(line, 'rt2', 'cA773lm788buwYe4g4WT+05pKyNruVKjQ25x3n0DQcM=')).toBe(false)
  })
})

describe('BitcoindRpc against the bitcoind SIMULATOR', () => {
  it('waits out warm-up, follows IBD to the tip, and reads consistent headers', async () => {
    sim = await startBitcoindSimulator({
      rpcauth: [RPCAUTH],
      headers: 300,
      blocksPerSecond: 150,
      warmupMs: 3_000,
      log: quiet,
    })
    const rpc = new BitcoindRpc({ url: sim.url, user: USER, password: PASSWORD })
    expect(await code(rpc.getBlockchainInfo())).toBe('bitcoind.warming-up')

    await expect
      .poll(async () => (await rpc.getBlockchainInfo().catch(() => null))?.blocks ?? 0, {
        timeout: 20_000,
      })
      .toBeGreaterThan(0)
    const during = await rpc.getBlockchainInfo()
    expect(during.chain).toBe('regtest')
    expect(during.headers).toBe(300)
    if (during.blocks < 300) {
      expect(during.initialblockdownload).toBe(true)
      expect(during.verificationprogress).toBeLessThan(1)
      expect((await rpc.estimateSmartFee(6)).feerate).toBeUndefined()
    }

    await expect
      .poll(async () => (await rpc.getBlockchainInfo()).initialblockdownload, { timeout: 30_000 })
      .toBe(false)
    const done = await rpc.getBlockchainInfo()
    expect(done.blocks).toBe(300)
    expect(done.verificationprogress).toBe(1)
    expect(await rpc.getBlockCount()).toBe(300)
    expect(await rpc.getBestBlockHash()).toBe(done.bestblockhash)
    // Bitcoin Core v31 on regtest has no fee data until it saw transactions confirm (recorded:
    // tests/fixtures/bitcoind-v31/node-state.json); this chain has none.
    expect(await rpc.estimateSmartFee(6)).toEqual({
      errors: ['Insufficient data or no feerate found'],
      blocks: 0,
    })

    // Headers are real: the raw 80 bytes double-SHA256 to the block hash and link to the parent.
    const hash = await rpc.getBlockHash(120)
    const header = await rpc.getBlockHeader(hash)
    expect(header.height).toBe(120)
    expect(header.previousblockhash).toBe(await rpc.getBlockHash(119))
    const raw = Buffer.from(await rpc.getBlockHeaderHex(hash), 'hex')
    const h1 = createHash('sha256').update(raw).digest()
    expect(Buffer.from(createHash('sha256').update(h1).digest()).reverse().toString('hex')).toBe(
      hash,
    )
    // The real regtest genesis block.
    expect(await rpc.getBlockHash(0)).toBe(
      '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
    )
    const net = await rpc.getNetworkInfo()
    expect(net.version).toBeGreaterThanOrEqual(280000)
    expect((await rpc.getMempoolInfo()).loaded).toBe(true)
    expect(await rpc.uptime()).toBeGreaterThanOrEqual(0)
  })

  it('answers a wrong password, an unknown method, a bad height and a closed port with FlashErrors', async () => {
    sim = await startBitcoindSimulator({ rpcauth: [RPCAUTH], headers: 10, blocks: 10, log: quiet })
    const wrong = new BitcoindRpc({ url: sim.url, user: USER, password: 'nope' })
    expect(await code(wrong.getBlockCount())).toBe('bitcoind.auth')
    const rpc = new BitcoindRpc({ url: sim.url, user: USER, password: PASSWORD })
    expect(await code(rpc.call('getnothing', [], (await import('zod')).z.unknown()))).toBe(
      'bitcoind.method-not-found',
    )
    const outOfRange = await rpc.getBlockHash(11).catch((e: FlashError) => e)
    expect(outOfRange).toBeInstanceOf(FlashError)
    expect((outOfRange as FlashError).code).toBe('bitcoind.rpc-error')
    expect((outOfRange as FlashError).message).toContain('Block height out of range')

    const closed = new BitcoindRpc({
      url: `http://127.0.0.1:${await freePort()}`,
      user: USER,
      password: PASSWORD,
    })
    expect(await code(closed.getBlockCount())).toBe('bitcoind.unreachable')
    expect(() => new BitcoindRpc({ url: 'not a url', user: 'a', password: 'b' })).toThrow(
      FlashError,
    )
  })

  it('never puts the password in an error', async () => {
    sim = await startBitcoindSimulator({ rpcauth: [RPCAUTH], headers: 5, blocks: 5, log: quiet })
    const wrong = new BitcoindRpc({ url: sim.url, user: USER, password: 'hunter2-secret' })
    const err = (await wrong.getBlockCount().catch((e: unknown) => e)) as FlashError
    expect(JSON.stringify(err.toJSON())).not.toContain('hunter2-secret')
  })

  it('serves batches and keeps JSON-RPC 1.0 / 2.0 error shapes (as Bitcoin Core 28)', async () => {
    sim = await startBitcoindSimulator({ rpcauth: [RPCAUTH], headers: 5, blocks: 5, log: quiet })
    const auth = 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
    const post = (body: unknown) =>
      fetch(sim!.url, {
        method: 'POST',
        headers: { authorization: auth },
        body: JSON.stringify(body),
      })
    const legacy = await post({ id: 1, method: 'nope', params: [] })
    expect(legacy.status).toBe(404)
    expect(await legacy.json()).toEqual({
      result: null,
      error: { code: -32601, message: 'Method not found' },
      id: 1,
    })
    const v2 = await post({ jsonrpc: '2.0', id: 2, method: 'nope' })
    expect(v2.status).toBe(200)
    expect(await v2.json()).toEqual({
      jsonrpc: '2.0',
      error: { code: -32601, message: 'Method not found' },
      id: 2,
    })
    const batch = await post([
      { jsonrpc: '2.0', id: 'a', method: 'getblockcount' },
      { jsonrpc: '2.0', id: 'b', method: 'getblockhash', params: [0] },
    ])
    expect(batch.status).toBe(200)
    const replies = (await batch.json()) as { id: string; result: unknown }[]
    expect(replies.map((r) => r.result)).toEqual([
      5,
      '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
    ])
    const unauth = await fetch(sim.url, { method: 'POST', body: '{}' })
    expect(unauth.status).toBe(401)
    expect(unauth.headers.get('www-authenticate')).toBe('Basic realm="jsonrpc"')
  })
})
