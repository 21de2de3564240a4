// The real USB listing, with the `usb` package's v3 API (WebUSB-shaped, prebuilt per platform,
// no native build). On Linux it reads sysfs, so a kernel without /sys/bus/usb (containers, this
// CI) is reported as "no USB" before the package is asked anything.
//
// Tested two ways: tests/unit/hardware-discovery.test.ts feeds DeviceDiscovery injected
// descriptors, and tests/integration/hardware-umockdev.test.ts runs this backend under
// umockdev-run on a recorded sysfs, where the package's own (Rust, nusb) enumeration lists the
// devices. Node's own readdir does not see umockdev's sysfs (libuv's scandir is not wrapped), so
// nothing here lists /sys itself with readdir for the enumeration.
import { existsSync } from 'node:fs'
import { access, constants, readdir, readFile, readlink, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import type { WebUSB } from 'usb'
import type { AccessProbe, UsbBackend, UsbDeviceInfo } from './discovery'

/**
 * The sysfs name of a device's port ("1-1", "2-3.4") from the `usb` package's fields: its `bus`
 * is the bus number ("001"), its `ports` the chain of hub ports (as seen under umockdev, where the
 * package's own enumeration runs on a recorded sysfs; see tests/integration/hardware-umockdev).
 */
export function webUsbPortPath(d: { bus: string; ports?: readonly number[] }): string {
  if (d.bus.includes('-') || !d.ports?.length) return d.bus
  return `${Number(d.bus)}-${d.ports.join('.')}`
}

export function usbBackend(sysRoot = '/sys'): UsbBackend {
  let webusb: WebUSB | undefined
  const load = async () => {
    if (!webusb) {
      const { WebUSB } = await import('usb')
      webusb = new WebUSB({ allowAllDevices: true })
    }
    return webusb
  }
  return {
    available: () => process.platform !== 'linux' || existsSync(join(sysRoot, 'bus/usb/devices')),
    async list() {
      const usb = await load()
      return (await usb.getDevices()).map((d): UsbDeviceInfo => {
        // The string getters open the device when sysfs lacks the string (no serial, say), and
        // throw when it cannot be opened (no permission yet): a name is optional, a crash is not.
        const text = (get: () => string | null | undefined) => {
          try {
            return get() ?? undefined
          } catch {
            return undefined
          }
        }
        const productName = text(() => d.productName)
        const manufacturerName = text(() => d.manufacturerName)
        const serialNumber = text(() => d.serialNumber)
        return {
          portPath: webUsbPortPath(d),
          busNumber: Number(d.bus.split('-')[0]),
          address: d.address,
          vendorId: d.vendorId,
          productId: d.productId,
          ...(productName ? { productName } : {}),
          ...(manufacturerName ? { manufacturerName } : {}),
          ...(serialNumber ? { serialNumber } : {}),
        }
      })
    },
    watch(onChange) {
      let stopped = false
      const listener = () => {
        if (!stopped) onChange()
      }
      void load().then((usb) => {
        if (stopped) return
        usb.addEventListener('connect', listener)
        usb.addEventListener('disconnect', listener)
      })
      return () => {
        stopped = true
        webusb?.removeEventListener('connect', listener)
        webusb?.removeEventListener('disconnect', listener)
      }
    },
  }
}

/** /dev/bus/usb/BBB/DDD, the usbfs node libusb and WebUSB open. */
export function usbfsNode(dev: UsbDeviceInfo): string {
  const pad = (n: number) => String(n).padStart(3, '0')
  return `/dev/bus/usb/${pad(dev.busNumber)}/${pad(dev.address)}`
}

/** Linux: the device's usbfs node and its hidraw nodes, checked for read/write access, and the
 * processes (of this user: others' /proc/PID/fd are not readable) that hold one of them open. */
export function linuxAccessProbe(roots = { sys: '/sys', dev: '/dev', proc: '/proc' }): AccessProbe {
  return async (dev) => {
    const nodes = [usbfsNode(dev).replace('/dev', roots.dev)]
    try {
      for (const h of await readdir(join(roots.sys, 'class/hidraw'))) {
        const real = await realpath(join(roots.sys, 'class/hidraw', h)).catch(() => '')
        if (real.includes(`/${dev.portPath}:`)) nodes.push(join(roots.dev, h))
      }
    } catch {
      // No hidraw class: nothing to add.
    }
    let permitted = true
    for (const n of nodes) {
      try {
        await access(n, constants.R_OK | constants.W_OK)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EACCES') permitted = false
      }
    }
    const holders = new Set<string>()
    const pids = await readdir(roots.proc)
      .then((all) => all.filter((p) => /^\d+$/.test(p)).slice(0, 8192))
      .catch(() => [] as string[])
    for (const pid of pids) {
      if (Number(pid) === process.pid) continue
      let fds: string[]
      try {
        fds = await readdir(join(roots.proc, pid, 'fd'))
      } catch {
        continue
      }
      for (const fd of fds.slice(0, 4096)) {
        const target = await readlink(join(roots.proc, pid, 'fd', fd)).catch(() => '')
        if (nodes.includes(target)) {
          const comm = await readFile(join(roots.proc, pid, 'comm'), 'utf8').catch(() => '')
          holders.add(comm.trim() || `process ${pid}`)
          break
        }
      }
    }
    return { permitted, holders: [...holders] }
  }
}
