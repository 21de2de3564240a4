// An NWC payment in flight when the box stops: the app's pay_invoice is held at carol (a hold
// invoice), the engine stops and starts again. The budget keeps the amount reserved while LND
// holds the payment, and once carol settles it the reservation is settled at what it really cost —
// one payment in LND, never two.
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LightningStatus } from '../../src/shared/api/lightning'
import type { CreatedNwcConnection, NwcConnectionView } from '../../src/shared/api/wallet-service'
import {
  eventually,
  ln,
  NwcApp,
  walletServiceWorld,
  type WalletServiceWorld,
} from './wallet-service-harness'

let w: WalletServiceWorld
let app: NwcApp | undefined
beforeAll(async () => {
  w = await walletServiceWorld()
}, 60_000)
afterAll(async () => {
  await app?.close()
  await w?.close()
})

const connection = async (id: string) =>
  (await w.call<NwcConnectionView[]>('connections')).find((c) => c.id === id)!

describe('NWC budget across a restart of the box', () => {
  it('stays reserved while in flight, is settled at the real cost after, and is paid once', async () => {
    const made = await w.call<CreatedNwcConnection>('createConnection', {
      name: 'Tip jar',
      methods: ['pay_invoice'],
      budgetSat: 50_000,
      budgetPeriod: 'daily',
    })
    app = new NwcApp(made.uri)
    const carol = w.lndOf('carol')
    const secret = randomBytes(32)
    const id = createHash('sha256').update(secret).digest('hex')
    const { request } = await ln.createHodlInvoice({ lnd: carol, id, tokens: 20_000 })
    // The app asks; carol holds the HTLC, so the payment stays in flight.
    // Its answer is lost with the stop (the relay comes back on another port in this test).
    void app.call('pay_invoice', { invoice: request }).catch(() => undefined)
    await eventually(async () => {
      const inv = await ln.getInvoice({ lnd: carol, id })
      return inv.is_held ? true : undefined
    }, 'HTLC held at carol')
    const reserved = await connection(made.connection.id)
    // Amount plus the fee limit (1 %, at least 10 sat) is held against the budget.
    expect(reserved.spentSat).toBe(20_200)

    await w.box.engine.stop()
    await w.box.startEngine()
    await w.box.until(
      (s: LightningStatus) => s.wallet === 'ready' && s.node !== undefined,
      'ready after restart',
    )
    // Still in flight in LND: still reserved, nothing paid twice.
    expect((await connection(made.connection.id)).spentSat).toBe(20_200)

    await ln.settleHodlInvoice({ lnd: carol, secret: secret.toString('hex') })
    const settled = await eventually(async () => {
      const c = await connection(made.connection.id)
      return c.spentSat !== 20_200 ? c : undefined
    }, 'reservation settled')
    expect(settled.spentSat).toBeGreaterThanOrEqual(20_000)
    expect(settled.spentSat).toBeLessThan(20_200)
    expect(settled.remainingSat).toBe(50_000 - settled.spentSat)
    const { payments } = await ln.getPayments({ lnd: w.appLnd() })
    expect(payments.filter((p) => p.id === id)).toHaveLength(1)
    expect((await ln.getInvoice({ lnd: carol, id })).is_confirmed).toBe(true)
  })
})
