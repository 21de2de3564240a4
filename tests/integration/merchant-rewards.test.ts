// Rewards reaching the customer, in one engine as the app runs it (merchant, Flash Cards, the
// box's mint and eCash wallet, the box's relay and Nostr messaging) against the Greenfield
// SIMULATOR and a world LND: a sale paid over Lightning settles by the signed webhook and its
// reward (a) tops up the customer's Flash Card, (b) reaches the customer's npub as eCash in a
// NIP-17 message, which the customer's own nostr-tools client decrypts and redeems with
// @cashu/cashu-ts exactly once. BTCPay delivering the webhooks again changes nothing.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { Wallet } from '@cashu/cashu-ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/core/engine/engine'
import type { EngineModuleFactory } from '../../src/core/engine/module'
import { silentLogger } from '../../src/core/log'
import { readSetupRecord } from '../../src/core/merchant/btcpay-setup-saga'
import { boltcardModule } from '../../src/core/boltcard/boltcard-module'
import { mintModule } from '../../src/core/mint/mint-module'
import { ecashModule } from '../../src/core/ecash/ecash-module'
import { relayModule } from '../../src/core/relay/relay-module'
import { nostrModule } from '../../src/core/nostr/nostr-module'
import type { FlashCardView, FlashCardsView } from '../../src/shared/api/boltcard'
import type { EcashStatus } from '../../src/shared/api/ecash'
import type { MerchantInvoice, RewardLedgerEntry } from '../../src/shared/api/merchant'
import type { RelayInfo } from '../../src/shared/api/nostr'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { CTX, nostrCustomer, startMerchantEngine, tokensIn } from './merchant-harness'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

/**
 * The box's Lightning node as the reward sees it: the mint here runs on its fake Lightning
 * backend, which marks its own invoices paid a moment later (as a payer's node would), so this
 * stand-in only records what the box asked its node to pay.
 */
const paidByBox: string[] = []
const lightningStandIn = (): EngineModuleFactory => () => ({
  name: 'lightning',
  handlers: {
    pay: async ({ request, feeLimitSat }: { request: string; feeLimitSat: number }) => {
      paidByBox.push(request)
      return { id: 'x', amountSat: 0, feeLimitSat, state: 'pending' }
    },
  } as never,
  async start() {},
  async stop() {},
})

let dir: string
let net: LightningNetwork
let btcpay: BtcpaySimulator
let engine: Engine

