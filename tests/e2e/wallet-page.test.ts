// The Wallet page in Chromium, against the headless server and an engine whose wallet follows the
// regtest world (chain + bitcoind SIMULATOR + electrs SIMULATOR, real signatures and v31 policy).
// Driven as the owner would: the wallet is created under the owner password; Receive shows an
// address and its QR, a payment from the world appears live as unconfirmed and then confirmed
// once mined; Send builds a review (outputs, change, fee, fee rate) with nothing broadcast before
// the owner confirms, then sends; the unconfirmed send is bumped (RBF) with its own review, and
// the replacement takes the original's place in the world's mempool.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { walletModule } from '../../src/core/wallet/wallet-module'
import { defaultSettings } from '../../src/shared/settings'
import { cleanupProject } from '../images/harness'
import {
  startWalletWorld,
  WALLET_RPC_PASSWORD,
  WALLET_RPC_USER,
  type WalletWorld,
} from '../integration/wallet-harness'
import { TestKey } from '../simulators/world/test-keys'
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

const project = `fbe2e-wallet-${process.pid}`
const OWNER = 'the owner of this little shop'
const SHOP = TestKey.fromLabel('wallet-e2e-supplier').p2wpkh().address

let stackDir: string
let world: WalletWorld
let box: Box
let browser: Browser
let page: Page

beforeAll(async () => {
  stackDir = mkdtempSync(join(tmpdir(), 'flashbox-e2e-wallet-stack-'))
  world = await startWalletWorld({ coins: 3 })
  const settings = { ...defaultSettings(stackDir), network: 'regtest' as const }
  box = await startBox({
    prepare: saveSettings(settings),
    modules: [
      noContainersStack(project),
      walletModule({
        endpoint: () => ({ host: '127.0.0.1', port: world.electrs.electrumPort }),
        node: () =>
          new BitcoindRpc({
            url: world.bitcoind.url,
            user: WALLET_RPC_USER,
            password: WALLET_RPC_PASSWORD,
          }),
        retryMs: { min: 50, max: 200 },
      }),
    ],
  })
  browser = await connectBrowser()
  page = await newPage(browser, 1280, 1000)
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await box?.close()
  await world?.close()
  cleanupProject(project)
  if (stackDir) rmSync(stackDir, { recursive: true, force: true })
})

const tab = (name: string) => page.getByRole('tab', { name, exact: true })
const mempool = () =>
  world.chain
    .mempool()
    .map((e) => e.txid)
    .sort()
const historyRow = (txidStart: string) =>
  page.locator('section[aria-labelledby="wallet-history"] tbody tr', { hasText: txidStart })

