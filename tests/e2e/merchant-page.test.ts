// The Merchant page in Chromium, against the headless server, the BTCPay Greenfield SIMULATOR and
// a world LND (shop + customer with a channel). Driven as the owner would: set BTCPay up (each
// step shown), set a 5 % reward, charge 9 EUR with the page's QR, the customer pays over
// Lightning and the sale turns "Paid" live with its reward QR, the sales show it, and the sale is
// found by search and refunded with a claim QR.
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { merchantModule } from '../../src/core/merchant/merchant-module'
import { defaultSettings } from '../../src/shared/settings'
import { cleanupProject } from '../images/harness'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import {
  launchBrowser,
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
    ],
  })
  browser = await launchBrowser()
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
})
