// The Merchant page in Chromium, against the headless server, the BTCPay Greenfield SIMULATOR and
// a world LND (shop + customer with a channel). Driven as the owner would: set BTCPay up (each
// step shown), set a 5 % reward, charge 9 EUR with the page's QR, the customer pays over
// Lightning and the sale turns "Paid" live with its reward QR, the sales show it, and the sale is
// found by search and refunded with a claim QR. Then Merchant → Flash Cards: a card is issued with
// its balance and limits, programmed by a client acting as the Boltcard NFC Programmer app from
// the page's deep link (an NTAG 424 DNA emulator as the card), tapped at a terminal (last use),
// topped up, its limits set, reset through the app's link (pending until the owner confirms it),
// and frozen.
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { boltcardModule } from '../../src/core/boltcard/boltcard-module'
import { readCardUrl } from '../../src/core/boltcard/card-programming'
import { merchantModule } from '../../src/core/merchant/merchant-module'
import { defaultSettings } from '../../src/shared/settings'
import { cleanupProject } from '../images/harness'
import { phone, programWithApp, resetWithApp } from '../simulators/boltcard-programmer-app'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import { Ntag424Emulator } from '../simulators/ntag424-emulator'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import {
  connectBrowser,
  newPage,
  noContainersStack,
  pageErrors,
  saveSettings,
  setOwnerPassword,
  shot,
  startBox,
  type Box,
} from './harness'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
const project = `fbe2e-merchant-${process.pid}`
const OWNER = 'the owner of this little shop'
const VPUB =
  'vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc'

let dir: string
let net: LightningNetwork
let btcpay: BtcpaySimulator
let box: Box
let browser: Browser
let page: Page

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-e2e-merchant-'))
  net = await startLightningNetwork({
    chain: new Chain(),
    dir: join(dir, 'ln'),
    nodes: ['shop', 'customer'],
    channels: [['customer', 'shop', 2_000_000]],
    log: () => undefined,
  })
  btcpay = await startBtcpaySimulator({ network: 'regtest' })
  const shop = net.nodes.shop!
  const settings = { ...defaultSettings(join(dir, 'stack')), network: 'regtest' as const }
  box = await startBox({
    prepare: saveSettings(settings),
    modules: [
      noContainersStack(project),
      merchantModule({
        btcpayUrl: btcpay.url,
        webhookHost: '127.0.0.1', // the simulator runs on this host
        webhookPort: 0,
        lightning: async () => ({
          server: `${shop.restUrl}/`,
          macaroonHex: shop.macaroons.invoice.toString('hex'),
          certThumbprint: createHash('sha256')
            .update(new X509Certificate(shop.cert).raw)
            .digest('hex'),
        }),
        derivationScheme: async () => VPUB,
      }),
      // Cards keep their money in the store the page sets up; taps and the app's keys requests
      // are served on the box's own address (its public address in a real shop).
      boltcardModule({ baseUrl: () => box?.url.replace(/\/$/, '') }),
    ],
  })
  browser = await connectBrowser()
  page = await newPage(browser, 1280, 1000)
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await box?.close()
  await btcpay?.close()
  await net?.close()
  cleanupProject(project)
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const tab = (name: string) => page.getByRole('tab', { name, exact: true })

