// The wallet's receive side against the regtest world (real signatures and policy; electrs
// following bitcoind): a deposit appears from the mempool through a subscription, confirms only
// once its Merkle proof checks out, goes back to unconfirmed when its block is orphaned, and
// disappears when it is double-spent in the new chain — the owner is told each time. A proxy that
// tampers with Merkle branches is caught. A restart syncs with one round trip per step, not a rescan.
// A deposit shows the fee its sender paid (the outputs it spends are fetched once and kept).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mnemonicToSeedSync } from '@scure/bip39'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedAccount, watchOnlyAccount } from '../../src/core/wallet/account'
import { WalletStore } from '../../src/core/wallet/wallet-store'
import { WalletSync } from '../../src/core/wallet/wallet-sync'
import { balance, coins, history } from '../../src/core/wallet/wallet-views'
import { startTamperingProxy, startWalletWorld, type WalletWorld } from './wallet-harness'

const seed = mnemonicToSeedSync(
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
)

let world: WalletWorld
let dir: string
const open: { stop(): void }[] = []
const stores: WalletStore[] = []

beforeAll(async () => {
  world = await startWalletWorld({ coins: 12 })
  dir = mkdtempSync(join(tmpdir(), 'flashbox-wallet-receive-'))
})
afterAll(async () => {
  for (const s of open) s.stop()
  for (const s of stores) s.close()
  await world?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

interface Told {
  reorgs: { txid: string; outcome: string; message: string }[]
  badProofs: string[]
}

function wallet(name: string, port = world.electrs.electrumPort) {
  const store = new WalletStore(join(dir, `${name}.db`))
  stores.push(store)
  const told: Told = { reorgs: [], badProofs: [] }
  const sync = new WalletSync({
    store,
    endpoint: () => ({ host: '127.0.0.1', port }),
    retryMs: { min: 50, max: 200 },
    events: {
      reorg: (_a, txid, outcome, message) => told.reorgs.push({ txid, outcome, message }),
      badProof: (_a, txid) => told.badProofs.push(txid),
    },
  })
  open.push(sync)
  return { store, sync, told }
}

const extras = (sync: WalletSync, store: WalletStore, id: string) => ({
  labels: store.labels(id),
  frozen: store.frozen(id),
  tipHeight: sync.tipHeight,
})

describe('receive on the regtest world', () => {
  const account = seedAccount({
    seed,
    network: 'regtest',
    kind: 'wpkh',
    account: 0,
    id: 'main',
    name: 'Main',
  })
  let w: ReturnType<typeof wallet>
  let depositTxid: string

  it('a deposit appears from the mempool, then confirms once its Merkle proof checks out', async () => {
    w = wallet('receive')
    await w.sync.start()
    await w.sync.synced()
    const state = await w.sync.addAccount(account)
    await w.sync.idle()
    // Gap limit 20 on both chains, nothing used yet.
    expect(state.chains[0].length).toBe(20)
    expect(state.chains[1].length).toBe(20)
    const addr = await w.sync.nextAddress('main', 0)
    expect(addr.derived.derivation.index).toBe(0)
    const deposit = world.pay(addr.derived.address, 150_000)
    depositTxid = deposit.getId()
    await expect.poll(() => state.txs.get(depositTxid)?.state, { timeout: 10_000 }).toBe('live')
    await w.sync.idle()
    let view = history(state, extras(w.sync, w.store, 'main'))
    // The sender's fee: the input it spends (fetched and checked against its txid) minus outputs.
    const prev = world.chain.getTransaction(
      Buffer.from(deposit.ins[0]!.hash).reverse().toString('hex'),
    )!.tx
    const fee =
      Number(prev.outs[deposit.ins[0]!.index]!.value) -
      deposit.outs.reduce((sum, o) => sum + Number(o.value), 0)
    expect(view[0]).toMatchObject({
      txid: depositTxid,
      status: 'unconfirmed',
      receivedSat: 150_000,
      netSat: 150_000,
      confirmations: 0,
      feeSat: fee,
      feeRate: Math.round((fee / deposit.virtualSize()) * 100) / 100,
    })
    expect(view[0]!.inputs[0]).toMatchObject({
      valueSat: Number(prev.outs[deposit.ins[0]!.index]!.value),
      mine: false,
    })
    // Cached: the prevout is in the store, so a restart shows the fee without asking again.
    expect(w.store.prevouts().size).toBe(1)
    expect(balance(coins(state, extras(w.sync, w.store, 'main')))).toEqual({
      confirmedSat: 0,
      unconfirmedSat: 150_000,
      frozenSat: 0,
    })
    const [block] = world.mine(1)
    await expect.poll(() => state.txs.get(depositTxid)?.verified, { timeout: 10_000 }).toBe(true)
    view = history(state, extras(w.sync, w.store, 'main'))
    expect(view[0]).toMatchObject({ status: 'confirmed', blockHash: block, confirmations: 1 })
    expect(balance(coins(state, extras(w.sync, w.store, 'main'))).confirmedSat).toBe(150_000)
    // The next receive address moves on once the first is used.
    expect((await w.sync.nextAddress('main', 0)).derived.derivation.index).toBe(1)
  })

  it('a reorg that orphans the deposit’s block takes it back to unconfirmed, and the owner is told', async () => {
    const state = w.sync.account('main')
    const tip = world.chain.tip()
    world.chain.invalidateBlock(tip.hash)
    await expect.poll(() => state.txs.get(depositTxid)?.height, { timeout: 10_000 }).toBe(0)
    expect(state.txs.get(depositTxid)).toMatchObject({ verified: false, state: 'live' })
    expect(w.told.reorgs).toEqual([
      expect.objectContaining({
        txid: depositTxid,
        outcome: 'unconfirmed',
        message: expect.stringMatching(/lost its confirmation/),
      }),
    ])
    // Mined again: confirmed again, against the new block.
    const [again] = world.mine(1)
    await expect.poll(() => state.txs.get(depositTxid)?.blockHash, { timeout: 10_000 }).toBe(again)
    expect(state.txs.get(depositTxid)?.verified).toBe(true)
  })

  it('a deposit double-spent in the new chain disappears, and the owner is told', async () => {
    const state = w.sync.account('main')
    const addr = await w.sync.nextAddress('main', 0)
    const deposit = world.pay(addr.derived.address, 70_000)
    const [block] = world.mine(1)
    await expect
      .poll(() => state.txs.get(deposit.getId())?.verified, { timeout: 10_000 })
      .toBe(true)
    // The block is orphaned; in the new chain the payer spends the same coin elsewhere.
    world.chain.invalidateBlock(block!)
    const input = deposit.ins[0]!
    const conflict = world.payer.spend(
      [
        {
          txid: Buffer.from(input.hash).reverse().toString('hex'),
          vout: input.index,
          value: 50n * 100_000_000n,
          script: world.payer.p2wpkh().output,
        },
      ],
      [{ script: world.payer.p2tr().output, value: 1_000_000n }],
      20,
    )
    world.chain.submit(conflict)
    world.mine(1)
    await expect.poll(() => state.txs.get(deposit.getId())?.state, { timeout: 10_000 }).toBe('gone')
    expect(w.told.reorgs.at(-1)).toMatchObject({
      txid: deposit.getId(),
      outcome: 'replaced',
      message: expect.stringMatching(/no longer counts/),
    })
    const views = history(state, extras(w.sync, w.store, 'main'))
    expect(views.find((t) => t.txid === deposit.getId())?.status).toBe('replaced')
    expect(
      coins(state, extras(w.sync, w.store, 'main')).some((c) => c.txid === deposit.getId()),
    ).toBe(false)
  })

  it('a restart syncs from the stored statuses: one subscription batch, nothing fetched again', async () => {
    w.sync.stop()
    const again = wallet('receive')
    again.store.close()
    stores.pop()
    const w2 = wallet('receive')
    await w2.sync.start()
    await w2.sync.synced()
    const state = w2.sync.account('main')
    expect(state.txs.get(depositTxid)?.verified).toBe(true)
    // server.version, headers.subscribe, the indexing probe, one batch of subscriptions, the
    // stored headers checked once: no history, transaction or proof fetched again.
    expect(Object.fromEntries(w2.sync.session.methodCounts())).toEqual({
      'server.version': 1,
      'blockchain.headers.subscribe': 1,
      'blockchain.scripthash.get_history': 1,
      'blockchain.scripthash.subscribe': state.byScriptHash.size,
      'blockchain.block.header': expect.any(Number),
    })
    expect(w2.sync.session.roundTrips).toBeLessThanOrEqual(5)
    // One deposit later, only its address is fetched again (history, tx, proof, header).
    const addr = await w2.sync.nextAddress('main', 0)
    const before = w2.sync.session.roundTrips
    world.pay(addr.derived.address, 10_000)
    world.mine(1)
    await expect
      .poll(() => [...state.txs.values()].filter((t) => t.verified).length, { timeout: 10_000 })
      .toBe(2)
    await w2.sync.idle()
    expect(w2.sync.session.roundTrips - before).toBeLessThanOrEqual(10)
  })
})

describe('Merkle proofs and watch-only', () => {
  it('a tampered Merkle branch is refused: the deposit stays unconfirmed', async () => {
    const proxy = await startTamperingProxy(
      { host: '127.0.0.1', port: world.electrs.electrumPort },
      (answer) => {
        const r = answer.result as { merkle?: string[] } | undefined
        if (r && Array.isArray(r.merkle) && r.merkle.length > 0) {
          const first = r.merkle[0]!
          r.merkle[0] = (first[0] === '0' ? '1' : '0') + first.slice(1)
        }
        return answer
      },
    )
    try {
      const account = seedAccount({
        seed,
        network: 'regtest',
        kind: 'tr',
        account: 0,
        id: 'taproot',
        name: 'Taproot',
      })
      const w = wallet('tampered', proxy.port)
      await w.sync.start()
      await w.sync.synced()
      const state = await w.sync.addAccount(account)
      const addr = await w.sync.nextAddress('taproot', 0)
      expect(addr.derived.address).toMatch(/^bcrt1p/)
      const deposit = world.pay(addr.derived.address, 40_000)
      // Other transactions in the block, so the branch is not empty.
      world.pay(world.payer.p2tr().address, 5_000)
      world.mine(1)
      await expect.poll(() => w.told.badProofs, { timeout: 10_000 }).toContain(deposit.getId())
      expect(state.txs.get(deposit.getId())).toMatchObject({ verified: false })
      const view = history(state, extras(w.sync, w.store, 'taproot'))[0]!
      expect(view).toMatchObject({ status: 'confirming', confirmations: 0 })
      expect(balance(coins(state, extras(w.sync, w.store, 'taproot')))).toMatchObject({
        confirmedSat: 0,
        unconfirmedSat: 40_000,
      })
      w.sync.stop()
    } finally {
      await proxy.close()
    }
  })

  it('a watch-only account from the xpub sees the same deposits as the seed account', async () => {
    const seedAcc = seedAccount({
      seed,
      network: 'regtest',
      kind: 'wpkh',
      account: 0,
      id: 'main',
      name: 'Main',
    })
    const w = wallet('watch')
    await w.sync.start()
    await w.sync.synced()
    const state = await w.sync.addAccount(
      watchOnlyAccount({ source: seedAcc.xpub, network: 'regtest', id: 'watch', name: 'Watch' }),
    )
    await w.sync.idle()
    const live = history(state, extras(w.sync, w.store, 'watch')).filter(
      (t) => t.status !== 'replaced',
    )
    const main = w.store.accounts()
    expect(main.length).toBe(1)
    expect(live.map((t) => t.receivedSat).sort()).toEqual([10_000, 150_000])
    expect(live.every((t) => t.status === 'confirmed')).toBe(true)
    expect(state.account.source).toBe('watch-only')
    w.sync.stop()
  })
})
