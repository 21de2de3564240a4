// Signing devices on this computer's USB, and what stands between each one and signing.
// The USB listing and the access checks are behind two small interfaces so the rules here are
// tested with injected descriptors (this machine's kernel has no USB; see usb-backend.ts).
import type {
  DeviceModel,
  DeviceState,
  DevicesOverview,
  DeviceView,
} from '../../../shared/api/hardware'
import { FlashError } from '../../errors'
import { identify, type KnownDevice } from './known-devices'

export interface UsbDeviceInfo {
  /** Port path as Linux names it in sysfs: "1-1", "2-3.4". */
  portPath: string
  busNumber: number
  address: number
  vendorId: number
  productId: number
  productName?: string
  manufacturerName?: string
  serialNumber?: string
}

export interface UsbBackend {
  /** False when the computer shows no USB subsystem (no /sys/bus/usb on Linux). */
  available(): boolean
  list(): Promise<UsbDeviceInfo[]>
  /** Calls `onChange` on plug and unplug; returns the function that stops watching. */
  watch(onChange: () => void): () => void
}

export interface DeviceAccess {
  /** The OS lets this user open the device's node(s). */
  permitted: boolean
  /** Names of the other programs that hold the device open right now. */
  holders: string[]
}

export type AccessProbe = (device: UsbDeviceInfo, known: KnownDevice) => Promise<DeviceAccess>

/** What a driver reads from a device right after it is found: lock, app, firmware. */
export interface DeviceStatus {
  state: DeviceState
  stateText: string
  firmware?: string
  /** The model as the device names itself ("Trezor Safe 3"), better than the USB IDs tell. */
  modelName?: string
  /** The device can give a vault key, show addresses and sign now. */
  canSign?: boolean
}

/** A driver's look at one device it knows; only called when the OS lets Flash Box open it. */
export type DeviceInspector = (device: UsbDeviceInfo, known: KnownDevice) => Promise<DeviceStatus>

const INSPECT_TIMEOUT_MS = 5_000

async function inspect(
  inspector: DeviceInspector,
  dev: UsbDeviceInfo,
  known: KnownDevice,
): Promise<DeviceStatus> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      inspector(dev, known),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new FlashError(
                'device.busy',
                'The device did not answer.',
                `Close ${known.usualCulprit}, unplug the device and plug it in again.`,
              ),
            ),
          INSPECT_TIMEOUT_MS,
        )
      }),
    ])
  } catch (err) {
    const code = err instanceof FlashError ? err.code : ''
    if (code === 'device.busy')
      return {
        state: 'busy',
        stateText: `Flash Box could not talk to it: another program holds it or it does not answer. Close ${known.usualCulprit} and try again.`,
      }
    if (code.endsWith('.locked')) return { state: 'locked', stateText: (err as FlashError).message }
    if (code.endsWith('.needs_bridge'))
      return { state: 'needs-bridge', stateText: (err as FlashError).message }
    return {
      state: 'unsupported',
      stateText: `Flash Box could not read it: ${err instanceof Error ? err.message : String(err)}`,
    }
  } finally {
    clearTimeout(timer)
  }
}

/** What Flash Box can do with each model today, in plain words (no more than the code does). */
const SUPPORT: Record<KnownDevice['model'], string> = {
  coldcard:
    'Gives a vault key, enrols the vault (you approve it on the Coldcard), shows vault addresses on its screen and signs vault spends over USB, on an encrypted link Flash Box checks against the Coldcard’s master key (Linux only: it is reached through its hidraw node). Or sign by PSBT files on its microSD card, with no USB at all.',
  ledger:
    'Gives a vault key, registers the vault on the Ledger the first time it is used (you approve its name, policy and keys on the device), shows vault addresses on its screen and signs vault spends, through its Bitcoin app (2.1.0 or newer). Flash Box talks to it directly over USB: close Ledger Live while Flash Box uses it. A Ledger cannot join a vault that has the HSM’s fixed key.',
  trezor:
    'Gives a vault key, shows vault addresses on its screen and signs vault spends over USB. Flash Box talks to it directly: no Trezor Bridge is needed, and Trezor Suite and Trezor Bridge must be closed while Flash Box uses it. Its PIN and passphrase are entered on the Trezor itself.',
  bitbox02:
    'Gives a vault key, shows vault addresses and signs vault spends through BitBox’s library, which reaches the BitBox02 only through the BitBoxBridge helper program: install and run BitBoxBridge. A BitBox02 cannot join a vault that has the HSM’s fixed key.',
  jade: 'Found a USB-serial chip that a Blockstream Jade uses. If it is a Jade, Flash Box unlocks it (you type the PIN on the Jade; the box relays the exchange with Blockstream’s PIN server over the internet), gives a vault key, registers the vault, shows vault addresses and signs vault spends over the serial port (Linux only). A PIN server of your own cannot be chosen yet.',
  'unknown-serial': 'Not a signing device Flash Box knows.',
}

