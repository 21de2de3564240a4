// USB signing-device discovery. This kernel has no /sys/bus/usb, so the real `usb` backend is
// checked for the "no USB" answer; the rules (models, permission, busy with the holder named,
// hot-plug) are checked with injected device descriptors and a fake /sys, /dev and /proc. The real
// `usb` package's enumeration is exercised under umockdev in tests/integration/hardware-umockdev.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  DeviceDiscovery,
  type DeviceAccess,
  type UsbBackend,
  type UsbDeviceInfo,
} from '../../src/core/hardware/usb/discovery'
import { identify, KNOWN_VENDOR_IDS } from '../../src/core/hardware/usb/known-devices'
import { linuxAccessProbe, usbBackend, usbfsNode } from '../../src/core/hardware/usb/usb-backend'
import type { DevicesOverview } from '../../src/shared/api/hardware'

function dev(
  portPath: string,
  vendorId: number,
  productId: number,
  productName?: string,
): UsbDeviceInfo {
  return {
    portPath,
    busNumber: Number(portPath.split('-')[0]),
    address: 2 + Number(portPath.split('-')[1]),
    vendorId,
    productId,
    ...(productName ? { productName } : {}),
  }
}

function fakeBackend(initial: UsbDeviceInfo[]) {
  let devices = initial
  const listeners = new Set<() => void>()
  const backend: UsbBackend = {
    available: () => true,
    list: async () => devices,
    watch(onChange) {
      listeners.add(onChange)
      return () => listeners.delete(onChange)
    },
  }
  return {
    backend,
    listeners,
    plug(next: UsbDeviceInfo[]) {
      devices = next
      for (const l of listeners) l()
    },
  }
}

describe('known signing devices', () => {
  it('names models from vendor/product IDs', () => {
    expect(identify(0x2c97, 0x5011)?.modelName).toBe('Ledger Nano S Plus')
    expect(identify(0x2c97, 0x4015)?.modelName).toBe('Ledger Nano X')
    expect(identify(0x2c97, 0x0001)?.modelName).toBe('Ledger Nano S')
    expect(identify(0x1209, 0x53c1)?.model).toBe('trezor')
    expect(identify(0x534c, 0x0001)?.modelName).toBe('Trezor Model One')
    expect(identify(0xd13e, 0xcc10)?.model).toBe('coldcard')
    expect(identify(0x03eb, 0x2403)?.model).toBe('bitbox02')
    expect(identify(0x10c4, 0xea60)?.modelName).toMatch(/CP210x.*possibly a Blockstream Jade/)
    expect(identify(0x1a86, 0x7523)?.model).toBe('jade')
    expect(identify(0x046d, 0xc077)).toBeUndefined() // a mouse
  })

  it('the shipped udev rules cover every known vendor', () => {
    const rules = readFileSync(
      resolve(import.meta.dirname, '../../resources/udev/51-flash-box-signers.rules'),
      'utf8',
    )
    for (const v of KNOWN_VENDOR_IDS)
      expect(rules).toContain(`{idVendor}=="${v.toString(16).padStart(4, '0')}"`)
    expect(rules).toMatch(/TAG\+="uaccess"/)
  })
})

