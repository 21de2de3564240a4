// Address discovery against the regtest world: a long-used account is found in a few rounds, and
// the wallet derives, stores and watches exactly the gap limit past the last used address on each
// chain (the old doubling look-ahead derived up to twice that; 24% more at 1,000 used addresses).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mnemonicToSeedSync } from '@scure/bip39'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { AccountKeys, seedAccount } from '../../src/core/wallet/account'
import { WalletStore } from '../../src/core/wallet/wallet-store'
import { WalletSync } from '../../src/core/wallet/wallet-sync'
import { startWalletWorld, type WalletWorld } from './wallet-harness'

const seed = mnemonicToSeedSync(
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
)
const account = seedAccount({
  seed,
  network: 'regtest',
  kind: 'wpkh',
  account: 0,
  id: 'long',
  name: 'Long used',
})
const USED_RECEIVE = 333
const USED_CHANGE = 47

let world: WalletWorld
let dir: string
const open: { stop(): void }[] = []
const stores: WalletStore[] = []

beforeAll(async () => {
  world = await startWalletWorld({ coins: 3 })
  dir = mkdtempSync(join(tmpdir(), 'flashbox-wallet-discovery-'))
  const keys = new AccountKeys(account)
  const outputs = [
    ...Array.from({ length: USED_RECEIVE }, (_, i) => keys.derive(0, i).address),
    ...Array.from({ length: USED_CHANGE }, (_, i) => keys.derive(1, i).address),
  ].map((address) => ({ address, sat: 10_000 }))
  world.payMany(outputs.slice(0, 200))
  world.payMany(outputs.slice(200))
  world.mine(1)
  await world.electrs.synced()
})
afterAll(async () => {
  vi.restoreAllMocks()
  for (const s of open) s.stop()
  for (const s of stores) s.close()
  await world?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function wallet() {
  const store = new WalletStore(join(dir, 'wallet.db'))
  stores.push(store)
  const sync = new WalletSync({
    store,
    endpoint: () => ({ host: '127.0.0.1', port: world.electrs.electrumPort }),
    retryMs: { min: 50, max: 200 },
  })
  open.push(sync)
  return { store, sync }
}

describe('address discovery', () => {
  it('derives exactly the gap limit past the last used address, in a few rounds', async () => {
    const derive = vi.spyOn(AccountKeys.prototype, 'derive')
    derive.mockClear()
    const w = wallet()
    await w.sync.start()
    await w.sync.synced()
    const state = await w.sync.addAccount(account)
    await w.sync.idle()
    const gap = account.gapLimit
    const needed = USED_RECEIVE + gap + USED_CHANGE + gap
    expect(state.lastUsed(0)).toBe(USED_RECEIVE - 1)
    expect(state.lastUsed(1)).toBe(USED_CHANGE - 1)
    // Stored and watched: exactly what the gap limit calls for.
    expect(state.chains[0].length).toBe(USED_RECEIVE + gap)
    expect(state.chains[1].length).toBe(USED_CHANGE + gap)
    expect(w.store.addresses('long')).toHaveLength(needed)
    // Derived: that, plus the few probes past the end (at most 4 per probing round and chain).
    const derived = derive.mock.calls.length
    const subscribeRounds = w.sync.session.methodCounts().get('blockchain.scripthash.subscribe')
    console.log(
      `discovery: ${derived} derivations for ${needed} needed addresses; ${w.sync.session.roundTrips} round trips; ${subscribeRounds} subscriptions`,
    )
    expect(derived).toBeGreaterThanOrEqual(needed)
    expect(derived - needed).toBeLessThanOrEqual(8)
    // A doubling look-ahead would have derived 20+40+…+320 = 620 receive addresses.
    expect(w.sync.session.roundTrips).toBeLessThan(40)
    expect(state.txs.size).toBe(2)
    // Subscribed, less unsubscribed: exactly the watched addresses (probes past the end and
    // addresses subscribed ahead for a round that did not come are released).
    await vi.waitFor(() => {
      const m = w.sync.session.methodCounts()
      const held =
        (m.get('blockchain.scripthash.subscribe') ?? 0) -
        (m.get('blockchain.scripthash.unsubscribe') ?? 0)
      expect(held).toBe(needed)
    })
    w.sync.stop()
  })

  it('a restart derives nothing: the stored addresses cover the gap', async () => {
    const derive = vi.spyOn(AccountKeys.prototype, 'derive')
    derive.mockClear()
    const w = wallet()
    await w.sync.start()
    await w.sync.synced()
    await w.sync.idle()
    expect(derive).not.toHaveBeenCalled()
    expect(w.sync.account('long').chains[0].length).toBe(USED_RECEIVE + account.gapLimit)
    w.sync.stop()
  })
})