const call = <T>(domain: string, procedure: string, input: unknown = {}) =>
  engine.call(domain, procedure, input, CTX) as Promise<T>

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > end) throw new Error(`timed out: ${what}${last ? ` (${String(last)})` : ''}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A sale naming the customer, paid over Lightning by the customer's node; its reward once settled. */
async function paidSale(
  rewardTo: { card: string } | { npub: string },
  want: RewardLedgerEntry['state'] = 'issued',
) {
  const sale = await call<MerchantInvoice & { bolt11: string }>('merchant', 'createInvoice', {
    amount: '9.00',
    description: 'Lunch',
    rewardTo,
  })
  const customer = ln.authenticatedLndGrpc(net.nodes.customer!.lnServiceAuth()).lnd
  await ln.pay({ lnd: customer, request: sale.bolt11 })
  const entry = await until(`the reward ${want}`, async () => {
    const l = await call<RewardLedgerEntry[]>('merchant', 'rewardLedger')
    const r = l.find((x) => x.invoiceId === sale.id)
    if (r && r.state !== 'pending' && r.state !== want)
      throw new Error(`reward ${r.state}: ${r.reason}`)
    return r?.state === want ? r : undefined
  })
  return { sale, entry }
}

/** BTCPay sends every webhook delivery of the store again. */
async function redeliverAll() {
  const rec = readSetupRecord(join(dir, 'engine', 'merchant'))!
  const apiKey = [...btcpay.sim.apiKeys.keys()][0]!
  const headers = { authorization: `token ${apiKey}` }
  const deliveries = (await (
    await fetch(`${btcpay.url}/api/v1/webhooks/${rec.webhookId}/deliveries`, { headers })
  ).json()) as { id: string }[]
  for (const d of deliveries)
    await fetch(`${btcpay.url}/api/v1/webhooks/${rec.webhookId}/deliveries/${d.id}/redeliver`, {
      method: 'POST',
      headers,
    })
  await new Promise((r) => setTimeout(r, 1000))
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-merchant-rewards-'))
  net = await startLightningNetwork({
    chain: new Chain(),
    dir: join(dir, 'ln'),
    nodes: ['shop', 'customer'],
    channels: [['customer', 'shop', 2_000_000]],
    log: () => undefined,
  })
  btcpay = await startBtcpaySimulator({ webhookRetryDelaysMs: [100, 100] })
  engine = await startMerchantEngine({
    engineDir: join(dir, 'engine'),
    btcpayUrl: btcpay.url,
    shop: net.nodes.shop!,
    log: silentLogger,
    modules: [
      relayModule({ port: 0 }),
      nostrModule,
      lightningStandIn(),
      mintModule({ port: 0 }),
      ecashModule({ backgroundIntervalMs: 1000 }),
      boltcardModule({ baseUrl: () => undefined }),
    ],
    merchant: { webhookHost: '127.0.0.1' }, // the simulator runs on this host
  })
  await call('merchant', 'setup', { shopName: 'Corner Café', currency: 'EUR' })
  await call('merchant', 'setRewardRule', { enabled: true, percent: 10, delivery: 'auto' })
  await call('nostr', 'createKey', { passphrase: 'shop passphrase' })
  await until('the box relay', async () => {
    const r = await call<RelayInfo[]>('nostr', 'relays')
    return r[0]?.health.connected ? r : undefined
  })
  await until('the eCash wallet on the box mint', async () => {
    const s = await call<EcashStatus>('ecash', 'status')
    return s.ownMintUrl ? s : undefined
  })
}, 120_000)

afterAll(async () => {
  await engine?.stop()
  await btcpay?.close()
  await net?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('rewards reach the customer (BTCPay simulator, world LND, box mint and relay)', () => {
  it('tops up the customer’s Flash Card with the reward, once', async () => {
    const card = await call<FlashCardView>('boltcard', 'issue', {
      name: 'Ada',
      amountSat: 5000,
      perTapSat: 2000,
      perDaySat: 5000,
    })
    expect(card.balanceSat).toBe(5000)
    const { sale, entry } = await paidSale({ card: card.id })
    // 10% of what the customer paid in bitcoin, in sat.
    const paidBtc = Number(
      (
        (await (
          await fetch(`${btcpay.url}/api/v1/invoices/${sale.id}/payment-methods`, {
            headers: { authorization: `token ${[...btcpay.sim.apiKeys.keys()][0]!}` },
          })
        ).json()) as { totalPaid: string }[]
      )[0]!.totalPaid,
    )
    expect(entry).toMatchObject({
      method: 'card',
      to: card.id,
      rewardSat: Math.floor(paidBtc * 1e8 * 0.1),
    })
    expect(entry.rewardSat).toBeGreaterThan(0)
    const balance = async () =>
      (await call<FlashCardsView>('boltcard', 'cards')).cards.find((c) => c.id === card.id)!
        .balanceSat
    expect(await balance()).toBe(5000 + entry.rewardSat!)
    const listed = await call<MerchantInvoice[]>('merchant', 'invoices', { search: sale.id })
    expect(listed[0]!.reward).toMatchObject({ method: 'card', to: 'Ada', state: 'issued' })
    await redeliverAll()
    expect(await balance()).toBe(5000 + entry.rewardSat!)
    const csv = await call<string>('merchant', 'rewardLedgerCsv')
    expect(csv).toContain(`,card,${card.id},issued,${entry.reference},`)
  })

  it('sends the reward as eCash to the customer’s npub; their client decrypts it and redeems it once', async () => {
    let rewardSat: number
    // The customer's own client, signed in to the box relay with its key.
    const relayUrl = (await call<RelayInfo[]>('nostr', 'relays'))[0]!.url
    const customer = await nostrCustomer(relayUrl)
    const npub = customer.npub
    let rumors: { kind: number; content: string }[]
    try {
      // The customer has not published where they read private messages (NIP-17 kind 10050):
      // the reward stops before the message, in plain words, with the token already made.
      const { sale, entry: failed } = await paidSale({ npub }, 'failed')
      expect(failed).toMatchObject({ method: 'nostr', to: npub, step: 'messaging' })
      expect(failed.reason).toMatch(/has not said where to receive private messages/)
      await customer.publishInbox()
      // The owner presses Retry: it continues from the record with the same token.
      const entry = await call<RewardLedgerEntry>('merchant', 'retryReward', {
        invoiceId: sale.id,
      })
      expect(entry).toMatchObject({ state: 'issued', method: 'nostr' })
      rewardSat = entry.rewardSat!
      expect(rewardSat).toBeGreaterThan(0)
      rumors = await customer.messages()
    } finally {
      customer.close()
    }
    expect(rumors.every((r) => r.kind === 14)).toBe(true)
    const tokens = tokensIn(rumors)
    expect(tokens.size).toBe(1)
    const token = [...tokens][0]!
    expect(rumors[0]!.content).toContain('Corner Café')

    const mintUrl = (await call<EcashStatus>('ecash', 'status')).ownMintUrl!
    const wallet = new Wallet(mintUrl, { unit: 'sat' })
    await wallet.loadMint()
    const proofs = await wallet.receive(token)
    expect(proofs.reduce((n, p) => n + Number(p.amount), 0)).toBe(rewardSat)
    // Exactly once: the same token cannot be redeemed again.
    await expect(wallet.receive(token)).rejects.toBeTruthy()

    // BTCPay sends the webhooks again: no second token, no second message.
    await redeliverAll()
    const ledger = await call<RewardLedgerEntry[]>('merchant', 'rewardLedger')
    expect(ledger.filter((r) => r.method === 'nostr')).toHaveLength(1)
    const sends = (await call<{ kind: string }[]>('ecash', 'history', { limit: 100 })).filter(
      (h) => h.kind === 'sent',
    )
    expect(sends).toHaveLength(1)
    // The box asked its node to pay the mint's invoice at most once (the fake backend may have
    // marked it paid before the reward looked).
    expect(paidByBox.length).toBeLessThanOrEqual(1)
  })
})