function view(
  dev: UsbDeviceInfo,
  known: KnownDevice,
  access: DeviceAccess,
  status: DeviceStatus | undefined,
): DeviceView {
  let state: DeviceState
  let stateText: string
  if (!access.permitted) {
    state = 'permission'
    stateText =
      'Flash Box is not allowed to open it. Install the device rules with the command below, then unplug it and plug it in again.'
  } else if (access.holders.length > 0) {
    state = 'busy'
    stateText = `In use by ${access.holders.join(', ')}. Close it (usually ${known.usualCulprit}) and try again.`
  } else if (status) {
    state = status.state
    stateText = status.stateText
  } else {
    state = 'unsupported'
    stateText = `Connected and reachable. Only one program can use it at a time: keep ${known.usualCulprit} closed while Flash Box uses it.`
  }
  return {
    id: dev.portPath,
    model: known.model,
    modelName:
      status?.modelName ??
      (dev.productName && known.model !== 'jade'
        ? `${known.modelName} (${dev.productName})`
        : known.modelName),
    vendorId: dev.vendorId,
    productId: dev.productId,
    state,
    stateText,
    support: SUPPORT[known.model],
    ...(status?.firmware ? { firmware: status.firmware } : {}),
    ...(status?.canSign && state === 'ready' ? { canSign: true } : {}),
  }
}

export const UDEV_RULES_FILE = '51-flash-box-signers.rules'

export function udevCommand(rulesPath: string): string {
  return `sudo install -m 0644 '${rulesPath}' /etc/udev/rules.d/${UDEV_RULES_FILE} && sudo udevadm control --reload-rules && sudo udevadm trigger`
}

export class DeviceDiscovery {
  private stopWatching: (() => void) | undefined

  constructor(
    private readonly backend: UsbBackend,
    private readonly probe: AccessProbe,
    private readonly opts: {
      udevRulesPath?: string
      /** Drivers that read a device's state right after discovery, by model. */
      inspectors?: Partial<Record<DeviceModel, DeviceInspector>>
    } = {},
  ) {}

  /** The device with this id (port path) if it is still plugged in. */
  async find(id: string): Promise<{ dev: UsbDeviceInfo; known: KnownDevice } | undefined> {
    if (!this.backend.available()) return undefined
    for (const dev of await this.backend.list()) {
      const known = identify(dev.vendorId, dev.productId)
      if (known && dev.portPath === id) return { dev, known }
    }
    return undefined
  }

  async overview(): Promise<DevicesOverview> {
    const udev = this.opts.udevRulesPath ? udevCommand(this.opts.udevRulesPath) : undefined
    if (!this.backend.available())
      return {
        usbAvailable: false,
        devices: [],
        ...(udev ? { udevCommand: udev } : {}),
        note: 'This computer shows Flash Box no USB devices (no USB subsystem), so no devices are listed. An HSM and PSBT files on an SD card still work.',
      }
    const devices: DeviceView[] = []
    for (const dev of await this.backend.list()) {
      const known = identify(dev.vendorId, dev.productId)
      if (!known) continue
      const access = await this.probe(dev, known)
      const inspector = this.opts.inspectors?.[known.model]
      const status =
        inspector && access.permitted && access.holders.length === 0
          ? await inspect(inspector, dev, known)
          : undefined
      devices.push(view(dev, known, access, status))
    }
    return { usbAvailable: true, devices, ...(udev ? { udevCommand: udev } : {}) }
  }

  /** Hot-plug: `onChange` gets a fresh overview after each plug or unplug. */
  watch(onChange: (overview: DevicesOverview) => void, onError: (err: unknown) => void): void {
    if (this.stopWatching || !this.backend.available()) return
    this.stopWatching = this.backend.watch(() => {
      this.overview().then(onChange, onError)
    })
  }

  stop(): void {
    this.stopWatching?.()
    this.stopWatching = undefined
  }
}