describe('the Merchant page in Chromium (BTCPay Greenfield SIMULATOR, world LND)', () => {
  it('sets BTCPay up, showing every step', async () => {
    await page.goto(box.url)
    await setOwnerPassword(page, OWNER)
    await page.getByRole('link', { name: 'Merchant' }).first().click()
    await page.getByRole('heading', { name: 'Set up BTCPay' }).waitFor()
    await page.getByLabel('Shop name').fill('Corner Café')
    await page.getByLabel('Currency').fill('EUR')
    await page.getByRole('button', { name: 'Set up BTCPay' }).click()
    await page.getByText(/Corner Café · prices in EUR/).waitFor()
    await page.getByRole('img', { name: 'QR code of the point of sale link' }).waitFor()
    await shot(page, 'merchant-ready')
    expect(pageErrors(page)).toEqual([])
  })

  it('a Lightning sale turns Paid live, with its reward QR, and shows in today’s sales', async () => {
    await tab('Rewards').click()
    await page.getByLabel('Give rewards').check()
    await page.getByLabel('Percent of each sale').fill('5')
    await page.getByRole('button', { name: 'Save rule' }).click()
    await page.getByText('Saved.').waitFor()
    await tab('Sell').click()
    await page.getByLabel('Amount (EUR)').fill('9')
    await page.getByLabel('What was sold (optional)').fill('Two coffees')
    await page.getByRole('button', { name: 'Charge' }).click()
    await page.getByRole('img', { name: 'Lightning invoice QR code' }).waitFor()
    expect(await page.getByTestId('sale-status').textContent()).toBe('Waiting for payment')
    const bolt11 = (await page.locator('code.wrap').textContent())!.trim()
    expect(bolt11).toMatch(/^lnbcrt/)
    const customer = ln.authenticatedLndGrpc(net.nodes.customer!.lnServiceAuth()).lnd
    await ln.pay({ lnd: customer, request: bolt11 })
    await page.getByTestId('sale-status').getByText('Paid').waitFor()
    await page.getByText(/Reward for the customer: 0.45 EUR/).waitFor()
    await page.getByRole('img', { name: 'Reward QR code' }).waitFor()
    await page.getByTestId('sales-today').getByText('9.00 EUR').waitFor()
    // The uPlot bars: today's chart now reads 9.00 EUR in the current hour.
    await page.getByRole('figure', { name: 'Today, by hour' }).locator('canvas').waitFor()
    await page.getByRole('figure', { name: 'This week, by day' }).locator('canvas').waitFor()
    await page.getByRole('img', { name: 'This week, by day over time; latest 9.00 EUR' }).waitFor()
    await shot(page, 'merchant-paid')
    expect(pageErrors(page)).toEqual([])
  })

  it('finds the sale by search and refunds it with a claim QR', async () => {
    await tab('Invoices').click()
    await page.getByLabel(/Search/).fill('coffees')
    const row = page.locator('tbody tr', { hasText: 'Two coffees' })
    await row.getByText(/paid · reward 0.45 EUR/).waitFor()
    await row.getByRole('button', { name: 'Refund' }).click()
    await page.getByRole('img', { name: 'Refund ready for the customer QR code' }).waitFor()
    await page.getByText(/9.00 EUR — the customer claims it/).waitFor()
    await shot(page, 'merchant-refund')
    expect(pageErrors(page)).toEqual([])
  })

  it('Flash Cards: issue, program with the Boltcard app, tap, top up, limits, reset, freeze', async () => {
    await tab('Flash Cards').click()
    await page.getByText('No cards yet.').waitFor()
    await page.getByLabel('Customer or card name').fill('Dana')
    await page.getByLabel('Balance (sat)').fill('30000')
    await page.getByLabel('At most per tap (sat)').fill('5000')
    await page.getByLabel('At most per day (sat)').fill('8000')
    await page.getByRole('button', { name: 'Issue card' }).click()
    const dana = page.getByRole('listitem', { name: 'Card Dana' })
    await dana.getByText(/Dana · not programmed yet · balance 30,000 sat/).waitFor()
    await dana.getByText(/5,000 sat per tap, 8,000 sat per day \(0 sat today\)/).waitFor()
    await dana.getByText(/last used never/).waitFor()

    // The owner shows the QR; the phone's Boltcard app opens the same deep link.
    await dana.getByRole('button', { name: 'Program with the Boltcard app' }).click()
    await dana.getByRole('img', { name: 'Boltcard app link QR' }).waitFor()
    const programLink = await dana
      .getByRole('link', { name: 'Open in the Boltcard app' })
      .getAttribute('href')
    expect(programLink).toMatch(/^boltcard:\/\/program\?url=http%3A%2F%2F127\.0\.0\.1/)
    const card = new Ntag424Emulator()
    expect((await programWithApp(programLink!, card)).status).toBe(200)
    await dana.getByText(/Dana · active/).waitFor()
    await shot(page, 'merchant-flash-card-programmed')

    // A tap at the shop's terminal (LNURL-withdraw request): the card's last use shows.
    const tap = (await readCardUrl(phone(card)))!
    const offer = (await (await fetch(tap.replace(/^lnurlw:/, 'http:'))).json()) as {
      maxWithdrawable?: number
    }
    expect(offer.maxWithdrawable).toBe(5_000_000)
    await dana.getByText(/last used \d/).waitFor()

    await dana.getByLabel('Top up (sat)').fill('2000')
    await dana.getByRole('button', { name: 'Top up', exact: true }).click()
    await dana.getByText(/balance 32,000 sat/).waitFor()
    await dana.getByLabel('Per tap').fill('4000')
    await dana.getByLabel('Per day').fill('6000')
    await dana.getByRole('button', { name: 'Set limits' }).click()
    await dana.getByText(/4,000 sat per tap, 6,000 sat per day/).waitFor()

    await dana.getByRole('button', { name: 'Reset with the Boltcard app' }).click()
    await dana.getByText(/\(Reset\), then tap the card/).waitFor()
    const resetLink = await dana
      .getByRole('link', { name: 'Open in the Boltcard app' })
      .getAttribute('href')
    expect(resetLink).toMatch(/^boltcard:\/\/reset\?url=/)
    expect((await resetWithApp(resetLink!, card)).status).toBe(200)
    expect(card.isFactory).toBe(true)
    // The box did not see the app wipe it: pending until the owner confirms.
    await dana.getByText(/Dana · reset pending/).waitFor()
    await dana.getByRole('button', { name: 'The app said the card is reset' }).click()
    await dana.getByText(/Dana · wiped \(blank\)/).waitFor()

    await dana.getByRole('button', { name: 'Freeze…' }).click()
    await dana.getByRole('button', { name: 'Freeze the card' }).click()
    await dana.getByText(/Dana · frozen/).waitFor()
    await shot(page, 'merchant-flash-card-frozen')
    expect(pageErrors(page)).toEqual([])
  })

  it('rewards: a sale names a Flash Card and its reward tops the card up; a reward that cannot go out shows why and is retried as a claim QR', async () => {
    await tab('Flash Cards').click()
    await page.getByLabel('Customer or card name').fill('Eve')
    await page.getByLabel('Balance (sat)').fill('10000')
    await page.getByLabel('At most per tap (sat)').fill('5000')
    await page.getByLabel('At most per day (sat)').fill('8000')
    await page.getByRole('button', { name: 'Issue card' }).click()
    const eve = page.getByRole('listitem', { name: 'Card Eve' })
    await eve.getByText(/balance 10,000 sat/).waitFor()
    const customer = ln.authenticatedLndGrpc(net.nodes.customer!.lnServiceAuth()).lnd

    // A sale naming Eve's card: paid, the reward goes onto the card.
    await tab('Sell').click()
    await page.getByLabel('Amount (EUR)').fill('9')
    await page.getByLabel('The reward goes to').selectOption('card')
    await page.getByLabel('Customer’s Flash Card').selectOption({ label: 'Eve' })
    await page.getByRole('button', { name: 'Charge' }).click()
    await page.getByRole('img', { name: 'Lightning invoice QR code' }).waitFor()
    await ln.pay({
      lnd: customer,
      request: (await page.locator('code.wrap').textContent())!.trim(),
    })
    const receipt = page.getByRole('status', { name: 'Reward' })
    await receipt.getByText(/onto the card Eve: delivered/).waitFor()
    const sat = Number(
      /Reward ([\d,]+) sat/.exec((await receipt.textContent())!)![1]!.replace(/,/g, ''),
    )
    expect(sat).toBeGreaterThan(0)
    await shot(page, 'merchant-reward-card')
    await tab('Flash Cards').click()
    await eve.getByText(new RegExp(`balance ${(10_000 + sat).toLocaleString('en')} sat`)).waitFor()

    // A sale naming an npub: this box runs no eCash wallet, so the reward stops, in plain words.
    await tab('Sell').click()
    await page.getByLabel('Amount (EUR)').fill('4')
    await page.getByLabel('The reward goes to').selectOption('npub')
    await page
      .getByLabel('Customer’s npub')
      .fill('npub1sg6plzptd64u62a878hep2kev88swjh3tw00gjsfl8f237lmu63q0uf63m')
    await page.getByRole('button', { name: 'Charge' }).click()
    await page.getByRole('img', { name: 'Lightning invoice QR code' }).waitFor()
    await ln.pay({
      lnd: customer,
      request: (await page.locator('code.wrap').textContent())!.trim(),
    })
    await receipt
      .getByText(/as eCash to npub1sg6p.*not delivered — The eCash wallet is turned off/)
      .waitFor()

    // The owner sends it as a claim QR instead, from the rewards ledger.
    await tab('Rewards').click()
    const failed = page.getByRole('listitem').filter({ hasText: 'eCash by Nostr message' })
    await failed.getByTestId('reward-status').getByText('failed').waitFor()
    await failed
      .getByRole('alert')
      .getByText(/eCash wallet is turned off/)
      .waitFor()
    await failed.getByLabel('Send it to').selectOption('claim')
    await failed.getByRole('button', { name: 'Retry' }).click()
    const retried = page.getByRole('listitem').filter({ hasText: '0.20 EUR' })
    await retried.getByTestId('reward-status').getByText('delivered').waitFor()
    await retried.getByText(/claim QR/).waitFor()
    const card = page.getByRole('listitem').filter({ hasText: 'Flash Card top-up' })
    await card.getByTestId('reward-status').getByText('delivered').waitFor()
    await shot(page, 'merchant-reward-ledger')
    expect(pageErrors(page)).toEqual([])
  })
})
