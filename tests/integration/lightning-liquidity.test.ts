// Liquidity through the box's API on a triangle of world nodes: box → bob → carol → box. The box
// opens a channel to bob (all on its side) and carol opens one to the box (all on carol's side),
// so both leave the default band; a circular rebalance moves sats from the first to the second
// over bob and carol, within its fee limit. A dry run moves nothing, a fee limit below the
// route's cost is refused, and the schedule stays inside its daily budget on a moved clock.
import { mkdtempSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { DatabaseSync } from 'node:sqlite'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type {
  ChannelView,
  LightningBalances,
  LightningStatus,
} from '../../src/shared/api/lightning'
import type {
  LiquiditySettings,
  LiquidityView,
  RebalanceAttemptView,
  RebalancePreview,
} from '../../src/shared/api/liquidity'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { startWorldLnd } from '../simulators/world/lnd-rpc'
import { lightningBox, type LightningBox } from './lightning-harness'
import { eventually } from './eventually'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
let dir: string
let chain: Chain
let net: LightningNetwork
let box: LightningBox
let clock = Date.now()
let boxKey: string
let outId: string // box → bob
let inId: string

const locals = async () => {
  const list = await box.call<ChannelView[]>('channels')
  return Object.fromEntries(list.map((c) => [c.id, c.localSat]))
}
const lightning = () =>
  box.engine.module('lightning') as unknown as {
    reconcile(): Promise<LightningStatus>
    liquidityPass(): Promise<LiquidityView>
  }
/** The lightning module's whole loop step (the liquidity pass is its last part). */
const reconcile = () => lightning().reconcile()
/** Only the liquidity pass of that step (faster: no macaroon check, no node view). */
const pass = () => lightning().liquidityPass()

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-ln-liquidity-'))
  chain = new Chain()
  net = await startLightningNetwork({
    chain,
    dir,
    nodes: ['bob', 'carol'],
    channels: [['carol', 'bob', 1_000_000, { pushSat: 500_000 }]],
    rest: false,
    log: () => {},
  })
  box = await lightningBox({
    now: () => clock,
    startLnd: async (p, passwordFile) => {
      const lnd = await startWorldLnd({
        world: net.world,
        alias: 'box',
        dir: p.lndDir,
        network: 'regtest',
        restPort: null,
        wallet: { mode: 'rpc', ...(passwordFile ? { passwordFile } : {}) },
        log: () => {},
      })
      return { socket: lnd.socket, close: () => lnd.close() }
    },
  })
  const status = await box.call<LightningStatus>('status')
  boxKey = status.node!.publicKey
  const { address } = await box.call<{ address: string }>('newAddress')
  chain.mine(1, address)
  net.mine(100)
  await eventually(async () => {
    const b = await box.call<LightningBalances>('balances')
    return b.onchainSat > 0 ? b : undefined
  }, 'funded')
  const bob = net.nodes.bob!
  await box.call('connectPeer', { uri: `${bob.pubkey}@${bob.node!.p2pAddress}` })
  await box.call('openChannel', { peerPublicKey: bob.pubkey, amountSat: 600_000, feeRate: 2 })
  const carol = ln.authenticatedLndGrpc(net.nodes.carol!.lnServiceAuth()).lnd
  await ln.addPeer({ lnd: carol, public_key: boxKey, socket: status.node!.uri.split('@')[1]! })
  await ln.openChannel({ lnd: carol, partner_public_key: boxKey, local_tokens: 600_000 })
  net.mine(6)
  const list = await eventually(async () => {
    const l = await box.call<ChannelView[]>('channels')
    return l.length === 2 && l.every((c) => c.state === 'active') ? l : undefined
  }, 'two channels active')
  outId = list.find((c) => c.peerPublicKey === bob.pubkey)!.id
  inId = list.find((c) => c.peerPublicKey === net.nodes.carol!.pubkey)!.id
}, 30_000)

