// The merchant module in the engine against the Greenfield SIMULATOR and a world LND: set-up
// through the API, a sale paid over Lightning reaches the box by a signed webhook and shows
// "Settled" with its reward issued once (even when BTCPay delivers it again), a bad HMAC is
// refused and logged, refunds and payouts go through pull payments, and the ledger exports.
import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/core/engine/engine'
import { createLogger } from '../../src/core/log'
import type { MerchantModule } from '../../src/core/merchant/merchant-module'
import type { EngineEvent } from '../../src/shared/api/events'
import type {
  MerchantInvoice,
  MerchantPayout,
  MerchantPullPayment,
  MerchantStatus,
  RewardLedgerEntry,
} from '../../src/shared/api/merchant'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import { pullPaymentsOf } from '../simulators/btcpay/pull-payments'
import type { WebhookRecord } from '../simulators/btcpay/webhooks'
import { WEBHOOK_EVENTS } from '../../src/core/merchant/btcpay-webhook'
import { settlementHookUrl } from '../../src/core/merchant/internal-settlement-hook'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { CTX, OWNER, startMerchantEngine } from './merchant-harness'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

let dir: string
let net: LightningNetwork
let btcpay: BtcpaySimulator
let engine: Engine
const events: EngineEvent[] = []
const logLines: string[] = []

const call = <T>(procedure: string, input: unknown = {}) =>
  engine.call('merchant', procedure, input, CTX) as Promise<T>

async function until<T>(
  fn: () => T | undefined | Promise<T | undefined>,
  what: string,
): Promise<T> {
  const end = Date.now() + 15_000
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-merchant-'))
  net = await startLightningNetwork({
    chain: new Chain(),
    dir: join(dir, 'ln'),
    nodes: ['shop', 'customer'],
    channels: [['customer', 'shop', 2_000_000]],
    log: () => undefined,
  })
  // Redeliveries after 100 ms: the reward must still be issued once.
  btcpay = await startBtcpaySimulator({ webhookRetryDelaysMs: [100, 100] })
  engine = await startEngine(join(dir, 'engine'))
  engine.events.subscribe((e) => events.push(e))
}, 120_000)

/**
 * The engine with the merchant module over the simulator and the world's shop LND; its webhook
 * receiver on `webhookPort` (0: any free one).
 */
const startEngine = (engineDir: string, webhookPort = 0): Promise<Engine> =>
  startMerchantEngine({
    engineDir,
    btcpayUrl: btcpay.url,
    shop: net.nodes.shop!,
    log: createLogger('test', { level: 'debug', sink: (l) => logLines.push(JSON.stringify(l)) }),
    merchant: { webhookHost: '127.0.0.1', webhookPort }, // the simulator runs on this host
  })

