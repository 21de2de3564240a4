// What the Devices screen gets from a Ledger right after discovery (its state from the Bitcoin
// app's name and version), and the openers' "register on first use": a fresh Ledger, Coldcard or
// Jade shows its registration screen before the first address, and only once.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LedgerEmulator } from '../simulators/hardware/ledger-emulator'
import { ColdcardEmulator } from '../simulators/hardware/coldcard-emulator'
import { JadeEmulator, JadePinServer } from '../simulators/hardware/jade-emulator'
import { ledgerInspector, registeringFirst } from '../../src/core/hardware/drivers/usb-openers'
import { LedgerUsbTransport } from '../../src/core/hardware/drivers/ledger-usb'
import { LedgerSigner } from '../../src/core/hardware/drivers/ledger'
import { LedgerPolicyStore } from '../../src/core/hardware/drivers/ledger-policies'
import { ColdcardUsbSigner } from '../../src/core/hardware/drivers/coldcard-usb'
import { httpPinRelay, JadeSigner } from '../../src/core/hardware/drivers/jade'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import { vaultAddress, type Vault } from '../../src/core/hardware/multisig/vault'
import type { Signer } from '../../src/core/hardware/signer'
import type { UsbDeviceInfo } from '../../src/core/hardware/usb/discovery'
import { identify } from '../../src/core/hardware/usb/known-devices'

const SEED = new Uint8Array(32).fill(0x12)
const dev: UsbDeviceInfo = {
  portPath: '1-4',
  busNumber: 1,
  address: 7,
  vendorId: 0x2c97,
  productId: 0x5011,
}
let dir: string
let pinServer: JadePinServer

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'openers-'))
  pinServer = new JadePinServer()
  await pinServer.start()
})
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await pinServer.stop()
})

describe('Ledger state right after discovery', () => {
  it('names ready, locked, dashboard, another app, an old app and busy', async () => {
    const known = identify(dev.vendorId, dev.productId)!
    const cases: [ConstructorParameters<typeof LedgerEmulator>[0], string, RegExp][] = [
      [{ seed: SEED }, 'ready', /Bitcoin Test app 2\.4\.1/],
      [{ seed: SEED, appName: 'BOLOS' }, 'wrong-app', /dashboard/],
      [{ seed: SEED, appName: 'Ethereum' }, 'wrong-app', /“Ethereum”/],
      [{ seed: SEED, appVersion: '2.0.4' }, 'update-needed', /2\.0\.4/],
    ]
    for (const [opts, state, text] of cases) {
      const device = new LedgerEmulator(opts)
      const status = await ledgerInspector(async () => device.usbDevice())(dev, known)
      expect(status).toMatchObject({ state, stateText: expect.stringMatching(text) })
    }
    const locked = new LedgerEmulator({ seed: SEED, locked: true })
    await expect(ledgerInspector(async () => locked.usbDevice())(dev, known)).rejects.toMatchObject(
      { code: 'ledger.locked' },
    )
    const held = new LedgerEmulator({ seed: SEED, claimedByOther: true })
    await expect(ledgerInspector(async () => held.usbDevice())(dev, known)).rejects.toMatchObject({
      code: 'device.busy',
      message: expect.stringContaining('Ledger Live'),
    })
  })
})

async function vaultOf(device: Signer, name: string): Promise<Vault> {
  return {
    name,
    threshold: 2,
    network: 'regtest',
    cosigners: [
      await device.cosigner('regtest', 'Device'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(0x22)).cosigner('regtest', 'Backup'),
      await SeedSigner.fromSeed(new Uint8Array(32).fill(0x33)).cosigner('regtest', 'Other'),
    ],
  }
}

describe('register on first use', () => {
  it('Ledger, Coldcard and Jade each ask once, then show addresses', async () => {
    const ledger = new LedgerEmulator({ seed: SEED })
    const transport = await LedgerUsbTransport.openDevice(ledger.usbDevice())
    const l = registeringFirst(
      await LedgerSigner.connect(transport, 'regtest', new LedgerPolicyStore(dir)),
    )
    const coldcard = new ColdcardEmulator({ seed: SEED })
    const c = registeringFirst(
      await ColdcardUsbSigner.connect(coldcard.link(), 'regtest', {
        pollMs: 5,
        approvalTimeoutMs: 300,
      }),
    )
    const jade = new JadeEmulator({ seed: SEED, pin: '1234', pinServer })
    const j = registeringFirst(
      await JadeSigner.connect(jade.stream(), 'regtest', httpPinRelay([pinServer.url])),
    )
    for (const [signer, screens, registerKind] of [
      [l, ledger.screens, 'register'],
      [c, coldcard.screens, 'enroll'],
      [j, jade.screens, 'register'],
    ] as const) {
      const vault = await vaultOf(signer, 'First use')
      expect(await signer.displayAddress(vault, 0, 1)).toBe(vaultAddress(vault, 0, 1).address)
      expect(await signer.displayAddress(vault, 0, 2)).toBe(vaultAddress(vault, 0, 2).address)
      const kinds = (screens as readonly { kind: string }[]).map((s) => s.kind)
      expect(kinds.filter((k) => k === registerKind)).toHaveLength(1)
      expect(kinds.filter((k) => k === 'address')).toHaveLength(2)
    }
    await transport.close()
  })
})
