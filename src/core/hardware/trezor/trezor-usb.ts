// The Trezor's USB link with the `usb` package (v3, WebUSB-shaped): Trezor Model One (firmware
// 1.7 and newer), Model T and Safe expose a vendor interface 0 with interrupt endpoint 1 in and
// out, 64-byte packets. No Trezor Bridge is needed: Flash Box opens the device itself, so Trezor
// Suite (or a running Trezor Bridge) must not hold it at the same time.
// Not tested on real hardware here (this machine has no USB); the protocol above this link is
// tested against the emulator in tests/simulators/hardware/trezor-emulator.ts.
import { FlashError } from '../../errors'
import type { UsbDeviceInfo } from '../usb/discovery'
import { webUsbPortPath } from '../usb/usb-backend'
import { PACKET_SIZE, type TrezorLink } from './trezor-wire'

const INTERFACE = 0
const ENDPOINT = 1
/** A reply may wait for the user to read the screen and press a button. */
const READ_TIMEOUT_MS = 5 * 60_000
const WRITE_TIMEOUT_MS = 10_000

interface WebUsbDevice {
  bus: string
  ports?: number[]
  vendorId: number
  productId: number
  open(): Promise<void>
  close(): Promise<void>
  selectConfiguration(value: number): Promise<void>
  claimInterface(n: number): Promise<void>
  releaseInterface(n: number): Promise<void>
  configuration?: { configurationValue: number } | null
  transferOut(
    endpoint: number,
    data: Uint8Array,
    timeout?: number,
  ): Promise<{ bytesWritten: number; status: string }>
  transferIn(
    endpoint: number,
    length: number,
    timeout?: number,
  ): Promise<{ data?: DataView; status: string }>
}

export async function openTrezorUsb(dev: UsbDeviceInfo): Promise<TrezorLink> {
  const { WebUSB } = await import('usb')
  const all = (await new WebUSB({
    allowAllDevices: true,
  }).getDevices()) as unknown as WebUsbDevice[]
  const device = all.find(
    (d) =>
      webUsbPortPath(d) === dev.portPath &&
      d.vendorId === dev.vendorId &&
      d.productId === dev.productId,
  )
  if (!device)
    throw new FlashError(
      'device.unplugged',
      'The Trezor is no longer connected.',
      'Plug it in again, then look for devices again.',
    )
  try {
    await device.open()
    if (device.configuration?.configurationValue !== 1) await device.selectConfiguration(1)
    await device.claimInterface(INTERFACE)
  } catch (err) {
    await device.close().catch(() => undefined)
    throw new FlashError(
      'device.busy',
      'Flash Box could not open the Trezor: another program holds it.',
      'Close Trezor Suite and stop Trezor Bridge (trezord), then try again.',
      { cause: err },
    )
  }
  return {
    async write(packet) {
      const r = await device.transferOut(ENDPOINT, packet, WRITE_TIMEOUT_MS)
      if (r.status !== 'ok' || r.bytesWritten !== PACKET_SIZE)
        throw new Error(`LIBUSB_ERROR_IO: wrote ${r.bytesWritten} of ${PACKET_SIZE} bytes`)
    },
    async read() {
      const r = await device.transferIn(ENDPOINT, PACKET_SIZE, READ_TIMEOUT_MS)
      if (r.status !== 'ok' || !r.data)
        throw new Error('LIBUSB_ERROR_IO: no packet from the Trezor')
      return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength)
    },
    async close() {
      await device.releaseInterface(INTERFACE).catch(() => undefined)
      await device.close().catch(() => undefined)
    },
  }
}
