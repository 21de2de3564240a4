// The Devices page (devices, HSM, 2-of-3 vault followed on chain, its spend) and Settings → HSM in
// Chromium, against the headless server and an engine whose wallet and vault sync follow the
// regtest world (chain + bitcoind SIMULATOR + electrs SIMULATOR, real signatures and policy). The
// USB listing is injected (this kernel has no USB): an emulated Trezor behind the driver's packet
// boundary (tests/simulators/hardware/trezor-emulator.ts, a real seed) and a Ledger the OS does
// not let Flash Box open. The HSM is a real SoftHSM2 token; the backup key signs as a Coldcard
// would, by a file on a "microSD card" folder. Driven as the owner would:
// - the Trezor is found as ready with its firmware, the Ledger as needing permission with the
//   udev command;
// - the HSM is set up in Settings → HSM (linked from Devices); a wrong PIN is refused and
//   counted; the right PIN unlocks;
// - the Trezor gives its vault key with one click; the backup key is pasted; the vault is shown,
//   its first address is checked on the Trezor's screen, and the box keeps it;
// - a payment to the vault appears by itself, on its way and then confirmed once mined;
// - a spend is built from those coins; the HSM alone cannot finish it; the Coldcard file is
//   written and read back from the card, a signed PSBT file is imported, the Trezor signs; the
//   review shows every output, the change, the fee and the fee rate; on confirm the box broadcasts
//   it through its node, the world's validator takes it into its mempool, and the vault's history
//   shows it confirmed once mined.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHardwareModule } from '../../src/core/hardware/hardware-module'
import { DeviceDiscovery, type UsbDeviceInfo } from '../../src/core/hardware/usb/discovery'
import { trezorInspector } from '../../src/core/hardware/trezor/trezor-inspect'
import { TrezorSigner } from '../../src/core/hardware/trezor/trezor-signer'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import type { Vault } from '../../src/core/hardware/multisig/vault'
import { defaultSettings } from '../../src/shared/settings'
import { cleanupProject } from '../images/harness'
import { createSoftHsmToken, type SoftHsmToken } from '../setup/softhsm'
import { TrezorEmulator } from '../simulators/hardware/trezor-emulator'
import { TestKey } from '../simulators/world/test-keys'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { walletModule } from '../../src/core/wallet/wallet-module'
import {
  startWalletWorld,
  WALLET_RPC_PASSWORD,
  WALLET_RPC_USER,
  type WalletWorld,
} from '../integration/wallet-harness'
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

const project = `fbe2e-devices-${process.pid}`
const OWNER = 'the owner of this little shop'
const TREZOR_WORDS = 'legal winner thank year wave sausage worth useful legal winner thank yellow'
const BACKUP_WORDS =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'

const device = (port: string, vendorId: number, productId: number): UsbDeviceInfo => ({
  portPath: port,
  busNumber: 1,
  address: Number(port.split('-')[1]) + 1,
  vendorId,
  productId,
})

let stackDir: string
let cardDir: string
let world: WalletWorld
let hsmKey: { fingerprint: string; publicKey: string }
let token: SoftHsmToken
let box: Box
let browser: Browser
let page: Page
const emulator = new TrezorEmulator({ words: TREZOR_WORDS, label: 'Shop' })
const backup = SeedSigner.fromWords(BACKUP_WORDS)

