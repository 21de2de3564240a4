// The world LND as a standalone process (the bundle a test image runs): configured by an
// lnd.conf as the box renders it, following the world's bitcoind simulator over JSON-RPC, with
// two simulated peers in the same process and channels opened at start from mined coins.
// ln-service (gRPC) and LND's REST gateway talk to it from outside.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { bundleSimulators } from '../simulators/bundle'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { healthcheck } from '../simulators/healthcheck'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })

let work: string
let bitcoind: BitcoindSimulator
let proc: ChildProcess
let output = ''
const ports: Record<string, number> = {}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'flashbox-world-lnd-proc-'))
  const bundled = bundleSimulators(join(work, 'bundle'))
  bitcoind = await startBitcoindSimulator({
    network: 'regtest',
    chain: true,
    rpcauth: [makeRpcauth('lnd', 'lnd-rpc-password', '00112233445566778899aabbccddeeff')],
    warmupMs: 0,
    log: () => undefined,
  })
  for (const k of ['grpc', 'rest', 'bobGrpc', 'bobRest', 'carolGrpc', 'carolRest'])
    ports[k] = await freePort()
  const lnddir = join(work, 'lnd')
  mkdirSync(lnddir)
  writeFileSync(join(work, 'wallet-password'), 'box-wallet-password')
  // The keys the box's catalog renders for LND (src/core/stack), pointing at the simulator.
  writeFileSync(
    join(lnddir, 'lnd.conf'),
    [
      '[Application Options]',
      'alias=box',
      `rpclisten=127.0.0.1:${ports.grpc}`,
      `restlisten=127.0.0.1:${ports.rest}`,
      `wallet-unlock-password-file=${join(work, 'wallet-password')}`,
      'wallet-unlock-allow-create=true',
      '[Bitcoin]',
      'bitcoin.regtest=1',
      '[Bitcoind]',
      `bitcoind.rpchost=${new URL(bitcoind.url).host}`,
      'bitcoind.rpcuser=lnd',
      'bitcoind.rpcpass=lnd-rpc-password',
      '',
    ].join('\n'),
  )
  proc = spawn(process.execPath, [bundled.files['lnd-world-simulator'], `--lnddir=${lnddir}`], {
    env: {
      PATH: process.env.PATH,
      LND_WORLD_HOST: '127.0.0.1',
      LND_WORLD_WALLET: 'auto',
      LND_WORLD_PEERS: `bob:${ports.bobGrpc}:${ports.bobRest},carol:${ports.carolGrpc}:${ports.carolRest}`,
      LND_WORLD_CHANNELS: 'lnd-bob-1000000,bob-carol-800000',
      LND_WORLD_POLL_MS: '100',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const until = Date.now() + 60_000
  while (!output.includes('Opened 2 channel(s)')) {
    if (proc.exitCode !== null || Date.now() > until)
      throw new Error(`world LND process did not come up:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
})

afterAll(async () => {
  proc?.kill('SIGTERM')
  await new Promise((r) => (proc?.exitCode !== null ? r(null) : proc.once('exit', r)))
  await bitcoind?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('world LND process (SIMULATOR) on the bitcoind simulator', () => {
  const auth = (name: 'lnd' | 'bob' | 'carol') => {
    const dir = name === 'lnd' ? join(work, 'lnd') : join(work, 'lnd', 'world-peers', name)
    const grpc = name === 'lnd' ? ports.grpc : name === 'bob' ? ports.bobGrpc : ports.carolGrpc
    return {
      socket: `127.0.0.1:${grpc}`,
      cert: readFileSync(join(dir, 'tls.cert')).toString('base64'),
      macaroon: readFileSync(
        join(dir, 'data', 'chain', 'bitcoin', 'regtest', 'admin.macaroon'),
      ).toString('base64'),
    }
  }

  it('is healthy, sees the chain and its channel, and pays carol through bob', async () => {
    expect(
      await healthcheck([
        'lnd-rest',
        `https://127.0.0.1:${ports.rest}`,
        join(work, 'lnd', 'tls.cert'),
      ]),
    ).toBe(true)
    const box = ln.authenticatedLndGrpc(auth('lnd')).lnd
    const carol = ln.authenticatedLndGrpc(auth('carol')).lnd
    const info = await ln.getWalletInfo({ lnd: box })
    expect(info.alias).toBe('box')
    expect(info.current_block_height).toBe(bitcoind.blocks())
    const { channels } = await ln.getChannels({ lnd: box })
    expect(channels).toHaveLength(1)
    expect(channels[0]).toMatchObject({ capacity: 1_000_000, is_active: true })
    // The funding transaction is a real one in the bitcoind simulator's chain.
    const tx = bitcoind.world!.getTransaction(channels[0]!.transaction_id)
    expect(tx).toBeDefined()
    const inv = await ln.createInvoice({ lnd: carol, tokens: 25_000 })
    const paid = await ln.pay({ lnd: box, request: inv.request })
    expect(paid.fee_mtokens).toBe('1025')
    expect((await ln.getInvoice({ lnd: carol, id: inv.id })).is_confirmed).toBe(true)
  })

  it('sends coins on chain through bitcoind and sees them confirm', async () => {
    const box = ln.authenticatedLndGrpc(auth('lnd')).lnd
    const bob = ln.authenticatedLndGrpc(auth('bob')).lnd
    const { address } = await ln.createChainAddress({ lnd: bob })
    const before = (await ln.getChainBalance({ lnd: bob })).chain_balance
    const sent = await ln.sendToChainAddress({ lnd: box, address, tokens: 50_000 })
    expect(bitcoind.world!.mempool().some((e) => e.txid === sent.id)).toBe(true)
    bitcoind.mine(1)
    const until = Date.now() + 10_000
    while ((await ln.getChainBalance({ lnd: bob })).chain_balance !== before + 50_000) {
      if (Date.now() > until) throw new Error('deposit not seen')
      await new Promise((r) => setTimeout(r, 100))
    }
  })
})