describe('device discovery', () => {
  it('on a computer without /sys/bus/usb (this one): no devices, no crash, and it says why', async () => {
    const real = usbBackend()
    const sysUsb = (() => {
      try {
        readFileSync('/sys/bus/usb/drivers_autoprobe')
        return true
      } catch {
        return false
      }
    })()
    if (!sysUsb) expect(real.available()).toBe(false)
    const none = usbBackend('/nonexistent-sys')
    expect(none.available()).toBe(process.platform !== 'linux')
    const overview = await new DeviceDiscovery(
      none,
      async () => {
        throw new Error('never probed')
      },
      { udevRulesPath: '/opt/Flash Box/resources/udev/51-flash-box-signers.rules' },
    ).overview()
    expect(overview.usbAvailable).toBe(false)
    expect(overview.devices).toEqual([])
    expect(overview.note).toMatch(/no USB/)
    expect(overview.udevCommand).toBe(
      "sudo install -m 0644 '/opt/Flash Box/resources/udev/51-flash-box-signers.rules' /etc/udev/rules.d/51-flash-box-signers.rules && sudo udevadm control --reload-rules && sudo udevadm trigger",
    )
  })

  it('explains each device: permission missing, busy (naming the holder and the usual culprit), reachable', async () => {
    const { backend } = fakeBackend([
      dev('1-1', 0x2c97, 0x5011, 'Nano S Plus'),
      dev('1-2', 0x1209, 0x53c1, 'TREZOR'),
      dev('1-3', 0xd13e, 0xcc10, 'Coldcard Wallet'),
      dev('1-4', 0x046d, 0xc077, 'USB Optical Mouse'),
      dev('1-5', 0x10c4, 0xea60, 'CP2102 USB to UART Bridge Controller'),
    ])
    const access: Record<string, DeviceAccess> = {
      '1-1': { permitted: false, holders: [] },
      '1-2': { permitted: true, holders: ['trezor-suite'] },
      '1-3': { permitted: true, holders: [] },
      '1-5': { permitted: true, holders: [] },
    }
    const o = await new DeviceDiscovery(backend, async (d) => access[d.portPath]!).overview()
    expect(o.devices.map((d) => [d.id, d.model, d.state])).toEqual([
      ['1-1', 'ledger', 'permission'],
      ['1-2', 'trezor', 'busy'],
      ['1-3', 'coldcard', 'unsupported'],
      ['1-5', 'jade', 'unsupported'],
    ])
    expect(o.devices[0]!.modelName).toBe('Ledger Nano S Plus (Nano S Plus)')
    expect(o.devices[0]!.stateText).toMatch(/not allowed to open it.*command below/)
    expect(o.devices[1]!.stateText).toBe(
      'In use by trezor-suite. Close it (usually Trezor Suite or Trezor Bridge) and try again.',
    )
    expect(o.devices[1]!.support).toMatch(/Trezor Bridge/)
    expect(o.devices[2]!.support).toMatch(/microSD/)
    expect(o.devices[3]!.support).toMatch(/PIN server/)
  })

  it('hot-plug: a plug and an unplug each bring a fresh list; stop() stops listening', async () => {
    const fake = fakeBackend([])
    const d = new DeviceDiscovery(fake.backend, async () => ({ permitted: true, holders: [] }))
    const seen: DevicesOverview[] = []
    let next: () => void = () => {}
    d.watch(
      (o) => {
        seen.push(o)
        next()
      },
      (e) => {
        throw e
      },
    )
    const arrived = new Promise<void>((r) => (next = r))
    fake.plug([dev('2-1', 0x03eb, 0x2403, 'BitBox02')])
    await arrived
    expect(seen.at(-1)!.devices.map((x) => x.modelName)).toEqual(['BitBox02 (BitBox02)'])
    const left = new Promise<void>((r) => (next = r))
    fake.plug([])
    await left
    expect(seen.at(-1)!.devices).toEqual([])
    d.stop()
    expect(fake.listeners.size).toBe(0)
  })
})

describe('Linux access probe (fake /sys, /dev, /proc)', () => {
  let root: string | undefined
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true })
    root = undefined
  })

  it('finds the hidraw node of the device and names the process holding it', async () => {
    root = mkdtempSync(join(tmpdir(), 'flashbox-usbprobe-'))
    const sys = join(root, 'sys')
    const devDir = join(root, 'dev')
    const proc = join(root, 'proc')
    const ledger = dev('1-1', 0x2c97, 0x5011)
    // sysfs: /sys/class/hidraw/hidraw3 → …/1-1/1-1:1.0/…/hidraw/hidraw3
    const hidDir = join(
      sys,
      'devices/pci0000:00/usb1/1-1/1-1:1.0/0003:2C97:5011.0001/hidraw/hidraw3',
    )
    mkdirSync(hidDir, { recursive: true })
    mkdirSync(join(sys, 'class/hidraw'), { recursive: true })
    symlinkSync(hidDir, join(sys, 'class/hidraw/hidraw3'))
    mkdirSync(join(devDir, 'bus/usb/001'), { recursive: true })
    writeFileSync(join(devDir, 'bus/usb/001', '003'), '')
    writeFileSync(join(devDir, 'hidraw3'), '')
    // A process holding the hidraw node, and one holding something else.
    mkdirSync(join(proc, '4242/fd'), { recursive: true })
    writeFileSync(join(proc, '4242/comm'), 'ledger-live\n')
    symlinkSync(join(devDir, 'hidraw3'), join(proc, '4242/fd/17'))
    mkdirSync(join(proc, '4343/fd'), { recursive: true })
    writeFileSync(join(proc, '4343/comm'), 'bash\n')
    symlinkSync('/dev/null', join(proc, '4343/fd/0'))
    const probe = linuxAccessProbe({ sys, dev: devDir, proc })
    expect(usbfsNode(ledger)).toBe('/dev/bus/usb/001/003')
    const found = await probe(ledger, identify(0x2c97, 0x5011)!)
    expect(found.holders).toEqual(['ledger-live'])
    const other = await probe(dev('1-2', 0x2c97, 0x5011), identify(0x2c97, 0x5011)!)
    expect(other.holders).toEqual([])
  })
})
