// The Lightning page in Chromium, against the headless server and an engine whose LND is a node
// of the regtest world (world LND SIMULATOR: real funding transactions on a validating chain,
// gossip, multi-hop HTLCs), with two other nodes, bob and carol (bob ↔ carol open). Driven as the
// owner would: the wallet is created after the owner password, the node is funded on chain from
// an address the page shows, a peer is connected and a channel opened (pending with its
// confirmations, then active once mined), an invoice of carol's is paid (decode → review →
// confirm → result), and an invoice the page made shows its QR and turns “paid” live when carol
// pays it. The stack runs no containers here (an empty TEST catalog): Lightning is the subject.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lightningModule, lightningPaths } from '../../src/core/lightning/lightning-module'
import { loadOrCreateStackSecrets } from '../../src/core/secrets/stack-secrets'
import { defaultSettings } from '../../src/shared/settings'
import { cleanupProject } from '../images/harness'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { startWorldLnd, type WorldLnd } from '../simulators/world/lnd-rpc'
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
const project = `fbe2e-ln-${process.pid}`
const OWNER = 'the owner of this little shop'

let worldDir: string
let stackDir: string
let chain: Chain
let net: LightningNetwork
let boxLnd: WorldLnd
let box: Box
let browser: Browser
let page: Page

const lndOf = (name: string) => ln.authenticatedLndGrpc(net.nodes[name]!.lnServiceAuth()).lnd

beforeAll(async () => {
  worldDir = mkdtempSync(join(tmpdir(), 'flashbox-e2e-ln-world-'))
  stackDir = mkdtempSync(join(tmpdir(), 'flashbox-e2e-ln-stack-'))
  chain = new Chain()
  net = await startLightningNetwork({
    chain,
    dir: worldDir,
    nodes: ['bob', 'carol'],
    channels: [['bob', 'carol', 1_000_000, { pushSat: 300_000 }]],
    rest: false,
    log: () => {},
  })
  // The box's LND in LND's folder under the stack's data folder, as the catalog lays it out: the
  // box-made TLS certificate and the wallet password file; no wallet until the box creates it.
  const settings = defaultSettings(stackDir)
  const paths = lightningPaths(settings)
  const secrets = await loadOrCreateStackSecrets(stackDir)
  mkdirSync(paths.lndDir, { recursive: true })
  writeFileSync(join(paths.lndDir, 'tls.cert'), secrets.lndTls.certPem)
  writeFileSync(join(paths.lndDir, 'tls.key'), secrets.lndTls.keyPem, { mode: 0o600 })
  writeFileSync(paths.passwordFile, secrets.lndWalletPassword, { mode: 0o600 })
  boxLnd = await startWorldLnd({
    world: net.world,
    alias: 'box',
    dir: paths.lndDir,
    network: 'regtest',
    restPort: null,
    wallet: { mode: 'rpc', passwordFile: paths.passwordFile },
    log: () => {},
  })
  box = await startBox({
    prepare: saveSettings(settings),
    modules: [
      noContainersStack(project),
      lightningModule({
        endpoint: () => ({ socket: boxLnd.socket, cert: secrets.lndTls.certPem }),
        pollMs: 200,
        readyPollMs: 1000,
      }),
    ],
  })
  browser = await connectBrowser()
  page = await newPage(browser, 1280, 1000)
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await box?.close()
  await boxLnd?.close()
  await net?.close()
  cleanupProject(project)
  for (const d of [worldDir, stackDir]) if (d) rmSync(d, { recursive: true, force: true })
})

const tab = (name: string) => page.getByRole('tab', { name })

