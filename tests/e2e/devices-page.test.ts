// The Devices page (devices, HSM, 2-of-3 vault and its spend) in Chromium, against the headless
// server. The USB listing is injected (this kernel has no USB): an emulated Trezor behind the
// driver's packet boundary (tests/simulators/hardware/trezor-emulator.ts, a real seed) and a Ledger
// the OS does not let Flash Box open. The HSM is a real SoftHSM2 token; the backup key signs as a
// Coldcard would, by a file on a "microSD card" folder. Driven as the owner would:
// - the Trezor is found as ready with its firmware, the Ledger as needing permission with the
//   udev command;
// - HSM set up; a wrong PIN is refused and counted; the right PIN unlocks;
// - the Trezor gives its vault key with one click; the backup key is pasted; the vault is shown,
//   and its first address is checked on the Trezor's screen;
// - a spend is built from the funding transaction; the HSM alone cannot finalize; the Coldcard
//   file is written and read back from the card, a signed PSBT file is imported, the Trezor signs;
//   finalize gives a transaction the world chain's validator accepts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { address as baddress, networks } from 'bitcoinjs-lib'
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
import { Chain } from '../simulators/world/chain'
import { BURN_SCRIPT, fundedKey, TestKey } from '../simulators/world/test-keys'
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
  const settings = { ...defaultSettings(stackDir), network: 'regtest' as const }
  const usb = [device('1-1', 0x1209, 0x53c1), device('1-2', 0x2c97, 0x5011)]
  box = await startBox({
    prepare: saveSettings(settings),
    modules: [
      noContainersStack(project),
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
        }),
    ],
  })
  browser = await launchBrowser()
  page = await newPage(browser, 1280, 1000)
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await box?.close()
  token?.dispose()
  cleanupProject(project)
  for (const d of [stackDir, cardDir]) if (d) rmSync(d, { recursive: true, force: true })
})

const section = (id: string) => page.locator(`section[aria-labelledby="${id}"]`)
/** Errors the page shows on purpose arrive as HTTP 4xx answers, which Chromium also logs. */
const unexpectedErrors = () => pageErrors(page).filter((e) => !/Failed to load resource/.test(e))

describe('the Devices page in Chromium (emulated Trezor, SoftHSM2, a microSD folder)', () => {
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

  it('HSM: set up on SoftHSM2, a wrong PIN refused and counted, the right one unlocks', async () => {
    const hsm = section('devices-hsm')
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
  })

  it('spend: built from the funding tx, one signature refused, SD card and file read back, Trezor signs, the chain accepts', async () => {
    const v = section('devices-vault')
    const first = (await v.locator('ol li code').first().textContent())!.trim()
    const chain = new Chain()
    const alice = TestKey.fromLabel('alice')
    const fund = alice.spend(
      [fundedKey(chain, alice)],
      [{ script: baddress.toOutputScript(first, networks.regtest), value: 100_000_000n }],
      1,
    )
    chain.submit(fund)
    chain.mine(1, BURN_SCRIPT)
    const bob = TestKey.fromLabel('bob').p2wpkh().address

    const s = section('devices-spend')
    await s.getByLabel(/Funding transactions/).fill(fund.toHex())
    await s.getByLabel('Pay to').fill(bob)
    await s.getByLabel('Amount (sat)').fill('60000000')
    await s.getByLabel('Fee rate (sat/vB)').fill('2')
    await s.getByRole('button', { name: 'Build the spend' }).click()
    const review = s.getByLabel('Spend review')
    await review.waitFor()
    await expect(review.textContent()).resolves.toMatch(/1 holding 100,000,000 sat.*60,000,000 sat/)

    // The HSM alone: finalize refuses.
    await s.getByRole('button', { name: 'Sign with the HSM' }).click()
    await s.getByText('HSM: signed 1 input').waitFor()
    await s.getByRole('button', { name: 'Combine and finalize' }).click()
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

    await s.getByRole('button', { name: 'Combine and finalize' }).click()
    const final = s.getByLabel('Final transaction')
    await final.waitFor()
    const hex = await s.getByLabel('Signed transaction').inputValue()
    const accepted = chain.testAccept(hex)
    expect(accepted.allowed ? 'allowed' : accepted.reason).toBe('allowed')
    await shot(page, 'devices-vault-spend')
    expect(unexpectedErrors()).toEqual([])
  })
})

/** The vault as the page shows it: the keys in its recovery sheet. */
async function vaultFromPage(): Promise<Vault> {
  const hsmKey = (await page
    .locator('section[aria-labelledby="devices-hsm"] dd code')
    .nth(2)
    .textContent())!.trim()
  const hsmFp = (await page
    .locator('section[aria-labelledby="devices-hsm"] dd code')
    .nth(1)
    .textContent())!.trim()
  const trezor = await SeedSigner.fromWords(TREZOR_WORDS).cosigner(
    'regtest',
    'Trezor Model T / Safe',
  )
  return {
    name: 'savings',
    threshold: 2,
    network: 'regtest',
    cosigners: [
      { kind: 'fixed', name: 'HSM', fingerprint: hsmFp, publicKey: hsmKey },
      trezor,
      await backup.cosigner('regtest', 'Backup key'),
    ],
  }
}
