// Receive and pay through the box's API against the LND SIMULATOR: live “paid” from LND's invoice
// stream, plain-words refusals before anything is sent, failures in plain words, and payments as
// sagas — never sent twice, final state reconciled from LND after the box restarts mid-payment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type {
  CreatedInvoice,
  DecodedInvoice,
  InvoiceView,
  LightningBalances,
  PaymentView,
} from '../../src/shared/api/lightning'
import type { EngineModule } from '../../src/core/engine/module'
import { lightningBox, type LightningBox } from './lightning-harness'

let box: LightningBox
// Stands in for the merchant module's settleOwnInvoice (merchant-single-lnd.test.ts runs the real
// one): it claims only the own-node invoices a test puts here, as sales of the shop.
const claimed = new Set<string>()
const merchantStandIn = () =>
  ({
    name: 'merchant',
    start: async () => {},
    stop: async () => {},
    handlers: {},
    settleOwnInvoice: async (bolt11: string) => (claimed.has(bolt11) ? 'sale' : undefined),
  }) as unknown as EngineModule
beforeAll(async () => {
  box = await lightningBox({ extraModules: [merchantStandIn] })
})
afterAll(async () => {
  await box?.close()
})

const waitEvent = async <T>(pick: () => T | undefined, what: string): Promise<T> => {
  const end = Date.now() + 10_000
  for (;;) {
    const v = pick()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`no ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('Lightning through the box (simulator)', () => {
  it('balances come from LND', async () => {
    const b = await box.call<LightningBalances>('balances')
    expect(b.onchainSat).toBeGreaterThan(0)
    expect(b.channelsLocalSat).toBeGreaterThan(0)
    expect(b.channelsRemoteSat).toBeGreaterThanOrEqual(0)
  })

  it('receive: an invoice with amount, memo and expiry, QR, and a live “paid” from LND’s stream', async () => {
    const inv = await box.call<CreatedInvoice>('createInvoice', {
      amountSat: 2100,
      memo: 'coffee',
      expirySeconds: 600,
    })
    expect(inv.request).toMatch(/^lnbcrt21u1/)
    expect(inv.qr).toMatch(/^data:image\/svg\+xml;base64,/)
    expect(inv.state).toBe('open')
    expect(inv.memo).toBe('coffee')
    expect(Date.parse(inv.expiresAt) - Date.parse(inv.createdAt)).toBeGreaterThan(590_000)
    const paid = await box.sim.control.payFromPeer(inv.request)
    expect(paid.status).toBe('settled')
    const event = await waitEvent(
      () =>
        box.events.find(
          (e) =>
            e.topic === 'lightning' &&
            e.type === 'invoice' &&
            e.invoice.id === inv.id &&
            e.invoice.state === 'paid',
        ),
      'paid event',
    )
    expect(event).toBeDefined()
    expect(JSON.stringify(event)).not.toMatch(/secret|preimage/)
    const list = await box.call<InvoiceView[]>('invoices')
    expect(list.find((i) => i.id === inv.id)?.state).toBe('paid')
  })

  it('refuses bad invoices in plain words before anything is sent', async () => {
    const { paymentRequest } = box.sim.control.createPeerInvoice(5_000_000n)
    await expect(
      box.call('decodeInvoice', { request: paymentRequest.replace(/^lnbcrt/, 'lnbc') }),
    ).rejects.toMatchObject({ code: 'lightning.wrong_network' })
    await expect(
      box.call('decodeInvoice', { request: 'lnbcrt1notaninvoice' }),
    ).rejects.toMatchObject({
      code: 'lightning.invalid_invoice',
    })
    await expect(box.call('decodeInvoice', { request: 'hello' })).rejects.toMatchObject({
      code: 'lightning.invalid_invoice',
    })
    await box.call('setLimits', { maxPaymentSat: 4000, feeLimitPercent: 1, minFeeLimitSat: 10 })
    await expect(
      box.call('pay', { request: paymentRequest, feeLimitSat: 100 }),
    ).rejects.toMatchObject({ code: 'lightning.over_limit' })
    await box.call('setLimits', {
      maxPaymentSat: 1_000_000,
      feeLimitPercent: 1,
      minFeeLimitSat: 10,
    })
    const payments = await box.call<PaymentView[]>('payments')
    expect(payments.some((p) => p.amountSat === 5000)).toBe(false)
  })

  it('an invoice of the box’s own node is never sent (LND refuses self-payments): refused in words', async () => {
    // The merchant module does not claim it: neither an own mint quote nor an open sale of the shop.
    const inv = await box.call<CreatedInvoice>('createInvoice', {
      amountSat: 1234,
      memo: 'to myself',
      expirySeconds: 600,
    })
    await expect(box.call('pay', { request: inv.request, feeLimitSat: 10 })).rejects.toMatchObject({
      code: 'lightning.self_payment',
      message: expect.stringMatching(/own Lightning node; a node cannot pay itself/),
    })
    const payments = await box.call<PaymentView[]>('payments')
    expect(payments.some((p) => p.id === inv.id)).toBe(false)
  })

  it('an own-node invoice settled inside the box is in the payment history, fee 0, and is not paid twice', async () => {
    const inv = await box.call<CreatedInvoice>('createInvoice', {
      amountSat: 4321,
      memo: 'a sale of the shop',
      expirySeconds: 600,
    })
    claimed.add(inv.request)
    const p = await box.call<PaymentView>('pay', { request: inv.request, feeLimitSat: 10 })
    expect(p).toMatchObject({ id: inv.id, state: 'succeeded', amountSat: 4321, feeSat: 0 })
    expect(p.description).toMatch(/^Settled inside this box: a sale of its own shop/)
    const listed = (await box.call<PaymentView[]>('payments')).find((x) => x.id === inv.id)
    expect(listed).toMatchObject({ state: 'succeeded', feeSat: 0, amountSat: 4321 })
    await expect(box.call('pay', { request: inv.request, feeLimitSat: 10 })).rejects.toMatchObject({
      code: 'lightning.already_paid',
    })
  })

  it('pay: decode first, then pay; paying again is refused as already paid', async () => {
    const { paymentRequest } = box.sim.control.createPeerInvoice(3_000_000n, 'book')
    const d = await box.call<DecodedInvoice>('decodeInvoice', {
      request: `lightning:${paymentRequest}`,
    })
    expect(d).toMatchObject({ amountSat: 3000, description: 'book', expired: false })
    expect(d.payee).toBe(box.sim.peerPublicKey)
    expect(d.suggestedFeeLimitSat).toBe(30)
    const p = await box.call<PaymentView>('pay', { request: paymentRequest, feeLimitSat: 30 })
    expect(p).toMatchObject({ state: 'succeeded', amountSat: 3000, id: d.id })
    await expect(
      box.call('pay', { request: paymentRequest, feeLimitSat: 30 }),
    ).rejects.toMatchObject({ code: 'lightning.already_paid' })
  })

  it('a failed payment says why in plain words', async () => {
    box.sim.control.setPaymentMode('fail', 'FAILURE_REASON_NO_ROUTE')
    const { paymentRequest } = box.sim.control.createPeerInvoice(1_000_000n)
    const p = await box.call<PaymentView>('pay', { request: paymentRequest, feeLimitSat: 10 })
    expect(p.state).toBe('failed')
    expect(p.failure).toBe('no_route')
    expect(p.failureText).toBe('No route to the recipient was found.')
    box.sim.control.setPaymentMode('fail', 'FAILURE_REASON_INSUFFICIENT_BALANCE')
    const { paymentRequest: second } = box.sim.control.createPeerInvoice(1_000_000n)
    const q = await box.call<PaymentView>('pay', { request: second, feeLimitSat: 10 })
    expect(q.failure).toBe('not_enough_outbound')
    box.sim.control.setPaymentMode('settle')
  })

  it('the box restarts mid-payment: never sent twice, final state reconciled from LND', async () => {
    box.sim.control.setPaymentMode('hold')
    const { paymentRequest, paymentHash } = box.sim.control.createPeerInvoice(1_500_000n)
    // The engine stops while LND holds the payment in flight.
    const lightning = box.engine.module('lightning') as unknown as {
      handlers: { pay(i: unknown, c: unknown): Promise<PaymentView> }
    }
    const before = (await box.sim.control.state()).payments as number
    const inFlight = lightning.handlers.pay({ request: paymentRequest, feeLimitSat: 15 }, {})
    const sentAt = Date.now()
    while (((await box.sim.control.state()).payments as number) === before) {
      if (Date.now() - sentAt > 10_000) throw new Error('payment never reached LND')
      await new Promise((r) => setTimeout(r, 20))
    }
    await box.engine.stop()
    const pending = await inFlight
    expect(pending.state).toBe('pending')
    await box.startEngine()
    await box.until((s) => s.wallet === 'ready', 'ready again')
    // Asked again while LND still holds it: nothing new is sent.
    const again = await box.call<PaymentView>('pay', { request: paymentRequest, feeLimitSat: 15 })
    expect(again.state).toBe('pending')
    expect((await box.sim.control.state()).payments).toBe(before + 1)
    box.sim.control.resolvePayment(paymentHash, 'succeed')
    box.sim.control.setPaymentMode('settle')
    const end = Date.now() + 15_000
    let final: PaymentView | undefined
    while (Date.now() < end) {
      await box.until(() => true, 'step')
      final = (await box.call<PaymentView[]>('payments')).find((p) => p.id === paymentHash)
      if (final?.state !== 'pending') break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(final?.state).toBe('succeeded')
    expect((await box.sim.control.state()).payments).toBe(before + 1)
  })
})
