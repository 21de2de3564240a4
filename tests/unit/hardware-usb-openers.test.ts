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
import {
  ledgerInspector,
  ledgerOpener,
  registeringFirst,
} from '../../src/core/hardware/drivers/usb-openers'
import { createHardwareModule } from '../../src/core/hardware/hardware-module'
import { DeviceDiscovery } from '../../src/core/hardware/usb/discovery'
import { vaultSpendPsbt } from '../../src/core/hardware/multisig/vault-psbt'
import { EventBus } from '../../src/core/events'
import { silentLogger } from '../../src/core/log'
import type { RequestContext } from '../../src/core/engine/module'
import { Chain } from '../simulators/world/chain'
import { fundedKey, TestKey } from '../simulators/world/test-keys'
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

describe('the hardware module with a Ledger', () => {
  it('lists it ready, gives its key, registers on first use, keeps the HMAC across sessions, signs', async () => {
    const ledger = new LedgerEmulator({ seed: SEED })
    const find = async () => ledger.usbDevice()
    const backend = {
      available: () => true,
      list: async () => [dev],
      watch: () => () => undefined,
    }
    const m = createHardwareModule(
      { dataDir: dir, log: silentLogger, events: new EventBus(), modules: new Map() },
      {
        discovery: new DeviceDiscovery(backend, async () => ({ permitted: true, holders: [] }), {
          inspectors: { ledger: ledgerInspector(find) },
        }),
        signers: { ledger: ledgerOpener(dir, find) },
      },
    )
    const rc: RequestContext = { transport: 'internal' }
    const overview = await m.handlers.devices({}, rc)
    expect(overview.devices[0]).toMatchObject({ model: 'ledger', state: 'ready' })
    const key = await m.handlers.deviceCosigner({ deviceId: '1-4' }, rc)
    const backup = await SeedSigner.fromSeed(new Uint8Array(32).fill(0x22)).cosigner(
      'regtest',
      'Backup',
    )
    const other = await SeedSigner.fromSeed(new Uint8Array(32).fill(0x33)).cosigner(
      'regtest',
      'Other',
    )
    const input = { name: 'Module vault', threshold: 2, cosigners: [key, backup, other] }
    const vault: Vault = { ...input, network: 'regtest' }
    const first = await m.handlers.deviceShowAddress(
      { deviceId: '1-4', vault: input, chain: 0, index: 0 },
      rc,
    )
    expect(first.address).toBe(vaultAddress(vault, 0, 0).address)
    // Each call opens the device anew; the registration's HMAC comes from the box's file.
    await m.handlers.deviceShowAddress({ deviceId: '1-4', vault: input, chain: 0, index: 1 }, rc)
    expect(ledger.screens.filter((s) => s.kind === 'register')).toHaveLength(1)
    const chain = new Chain()
    const alice = TestKey.fromLabel('alice')
    const fund = alice.spend(
      [fundedKey(chain, alice)],
      [{ script: vaultAddress(vault, 0, 0).script, value: 20_000_000n }],
      1,
    )
    const psbt = vaultSpendPsbt(
      vault,
      [
        {
          txid: fund.getId(),
          vout: 0,
          value: 20_000_000n,
          chain: 0,
          index: 0,
          prevTxHex: fund.toHex(),
        },
      ],
      [{ address: TestKey.fromLabel('bob').p2wpkh().address, value: 19_990_000n }],
    )
    const signed = await m.handlers.deviceSignPsbt({ deviceId: '1-4', psbt, vault: input }, rc)
    expect(signed.signedInputs).toEqual([0])
    await m.stop()
  })
})
