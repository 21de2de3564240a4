// A box as it really is: ONE LND (world simulator) under both the box's own mint (services/mint)
// and the shop's BTCPay (Greenfield SIMULATOR). LND refuses to pay an invoice of its own node, as
// real LND does ("no self-payments"), so both eCash paths go through internal settlement
// (INTERNAL-SETTLEMENT design) instead of Lightning:
//   - a sale paid with the box's eCash: the mint melts into the store's invoice by asking the box's
//     settlement hook (signed with K), which marks the BTCPay invoice Settled through Greenfield and
//     answers LND's preimage; the invoice is settled once, the eCash balance drops by exactly the
//     amount (fee 0), and no Lightning payment is made;
//   - an eCash reward by NIP-17: the box's eCash wallet mints at its own mint and, instead of paying
//     the mint's invoice from the same node, has the mint settle its quote (signed admin route); the
//     customer's own client unwraps the token and redeems it exactly once.
// The customer's node pays over Lightning where a customer really does (buying the eCash, paying
// the second sale). Set-up shared with merchant-ecash-pay and merchant-rewards: merchant-harness.ts.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { Wallet } from '@cashu/cashu-ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMint, type RunningMint } from '../../services/mint/src/index'
import { signSettlementRequest } from '../../services/shared/internal-settlement-auth'
import { ecashModule } from '../../src/core/ecash/ecash-module'
import type { Engine } from '../../src/core/engine/engine'
import { silentLogger } from '../../src/core/log'
import type { MerchantModule } from '../../src/core/merchant/merchant-module'
import { INTERNAL_SETTLEMENT_PURPOSE } from '../../src/core/mint/internal-settlement-client'
import { nostrModule } from '../../src/core/nostr/nostr-module'
import { relayModule } from '../../src/core/relay/relay-module'
import { boxKeyFor } from '../../src/core/secrets/box-key'
import type { EcashStatus, MintQuoteView } from '../../src/shared/api/ecash'
import type {
  EcashPayResult,
  EcashPayReview,
  MerchantInvoice,
  RewardLedgerEntry,
} from '../../src/shared/api/merchant'
import type { RelayInfo } from '../../src/shared/api/nostr'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import { invoicesOf } from '../simulators/btcpay/invoices'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { eventually } from './eventually'
import { CTX, nostrCustomer, startMerchantEngine, tokensIn } from './merchant-harness'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

let dir: string
let engineDir: string
let net: LightningNetwork
let btcpay: BtcpaySimulator
let mint: RunningMint | undefined
let engine: Engine

const call = <T>(domain: string, procedure: string, input: unknown = {}) =>
  engine.call(domain, procedure, input, CTX) as Promise<T>
const boxLnd = () => ln.authenticatedLndGrpc(net.nodes.box!.lnServiceAuth()).lnd
const customerLnd = () => ln.authenticatedLndGrpc(net.nodes.customer!.lnServiceAuth()).lnd
const balance = async () => (await call<EcashStatus>('ecash', 'status')).total
const saleOf = async (id: string) =>
  (await call<MerchantInvoice[]>('merchant', 'invoices', {})).find((i) => i.id === id)