afterAll(async () => {
  await engine?.stop()
  await btcpay?.close()
  await net?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('merchant module (BTCPay simulator, world LND)', () => {
  it('sets BTCPay up step by step through the API', async () => {
    const s = await call<MerchantStatus>('setup', { shopName: 'Corner Café', currency: 'eur' })
    expect(s.ready).toBe(true)
    expect(s.shop).toEqual({ name: 'Corner Café', currency: 'EUR' })
    expect(s.pos?.url).toMatch(/\/apps\/.+\/pos$/)
    expect(s.pos?.qr).toMatch(/^data:image\/svg\+xml;base64,/)
    const progress = events.filter((e) => e.topic === 'merchant' && e.type === 'setup')
    // Each step was shown running, then done.
    expect(progress.length).toBeGreaterThanOrEqual(14)
    await expect(call('setup', { shopName: '', currency: 'EUR' })).rejects.toMatchObject({
      code: 'api.bad_input',
    })
  })

  it('shows a Lightning sale as Settled from the signed webhook and issues its reward once', async () => {
    await call('setRewardRule', { enabled: true, percent: 5 })
    const sale = await call<MerchantInvoice & { bolt11: string }>('createInvoice', {
      amount: '9.00',
      description: 'Two coffees',
    })
    expect(sale.status).toBe('New')
    const customer = ln.authenticatedLndGrpc(net.nodes.customer!.lnServiceAuth()).lnd
    await ln.pay({ lnd: customer, request: sale.bolt11 })
    const settled = await until(
      () =>
        events.find(
          (e) =>
            e.topic === 'merchant' &&
            e.type === 'invoice' &&
            e.invoice.id === sale.id &&
            e.invoice.status === 'Settled',
        ),
      'settled event',
    )
    expect(settled).toBeDefined()
    const ledger = await until(async () => {
      const l = await call<RewardLedgerEntry[]>('rewardLedger')
      return l.find((r) => r.invoiceId === sale.id && r.state === 'issued')
    }, 'reward')
    expect(ledger).toMatchObject({ rewardAmount: '0.45', currency: 'EUR', percent: 5 })
    // BTCPay redelivers the same InvoiceSettled by hand: still one reward pull payment.
    const rec = (await import('../../src/core/merchant/btcpay-setup-saga')).readSetupRecord(
      join(dir, 'engine', 'merchant'),
    )!
    const apiKey = [...btcpay.sim.apiKeys.keys()][0]!
    const deliveries = (await (
      await fetch(`${btcpay.url}/api/v1/webhooks/${rec.webhookId}/deliveries`, {
        headers: { authorization: `token ${apiKey}` },
      })
    ).json()) as { id: string }[]
    for (const d of deliveries)
      await fetch(`${btcpay.url}/api/v1/webhooks/${rec.webhookId}/deliveries/${d.id}/redeliver`, {
        method: 'POST',
        headers: { authorization: `token ${apiKey}` },
      })
    await new Promise((r) => setTimeout(r, 500))
    const rewards = [...pullPaymentsOf(btcpay.sim).values()].filter((p) => p.name.includes(sale.id))
    expect(rewards).toHaveLength(1)
    const list = await call<MerchantInvoice[]>('invoices', { search: 'coffees' })
    expect(list.map((i) => i.id)).toEqual([sale.id])
    expect(list[0]!.reward?.claimLink).toContain(rewards[0]!.id)
    const csv = await call<string>('rewardLedgerCsv')
    expect(csv.split('\r\n')[0]).toBe(
      'date,invoice,invoice_amount,currency,percent,reward,reward_sat,method,to,status,reference,reason,funded_by',
    )
    expect(csv).toContain(`${sale.id},9,EUR,5,0.45,,claim,,issued,${rewards[0]!.id},`)
    const sales = await call<{ todayTotal: number; weekTotal: number }>('sales')
    expect(sales.todayTotal).toBe(9)
  })

  it('refuses a webhook with a bad HMAC and logs it, without acting on it', async () => {
    const m = engine.module('merchant') as unknown as MerchantModule
    const before = (await call<MerchantStatus>('status')).webhooks.refused
    const body = JSON.stringify({
      deliveryId: 'forged',
      type: 'InvoiceSettled',
      invoiceId: 'nope',
      storeId: 'x',
    })
    const res = await fetch(m.webhookUrl(), {
      method: 'POST',
      headers: {
        'BTCPay-Sig': `sha256=${createHmac('sha256', 'not the secret').update(body).digest('hex')}`,
      },
      body,
    })
    expect(res.status).toBe(401)
    const unsigned = await fetch(m.webhookUrl(), { method: 'POST', body })
    expect(unsigned.status).toBe(401)
    expect((await call<MerchantStatus>('status')).webhooks.refused).toBe(before + 2)
    expect(
      logLines.some((l) => l.includes('BTCPay webhook refused') && l.includes('bad signature')),
    ).toBe(true)
    expect((await call<MerchantInvoice[]>('invoices', { search: 'nope' })).length).toBe(0)
  })

  it('refunds a sale through a pull payment and approves and marks payouts', async () => {
    const [sale] = await call<MerchantInvoice[]>('invoices', { status: 'Settled' })
    const refund = await call<MerchantPullPayment>('refund', {
      invoiceId: sale!.id,
      variant: 'Fiat',
    })
    expect(refund).toMatchObject({ amount: '9', currency: 'EUR' })
    expect(refund.qr).toMatch(/^data:image/)
    // The customer claims it with a Lightning invoice; BTCPay auto-approves refund claims.
    const customer = ln.authenticatedLndGrpc(net.nodes.customer!.lnServiceAuth()).lnd
    const inv = await ln.createInvoice({ lnd: customer, tokens: 10_000 })
    const claim = await fetch(`${btcpay.url}/api/v1/pull-payments/${refund.id}/payouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ destination: inv.request, payoutMethodId: 'BTC-LN' }),
    })
    expect(claim.status).toBe(200)
    const payouts = await call<MerchantPayout[]>('payouts')
    const p = payouts.find((x) => x.pullPaymentId === refund.id)!
    expect(p.state).toBe('AwaitingPayment')
    const paid = await call<MerchantPayout>('markPayoutPaid', { payoutId: p.id })
    expect(paid.state).toBe('Completed')
    // Greenfield's refusal in words: an unpaid sale cannot be refunded.
    const open = await call<MerchantInvoice>('createInvoice', { amount: '1.00' })
    await expect(call('refund', { invoiceId: open.id, variant: 'Fiat' })).rejects.toMatchObject({
      code: 'merchant.not_refundable',
      message: 'This sale cannot be refunded: it was never paid.',
    })
  })

  it('gives BTCPay’s login only after the owner password', async () => {
    await expect(call('btcpayLogin', { password: 'wrong' })).rejects.toMatchObject({
      code: 'merchant.wrong_password',
    })
    const login = await call<{ email: string; password: string; url: string }>('btcpayLogin', {
      password: OWNER,
    })
    expect(login.url).toBe(`${btcpay.url}/login`)
    expect(btcpay.sim.userByEmail(login.email)).toBeDefined()
    expect(logLines.join('\n')).not.toContain(login.password)
  })

  it('narrows an older box’s “every event” webhook to the four invoice events when it starts', async () => {
    const hooks = btcpay.sim.area<{ hooks: Map<string, WebhookRecord> }>('webhooks', () => {
      throw new Error('the set-up made no webhook')
    }).hooks
    const hook = [...hooks.values()][0]!
    expect(hook.everything).toBe(false)
    // What the set-up registered before it narrowed the events.
    hook.everything = true
    hook.specificEvents = []
    const before = JSON.stringify(hook)
    const url = hook.url
    // The same receiver address after the restart, so only the events differ.
    const port = Number(new URL(url).port)
    await engine.stop()
    engine = await startEngine(join(dir, 'engine'), port)
    await until(() => (hook.everything ? undefined : true), 'the webhook narrowed')
    expect([...hook.specificEvents].sort()).toEqual([...WEBHOOK_EVENTS.specificEvents].sort())
    expect(hooks.size).toBe(1)
    expect(hook.url).toBe(url)
    expect(JSON.stringify(hook)).not.toBe(before)
    // Idempotent: another start reads the webhook, finds it narrowed and writes nothing.
    const narrowed = JSON.stringify(hook)
    let reads = 0
    let writes = 0
    hooks.set(
      hook.id,
      new Proxy(hook, {
        get: (t, k, r) => {
          if (k === 'specificEvents') reads++
          return Reflect.get(t, k, r) as unknown
        },
        set: (t, k, v, r) => {
          writes++
          return Reflect.set(t, k, v, r)
        },
      }),
    )
    await engine.stop()
    engine = await startEngine(join(dir, 'engine'), port)
    await until(() => (reads > 0 ? true : undefined), 'the webhook read again')
    await new Promise((r) => setTimeout(r, 200))
    expect(writes).toBe(0)
    expect(JSON.stringify(hook)).toBe(narrowed)
    expect(logLines.filter((l) => l.includes('webhook narrowed')).length).toBe(1)
  })
})

describe('the settlement hook’s port', () => {
  it('taken by another program: on the dashboard in words until the hook can listen, then cleared', async () => {
    const holder = createServer()
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r))
    const port = (holder.address() as AddressInfo).port
    const seen: EngineEvent[] = []
    const other = await startMerchantEngine({
      engineDir: join(dir, 'engine-port-taken'),
      btcpayUrl: btcpay.url,
      shop: net.nodes.shop!,
      log: createLogger('test', { level: 'error', sink: () => undefined }),
      merchant: {
        webhookHost: '127.0.0.1',
        webhookPort: 0,
        settlementPort: port,
        settlementRetryMs: 100,
      },
    })
    other.events.subscribe((e) => seen.push(e))
    try {
      const merchant = other.module('merchant') as unknown as MerchantModule
      const [alert] = merchant.alerts!()
      expect(alert).toMatchObject({
        id: 'merchant:settlement-hook',
        severity: 'warning',
        message: expect.stringContaining(`Another program already uses port ${port}`),
        hint: expect.stringContaining('tries again every minute'),
      })
      expect(merchant.settlementHookUrl()).toBeUndefined()
      await new Promise<void>((r) => holder.close(() => r()))
      await until(() => (merchant.alerts!().length === 0 ? true : undefined), 'the alert cleared')
      expect(merchant.settlementHookUrl()).toBe(settlementHookUrl('127.0.0.1', port))
      expect(seen).toContainEqual({
        topic: 'stack',
        type: 'alert-cleared',
        id: 'merchant:settlement-hook',
      })
    } finally {
      holder.close()
      await other.stop()
    }
  })
})
