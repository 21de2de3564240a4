// How the hardware module opens a Ledger, a Coldcard or a Jade it found on USB, and what it reads
// from a Ledger right after discovery. Each opener returns a Signer that registers the vault on
// the device the first time it is needed (the owner approves it on the device's screen), so
// "show address" and "sign" work on a fresh device without a separate step.
import { webUsbPortPath } from '../usb/usb-backend'
import { readdir, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import { AppClient } from 'ledger-bitcoin'
import { FlashError } from '../../errors'
import type { SignResult, VaultNetwork } from '../../../shared/api/hardware'
import type { Vault } from '../multisig/vault'
import type { Signer } from '../signer'
import type { DeviceInspector, UsbDeviceInfo } from '../usb/discovery'
import type { OpenedSigner } from '../hardware-module'
import type { KnownDevice } from '../usb/known-devices'
import { ColdcardUsbSigner, openHidraw } from './coldcard-usb'
import { BLOCKSTREAM_PIN_SERVER, httpPinRelay, JadeSigner, openJadeSerial } from './jade'
import { checkLedgerApp, LedgerSigner, LEDGER_MIN_APP, ledgerError } from './ledger'
import { LedgerPolicyStore } from './ledger-policies'
import { boxKeyFor } from '../../secrets/box-key'
import { connectedLedgers, LedgerUsbTransport, type WebUsbDeviceLike } from './ledger-usb'

type Opener = (
  dev: UsbDeviceInfo,
  known: KnownDevice,
  network: VaultNetwork,
  onPairingCode: (code: string) => void,
) => Promise<OpenedSigner>

interface Registering extends Signer {
  isRegistered(vault: Vault): boolean | Promise<boolean>
  registerVault(vault: Vault): Promise<unknown>
}

/** A signer that registers the vault on the device before it first shows or signs for it. */
export function registeringFirst(s: Registering): Signer {
  const ensure = async (vault: Vault) => {
    if (!(await s.isRegistered(vault))) await s.registerVault(vault)
  }
  return {
    kind: s.kind,
    fingerprint: () => s.fingerprint(),
    cosigner: (network, name, path) => s.cosigner(network, name, path),
    displayAddress: async (vault, chain, index) => {
      await ensure(vault)
      return s.displayAddress(vault, chain, index)
    },
    signPsbt: async (psbt, vault): Promise<SignResult> => {
      await ensure(vault)
      return s.signPsbt(psbt, vault)
    },
  }
}

async function findLedger(dev: UsbDeviceInfo): Promise<WebUsbDeviceLike> {
  const found = (await connectedLedgers()).find(
    (d) => webUsbPortPath(d as unknown as { bus: string; ports?: number[] }) === dev.portPath,
  )
  if (!found)
    throw new FlashError(
      'ledger.unplugged',
      'The Ledger is no longer connected.',
      'Plug it in again, then look at the list in Devices again.',
    )
  return found
}

export function ledgerOpener(
  dataDir: string,
  find: (dev: UsbDeviceInfo) => Promise<WebUsbDeviceLike> = findLedger,
): Opener {
  return async (dev, _known, network) => {
    const transport = await LedgerUsbTransport.openDevice(await find(dev))
    try {
      const signer = await LedgerSigner.connect(
        transport,
        network,
        new LedgerPolicyStore(dataDir, boxKeyFor(dataDir)),
      )
      return { signer: registeringFirst(signer), close: () => transport.close() }
    } catch (err) {
      await transport.close()
      throw err
    }
  }
}

/** Right after discovery: locked, dashboard or another app, an old Bitcoin app, or ready. */
export function ledgerInspector(
  open: (dev: UsbDeviceInfo) => Promise<WebUsbDeviceLike> = findLedger,
): DeviceInspector {
  return async (dev) => {
    const transport = await LedgerUsbTransport.openDevice(await open(dev)).catch((err) => {
      throw err instanceof FlashError && err.code === 'ledger.busy'
        ? new FlashError('device.busy', err.message, err.hint)
        : err
    })
    try {
      const client = new AppClient(transport)
      let app: { name: string; version: string }
      try {
        const r = await client.getAppAndVersion()
        app = { name: r.name, version: r.version }
      } catch (err) {
        throw ledgerError(err)
      }
      if (app.name === 'BOLOS')
        return {
          state: 'wrong-app',
          stateText:
            'Unlocked, on its dashboard. Open the Bitcoin app (“Bitcoin Test” for a test network) to use it.',
        }
      if (app.name !== 'Bitcoin' && app.name !== 'Bitcoin Test')
        return {
          state: 'wrong-app',
          stateText: `The “${app.name}” app is open. Close it and open the Bitcoin app.`,
        }
      try {
        await checkLedgerApp(client, app.name === 'Bitcoin' ? 'mainnet' : 'testnet')
      } catch (err) {
        if (err instanceof FlashError && err.code === 'ledger.app_too_old')
          return { state: 'update-needed', stateText: err.message, firmware: app.version }
        throw err
      }
      return {
        state: 'ready',
        stateText: `Ready: ${app.name} app ${app.version} (Flash Box needs ${LEDGER_MIN_APP} or newer).`,
        firmware: app.version,
        canSign: true,
      }
    } finally {
      await transport.close()
    }
  }
}

/** The device's interface nodes of one class in sysfs (hidraw, tty), as /dev paths. */
async function nodesOf(dev: UsbDeviceInfo, cls: 'hidraw' | 'tty', sys = '/sys'): Promise<string[]> {
  const out: string[] = []
  const entries = await readdir(join(sys, 'class', cls)).catch(() => [] as string[])
  for (const name of entries) {
    const real = await realpath(join(sys, 'class', cls, name)).catch(() => '')
    if (real.includes(`/${dev.portPath}:`)) out.push(join('/dev', name))
  }
  return out
}

export function coldcardOpener(): Opener {
  return async (dev, _known, network) => {
    const [node] = await nodesOf(dev, 'hidraw')
    if (!node)
      throw new FlashError(
        'coldcard.usb',
        'Flash Box found the Coldcard but not its USB HID node (Flash Box talks to it through Linux hidraw).',
        'Unplug the Coldcard and plug it in again; on other systems than Linux use the microSD card.',
      )
    const link = await openHidraw(node)
    try {
      const signer = await ColdcardUsbSigner.connect(link, network)
      return { signer: registeringFirst(signer), close: () => link.close() }
    } catch (err) {
      await link.close()
      throw err
    }
  }
}

/**
 * The Jade's serial port; it is unlocked through Blockstream's PIN server only (a PIN server of
 * the owner's own cannot be chosen in the app yet).
 */
export function jadeOpener(pinServers: readonly string[] = [BLOCKSTREAM_PIN_SERVER]): Opener {
  return async (dev, _known, network) => {
    const [node] = (await nodesOf(dev, 'tty')).filter((n) => /tty(ACM|USB)\d+$/.test(n))
    if (!node)
      throw new FlashError(
        'jade.usb',
        'Flash Box found the USB-serial chip but no serial port for it.',
        'Unplug the Jade and plug it in again, then try again from Devices.',
      )
    const stream = await openJadeSerial(node)
    try {
      const signer = await JadeSigner.connect(stream, network, httpPinRelay(pinServers))
      return { signer: registeringFirst(signer), close: () => stream.close() }
    } catch (err) {
      await stream.close()
      throw err
    }
  }
}