beforeAll(async () => {
  stackDir = mkdtempSync(join(tmpdir(), 'flashbox-e2e-devices-stack-'))
  cardDir = mkdtempSync(join(tmpdir(), 'flashbox-e2e-sdcard-'))
  token = createSoftHsmToken('box-hsm', '123456')
  world = await startWalletWorld({ coins: 3 })
  const settings = { ...defaultSettings(stackDir), network: 'regtest' as const }
  const usb = [device('1-1', 0x1209, 0x53c1), device('1-2', 0x2c97, 0x5011)]
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
      (ctx) =>
        createHardwareModule(ctx, {
          discovery: new DeviceDiscovery(
            { available: () => true, list: async () => usb, watch: () => () => undefined },
            async (d) => ({ permitted: d.portPath !== '1-2', holders: [] }),
            {
              udevRulesPath: '/opt/Flash Box/resources/udev/51-flash-box-signers.rules',
              inspectors: { trezor: trezorInspector(async () => emulator.link()) },
            },
          ),
          signers: {
            trezor: async (_dev, _known, network) => ({
              signer: TrezorSigner.over(emulator.link(), network),
              close: async () => undefined,
            }),
          },
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
  token?.dispose()
  cleanupProject(project)
  for (const d of [stackDir, cardDir]) if (d) rmSync(d, { recursive: true, force: true })
})

const section = (id: string) => page.locator(`section[aria-labelledby="${id}"]`)
/** Errors the page shows on purpose arrive as HTTP 4xx answers, which Chromium also logs. */
const unexpectedErrors = () => pageErrors(page).filter((e) => !/Failed to load resource/.test(e))

describe('the Devices page in Chromium (emulated Trezor, SoftHSM2, a microSD folder, the regtest world)', () => {
  it('shows each device’s state: the Trezor ready with its firmware, the Ledger needing permission', async () => {
    await page.goto(box.url)
    await setOwnerPassword(page, OWNER)
    await page.getByRole('link', { name: 'Devices' }).first().click()
    const trezor = page.getByRole('listitem', { name: 'Trezor Model T' })
    await trezor.waitFor()
    await expect(trezor.textContent()).resolves.toMatch(
      /Ready.*firmware 2\.8\.7.*Ready: Trezor Model T “Shop”, firmware 2\.8\.7\..*no Trezor Bridge is needed/,
    )
    const ledger = page.getByRole('listitem', { name: /Ledger Nano S Plus/ })
    await expect(ledger.textContent()).resolves.toMatch(/Needs permission.*not allowed to open it/)
    await expect(page.getByLabel('udev command').textContent()).resolves.toContain(
      "sudo install -m 0644 '/opt/Flash Box/resources/udev/51-flash-box-signers.rules'",
    )
    await shot(page, 'devices-found')
  })

  it('HSM: set up in Settings → HSM on SoftHSM2, a wrong PIN refused and counted, the right one unlocks', async () => {
    await section('devices-hsm').getByText('No HSM is set up.').waitFor()
    await section('devices-hsm').getByRole('link', { name: 'Settings → HSM' }).click()
    const hsm = section('settings-hsm')
    await hsm.getByRole('button', { name: 'Find tokens' }).click()
    await hsm.getByLabel('PIN', { exact: true }).fill('123456')
    await hsm.getByRole('button', { name: /Set up/ }).click()
    await hsm.getByText('Unlocked').waitFor()
    await hsm.getByRole('button', { name: 'Lock' }).click()
    for (const n of [1, 2]) {
      await hsm.getByLabel('PIN', { exact: true }).fill('999999')
      await hsm.getByRole('button', { name: 'Unlock' }).click()
      await hsm.getByText(`${n} in a row`).waitFor()
    }
    await expect(hsm.getByRole('alert').first().textContent()).resolves.toMatch(/PIN/)
    await hsm.getByLabel('PIN', { exact: true }).fill('123456')
    await hsm.getByRole('button', { name: 'Unlock' }).click()
    await hsm.getByText('Unlocked').waitFor()
    await expect(hsm.textContent()).resolves.not.toMatch(/in a row/)
    const codes = hsm.locator('dd code')
    hsmKey = {
      fingerprint: (await codes.nth(1).textContent())!.trim(),
      publicKey: (await codes.nth(2).textContent())!.trim(),
    }
    await page.getByRole('link', { name: 'Devices' }).first().click()
    await section('devices-hsm').getByText('Unlocked', { exact: true }).waitFor()
  })

  it('2-of-3 vault: the Trezor’s key in one click, the backup key pasted, the address on the Trezor', async () => {
    await page
      .getByRole('listitem', { name: 'Trezor Model T' })
      .getByRole('button', { name: 'Use as the vault’s hardware-wallet key' })
      .click()
    const v = section('devices-vault')
    const ref = await SeedSigner.fromWords(TREZOR_WORDS).cosigner('regtest', 'Trezor')
    await expect(v.getByLabel(/Hardware wallet key/).inputValue()).resolves.toBe(
      `[${ref.fingerprint}/48h/1h/0h/2h]${ref.kind === 'xpub' ? ref.xpub : ''}`,
    )
    const b = await backup.cosigner('regtest', 'Backup key')
    if (b.kind !== 'xpub') throw new Error('backup is an xpub')
    await v.getByLabel(/Backup key/).fill(`[${b.fingerprint}/48h/1h/0h/2h]${b.xpub}`)
    await v.getByRole('button', { name: 'Show the vault' }).click()
    await v.getByLabel('Descriptor').waitFor()
    await expect(v.getByLabel('Descriptor').textContent()).resolves.toMatch(/^wsh\(sortedmulti\(2,/)
    const first = (await v.locator('ol li code').first().textContent())!.trim()
    await v.getByRole('button', { name: 'Show the first address on the device' }).click()
    await v.getByText(/The device derived/).waitFor()
    expect(emulator.screen.at(-1)).toBe(`address ${first}`)
    await shot(page, 'devices-vault')
    await v.getByRole('button', { name: 'Keep this vault and follow it on chain' }).click()
    await vaultCard().waitFor()
  })

  it('deposit seen by itself, then a spend: one signature refused, SD card, file and Trezor, review, broadcast', async () => {
    const card0 = vaultCard()
    const address = (await card0.getByLabel('Vault receive address').textContent())!.trim()
    const first = (await section('devices-vault').locator('ol li code').first().textContent())!
    expect(address).toBe(first.trim())
    // Alice pays the vault; the page shows it on its way, then confirmed, with no reload.
    world.pay(address, 100_000_000)
    const balance = card0.getByLabel('Vault balance')
    await expect
      .poll(() => balance.textContent(), { timeout: 20_000 })
      .toMatch(/Confirmed0 sat.*On its way100,000,000 sat/)
    world.mine(1)
    await expect
      .poll(() => balance.textContent(), { timeout: 20_000 })
      .toMatch(/Confirmed100,000,000 sat.*On its way0 sat/)
    await expect(card0.getByLabel('Vault coins').textContent()).resolves.toMatch(
      /100,000,000 sat.*1 confirmation/,
    )
    await shot(page, 'devices-vault-deposit')
    const bob = TestKey.fromLabel('bob').p2wpkh().address

    const s = page.getByRole('region', { name: 'Spend from the vault' })
    await s.getByLabel('Pay to').fill(bob)
    await s.getByLabel('Amount (sat)').fill('60000000')
    await s.getByLabel('Fee rate (sat/vB)').fill('2')
    await s.getByRole('button', { name: 'Build the spend' }).click()
    const plan = s.getByLabel('Spend plan')
    await plan.waitFor()
    await expect(plan.textContent()).resolves.toMatch(/1 holding 100,000,000 sat/)

    // The HSM alone: the box refuses to finish it.
    await s.getByRole('button', { name: 'Sign with the HSM' }).click()
    await s.getByText('HSM: signed 1 input').waitFor()
    await s.getByRole('button', { name: 'Combine and check the signatures' }).click()
    await s.getByText(/has 1 of the 2 signatures/).waitFor()

    // The backup key as a Coldcard: the PSBT goes to the card, the signed file comes back.
    await s.getByLabel('Card folder').fill(cardDir)
    await s.getByRole('button', { name: 'Write the PSBT to the card' }).click()
    await s.getByText(/Written to/).waitFor()
    const sent = readFileSync(join(cardDir, 'flashbox.psbt'))
    const sentBase64 =
      sent.subarray(0, 5).toString('hex') === '70736274ff'
        ? sent.toString('base64')
        : sent.toString('utf8').trim()
    const bySd = await backup.signPsbt(sentBase64, await vaultFromPage())
    writeFileSync(join(cardDir, 'flashbox-part.psbt'), Buffer.from(bySd.psbt, 'base64'))
    const card = s.locator('fieldset', { hasText: 'Coldcard by microSD card' })
    const bfp = await backup.fingerprint()
    await card.getByLabel('Signed by').selectOption(bfp)
    await card.getByRole('button', { name: 'Load the signed file from the card' }).click()
    await s.getByText(`Coldcard (${bfp}, microSD): signed 1 input`).waitFor()

    // The same signed copy as a file the owner picks.
    const file = s.locator('fieldset', { hasText: 'A signed PSBT file' })
    await file.getByLabel('Signed by').selectOption(bfp)
    await file.getByLabel('Signed PSBT file').setInputFiles({
      name: 'signed.psbt',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(bySd.psbt, 'base64'),
    })
    await s.getByText(`File (${bfp}): signed 1 input`).waitFor()

    // The Trezor signs on its screen; the payment was shown, the change was not.
    emulator.screen.length = 0
    await s.getByRole('button', { name: 'Sign with the Trezor Model T' }).click()
    await s.getByText('Trezor Model T: signed 1 input').waitFor()
    expect(emulator.screen[0]).toBe(`output ${bob} 60000000`)

    // Every signature checked; the review before anything is sent.
    await s.getByRole('button', { name: 'Combine and check the signatures' }).click()
    const review = s.getByLabel('Spend review')
    await review.waitFor()
    const text = (await review.textContent())!
    expect(text).toMatch(
      new RegExp(
        `Pays60,000,000 sat to ${bob}.*Change back to the vault39,99\\d,\\d{3} sat to bcrt1q`,
      ),
    )
    const fee = Number(/Fee([\d,]+) sat/.exec(text)![1]!.replace(/,/g, ''))
    const [, rate, vsize] = /Fee rate([\d.]+) sat\/vB \((\d+) vB\)/.exec(text)!
    expect(Number(rate)).toBeCloseTo(fee / Number(vsize), 1)
    expect(Number(rate)).toBeGreaterThanOrEqual(1.9)
    const txid = /Transaction([0-9a-f]{64})/.exec(text)![1]!
    expect(world.chain.mempoolEntry(txid)).toBeUndefined()
    await shot(page, 'devices-vault-review')

    await s.getByRole('button', { name: 'Broadcast through the box’s node' }).click()
    await s.getByText(`Sent through the box’s node: ${txid}.`, { exact: false }).waitFor()
    // The world's node validated it and holds it in its mempool.
    expect(world.chain.mempoolEntry(txid)).toBeDefined()
    const spends = page.getByRole('list', { name: 'Vault spends' })
    await spends.getByText('Sent, seen on chain').waitFor({ timeout: 20_000 })
    world.mine(1)
    await expect
      .poll(() => vaultCard().getByLabel('Vault history').textContent(), { timeout: 20_000 })
      .toMatch(new RegExp(`Sent 60,00\\d,\\d{3} sat — confirmed \\(1\\) ${txid.slice(0, 16)}`))
    await shot(page, 'devices-vault-spend')
    expect(unexpectedErrors()).toEqual([])
  })
})

const vaultCard = () => page.getByRole('region', { name: /Vault “savings”: 2 of 3/ })

/** The vault as the page shows it: the keys in its recovery sheet. */
async function vaultFromPage(): Promise<Vault> {
  const trezor = await SeedSigner.fromWords(TREZOR_WORDS).cosigner(
    'regtest',
    'Trezor Model T / Safe',
  )
  return {
    name: 'savings',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      { kind: 'fixed', name: 'HSM', ...hsmKey },
      trezor,
      await backup.cosigner('regtest', 'Backup key'),
    ],
  }
}
