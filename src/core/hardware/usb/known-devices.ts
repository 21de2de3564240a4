// USB vendor/product IDs of the signing devices Flash Box recognises. Sources: the makers' udev
// rules (Ledger's 20-hw1.rules, Trezor's 51-trezor.rules, Coldcard's 51-coinkite.rules,
// BitBox02's 53-hid-bitbox02.rules) and Blockstream's list of Jade's USB-serial bridges.
// A Jade shows up as its serial chip, which other gadgets use too: it is named "possibly a Jade".
import type { DeviceModel } from '../../../shared/api/hardware'

export interface KnownDevice {
  model: DeviceModel
  modelName: string
  /** How its maker's software reaches it. */
  transport: 'hid' | 'webusb' | 'serial'
  /** The usual program that holds it when it is busy. */
  usualCulprit: string
}

const LEDGER_VENDOR = 0x2c97
// Ledger: the high byte of the product ID is the model (the low byte lists the USB interfaces
// the running app exposes); the one-byte IDs are older firmware.
const LEDGER_MODELS: Record<number, string> = {
  0x00: 'Ledger Blue',
  0x10: 'Ledger Nano S',
  0x40: 'Ledger Nano X',
  0x50: 'Ledger Nano S Plus',
  0x60: 'Ledger Stax',
  0x70: 'Ledger Flex',
}
const LEDGER_LEGACY: Record<number, string> = {
  0x0001: 'Ledger Nano S',
  0x0004: 'Ledger Nano X',
  0x0005: 'Ledger Nano S Plus',
  0x0006: 'Ledger Stax',
  0x0007: 'Ledger Flex',
}

const ledger = (modelName: string): KnownDevice => ({
  model: 'ledger',
  modelName,
  transport: 'hid',
  usualCulprit: 'Ledger Live',
})
const trezor = (modelName: string, transport: 'hid' | 'webusb'): KnownDevice => ({
  model: 'trezor',
  modelName,
  transport,
  usualCulprit: 'Trezor Suite or Trezor Bridge',
})
const jadeSerial = (chip: string): KnownDevice => ({
  model: 'jade',
  modelName: `USB serial (${chip}) — possibly a Blockstream Jade`,
  transport: 'serial',
  usualCulprit: 'Blockstream Green or another wallet',
})

const TABLE: Record<string, KnownDevice> = {
  '534c:0001': trezor('Trezor Model One', 'hid'),
  '1209:53c1': trezor('Trezor Model T / Safe', 'webusb'),
  '1209:53c0': trezor('Trezor (bootloader mode)', 'webusb'),
  'd13e:cc10': {
    model: 'coldcard',
    modelName: 'Coldcard',
    transport: 'hid',
    usualCulprit: 'Sparrow, Electrum or another wallet',
  },
  '03eb:2403': {
    model: 'bitbox02',
    modelName: 'BitBox02',
    transport: 'hid',
    usualCulprit: 'the BitBoxApp',
  },
  '03eb:2402': {
    model: 'bitbox02',
    modelName: 'BitBox02 (bootloader mode)',
    transport: 'hid',
    usualCulprit: 'the BitBoxApp',
  },
  '10c4:ea60': jadeSerial('Silicon Labs CP210x'),
  '1a86:55d4': jadeSerial('WCH CH9102'),
  '1a86:7523': jadeSerial('WCH CH340'),
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0')
}

/** The device behind a vendor/product ID pair, or undefined for anything else. */
export function identify(vendorId: number, productId: number): KnownDevice | undefined {
  if (vendorId === LEDGER_VENDOR) {
    const name = LEDGER_LEGACY[productId] ?? LEDGER_MODELS[productId >> 8]
    return name ? ledger(name) : ledger('Ledger (unknown model)')
  }
  return TABLE[`${hex4(vendorId)}:${hex4(productId)}`]
}

/** Every vendor/product pair in the table, for the udev rules test. */
export const KNOWN_VENDOR_IDS = [
  LEDGER_VENDOR,
  ...new Set(Object.keys(TABLE).map((k) => parseInt(k.slice(0, 4), 16))),
]
