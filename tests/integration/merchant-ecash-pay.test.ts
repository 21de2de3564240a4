// A sale paid in eCash, end to end on the regtest world: the box's own mint (services/mint, on its
// own world LND) issued the eCash the box's wallet holds; the shop's BTCPay (Greenfield SIMULATOR)
// makes the sale's invoice on the shop's world LND; the Merchant page's two steps (review, confirm)
// melt the eCash through the mint, whose LND pays the store's invoice over the mint → shop
// channel; BTCPay's signed webhook turns the sale Settled. The invoice is paid once, the eCash is
// spent once (the wallet's balance down by exactly amount + fee), and a second confirm at the same
// moment, a retry after, a new review and a restart of the engine all leave it so. Then the engine
// is stopped right after a second sale's confirm is sent, before its answer, and started again:
// that sale is paid once and its eCash spent once. (In local runs the melt had always reached the
// mint before that stop.) Then the two ways a stop in the middle of a melt can fall, each made
// certain by a proxy in front of the mint that holds the box's melt request: the melt never reached
// the mint (nothing paid, the eCash whole, the sale open and paid once afterwards), and the mint
// paid while the box never got its answer (settled once after the restart). A SIGKILL of the
// engine is not tested here: the eCash wallet's own crash test, ecash-crash.test.ts, covers its
// melt saga.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMint, type RunningMint } from '../../services/mint/src/index'
import { ecashModule } from '../../src/core/ecash/ecash-module'
import type { Engine } from '../../src/core/engine/engine'
import { silentLogger } from '../../src/core/log'
import { boxKeyFor } from '../../src/core/secrets/box-key'
import type { EcashStatus, MintQuoteView } from '../../src/shared/api/ecash'
import type {
  EcashPayResult,
  EcashPayReview,
  MerchantInvoice,
  MerchantStatus,
} from '../../src/shared/api/merchant'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { CTX, startMerchantEngine } from './merchant-harness'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

let dir: string
let engineDir: string
let net: LightningNetwork
let btcpay: BtcpaySimulator
let mint: RunningMint
let engine: Engine
let mintProxy: MintProxy

/**
 * The box's way to its mint, with a hand on the melt: while `hold` is set, the first
 * POST /v1/melt/bolt11 is kept until the test drops it (the mint never sees it) or passes it on
 * and drops only the mint's answer (the mint pays; the box never hears it); every later one
 * (the HTTP client's own retries) is dropped until `release()`.
 */
interface MintProxy {
  readonly url: string
  hold: boolean
  /** Melts go to the mint again. */
  release(): void
  /** Resolves when a melt request is held. */
  held(): Promise<void>
  /** Closes the held request's connection without sending it to the mint. */
  drop(): void
  /** Sends the held request to the mint, waits for the mint's answer, then drops it. */
  passOnAndLoseAnswer(): Promise<number>
  close(): Promise<void>
}

