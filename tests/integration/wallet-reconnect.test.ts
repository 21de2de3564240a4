// The wallet's Electrum session against the regtest world when electrs goes away and comes back,
// and while electrs is still building its index (issue 11, item 1): it says what happened in plain
// words, reconnects on its own with backoff, subscribes every watched address again in one batch
// on the new connection, and fetches only what changed while it was away — a deposit paid and
// mined meanwhile appears and confirms.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mnemonicToSeedSync } from '@scure/bip39'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedAccount } from '../../src/core/wallet/account'
import type { SessionState } from '../../src/core/wallet/electrum-session'
import { WalletStore } from '../../src/core/wallet/wallet-store'
import { WalletSync } from '../../src/core/wallet/wallet-sync'
import { startElectrsSimulator, type ElectrsSimulator } from '../simulators/electrs-simulator'
import {
  WALLET_RPC_PASSWORD,
  WALLET_RPC_USER,
  startWalletWorld,
  type WalletWorld,
} from './wallet-harness'

const account = seedAccount({
  seed: mnemonicToSeedSync(
    'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
  ),
  network: 'regtest',
  kind: 'wpkh',
  account: 0,
  id: 'main',
  name: 'Main',
})

/**
 * A pass-through TCP proxy in front of electrs that can cut every connection and refuse new ones
 * (as when electrs' container stops), then take them again on the same port.
 */
async function startCuttableProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>()
  const serve = (): Server =>
    createServer((client) => {
      const upstream = connect(target)
      sockets.add(client).add(upstream)
      client.pipe(upstream).pipe(client)
      const end = () => {
        client.destroy()
        upstream.destroy()
        sockets.delete(client)
        sockets.delete(upstream)
      }
      client.on('close', end).on('error', end)
      upstream.on('close', end).on('error', end)
    })
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
    })
  let server: Server | undefined = serve()
  const port = await listen(server, 0)
  const cut = async () => {
    const s = server
    server = undefined
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    if (s) await new Promise<void>((r) => s.close(() => r()))
  }
  return {
    port,
    cut,
    async restore() {
      server = serve()
      await listen(server, port)
    },
    close: cut,
  }
}

let world: WalletWorld
let dir: string
const cleanups: (() => unknown)[] = []

beforeAll(async () => {
  world = await startWalletWorld({ coins: 4 })
  dir = mkdtempSync(join(tmpdir(), 'flashbox-wallet-reconnect-'))
})
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn()
  await world?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function wallet(name: string, port: number) {
  const store = new WalletStore(join(dir, `${name}.db`))
  const states: SessionState[] = []
  const sync: WalletSync = new WalletSync({
    store,
    endpoint: () => ({ host: '127.0.0.1', port }),
    retryMs: { min: 50, max: 200 },
    events: { status: () => states.push(sync.session.state) },
  })
  cleanups.push(
    () => sync.stop(),
    () => store.close(),
  )
  return { store, sync, states }
}

/** A message for a person: no error class, errno or JSON-RPC code in it. */
const inWords = expect.not.stringMatching(/ECONN|EPIPE|Error:|-32\d{3}|unavailable index/)

describe('the wallet when electrs goes away and comes back', () => {
  it('says so in words, reconnects, subscribes every watched address again in one batch, and picks up a deposit paid meanwhile', async () => {
    const proxy = await startCuttableProxy({
      host: '127.0.0.1',
      port: world.electrs.electrumPort,
    })
    cleanups.push(() => proxy.close())
    const w = wallet('reconnect', proxy.port)
    await w.sync.start()
    await w.sync.synced()
    const state = await w.sync.addAccount(account)
    await w.sync.idle()
    const addr = await w.sync.nextAddress('main', 0)

    await proxy.cut()
    await expect.poll(() => w.sync.session.state, { timeout: 10_000 }).toBe('offline')
    const problem = w.sync.session.problem!
    expect(problem.code).toMatch(/^electrs\.(unreachable|disconnected)$/)
    expect(problem.message).toEqual(inWords)
    // The hint points at a screen that exists: the dashboard shows whether electrs runs.
    expect(problem.hint).toMatch(/dashboard|electrs logs/)
    expect(() => w.sync.session.client()).toThrow(problem.message)
    expect(w.states).toContain('offline')

    // While the wallet cannot hear electrs, a deposit is paid and mined.
    const deposit = world.pay(addr.derived.address, 42_000)
    world.mine(1)
    const before = Object.fromEntries(w.sync.session.methodCounts())
    const tripsBefore = w.sync.session.roundTrips

    await proxy.restore()
    await expect
      .poll(() => state.txs.get(deposit.getId())?.verified, { timeout: 10_000 })
      .toBe(true)
    await w.sync.idle()
    expect(w.sync.session.state).toBe('ready')
    expect(w.sync.session.problem).toBeUndefined()
    const after = Object.fromEntries(w.sync.session.methodCounts())
    const delta = (m: string) => (after[m] ?? 0) - (before[m] ?? 0)
    // Every watched address once on the new connection (the ones discovery added included).
    expect(delta('blockchain.scripthash.subscribe')).toBe(state.byScriptHash.size)
    // Histories: the connect's "still indexing?" probe and the one address whose status changed.
    expect(delta('blockchain.scripthash.get_history')).toBe(2)
    // The deposit, and the transaction whose output it spends (for the fee its sender paid).
    expect(delta('blockchain.transaction.get')).toBe(2)
    // Connect (version, tip, probe), one subscription batch, then the changed address's history
    // and its transaction, proof and header: a handful of round trips, not one per address.
    expect(w.sync.session.roundTrips - tripsBefore).toBeLessThanOrEqual(8)
  })
})

describe('the wallet while electrs is still indexing', () => {
  let slow: ElectrsSimulator
  it('says electrs is still building its index, then connects by itself once it is done', async () => {
    // A second electrs on the same chain, indexing slowly (about 3 s for the world's blocks).
    slow = await startElectrsSimulator({
      bitcoind: { url: world.bitcoind.url, user: WALLET_RPC_USER, password: WALLET_RPC_PASSWORD },
      indexBlocksPerSecond: 40,
      pollMs: 50,
      log: () => {},
    })
    cleanups.push(() => slow.close())
    const w = wallet('indexing', slow.electrumPort)
    await w.sync.start()
    await expect.poll(() => w.sync.session.state, { timeout: 10_000 }).toBe('indexing')
    expect(w.sync.session.problem).toMatchObject({
      code: 'electrs.indexing',
      message: 'The Electrum server (electrs) is still building its index.',
    })
    expect(w.sync.session.problem!.hint).toMatch(/dashboard shows its progress/)
    await expect.poll(() => w.sync.session.state, { timeout: 20_000 }).toBe('ready')
    expect(w.sync.session.problem).toBeUndefined()
    expect(w.states.indexOf('indexing')).toBeLessThan(w.states.lastIndexOf('ready'))
    // Then it works: the account's addresses are watched on it.
    const state = await w.sync.addAccount(account)
    await w.sync.idle()
    expect(state.chains[0].length).toBeGreaterThanOrEqual(20)
  })
})