/** What the box's own node paid over Lightning (it must never try to pay itself). */
const boxPayments = async () => (await ln.getPayments({ lnd: boxLnd() })).payments

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-single-lnd-'))
  engineDir = join(dir, 'engine')
  // The box's one node, and a customer with a channel to it (buying eCash, paying a sale).
  net = await startLightningNetwork({
    chain: new Chain(),
    dir: join(dir, 'ln'),
    nodes: ['box', 'customer'],
    channels: [['customer', 'box', 2_000_000]],
    log: () => undefined,
  })
  btcpay = await startBtcpaySimulator({
    network: 'regtest',
    rates: { EUR: 90_000 },
    webhookRetryDelaysMs: [100, 100],
  })
  const lnd = boxLnd()
  engine = await startMerchantEngine({
    engineDir,
    btcpayUrl: btcpay.url,
    // BTCPay makes the shop's invoices on the box's own node: the same node as the mint.
    shop: net.nodes.box!,
    log: silentLogger,
    modules: [
      relayModule({ port: 0 }),
      nostrModule,
      ecashModule({ ownMintUrl: () => mint?.url, backgroundIntervalMs: 500 }),
    ],
    merchant: {
      webhookHost: '127.0.0.1', // the simulator runs on this host
      settlementPort: 0,
      lnd: () => lnd,
    },
  })
  // The mint as the engine starts it inside the app: on the box's node, with K and the hook's
  // loopback address (mint-module.ts passes the same two in its start message).
  const hookUrl = (engine.module('merchant') as unknown as MerchantModule).settlementHookUrl()
  expect(hookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/internal\/settlement\/v1$/)
  const m = net.nodes.box!.lnServiceAuth()
  mint = await startMint({
    port: 0,
    dataDir: join(dir, 'mint'),
    backend: { kind: 'lnd', socket: m.socket, cert: m.cert, macaroon: m.macaroon },
    internalSettlementKey: boxKeyFor(engineDir).subkey(INTERNAL_SETTLEMENT_PURPOSE).toString('hex'),
    internalSettlementUrl: hookUrl!,
    log: silentLogger,
  })
  await call('merchant', 'setup', { shopName: 'Corner Café', currency: 'EUR' })
  await call('nostr', 'createKey', { passphrase: 'shop passphrase' })
  await eventually(async () => {
    const r = await call<RelayInfo[]>('nostr', 'relays')
    return r[0]?.health.connected
  }, 'the box relay')
  await eventually(
    async () => (await call<EcashStatus>('ecash', 'status')).ownMintUrl === mint!.url,
    'the eCash wallet on the box mint',
  )
}, 120_000)

