// The BitBox02's state right after discovery. bitbox-api reaches it only through BitBoxBridge
// (127.0.0.1:8178), so the first question is whether the bridge answers. Its firmware version is
// known only once paired (the first use shows a pairing code), and is checked then.
import { connect } from 'node:net'
import type { DeviceInspector } from '../usb/discovery'

export const BITBOX_BRIDGE = { host: '127.0.0.1', port: 8178 }

/** True when something accepts connections on BitBoxBridge's port. */
export function bridgeListening(to = BITBOX_BRIDGE, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(to.port, to.host)
    const done = (up: boolean) => {
      socket.destroy()
      resolve(up)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

export function bitbox02Inspector(
  bridgeUp: () => Promise<boolean> = bridgeListening,
): DeviceInspector {
  return async (dev) => {
    if (dev.productId === 0x2402)
      return {
        state: 'unsupported',
        stateText:
          'The BitBox02 is in bootloader mode (for firmware updates). Unplug it and plug it in again.',
      }
    if (!(await bridgeUp()))
      return {
        state: 'needs-bridge',
        stateText:
          'Flash Box reaches a BitBox02 through the BitBoxBridge program, which is not running. Install BitBoxBridge from BitBox’s website, start it, then look again.',
      }
    return {
      state: 'ready',
      stateText:
        'BitBoxBridge is running. The first time you use this BitBox02, compare the pairing code Flash Box shows with the one on the BitBox02 and confirm there; its firmware is checked then.',
      canSign: true,
    }
  }
}
