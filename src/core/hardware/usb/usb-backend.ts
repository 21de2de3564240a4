// The real USB listing, with the `usb` package's v3 API (WebUSB-shaped, prebuilt per platform,
// no native build). On Linux it reads sysfs, so a kernel without /sys/bus/usb (containers, this
// CI) is reported as "no USB" before the package is asked anything.
//
// Tested by injection, not through umockdev: umockdev-run's preloaded /sys is not seen by Node's
// own fs (libuv's scandir bypasses the wrapper) and the package's Rust backend lists 0 devices
// under it, so tests/unit/hardware-discovery.test.ts feeds DeviceDiscovery recorded descriptors.
import { existsSync } from 'node:fs'
import { access, constants, readdir, readFile, readlink, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import type { WebUSB } from 'usb'
import type { AccessProbe, UsbBackend, UsbDeviceInfo } from './discovery'

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
      return (await usb.getDevices()).map((d): UsbDeviceInfo => ({
        portPath: d.bus,
        busNumber: Number(d.bus.split('-')[0]),
        address: d.address,
        vendorId: d.vendorId,
        productId: d.productId,
        ...(d.productName ? { productName: d.productName } : {}),
        ...(d.manufacturerName ? { manufacturerName: d.manufacturerName } : {}),
        ...(d.serialNumber ? { serialNumber: d.serialNumber } : {}),
      }))
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
