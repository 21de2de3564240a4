// The Trezor's state right after discovery: Initialize → Features tells the model, firmware,
// whether it is set up and whether its PIN is entered. Old firmware gets a plain "update" message.
import type { DeviceInspector, UsbDeviceInfo } from '../usb/discovery'
import { firmwareTooOld, TrezorSigner } from './trezor-signer'
import { openTrezorUsb } from './trezor-usb'
import type { TrezorLink } from './trezor-wire'

export type TrezorOpener = (dev: UsbDeviceInfo) => Promise<TrezorLink>

export function trezorInspector(open: TrezorOpener = openTrezorUsb): DeviceInspector {
  return async (dev, known) => {
    if (known.transport === 'hid')
      return {
        state: 'update-needed',
        stateText:
          'This Trezor Model One runs firmware older than 1.7 (it shows up as a USB HID device). Update its firmware in Trezor Suite; Flash Box needs 1.11.1 or newer.',
      }
    if (dev.productId === 0x53c0)
      return {
        state: 'unsupported',
        stateText:
          'The Trezor is in bootloader mode (the mode for firmware updates). Unplug it and plug it in again without touching its screen.',
      }
    const link = await open(dev)
    try {
      const f = await TrezorSigner.over(link, 'mainnet').features()
      const firmware = f.version.join('.')
      const named = f.label ? `${f.modelName} “${f.label}”` : f.modelName
      if (f.bootloader)
        return {
          state: 'unsupported',
          stateText:
            'The Trezor is in bootloader mode (the mode for firmware updates). Unplug it and plug it in again without touching its screen.',
          firmware,
          modelName: f.modelName,
        }
      const old = firmwareTooOld(f)
      if (old) return { state: 'update-needed', stateText: old, firmware, modelName: f.modelName }
      if (!f.initialized)
        return {
          state: 'unsupported',
          stateText:
            'This Trezor has no wallet yet. Set it up (or restore it) in Trezor Suite first.',
          firmware,
          modelName: f.modelName,
        }
      if (!f.unlocked)
        return {
          state: 'locked',
          stateText:
            f.model === '1'
              ? 'Locked. A Trezor Model One takes its PIN through Trezor Suite: unlock it there, close Trezor Suite, then look again.'
              : 'Locked. Flash Box will ask the Trezor for its PIN when you use it: enter it on the Trezor’s screen.',
          firmware,
          modelName: f.modelName,
        }
      return {
        state: 'ready',
        stateText: `Ready: ${named}, firmware ${firmware}.`,
        firmware,
        modelName: f.modelName,
        canSign: true,
      }
    } finally {
      await link.close()
    }
  }
}