afterAll(async () => {
  await box?.close()
  await net?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('liquidity of the box’s channels', () => {
  it('shows each channel against its band, what the box can receive, and alerts out of band', async () => {
    const view = await box.call<LiquidityView>('liquidity')
    const out = view.channels.find((c) => c.id === outId)!
    const into = view.channels.find((c) => c.id === inId)!
    expect(out.position).toBe('above')
    expect(into.position).toBe('below')
    expect(into.outboundPercent).toBe(0)
    expect([...view.outOfBand].sort()).toEqual([outId, inId].sort())
    // carol's side less the 1% reserve carol must keep; nothing comes in over bob's channel.
    expect(out.remoteSat).toBe(0)
    expect(into.receivableSat).toBe(into.remoteSat - 6_000)
    expect(view.receivableSat).toBe(into.receivableSat)
    expect(view.receivableSat).toBeGreaterThan(580_000)
    expect(view.advice).toEqual([])
    // The alert: the loop publishes the view when a channel leaves its band.
    await eventually(
      async () =>
        box.events.find(
          (e) =>
            e.topic === 'lightning' && e.type === 'liquidity' && e.liquidity.outOfBand.length === 2,
        ),
      'out-of-band alert',
    )

    const low = await box.call<LiquidityView>('setLiquiditySettings', {
      ...view.settings,
      lowInboundSat: 1_000_000,
    })
    expect(low.advice.map((a) => a.kind)).toEqual(['ask_peer', 'open_channel', 'loop_out'])
    await expect(
      box.call('setLiquiditySettings', {
        ...view.settings,
        defaultBand: { minOutboundPercent: 70, maxOutboundPercent: 30 },
      }),
    ).rejects.toMatchObject({ code: 'api.bad_input' })
  })

  it('a dry run shows the route over bob and carol and its cost, and moves nothing', async () => {
    const before = await locals()
    const preview = await box.call<RebalancePreview>('previewRebalance', {})
    expect(preview.outChannel).toBe(outId)
    expect(preview.inChannel).toBe(inId)
    expect(preview.reason).toMatch(/above its band.*below its band/)
    expect(preview.route!.hops.map((h) => h.publicKey)).toEqual([
      net.nodes.bob!.pubkey,
      net.nodes.carol!.pubkey,
      boxKey,
    ])
    expect(preview.route!.feeSat).toBeGreaterThan(0)
    expect(preview.route!.feeSat).toBeLessThanOrEqual(preview.maxFeeSat)
    expect(await locals()).toEqual(before)
    expect(await box.call<RebalanceAttemptView[]>('rebalanceLog')).toEqual([])
  })

  it('refuses a route that costs more than the fee limit, and asks for confirmation', async () => {
    const before = await locals()
    const choice = { outChannel: outId, inChannel: inId, amountSat: 100_000 }
    await expect(box.call('rebalance', { ...choice, maxFeeSat: 0 })).rejects.toMatchObject({
      code: 'api.bad_input',
    })
    const refused = await box.call<RebalanceAttemptView>('rebalance', {
      ...choice,
      maxFeeSat: 0,
      confirmed: true,
    })
    expect(refused.result).toBe('refused')
    expect(refused.detail).toMatch(/fee limit of 0 sat/)
    expect(await locals()).toEqual(before)
  })

  it('moves liquidity around the triangle within its fee limit', async () => {
    const before = await locals()
    const amountSat = 200_000
    const done = await box.call<RebalanceAttemptView>('rebalance', {
      outChannel: outId,
      inChannel: inId,
      amountSat,
      maxFeeSat: 10,
      confirmed: true,
    })
    expect(done.result).toBe('succeeded')
    expect(done.trigger).toBe('owner')
    expect(done.feeSat).toBeGreaterThan(0)
    expect(done.feeSat).toBeLessThanOrEqual(10)
    expect(done.hops.map((h) => h.channel)[0]).toBe(outId)
    expect(done.hops.map((h) => h.channel).at(-1)).toBe(inId)
    const after = await locals()
    expect(after[inId]).toBe(before[inId]! + amountSat)
    const spent = before[outId]! - after[outId]!
    expect(spent).toBeGreaterThanOrEqual(amountSat)
    expect(spent - amountSat).toBeLessThanOrEqual(done.feeSat!)
    const log = await box.call<RebalanceAttemptView[]>('rebalanceLog')
    expect(log.map((a) => a.result)).toEqual(['succeeded', 'refused'])
    expect(log[0]!.reason).toMatch(/Asked for by you/)
  })

  it('the schedule rebalances on its own, and never past its daily budget', async () => {
    clock = Date.now() + 2 * 24 * 3600_000 // the owner's attempts above are out of the window
    const view = await box.call<LiquidityView>('liquidity')
    const budget = 7
    const settings: LiquiditySettings = {
      ...view.settings,
      defaultBand: { minOutboundPercent: 45, maxOutboundPercent: 55 },
      schedule: {
        enabled: true,
        everyMinutes: 60,
        dailyFeeBudgetSat: budget,
        maxFeePpm: 500,
        maxAmountSat: 20_000,
      },
    }
    await box.call('setLiquiditySettings', settings)
    const scheduled = async () =>
      (await box.call<RebalanceAttemptView[]>('rebalanceLog')).filter(
        (a) => a.trigger === 'schedule',
      )

    await reconcile()
    expect((await scheduled()).map((a) => a.result)).toEqual(['succeeded'])
    await pass() // not due again yet
    expect(await scheduled()).toHaveLength(1)

    // Each hour one more, until what is left of the budget buys no route: refused, logged.
    for (let hour = 0; hour < 3; hour++) {
      clock += 61 * 60_000
      await pass()
    }
    const list = await scheduled()
    const succeeded = list.filter((a) => a.result === 'succeeded')
    const fees = succeeded.reduce((n, a) => n + a.feeSat!, 0)
    expect(fees).toBeLessThanOrEqual(budget)
    expect(succeeded.length).toBeGreaterThanOrEqual(2)
    expect(list[0]!.result).toBe('refused')
    expect(list[0]!.detail).toMatch(/within the fee limit/)
    for (const a of list) expect(a.maxFeeSat).toBeLessThanOrEqual(budget)

    // A day later the budget is back.
    clock += 25 * 3600_000
    await pass()
    const later = await scheduled()
    expect(later.length).toBe(list.length + 1)
    expect(later[0]!.result).toBe('succeeded')
  })

  it('after a restart, attempts left `sending` are settled from LND’s own record', async () => {
    const db = new DatabaseSync(join(box.engineDir, 'lightning', 'rebalances.db'))
    try {
      const paid = db
        .prepare(
          "SELECT hash, fee_sat FROM rebalance_attempts WHERE result = 'succeeded' AND trigger = 'owner'",
        )
        .get() as { hash: string; fee_sat: number }
      const insert = db.prepare(
        `INSERT INTO rebalance_attempts (at, trigger, reason, out_channel, in_channel, amount_sat,
           max_fee_sat, fee_sat, hops, hash, result, detail)
         VALUES (?, 'owner', 'crash test', ?, ?, 200000, 10, NULL, '[]', ?, 'sending', NULL)`,
      )
      // The box died after sending (LND paid it) and after recording but before sending.
      const sent = Number(insert.run(Date.now(), outId, inId, paid.hash).lastInsertRowid)
      const never = Number(
        insert.run(Date.now(), outId, inId, randomBytes(32).toString('hex')).lastInsertRowid,
      )
      await reconcile()
      const log = await box.call<RebalanceAttemptView[]>('rebalanceLog')
      expect(log.find((a) => a.id === sent)).toMatchObject({
        result: 'succeeded',
        feeSat: paid.fee_sat,
      })
      expect(log.find((a) => a.id === never)).toMatchObject({
        result: 'failed',
        detail: 'Never sent: the node has no record of it.',
      })
    } finally {
      db.close()
    }
  })
})