afterAll(async () => {
  await engine?.stop()
  await mint?.close()
  await btcpay?.close()
  await net?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('one LND under the box’s mint and its shop', () => {
  let before = 0

  it('the wallet holds eCash from the box’s own mint (bought by the customer’s node)', async () => {
    const q = await call<MintQuoteView>('ecash', 'mintQuote', { amount: 30_000 })
    await ln.pay({ lnd: customerLnd(), request: q.invoice })
    before = await eventually(async () => {
      await call('ecash', 'checkMintQuote', { quoteId: q.quoteId }).catch(() => undefined)
      const b = await balance()
      return b >= 30_000 ? b : undefined
    }, 'eCash minted')
    expect(before).toBe(30_000)
  })

  it('a sale paid with the box’s eCash settles inside the box: once, fee 0, no Lightning payment', async () => {
    const sale = await call<MerchantInvoice & { bolt11: string }>('merchant', 'createInvoice', {
      amount: '9',
      description: 'Cake and tea',
    })
    const review = await call<EcashPayReview>('merchant', 'ecashPayReview', { invoiceId: sale.id })
    // 9 EUR at 90,000 EUR/BTC; the mint quotes no Lightning fee and the review says why.
    expect(review).toMatchObject({
      amountSat: 10_000,
      feeReserveSat: 0,
      totalSat: 10_000,
      insideBox: true,
    })
    expect(await balance()).toBe(before)
    const paid = await call<EcashPayResult>('merchant', 'ecashPayConfirm', {
      reviewId: review.reviewId,
    })
    expect(paid).toEqual({ invoiceId: sale.id, state: 'paid', feeSat: 0 })
    // BTCPay: marked Settled by the box (once), and its webhook turned the sale Settled.
    expect(invoicesOf(btcpay.sim).get(sale.id)).toMatchObject({
      status: 'Settled',
      additionalStatus: 'Marked',
    })
    await eventually(async () => (await saleOf(sale.id))?.status === 'Settled', 'sale settled')
    // The eCash balance: down by exactly the amount.
    expect(await balance()).toBe(before - 10_000)
    // No sats moved over Lightning: the box's node paid nothing, and the sale's own Lightning
    // invoice was never paid — it is cancelled, so nobody can pay the settled sale again.
    expect(await boxPayments()).toEqual([])
    const hash = (await ln.getInvoices({ lnd: boxLnd() })).invoices.find(
      (i) => i.request === sale.bolt11,
    )!
    expect(hash.is_confirmed).toBe(false)
    expect(hash.is_canceled).toBe(true)
    await expect(ln.pay({ lnd: customerLnd(), request: sale.bolt11 })).rejects.toBeTruthy()
    // The mint asking again (a repeat after a lost answer) gets the same outcome, with LND's
    // preimage of the sale's invoice, and nothing is marked twice (BTCPay would refuse: 400).
    const key = boxKeyFor(engineDir).subkey(INTERNAL_SETTLEMENT_PURPOSE)
    const hookUrl = (engine.module('merchant') as unknown as MerchantModule).settlementHookUrl()!
    const body = JSON.stringify({
      payment_hash: hash.id,
      bolt11: sale.bolt11,
      amount_msat: 10_000_000,
      melt_quote: review.reviewId,
    })
    const again = await fetch(`${hookUrl}/pay`, {
      method: 'POST',
      headers: signSettlementRequest(key, 'POST', new URL(`${hookUrl}/pay`).pathname, body),
      body,
    })
    expect(await again.json()).toEqual({ state: 'PAID', preimage: hash.secret })
    // A second review or confirm pays nothing more.
    await expect(
      call('merchant', 'ecashPayConfirm', { reviewId: review.reviewId }),
    ).rejects.toMatchObject({ code: 'merchant.already_paying' })
    await expect(call('merchant', 'ecashPayReview', { invoiceId: sale.id })).rejects.toMatchObject({
      code: 'merchant.invoice_not_open',
    })
    await new Promise((r) => setTimeout(r, 1000))
    expect(await balance()).toBe(before - 10_000)
    before = await balance()
  })

  it('an eCash reward by NIP-17: the box’s own mint settles its quote; redeemable once', async () => {
    await call('merchant', 'setRewardRule', { enabled: true, percent: 10, delivery: 'auto' })
    const relayUrl = (await call<RelayInfo[]>('nostr', 'relays'))[0]!.url
    const customer = await nostrCustomer(relayUrl)
    let messages: { kind: number; content: string }[]
    let entry: RewardLedgerEntry
    try {
      await customer.publishInbox()
      const sale = await call<MerchantInvoice & { bolt11: string }>('merchant', 'createInvoice', {
        amount: '9.00',
        description: 'Lunch',
        rewardTo: { npub: customer.npub },
      })
      // The customer pays the sale over Lightning from their own node.
      await ln.pay({ lnd: customerLnd(), request: sale.bolt11 })
      entry = await eventually(async () => {
        const l = await call<RewardLedgerEntry[]>('merchant', 'rewardLedger')
        const r = l.find((x) => x.invoiceId === sale.id)
        if (r?.state === 'failed') throw new Error(`reward failed: ${r.reason}`)
        return r?.state === 'issued' ? r : undefined
      }, 'the reward issued')
      messages = await customer.messages()
    } finally {
      customer.close()
    }
    // 10% of 10,000 sat; its eCash was paid for inside the box, not over Lightning.
    expect(entry).toMatchObject({ method: 'nostr', rewardSat: 1_000, fundedBy: 'internal' })
    expect(await boxPayments()).toEqual([])
    expect(await call<string>('merchant', 'rewardLedgerCsv')).toMatch(
      /,issued,[0-9a-f]+,,internal\r\n/,
    )
    const tokens = tokensIn(messages)
    expect(tokens.size).toBe(1)
    const token = [...tokens][0]!
    const wallet = new Wallet(mint!.url, { unit: 'sat' })
    await wallet.loadMint()
    const proofs = await wallet.receive(token)
    expect(proofs.reduce((n, p) => n + Number(p.amount), 0)).toBe(1_000)
    await expect(wallet.receive(token)).rejects.toBeTruthy()
    // The box's own eCash is untouched by the reward (it minted the reward's eCash itself).
    expect(await balance()).toBe(before)
  })

  it('the Lightning page’s own-node invoices: an own mint quote settles inside, a stray one does not', async () => {
    // The Lightning module hands every invoice of its own node to settleOwnInvoice before its
    // payment saga (lightning-payments.test.ts shows the refusal when nothing claims it).
    const merchant = engine.module('merchant') as unknown as MerchantModule
    const q = await call<MintQuoteView>('ecash', 'mintQuote', { amount: 2_000 })
    expect(await merchant.settleOwnInvoice(q.invoice)).toBe('mint-quote')
    await eventually(async () => {
      await call('ecash', 'checkMintQuote', { quoteId: q.quoteId }).catch(() => undefined)
      return (await balance()) === before + 2_000
    }, 'the eCash minted from the own quote')
    // Settling it again changes nothing (the mint answers PAID or ISSUED; nothing is minted twice).
    expect(await merchant.settleOwnInvoice(q.invoice)).toBe(undefined)
    const stray = await ln.createInvoice({ lnd: boxLnd(), tokens: 500 })
    expect(await merchant.settleOwnInvoice(stray.request)).toBeUndefined()
    expect(await boxPayments()).toEqual([])
    expect(await balance()).toBe(before + 2_000)
  })
})
