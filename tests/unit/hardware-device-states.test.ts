// Device states right after discovery, from the drivers themselves: a Trezor emulator (its USB
// packets, Initialize → Features) answers as ready, locked, or with too-old firmware;
// a Trezor Model One on pre-1.7 HID firmware and a Trezor in bootloader mode are named without
// being opened; a BitBox02 without BitBoxBridge needs the bridge. Then the hardware module signs
// with the emulated Trezor by its device id: its vault key, an address on its screen, a PSBT, and
// "unplugged" when the device is gone.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TrezorEmulator } from '../simulators/hardware/trezor-emulator'
import {
  DeviceDiscovery,
  type UsbBackend,
  type UsbDeviceInfo,
} from '../../src/core/hardware/usb/discovery'
import { trezorInspector } from '../../src/core/hardware/trezor/trezor-inspect'
import { TrezorSigner } from '../../src/core/hardware/trezor/trezor-signer'
import {
  bitbox02Inspector,
  bridgeListening,
} from '../../src/core/hardware/bitbox02/bitbox02-inspect'
import { createHardwareModule } from '../../src/core/hardware/hardware-module'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import { vaultAddress } from '../../src/core/hardware/multisig/vault'
import { vaultSpendPsbt } from '../../src/core/hardware/multisig/vault-psbt'
import { EventBus } from '../../src/core/events'
import { silentLogger } from '../../src/core/log'
import type { RequestContext } from '../../src/core/engine/module'

const WORDS = 'legal winner thank year wave sausage worth useful legal winner thank yellow'
const rc: RequestContext = { transport: 'internal' }

function usb(devices: UsbDeviceInfo[]): UsbBackend & { devices: UsbDeviceInfo[] } {
  const b = {
    devices,
    available: () => true,
    list: async () => b.devices,
    watch: () => () => undefined,
  }
  return b
}

const at = (port: string, vendorId: number, productId: number): UsbDeviceInfo => ({
  portPath: port,
  busNumber: 1,
  address: Number(port.split('-')[1]) + 1,
  vendorId,
  productId,
})

const permitted = async () => ({ permitted: true, holders: [] })

describe('device states after discovery', () => {
  it('Trezor: ready, locked, firmware too old; Model One HID and bootloader named', async () => {
    const emulators: Record<string, TrezorEmulator> = {
      '1-1': new TrezorEmulator({
        words: WORDS,
        model: 'Safe 3',
        firmware: [2, 8, 7],
        label: 'Shop',
      }),
      '1-2': new TrezorEmulator({ words: WORDS, locked: true }),
      '1-3': new TrezorEmulator({ words: WORDS, model: '1', firmware: [1, 10, 3] }),
    }
    const opened: string[] = []
    const discovery = new DeviceDiscovery(
      usb([
        at('1-1', 0x1209, 0x53c1),
        at('1-2', 0x1209, 0x53c1),
        at('1-3', 0x1209, 0x53c1),
        at('1-4', 0x534c, 0x0001),
        at('1-5', 0x1209, 0x53c0),
      ]),
      permitted,
      {
        inspectors: {
          trezor: trezorInspector(async (dev) => {
            opened.push(dev.portPath)
            return emulators[dev.portPath]!.link()
          }),
        },
      },
    )
    const o = await discovery.overview()
    expect(o.devices.map((d) => [d.id, d.state, d.modelName, d.firmware, d.canSign])).toEqual([
      ['1-1', 'ready', 'Trezor Safe 3', '2.8.7', true],
      ['1-2', 'locked', 'Trezor Model T', '2.8.7', undefined],
      ['1-3', 'update-needed', 'Trezor Model One', '1.10.3', undefined],
      ['1-4', 'update-needed', 'Trezor Model One', undefined, undefined],
      ['1-5', 'unsupported', 'Trezor (bootloader mode)', undefined, undefined],
    ])
    expect(o.devices[0]!.stateText).toBe('Ready: Trezor Safe 3 “Shop”, firmware 2.8.7.')
    expect(o.devices[1]!.stateText).toMatch(/enter it on the Trezor’s screen/)
    expect(o.devices[2]!.stateText).toBe(
      'This Trezor Model One runs firmware 1.10.3; Flash Box needs 1.11.1 or newer. Update it in Trezor Suite, then plug it in here again.',
    )
    expect(o.devices[3]!.stateText).toMatch(/older than 1\.7.*Update its firmware in Trezor Suite/)
    expect(o.devices[4]!.stateText).toMatch(/bootloader mode/)
    expect(o.devices[0]!.support).toMatch(/no Trezor Bridge is needed/)
    // The HID and bootloader ones were not opened.
    expect(opened).toEqual(['1-1', '1-2', '1-3'])
  })

  it('a device held by another program is busy (and not opened); one that does not answer too', async () => {
    let opened = 0
    const discovery = new DeviceDiscovery(
      usb([at('1-1', 0x1209, 0x53c1), at('1-2', 0x1209, 0x53c1)]),
      async (d) => ({ permitted: true, holders: d.portPath === '1-1' ? ['trezord'] : [] }),
      {
        inspectors: {
          trezor: trezorInspector(async () => {
            opened++
            return {
              write: async () => {
                throw new Error('LIBUSB_ERROR_BUSY')
              },
              read: async () => new Uint8Array(64),
              close: async () => undefined,
            }
          }),
        },
      },
    )
    const o = await discovery.overview()
    expect(o.devices.map((d) => d.state)).toEqual(['busy', 'unsupported'])
    expect(o.devices[0]!.stateText).toBe(
      'In use by trezord. Close it (usually Trezor Suite or Trezor Bridge) and try again.',
    )
    expect(o.devices[1]!.stateText).toMatch(/could not read it: LIBUSB_ERROR_BUSY/)
    expect(opened).toBe(1)
  })

  it('BitBox02: needs BitBoxBridge when nothing listens on its port', async () => {
    // A port nothing listens on: bind and close one.
    const { createServer } = await import('node:net')
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    expect(await bridgeListening({ host: '127.0.0.1', port })).toBe(true)
    await new Promise<void>((r) => server.close(() => r()))
    expect(await bridgeListening({ host: '127.0.0.1', port })).toBe(false)

    const discovery = new DeviceDiscovery(usb([at('1-1', 0x03eb, 0x2403)]), permitted, {
      inspectors: { bitbox02: bitbox02Inspector(async () => false) },
    })
    const [d] = (await discovery.overview()).devices
    expect(d).toMatchObject({ state: 'needs-bridge', model: 'bitbox02' })
    expect(d!.stateText).toMatch(/BitBoxBridge program, which is not running/)
    expect(d!.support).toMatch(/BitBoxBridge/)
  })
})