describe('the Lightning page in Chromium (world LND SIMULATOR)', () => {
  it('creates the wallet after the owner password and shows the node ready', async () => {
    await page.goto(box.url)
    await setOwnerPassword(page, OWNER)
    await page.getByRole('link', { name: 'Lightning' }).first().click()
    await page.getByRole('heading', { name: /Node\s+Ready/ }).waitFor()
    expect(pageErrors(page)).toEqual([])
  })

  it('open channel: fund from a shown address, connect a peer, open, pending confirmations, mine, active', async () => {
    await tab('Node').click()
    await page.getByRole('button', { name: 'New address' }).click()
    await page.getByRole('img', { name: 'QR code of the address' }).waitFor()
    const address = (await page
      .locator('section[aria-labelledby="ln-onchain"] code')
      .textContent())!.trim()
    expect(address).toMatch(/^bcrt1/)
    chain.mine(1, address)
    net.mine(100)

    await tab('Channels').click()
    const bob = net.nodes.bob!
    await page
      .getByLabel('Node address (pubkey@host:port)')
      .fill(`${bob.pubkey}@${bob.node!.p2pAddress}`)
    await page.getByRole('button', { name: 'Connect' }).click()
    await page.locator('section[aria-labelledby="ln-peers"] li', { hasText: bob.pubkey }).waitFor()

    await page.getByLabel('Peer (public key)').fill(bob.pubkey)
    await page.getByLabel('Amount (sat, at least 20,000)').fill('500000')
    await page.getByLabel(/Fee rate/).fill('2')
    await page.getByRole('button', { name: 'Open channel' }).click()
    const row = page.locator('section[aria-labelledby="ln-channels"] tbody tr')
    await row.filter({ hasText: 'Opening' }).waitFor()
    await row.filter({ hasText: /3 confirmations to go/ }).waitFor()
    await shot(page, 'lightning-channel-opening')
    net.mine(1)
    // Live: a block arrives, the count goes down without a reload.
    await row.filter({ hasText: /2 confirmations to go/ }).waitFor()
    net.mine(5)
    await row.filter({ hasText: 'Active' }).waitFor()
    await expect(row.filter({ hasText: 'Active' }).textContent()).resolves.toMatch(/500,000/)
    expect(pageErrors(page)).toEqual([])
  })

  it('pay: decode, review (amount, payee, description), confirm, result', async () => {
    const { request } = await ln.createInvoice({
      lnd: lndOf('carol'),
      tokens: 20_000,
      description: 'flowers for the shop',
    })
    await tab('Pay').click()
    await page.getByRole('textbox', { name: 'Invoice' }).fill(request)
    await page.getByRole('button', { name: 'Review' }).click()
    const id = (await ln.decodePaymentRequest({ lnd: lndOf('carol'), request })).id
    const review = page.locator('[aria-labelledby="ln-pay-review"]')
    await review.waitFor()
    await expect(review.textContent()).resolves.toMatch(/20,000/)
    await expect(review.textContent()).resolves.toContain(net.nodes.carol!.pubkey)
    await expect(review.textContent()).resolves.toContain('flowers for the shop')
    // Nothing was sent before the owner confirms.
    expect((await ln.getInvoice({ lnd: lndOf('carol'), id })).is_confirmed).toBe(false)
    await shot(page, 'lightning-pay-review')
    await page.getByRole('button', { name: 'Pay', exact: true }).click()
    await page.getByText(/Paid 20,000 sat/).waitFor()
    expect((await ln.getInvoice({ lnd: lndOf('carol'), id })).is_confirmed).toBe(true)
    expect(pageErrors(page)).toEqual([])
  })

  it('receive: the invoice as QR and text, and “paid” appears live when carol pays it', async () => {
    await tab('Receive').click()
    await page.getByLabel('Amount (sat)').fill('5000')
    await page.getByLabel('Memo (the payer sees it)').fill('a coffee')
    await page.getByRole('button', { name: 'Create invoice' }).click()
    await page.getByRole('img', { name: 'QR code of the invoice' }).waitFor()
    const request = (await page.getByTestId('ln-invoice-text').textContent())!.trim()
    expect(request).toMatch(/^lnbcrt50u1/)
    await page.getByText(/Waiting for 5,000 sat/).waitFor()
    await shot(page, 'lightning-receive-open')
    await ln.pay({ lnd: lndOf('carol'), request })
    await page.getByText('Paid: 5,000 sat received.').waitFor({ timeout: 10_000 })
    await shot(page, 'lightning-receive-paid')
    expect(pageErrors(page)).toEqual([])
  })
})
