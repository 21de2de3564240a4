// The wallet module as the engine runs it, on the regtest world: a seed made under the owner's
// password (shown again only with it), receive with a BIP21 URI and QR, a live deposit, history
// with search and CSV, coins frozen and still frozen after a restart, BIP329 labels exported and
// imported into a watch-only account of the same keys, the gap limit changed, reorg notices.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OwnerPassword } from '../../src/core/api/http/owner-password'
import { saveSettingsFile } from '../../src/core/engine/stack-module'
import type { EngineContext } from '../../src/core/engine/module'
import { EventBus } from '../../src/core/events'
import { silentLogger } from '../../src/core/log'
import { walletSeedPath } from '../../src/core/wallet/seed-sealing'
import { createWalletModule, type WalletModule } from '../../src/core/wallet/wallet-module'
import { defaultSettings } from '../../src/shared/settings'
import type { EngineEvent } from '../../src/shared/api/events'
import { startWalletWorld, type WalletWorld } from './wallet-harness'

const PASSWORD = 'correct horse battery staple'
let world: WalletWorld
let dir: string
const modules: WalletModule[] = []
const events: EngineEvent[] = []

beforeAll(async () => {
  world = await startWalletWorld({ coins: 6 })
  dir = mkdtempSync(join(tmpdir(), 'flashbox-wallet-module-'))
  saveSettingsFile(dir, { ...defaultSettings(join(dir, 'stack')), network: 'regtest' })
  await new OwnerPassword(dir).create(PASSWORD)
})
afterAll(async () => {
  for (const m of modules) await m.stop()
  await world?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function start(): Promise<WalletModule> {
  const bus = new EventBus()
  bus.subscribe((e) => events.push(e))
  const ctx: EngineContext = { dataDir: dir, log: silentLogger, events: bus, modules: new Map() }
  const m = createWalletModule(ctx, {
    endpoint: () => ({ host: '127.0.0.1', port: world.electrs.electrumPort }),
    retryMs: { min: 50, max: 200 },
  })
  modules.push(m)
  await m.start()
  await m.sync.synced()
  return m
}

const statusOf = async (txid: string) =>
  (await call(modules.at(-1)!, 'history', { accountId: 'wpkh-0' })).find((t) => t.txid === txid)
    ?.status

const call = <K extends keyof WalletModule['handlers']>(
  m: WalletModule,
  name: K,
  input: Parameters<WalletModule['handlers'][K]>[0],
) =>
  (m.handlers[name] as (i: unknown, c: unknown) => Promise<unknown>)(input, {
    transport: 'internal',
  }) as ReturnType<WalletModule['handlers'][K]>

describe('the wallet module', () => {
  let m: WalletModule
  let depositTxid: string

  it('makes a seed under the owner password and shows it only with that password', async () => {
    m = await start()
    await expect(
      call(m, 'createSeed', { password: 'wrong password!!', words: 12, kind: 'wpkh' }),
    ).rejects.toMatchObject({ code: 'wallet.wrong_password' })
    const status = await call(m, 'createSeed', { password: PASSWORD, words: 12, kind: 'wpkh' })
    expect(status.seed).toEqual({ stored: true, hasPassphrase: false })
    expect(status.accounts.map((a) => [a.id, a.kind, a.origin.path])).toEqual([
      ['wpkh-0', 'wpkh', "m/84'/1'/0'"],
    ])
    expect(statSync(walletSeedPath(dir)).mode & 0o777).toBe(0o600)
    await expect(call(m, 'revealSeed', { password: 'not the password' })).rejects.toMatchObject({
      code: 'wallet.wrong_password',
    })
    const shown = await call(m, 'revealSeed', { password: PASSWORD })
    expect(shown.words).toHaveLength(12)
    // Never in plain text on disk.
    expect(readFileSync(walletSeedPath(dir), 'utf8')).not.toContain(
      shown.words.slice(0, 3).join(' '),
    )
    await expect(
      call(m, 'createSeed', { password: PASSWORD, words: 12, kind: 'wpkh' }),
    ).rejects.toMatchObject({ code: 'wallet.seed_exists' })
    // A second account: BIP86 taproot.
    const tr = await call(m, 'addAccount', { password: PASSWORD, kind: 'tr' })
    expect(tr).toMatchObject({ id: 'tr-0', kind: 'tr', origin: { path: "m/86'/1'/0'" } })
  })

  it('receive: a BIP21 URI with amount and label and a QR; the deposit arrives live and confirms', async () => {
    const r = await call(m, 'receive', {
      accountId: 'wpkh-0',
      amountSat: 250_000,
      label: 'Invoice #7',
    })
    expect(r.uri).toBe(`bitcoin:${r.address}?amount=0.0025&label=Invoice%20%237`)
    expect(r.qr).toMatch(/^data:image\/svg\+xml;base64,/)
    depositTxid = world.pay(r.address, 250_000).getId()
    await expect
      .poll(async () => (await call(m, 'history', { accountId: 'wpkh-0' }))[0]?.status, {
        timeout: 10_000,
      })
      .toBe('unconfirmed')
    expect(
      events.some(
        (e) =>
          e.topic === 'wallet' && e.type === 'transaction' && e.transaction.txid === depositTxid,
      ),
    ).toBe(true)
    world.mine(1)
    await expect
      .poll(async () => (await call(m, 'history', { accountId: 'wpkh-0' }))[0]?.status, {
        timeout: 10_000,
      })
      .toBe('confirmed')
    const [tx] = await call(m, 'history', { accountId: 'wpkh-0' })
    expect(tx).toMatchObject({
      txid: depositTxid,
      receivedSat: 250_000,
      netSat: 250_000,
      confirmations: 1,
    })
    // The address label shows on the coin.
    const coins = await call(m, 'coins', { accountId: 'wpkh-0' })
    expect(coins).toEqual([
      expect.objectContaining({
        txid: depositTxid,
        valueSat: 250_000,
        label: 'Invoice #7',
        frozen: false,
      }),
    ])
    const status = await call(m, 'status', {})
    expect(status.accounts[0]!.balance).toEqual({
      confirmedSat: 250_000,
      unconfirmedSat: 0,
      frozenSat: 0,
    })
  })

  it('history: search, CSV export and the balance over time', async () => {
    const r = await call(m, 'receive', { accountId: 'wpkh-0' })
    const paid = world.pay(r.address, 40_000)
    const second = paid.getId()
    world.mine(1)
    await expect.poll(() => statusOf(second), { timeout: 10_000 }).toBe('confirmed')
    // The deposit's fee (paid by the sender): its input's value from the chain, minus its outputs.
    const spent = paid.ins.reduce((sum, i) => {
      const prev = world.chain.getTransaction(Buffer.from(i.hash).reverse().toString('hex'))!
      return sum + Number(prev.tx.outs[i.index]!.value)
    }, 0)
    const fee = spent - paid.outs.reduce((sum, o) => sum + Number(o.value), 0)
    const rate = Math.round((fee / paid.virtualSize()) * 100) / 100
    expect(fee).toBeGreaterThan(0)
    await expect
      .poll(
        async () =>
          (await call(m, 'history', { accountId: 'wpkh-0' })).find((t) => t.txid === second)
            ?.feeSat,
        { timeout: 10_000 },
      )
      .toBe(fee)
    await call(m, 'setLabel', {
      accountId: 'wpkh-0',
      type: 'tx',
      ref: second,
      label: 'Rent, "May"',
    })
    expect(
      (await call(m, 'history', { accountId: 'wpkh-0', search: 'rent' })).map((t) => t.txid),
    ).toEqual([second])
    expect(
      (await call(m, 'history', { accountId: 'wpkh-0', search: depositTxid.slice(0, 10) })).map(
        (t) => t.txid,
      ),
    ).toEqual([depositTxid])
    const csv = await call(m, 'historyCsv', { accountId: 'wpkh-0' })
    const lines = csv.trim().split('\n')
    expect(lines[0]).toBe('date,txid,status,confirmations,amount_sat,fee_sat,fee_rate_sat_vb,label')
    expect(lines[1]).toContain(`${second},confirmed,1,40000,${fee},${rate},"Rent, ""May"""`)
    const chart = await call(m, 'balanceHistory', { accountId: 'wpkh-0' })
    expect(chart.map((p) => p.balanceSat)).toEqual([250_000, 290_000])
  })

  it('coins: freezing is kept across a restart; BIP329 labels round-trip into a watch-only account', async () => {
    const outpoint =
      `${depositTxid}:${(await call(m, 'coins', { accountId: 'wpkh-0' })).find((c) => c.txid === depositTxid)!.vout}` as const
    await call(m, 'setFrozen', { accountId: 'wpkh-0', outpoint, frozen: true })
    const exported = await call(m, 'exportLabels', { accountId: 'wpkh-0' })
    const { xpub, receiveDescriptor } = (await call(m, 'status', {})).accounts[0]!
    await m.stop()
    modules.pop()
    m = await start()
    const coins = await call(m, 'coins', { accountId: 'wpkh-0' })
    expect(coins.find((c) => c.txid === depositTxid)?.frozen).toBe(true)
    expect((await call(m, 'status', {})).accounts[0]!.balance.frozenSat).toBe(250_000)

    const records = exported
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(records).toEqual(
      expect.arrayContaining([
        { type: 'xpub', ref: xpub, label: 'SegWit 0' },
        expect.objectContaining({
          type: 'addr',
          label: 'Invoice #7',
          origin: expect.stringMatching(/^wpkh\(\[[0-9a-f]{8}\/84'\/1'\/0'\/0\/0\]\)$/),
        }),
        expect.objectContaining({ type: 'tx', label: 'Rent, "May"' }),
        { type: 'output', ref: outpoint, spendable: false },
      ]),
    )
    const watch = await call(m, 'importWatchOnly', { name: 'Cold', source: receiveDescriptor })
    await expect(call(m, 'importWatchOnly', { name: 'Again', source: xpub })).rejects.toMatchObject(
      { code: 'wallet.account_exists' },
    )
    await m.sync.idle()
    const result = await call(m, 'importLabels', {
      accountId: watch.id,
      jsonl: exported + 'not json\n',
    })
    expect(result).toEqual({ imported: 3, skipped: 2 }) // the xpub line and the bad line
    expect(await call(m, 'exportLabels', { accountId: watch.id })).toBe(
      exported.replace(`"label":"SegWit 0"`, `"label":"Cold"`),
    )
    const watchCoins = await call(m, 'coins', { accountId: watch.id })
    expect(watchCoins.find((c) => c.outpoint === outpoint)).toMatchObject({
      frozen: true,
      label: 'Invoice #7',
    })
    // Watch-only: the box holds no key for it.
    await expect(m.forSend.masterKey(watch.id, PASSWORD)).rejects.toMatchObject({
      code: 'wallet.watch_only',
    })
    const master = await m.forSend.masterKey('wpkh-0', PASSWORD)
    expect(Buffer.from(master.fingerprint).toString('hex')).toBe(watch.origin.masterFingerprint)
  })

  it('the gap limit is adjustable and watched at once', async () => {
    const before = (await call(m, 'addresses', { accountId: 'wpkh-0', chain: 0 })).length
    const updated = await call(m, 'setGapLimit', { accountId: 'wpkh-0', gapLimit: 30 })
    expect(updated.gapLimit).toBe(30)
    expect((await call(m, 'addresses', { accountId: 'wpkh-0', chain: 0 })).length).toBe(before + 10)
  })

  it('a reorg is a notice in the status and an event', async () => {
    const r = await call(m, 'receive', { accountId: 'wpkh-0' })
    const txid = world.pay(r.address, 12_345).getId()
    const [block] = world.mine(1)
    await expect.poll(() => statusOf(txid), { timeout: 10_000 }).toBe('confirmed')
    world.chain.invalidateBlock(block!)
    await expect
      .poll(async () => (await call(m, 'status', {})).notices[0]?.txid, { timeout: 10_000 })
      .toBe(txid)
    expect((await call(m, 'status', {})).notices[0]).toMatchObject({
      kind: 'unconfirmed',
      message: expect.stringMatching(/lost its confirmation/),
    })
    expect(events.some((e) => e.topic === 'wallet' && e.type === 'reorg' && e.txid === txid)).toBe(
      true,
    )
    world.mine(1)
  })
})