describe('hardware module: signing with a found device', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-devices-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('vault key, address on the screen, PSBT signed; unplugged and no-driver in plain words', async () => {
    const emulator = new TrezorEmulator({ words: WORDS })
    const backend = usb([at('1-1', 0x1209, 0x53c1), at('1-2', 0x2c97, 0x5011)])
    const m = createHardwareModule(
      { dataDir: dir, log: silentLogger, events: new EventBus(), modules: new Map() },
      {
        discovery: new DeviceDiscovery(backend, permitted),
        signers: {
          trezor: async (_dev, _known, network) => ({
            signer: TrezorSigner.over(emulator.link(), network),
            close: async () => undefined,
          }),
        },
      },
    )
    const key = await m.handlers.deviceCosigner({ deviceId: '1-1' }, rc)
    expect(key).toEqual(
      await SeedSigner.fromWords(WORDS).cosigner('regtest', 'Trezor Model T / Safe'),
    )
    const backup = await SeedSigner.fromWords(
      'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
    ).cosigner('regtest', 'Backup')
    const other = await SeedSigner.fromSeed(new Uint8Array(32).fill(3)).cosigner('regtest', 'Other')
    const vault = { name: 'savings', threshold: 2, cosigners: [key, backup, other] }
    const full = { ...vault, network: 'regtest' as const }
    const shown = await m.handlers.deviceShowAddress(
      { deviceId: '1-1', vault, chain: 0, index: 0 },
      rc,
    )
    expect(shown.address).toBe(vaultAddress(full, 0, 0).address)
    expect(emulator.screen).toEqual([`address ${shown.address}`])

    const { Transaction } = await import('bitcoinjs-lib')
    const prev = new Transaction()
    prev.version = 2
    prev.addInput(new Uint8Array(32).fill(1), 0)
    prev.addOutput(vaultAddress(full, 0, 0).script, 50_000n)
    const psbt = vaultSpendPsbt(
      full,
      [
        {
          txid: prev.getId(),
          vout: 0,
          value: 50_000n,
          chain: 0,
          index: 0,
          prevTxHex: prev.toHex(),
        },
      ],
      [{ address: vaultAddress(full, 0, 9).address, value: 40_000n }],
    )
    const signed = await m.handlers.deviceSignPsbt({ deviceId: '1-1', psbt, vault }, rc)
    expect(signed.signedInputs).toEqual([0])

    await expect(m.handlers.deviceCosigner({ deviceId: '1-2' }, rc)).rejects.toMatchObject({
      code: 'device.no_driver',
    })
    backend.devices = []
    await expect(m.handlers.deviceCosigner({ deviceId: '1-1' }, rc)).rejects.toMatchObject({
      code: 'device.unplugged',
    })
  })
})
