// A Ledger's APDU link over the `usb` package's WebUSB API (v3), as a @ledgerhq/hw-transport
// Transport so `ledger-bitcoin`'s AppClient runs on it unchanged.
//
// Why not @ledgerhq/hw-transport-node-hid: it brings node-hid, a native addon (prebuilds, or a
// node-gyp build where none fits), and `usb` 2.x; the box already ships `usb` 3 with prebuilt
// binaries for discovery. Ledger firmware exposes a vendor-class WebUSB interface next to its HID
// one, with the same framing, so one small transport over `usb` covers it and no install script
// is added (package.json allowScripts is unchanged).
//
// Framing (Ledger's "HID" framing, also used on its WebUSB interface): each 64-byte packet is
// channel (2 bytes), tag 0x05, sequence number (2 bytes, big-endian); the first packet then
// carries the APDU length (2 bytes) and data; the rest is zero padding.
//
// The device object is the WebUSB `USBDevice` shape (the subset used below), which is also the
// boundary tests plug an emulator into (tests/simulators/hardware/ledger-emulator.ts).
import Transport from '@ledgerhq/hw-transport'
import { FlashError } from '../../errors'

export interface UsbEndpointLike {
  endpointNumber: number
  direction: 'in' | 'out'
}

export interface WebUsbDeviceLike {
  readonly vendorId: number
  readonly productId: number
  readonly productName?: string | undefined
  readonly configuration?: {
    interfaces: readonly {
      interfaceNumber: number
      alternate: { interfaceClass: number; endpoints: readonly UsbEndpointLike[] }
    }[]
  } | null
  open(): Promise<void>
  close(): Promise<void>
  selectConfiguration(value: number): Promise<void>
  claimInterface(n: number): Promise<void>
  releaseInterface(n: number): Promise<void>
  transferOut(endpoint: number, data: Uint8Array): Promise<unknown>
  transferIn(endpoint: number, length: number): Promise<{ data?: DataView | undefined }>
}

export const LEDGER_VENDOR_ID = 0x2c97
const PACKET = 64
const TAG = 0x05
const CHANNEL = 0x0101
const VENDOR_CLASS = 0xff

/** Frames one APDU into 64-byte packets. */
export function frameApdu(apdu: Uint8Array, channel = CHANNEL): Uint8Array[] {
  const frames: Uint8Array[] = []
  let offset = 0
  for (let seq = 0; seq === 0 || offset < apdu.length; seq++) {
    const f = new Uint8Array(PACKET)
    f.set([channel >> 8, channel & 0xff, TAG, seq >> 8, seq & 0xff])
    let at = 5
    if (seq === 0) {
      f.set([apdu.length >> 8, apdu.length & 0xff], 5)
      at = 7
    }
    const chunk = apdu.subarray(offset, offset + PACKET - at)
    f.set(chunk, at)
    offset += chunk.length
    frames.push(f)
  }
  return frames
}

/** Reassembles a response from packets read one at a time by `next`. */
export async function readFramed(
  next: () => Promise<Uint8Array>,
  channel = CHANNEL,
): Promise<Uint8Array> {
  let expected = -1
  const parts: Uint8Array[] = []
  let have = 0
  for (let seq = 0; expected < 0 || have < expected; seq++) {
    const f = await next()
    if (f.length < 7 || ((f[0]! << 8) | f[1]!) !== channel || f[2] !== TAG)
      throw new Error('unexpected packet on the Ledger channel')
    if (((f[3]! << 8) | f[4]!) !== seq) throw new Error('Ledger packet out of sequence')
    const body = seq === 0 ? f.subarray(7) : f.subarray(5)
    if (seq === 0) expected = (f[5]! << 8) | f[6]!
    parts.push(body)
    have += body.length
  }
  const out = new Uint8Array(expected)
  let at = 0
  for (const p of parts) {
    const take = Math.min(p.length, expected - at)
    out.set(p.subarray(0, take), at)
    at += take
  }
  return out
}

/** USB-level failures in the words the Devices screen uses. */
export function ledgerUsbError(err: unknown): FlashError {
  const text = err instanceof Error ? err.message : String(err)
  if (/BUSY|claim/i.test(text))
    return new FlashError(
      'ledger.busy',
      'Another program is using the Ledger (usually Ledger Live).',
      'Close Ledger Live (and any other wallet app), then try again from Devices.',
      { cause: err },
    )
  if (/ACCESS|EACCES|permission/i.test(text))
    return new FlashError(
      'ledger.permission',
      'Flash Box is not allowed to open the Ledger.',
      'Install the device rules with the command shown in Devices, then unplug the Ledger and plug it in again.',
      { cause: err },
    )
  if (/NO_DEVICE|disconnected|not found|NOT_FOUND/i.test(text))
    return new FlashError(
      'ledger.unplugged',
      'The Ledger is no longer connected. Nothing was signed or changed.',
      'Plug the Ledger in again, unlock it, open the Bitcoin app and start over from Devices.',
      { cause: err },
    )
  return new FlashError(
    'ledger.usb',
    'Flash Box could not talk to the Ledger over USB.',
    'Unplug the Ledger and plug it in again, then try again from Devices.',
    { cause: err },
  )
}

export class LedgerUsbTransport extends Transport {
  private constructor(
    private readonly device: WebUsbDeviceLike,
    private readonly iface: number,
    private readonly inEp: number,
    private readonly outEp: number,
  ) {
    super()
  }

  /** Opens the device's vendor (WebUSB) interface; a device held by another program is "busy". */
  static async openDevice(device: WebUsbDeviceLike): Promise<LedgerUsbTransport> {
    try {
      await device.open()
      if (!device.configuration) await device.selectConfiguration(1)
      const iface = device.configuration?.interfaces.find(
        (i) => i.alternate.interfaceClass === VENDOR_CLASS,
      )
      const inEp = iface?.alternate.endpoints.find((e) => e.direction === 'in')
      const outEp = iface?.alternate.endpoints.find((e) => e.direction === 'out')
      if (!iface || !inEp || !outEp) throw new Error('NOT_FOUND: no Ledger WebUSB interface')
      await device.claimInterface(iface.interfaceNumber)
      return new LedgerUsbTransport(
        device,
        iface.interfaceNumber,
        inEp.endpointNumber,
        outEp.endpointNumber,
      )
    } catch (err) {
      await device.close().catch(() => {})
      throw ledgerUsbError(err)
    }
  }

  override exchange(apdu: Buffer): Promise<Buffer> {
    return this.exchangeAtomicImpl(async () => {
      try {
        for (const f of frameApdu(apdu)) await this.device.transferOut(this.outEp, f)
        const data = await readFramed(async () => {
          const r = await this.device.transferIn(this.inEp, PACKET)
          if (!r.data) throw new Error('NO_DEVICE: empty transfer')
          return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength)
        })
        return Buffer.from(data)
      } catch (err) {
        throw ledgerUsbError(err)
      }
    })
  }

  override async close(): Promise<void> {
    await this.device.releaseInterface(this.iface).catch(() => {})
    await this.device.close().catch(() => {})
  }
}

/** The Ledgers on this computer's USB (WebUSB API of the `usb` package). */
export async function connectedLedgers(): Promise<WebUsbDeviceLike[]> {
  const { WebUSB } = await import('usb')
  const webusb = new WebUSB({ allowAllDevices: true })
  const devices = await webusb.getDevices()
  return devices.filter((d) => d.vendorId === LEDGER_VENDOR_ID) as unknown as WebUsbDeviceLike[]
}