async function startMintProxy(target: string): Promise<MintProxy> {
  let holding: { req: IncomingMessage; res: ServerResponse; body: Buffer } | undefined
  let onHeld: (() => void) | undefined
  let held = false
  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>(
      (resolve, reject) => {
        const out = request(
          new URL(req.url!, target),
          { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
          (answer) => {
            const chunks: Buffer[] = []
            answer.on('data', (c: Buffer) => chunks.push(c))
            answer.on('end', () =>
              resolve({
                status: answer.statusCode!,
                headers: answer.headers,
                body: Buffer.concat(chunks),
              }),
            )
            answer.on('error', reject)
          },
        )
        out.on('error', reject)
        out.end(body)
      },
    )
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      if (p.hold && req.method === 'POST' && req.url === '/v1/melt/bolt11') {
        // The wallet's HTTP client tries a failed melt again: while holding, those go nowhere.
        if (holding || held) {
          res.destroy()
          return
        }
        held = true
        holding = { req, res, body }
        onHeld?.()
        return
      }
      forward(req, body).then(
        (a) => {
          res.writeHead(a.status, a.headers)
          res.end(a.body)
        },
        () => res.destroy(),
      )
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const p: MintProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: false,
    held: () =>
      holding
        ? Promise.resolve()
        : new Promise<void>((r) => {
            onHeld = r
          }),
    release() {
      p.hold = false
      held = false
    },
    drop() {
      holding?.res.destroy()
      holding = undefined
    },
    async passOnAndLoseAnswer() {
      const h = holding!
      holding = undefined
      const a = await forward(h.req, h.body)
      h.res.destroy()
      return a.status
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
  return p
}

async function until<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  const end = Date.now() + 30_000
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const merchant = <T>(procedure: string, input: unknown = {}) =>
  engine.call('merchant', procedure, input, CTX) as Promise<T>
const ecash = <T>(procedure: string, input: unknown = {}) =>
  engine.call('ecash', procedure, input, CTX) as Promise<T>
const shopLnd = () => ln.authenticatedLndGrpc(net.nodes.shop!.lnServiceAuth()).lnd
const mintLnd = () => ln.authenticatedLndGrpc(net.nodes.mint!.lnServiceAuth()).lnd

/** The engine as the app starts it: the owner logs in (a stopped engine forgets the box key). */
async function startEngine(): Promise<void> {
  engine = await startMerchantEngine({
    engineDir,
    btcpayUrl: btcpay.url,
    shop: net.nodes.shop!,
    log: silentLogger,
    modules: [ecashModule({ ownMintUrl: () => mintProxy.url, backgroundIntervalMs: 500 })],
  })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-merchant-ecash-'))
  engineDir = join(dir, 'engine')
  // The mint's LND opened a channel to the shop and pushed it some sats: the shop's side pays the
  // mint's invoices (the customer buying eCash), the mint's side pays the store's invoices (melts).
  net = await startLightningNetwork({
    chain: new Chain(),
    dir: join(dir, 'ln'),
    nodes: ['mint', 'shop'],
    channels: [['mint', 'shop', 2_000_000, { pushSat: 500_000 }]],
    log: () => undefined,
  })
  const m = net.nodes.mint!.lnServiceAuth()
  mint = await startMint({
    port: 0,
    dataDir: join(dir, 'mint'),
    backend: { kind: 'lnd', socket: m.socket, cert: m.cert, macaroon: m.macaroon },
    log: silentLogger,
  })
  mintProxy = await startMintProxy(mint.url)
  btcpay = await startBtcpaySimulator({ network: 'regtest', rates: { EUR: 90_000 } })
  await startEngine()
  const s = await merchant<MerchantStatus>('setup', { shopName: 'Corner Café', currency: 'EUR' })
  expect(s.ready).toBe(true)
}, 120_000)

afterAll(async () => {
  await engine?.stop()
  await mintProxy?.close()
  await mint?.close()
  await btcpay?.close()
  await net?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const balance = async () => (await ecash<EcashStatus>('status')).total
const saleOf = async (id: string) =>
  (await merchant<MerchantInvoice[]>('invoices', {})).find((i) => i.id === id)

describe('a sale paid with the box’s eCash (own mint, world LND, BTCPay simulator)', () => {
  let sale: MerchantInvoice & { bolt11: string }
  let review: EcashPayReview
  let before = 0
  let paid: EcashPayResult

  it('the wallet holds eCash minted by the box’s own mint', async () => {
    const q = await ecash<MintQuoteView>('mintQuote', { amount: 30_000 })
    expect(q.mintUrl).toBe(mintProxy.url)
    await ln.pay({ lnd: shopLnd(), request: q.invoice })
    before = await until(async () => {
      await ecash('checkMintQuote', { quoteId: q.quoteId }).catch(() => undefined)
      const b = await balance()
      return b >= 30_000 ? b : undefined
    }, 'eCash minted')
    expect(before).toBe(30_000)
  })

  it('review, then two confirms at once: one melt pays the store’s invoice, the other is refused', async () => {
    sale = await merchant('createInvoice', { amount: '9', description: 'Cake and tea' })
    expect(sale.status).toBe('New')
    review = await merchant<EcashPayReview>('ecashPayReview', { invoiceId: sale.id })
    // 9 EUR at 90,000 EUR/BTC.
    expect(review.amountSat).toBe(10_000)
    expect(review.totalSat).toBe(review.amountSat + review.feeReserveSat)
    // Nothing is spent by the review.
    expect(await balance()).toBe(before)

    const [a, b] = await Promise.allSettled([
      merchant<EcashPayResult>('ecashPayConfirm', { reviewId: review.reviewId }),
      merchant<EcashPayResult>('ecashPayConfirm', { reviewId: review.reviewId }),
    ])
    const ok = [a, b].filter((r) => r.status === 'fulfilled')
    const refused = [a, b].filter((r) => r.status === 'rejected')
    expect(ok).toHaveLength(1)
    expect(refused).toHaveLength(1)
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'merchant.already_paying',
      message: 'This eCash payment was already sent.',
    })
    paid = (ok[0] as PromiseFulfilledResult<EcashPayResult>).value
    expect(paid).toMatchObject({ invoiceId: sale.id, state: 'paid' })

    // BTCPay's webhook: the sale is Settled.
    const settled = await until(async () => {
      const s = await saleOf(sale.id)
      return s?.status === 'Settled' ? s : undefined
    }, 'sale settled')
    expect(settled.amount).toBe('9')
  })

  it('the invoice was paid once and the eCash spent once', async () => {
    // The shop's LND got the invoice's amount once.
    const { payments } = await ln.getPayments({ lnd: mintLnd() })
    const toShop = payments.filter((p) => p.request === sale.bolt11)
    expect(toShop).toHaveLength(1)
    expect(toShop[0]!.is_confirmed).toBe(true)
    const { invoices } = await ln.getInvoices({ lnd: shopLnd() })
    const inv = invoices.find((i) => i.request === sale.bolt11)!
    expect(inv.is_confirmed).toBe(true)
    expect(inv.received).toBe(10_000)
    // The wallet: down by exactly the amount and the fee the mint charged, once.
    expect(await balance()).toBe(before - review.amountSat - paid.feeSat)
  })

  it('a retry, a new review and a restart of the engine do not pay it again', async () => {
    await expect(merchant('ecashPayConfirm', { reviewId: review.reviewId })).rejects.toMatchObject({
      code: 'merchant.already_paying',
    })
    await expect(merchant('ecashPayReview', { invoiceId: sale.id })).rejects.toMatchObject({
      code: 'merchant.invoice_not_open',
      message: 'This sale is not waiting for payment any more.',
    })
    const after = await balance()

    // The engine stops and starts again.
    await engine.stop()
    boxKeyFor(engineDir).lock()
    await startEngine()
    await expect(merchant('ecashPayConfirm', { reviewId: review.reviewId })).rejects.toMatchObject({
      code: 'merchant.already_paying',
    })
    await expect(merchant('ecashPayReview', { invoiceId: sale.id })).rejects.toMatchObject({
      code: 'merchant.invoice_not_open',
    })
    // Give the wallet's background pass (every 500 ms) time to reconcile with the mint.
    await new Promise((r) => setTimeout(r, 1500))
    expect(await balance()).toBe(after)
    const { payments } = await ln.getPayments({ lnd: mintLnd() })
    expect(payments.filter((p) => p.request === sale.bolt11)).toHaveLength(1)
    expect((await saleOf(sale.id))?.status).toBe('Settled')
  })

  it('stopped right after a confirm and started again, the sale is paid once and the eCash spent once', async () => {
    const second = await merchant<MerchantInvoice & { bolt11: string }>('createInvoice', {
      amount: '4.5',
      description: 'A croissant',
    })
    const r = await merchant<EcashPayReview>('ecashPayReview', { invoiceId: second.id })
    expect(r.amountSat).toBe(5_000)
    const start = await balance()
    // The confirm is sent and the engine stopped at once, before its answer.
    const confirm = merchant<EcashPayResult>('ecashPayConfirm', { reviewId: r.reviewId }).catch(
      (err: unknown) => err,
    )
    await new Promise((res) => setImmediate(res))
    await engine.stop()
    await confirm
    boxKeyFor(engineDir).lock()
    await startEngine()
    // The same review is never sent twice.
    await expect(merchant('ecashPayConfirm', { reviewId: r.reviewId })).rejects.toMatchObject({
      code: 'merchant.already_paying',
    })
    const paidToShop = async () =>
      (await ln.getPayments({ lnd: mintLnd() })).payments.filter(
        (p) => p.request === second.bolt11 && p.is_confirmed,
      ).length
    // The wallet settles what the stop left pending from the mint's answer (NUT-07).
    const settledBalance = await until(async () => {
      const b = await balance()
      const n = await paidToShop()
      if (n === 1 && b < start - r.amountSat + 1) return b
      if (n === 0 && b === start) return b
      return undefined
    }, 'the wallet settled the melt the stop interrupted')
    if ((await paidToShop()) === 0) {
      // The melt never reached the mint: the sale is still open, and paying it now pays it once.
      const again = await merchant<EcashPayReview>('ecashPayReview', { invoiceId: second.id })
      await merchant<EcashPayResult>('ecashPayConfirm', { reviewId: again.reviewId })
    }
    expect(settledBalance).toBeLessThanOrEqual(start)
    await until(
      async () => ((await saleOf(second.id))?.status === 'Settled' ? true : undefined),
      'second sale settled',
    )
    expect(await paidToShop()).toBe(1)
    const { invoices } = await ln.getInvoices({ lnd: shopLnd() })
    expect(invoices.find((i) => i.request === second.bolt11)?.received).toBe(5_000)
    // Spent once: at most the amount and its fee reserve, at least the amount.
    const spent = start - (await balance())
    expect(spent).toBeGreaterThanOrEqual(r.amountSat)
    expect(spent).toBeLessThanOrEqual(r.totalSat)
  })

  /** A sale, reviewed, whose confirm's melt the proxy holds; the engine is stopping meanwhile. */
  async function saleStoppedMidMelt(amount: string, description: string) {
    const s = await merchant<MerchantInvoice & { bolt11: string }>('createInvoice', {
      amount,
      description,
    })
    const r = await merchant<EcashPayReview>('ecashPayReview', { invoiceId: s.id })
    const start = await balance()
    mintProxy.hold = true
    const confirm = merchant<EcashPayResult>('ecashPayConfirm', { reviewId: r.reviewId }).then(
      (v) => v,
      (err: unknown) => err,
    )
    await mintProxy.held()
    return { sale: s, review: r, start, confirm }
  }
  const paymentsTo = async (bolt11: string) =>
    (await ln.getPayments({ lnd: mintLnd() })).payments.filter(
      (p) => p.request === bolt11 && p.is_confirmed,
    ).length
  async function restart() {
    boxKeyFor(engineDir).lock()
    await startEngine()
  }

  it('stopped while its melt was on the way and the mint never got it: nothing paid, the eCash whole, the sale paid once afterwards', async () => {
    const { sale: s, review: r, start, confirm } = await saleStoppedMidMelt('2.7', 'A tea')
    // The engine stops with the melt held; the request is lost, the mint never sees it.
    const stopping = engine.stop()
    mintProxy.drop()
    await stopping
    mintProxy.release()
    expect(await confirm).toBeInstanceOf(Error)
    await restart()
    await expect(merchant('ecashPayConfirm', { reviewId: r.reviewId })).rejects.toMatchObject({
      code: 'merchant.already_paying',
    })
    // The wallet finds the proofs it had set aside unspent at the mint (NUT-07) and keeps them.
    await until(
      async () => ((await balance()) === start ? true : undefined),
      'the eCash set aside for the lost melt is whole again',
    )
    expect(await paymentsTo(s.bolt11)).toBe(0)
    expect((await saleOf(s.id))?.status).toBe('New')
    // The sale is still open: paying it now pays it once.
    const again = await merchant<EcashPayReview>('ecashPayReview', { invoiceId: s.id })
    const done = await merchant<EcashPayResult>('ecashPayConfirm', { reviewId: again.reviewId })
    expect(done.state).toBe('paid')
    await until(
      async () => ((await saleOf(s.id))?.status === 'Settled' ? true : undefined),
      'the sale settled',
    )
    expect(await paymentsTo(s.bolt11)).toBe(1)
    expect(await balance()).toBe(start - again.amountSat - done.feeSat)
  })

  it('stopped while the mint paid and its answer never reached the box: settled once after the restart', async () => {
    const { sale: s, review: r, start, confirm } = await saleStoppedMidMelt('3.6', 'A scone')
    // The mint gets the melt and pays the store; the engine stops before the answer arrives.
    const stopping = engine.stop()
    expect(await mintProxy.passOnAndLoseAnswer()).toBe(200)
    await stopping
    mintProxy.release()
    expect(await confirm).toBeInstanceOf(Error)
    expect(await paymentsTo(s.bolt11)).toBe(1)
    await restart()
    await expect(merchant('ecashPayConfirm', { reviewId: r.reviewId })).rejects.toMatchObject({
      code: 'merchant.already_paying',
    })
    // The wallet learns from the mint that the proofs were spent: down by the amount and at most
    // its fee reserve, once.
    const settled = await until(async () => {
      const b = await balance()
      return b <= start - r.amountSat ? b : undefined
    }, 'the wallet settled the melt whose answer it lost')
    expect(start - settled).toBeLessThanOrEqual(r.totalSat)
    await until(
      async () => ((await saleOf(s.id))?.status === 'Settled' ? true : undefined),
      'the sale settled',
    )
    await expect(merchant('ecashPayReview', { invoiceId: s.id })).rejects.toMatchObject({
      code: 'merchant.invoice_not_open',
    })
    await new Promise((res) => setTimeout(res, 1500))
    expect(await balance()).toBe(settled)
    expect(await paymentsTo(s.bolt11)).toBe(1)
  })
})