describe('the Wallet page in Chromium (regtest world: chain, bitcoind and electrs SIMULATORS)', () => {
  it('creates the wallet under the owner password', async () => {
    await page.goto(box.url)
    await setOwnerPassword(page, OWNER)
    await page.getByRole('link', { name: 'Wallet' }).first().click()
    await page.getByRole('heading', { name: 'Create your Bitcoin wallet' }).waitFor()
    await page.getByLabel('Owner password').fill(OWNER)
    await page.getByRole('button', { name: 'Create wallet' }).click()
    await tab('Receive').waitFor()
    expect(pageErrors(page)).toEqual([])
  })

  let depositTxid: string
  it('receive: address and QR; the deposit appears live as unconfirmed, then confirmed', async () => {
    await tab('Receive').click()
    await page.getByLabel('Amount (sat, optional)').fill('300000')
    await page.getByLabel('Label (only you see it)').fill('float for the till')
    await page.getByRole('button', { name: 'New address' }).click()
    const section = page.locator('section[aria-labelledby="wallet-receive"]')
    await section.getByRole('img', { name: /^QR code of bitcoin:bcrt1/ }).waitFor()
    const address = (await section.locator('code').first().textContent())!.trim()
    expect(address).toMatch(/^bcrt1q/)
    await expect(section.locator('code').nth(1).textContent()).resolves.toBe(
      `bitcoin:${address}?amount=0.003&label=float%20for%20the%20till`,
    )
    await section.getByText('Waiting for a payment…').waitFor()
    depositTxid = world.pay(address, 300_000).getId()
    // Live (wallet events over the server's event stream): no reload.
    await section
      .getByText('Received 300,000 sat — waiting for confirmation.')
      .waitFor({ timeout: 10_000 })
    await shot(page, 'wallet-receive-unconfirmed')
    world.mine(1)
    await section.getByText('Received 300,000 sat — confirmed.').waitFor({ timeout: 10_000 })
    await tab('History').click()
    await historyRow(depositTxid.slice(0, 12))
      .filter({ hasText: /confirmed \(1 conf\.\)/ })
      .waitFor()
    // The balance chart (uPlot, loaded on demand) draws the deposit.
    await page.getByRole('button', { name: 'Show the balance chart' }).click()
    const chart = page.getByRole('img', { name: /^Balance over time; latest 300,000 sat/ })
    await chart.waitFor({ timeout: 10_000 })
    expect(await chart.locator('canvas').count()).toBe(1)
    await page.getByRole('button', { name: 'Hide the balance chart' }).click()
    expect(pageErrors(page)).toEqual([])
  })

  let sentTxid: string
  it('send: review shows outputs, change, fee and fee rate; nothing broadcast before Send', async () => {
    await tab('Send').click()
    await page.getByLabel('Address', { exact: true }).fill(SHOP)
    await page.getByLabel('Amount (sat)', { exact: true }).fill('120000')
    await page.getByLabel('Custom', { exact: true }).check()
    await page.getByLabel('Fee rate (sat/vB)').fill('2')
    const before = mempool()
    await page.getByRole('button', { name: 'Review', exact: true }).click()
    const outputs = page.getByRole('table', { name: 'Outputs' })
    await outputs.waitFor()
    const review = outputs.locator('xpath=..')
    await expect(outputs.textContent()).resolves.toContain(SHOP)
    await expect(outputs.textContent()).resolves.toMatch(/120,000 sat/)
    await expect(outputs.textContent()).resolves.toMatch(/change, back to this wallet/)
    const facts = (await review.locator('dl').textContent())!
    expect(facts).toMatch(/Amount sent\s*120,000 sat/)
    expect(facts).toMatch(/Change\s*1\d\d,\d\d\d sat/)
    expect(facts).toMatch(/Fee\s*[\d,]+ sat \(2 sat\/vB × \d+ vB\)/)
    await shot(page, 'wallet-send-review')
    // The review built and held a PSBT; the world's mempool has not moved.
    expect(mempool()).toEqual(before)
    await review.getByLabel('Your password').fill(OWNER)
    await review.getByRole('button', { name: 'Sign and send' }).click()
    const result = page.getByText(/^Sent 120,000 sat with a fee of/)
    await result.waitFor()
    sentTxid = (await result.locator('code').textContent())!.trim()
    expect(sentTxid).toMatch(/^[0-9a-f]{64}$/)
    expect(mempool()).toEqual([...before, sentTxid].sort())
    expect(world.chain.mempoolEntry(sentTxid)).toBeDefined()
    expect(pageErrors(page)).toEqual([])
  })

  it('bump: the unconfirmed send is replaced at a higher fee rate after its own review', async () => {
    await tab('History').click()
    const row = historyRow(sentTxid.slice(0, 12))
    await row.getByRole('button', { name: 'Bump fee (RBF)' }).click()
    // The form suggests a rate once the node's estimates arrive; type over it only after that,
    // or the suggestion lands between the fill's select-all and its text ("4" + "6").
    const rateInput = row.getByLabel(/New fee rate \(sat\/vB\)/)
    await expect.poll(() => rateInput.inputValue(), { timeout: 10_000 }).not.toBe('')
    await rateInput.fill('6')
    const before = mempool()
    await row.getByRole('button', { name: 'Review the fee bump' }).click()
    const outputs = row.getByRole('table', { name: 'Outputs' })
    await outputs.waitFor()
    const review = outputs.locator('xpath=..')
    await expect(review.textContent()).resolves.toContain(`It replaces ${sentTxid.slice(0, 8)}`)
    await expect(outputs.textContent()).resolves.toContain(SHOP)
    expect((await review.locator('dl').textContent())!).toMatch(/\(6 sat\/vB × \d+ vB\)/)
    await shot(page, 'wallet-bump-review')
    expect(mempool()).toEqual(before)
    await review.getByLabel('Your password').fill(OWNER)
    await review.getByRole('button', { name: 'Sign and send' }).click()
    const result = page.getByText(/^Sent 120,000 sat with a fee of/)
    await result.waitFor()
    const replacement = (await result.locator('code').textContent())!.trim()
    expect(replacement).not.toBe(sentTxid)
    expect(world.chain.mempoolEntry(replacement)).toBeDefined()
    expect(world.chain.mempoolEntry(sentTxid)).toBeUndefined()
    expect(mempool()).toEqual(
      before
        .filter((t) => t !== sentTxid)
        .concat(replacement)
        .sort(),
    )
    expect(pageErrors(page)).toEqual([])
  })
})
