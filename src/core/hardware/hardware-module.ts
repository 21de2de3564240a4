// The hardware domain of the engine (src/shared/api/hardware.ts): signing devices on USB (with
// hot-plug events), the HSM cosigner key over PKCS#11, and vault previews with their exports.
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bytesToHex } from '@noble/hashes/utils.js'
import type { HandlersOf } from '../../shared/api/procedure'
import type {
  hardwareApi,
  HsmStatus,
  SavedVaultView,
  VaultNetwork,
} from '../../shared/api/hardware'
import { FlashError } from '../errors'
import { loadSettings } from '../engine/stack-module'
import type { EngineContext, EngineModule, EngineModuleFactory } from '../engine/module'
import { HsmSigner } from './hsm-signer'
import { HsmStore } from './hsm-store'
import { keyFingerprint, type Vault } from './multisig/vault'
import { vaultView } from './multisig/vault-exports'
import { vaultId, type SavedVault } from './multisig/vault-keys'
import { VaultStore } from './multisig/vault-store'
import { VaultWatch } from './multisig/vault-watch'
import { VaultSpendSaga } from './multisig/vault-spend-saga'
import type { WalletModule } from '../wallet/wallet-module'
import {
  acceptSignedPsbt,
  psbtFileToBase64,
  readSignedFromCard,
  writePsbtToCard,
} from './coldcard-sd'
import { listTokens, TokenSession, type PinState } from './pkcs11/pkcs11-token'
import { findSecp256k1Key, generateSecp256k1Key, type HsmKey } from './pkcs11/secp256k1-key'
import { DeviceDiscovery, UDEV_RULES_FILE, type UsbDeviceInfo } from './usb/discovery'
import type { KnownDevice } from './usb/known-devices'
import { linuxAccessProbe, usbBackend } from './usb/usb-backend'
import type { Signer } from './signer'
import { TrezorSigner } from './trezor/trezor-signer'
import { trezorInspector } from './trezor/trezor-inspect'
import { openTrezorUsb } from './trezor/trezor-usb'
import { BitBox02Signer, connectBitBox02 } from './bitbox02/bitbox02-signer'
import { bitbox02Inspector } from './bitbox02/bitbox02-inspect'
import type { DeviceModel } from '../../shared/api/hardware'
import { coldcardOpener, jadeOpener, ledgerInspector, ledgerOpener } from './drivers/usb-openers'
import { LedgerPolicyStore } from './drivers/ledger-policies'
import { boxKeyFor } from '../secrets/box-key'

/** A driver's signer for one plugged-in device, open until `close`. */
export interface OpenedSigner {
  signer: Signer
  close(): Promise<void>
}

export type SignerOpener = (
  dev: UsbDeviceInfo,
  known: KnownDevice,
  network: VaultNetwork,
  onPairingCode: (code: string) => void,
) => Promise<OpenedSigner>

/** The drivers that sign over USB, by model. */
export const usbSigners: Partial<Record<DeviceModel, SignerOpener>> = {
  trezor: async (dev, _known, network) => {
    const link = await openTrezorUsb(dev)
    return { signer: TrezorSigner.over(link, network), close: () => link.close() }
  },
  bitbox02: async (_dev, _known, _network, onPairingCode) => {
    const device = await connectBitBox02(onPairingCode)
    const signer = new BitBox02Signer(device)
    const old = signer.firmwareProblem()
    if (old) {
      device.close()
      throw new FlashError('device.update_needed', old, 'Update it, then try again.')
    }
    return { signer, close: async () => device.close() }
  },
}

/** The udev rules shipped with the app: Electron's resources folder, or the source checkout. */
function udevRulesPath(): string | undefined {
  const candidates: string[] = []
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath
  if (resourcesPath) candidates.push(join(resourcesPath, 'udev', UDEV_RULES_FILE))
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    candidates.push(join(dir, 'resources', 'udev', UDEV_RULES_FILE))
    dir = dirname(dir)
  }
  return candidates.map((c) => resolve(c)).find((c) => existsSync(c))
}

export function hardwareModule(): EngineModuleFactory {
  return (ctx) => createHardwareModule(ctx)
}

export function createHardwareModule(
  ctx: EngineContext,
  opts: {
    discovery?: DeviceDiscovery
    signers?: Partial<Record<DeviceModel, SignerOpener>>
    /** How soon the vault sync reconnects to electrs (tests make it quick). */
    retryMs?: { min: number; max: number }
  } = {},
): EngineModule<typeof hardwareApi> {
  const log = ctx.log.child('hardware')
  const store = new HsmStore(ctx.dataDir)
  const rules = process.platform === 'linux' ? udevRulesPath() : undefined
  const discovery =
    opts.discovery ??
    new DeviceDiscovery(
      usbBackend(),
      process.platform === 'linux'
        ? linuxAccessProbe()
        : async () => ({ permitted: true, holders: [] }),
      {
        ...(rules ? { udevRulesPath: rules } : {}),
        inspectors: {
          trezor: trezorInspector(),
          bitbox02: bitbox02Inspector(),
          ledger: ledgerInspector(),
        },
      },
    )
  const signers = opts.signers ?? {
    ...usbSigners,
    ledger: ledgerOpener(ctx.dataDir),
    coldcard: coldcardOpener(),
    jade: jadeOpener(),
  }
  // One operation per device at a time: a second request waits for the first to finish.
  const deviceQueues = new Map<string, Promise<unknown>>()

  const withDevice = async <T>(deviceId: string, f: (s: Signer) => Promise<T>): Promise<T> => {
    const before = deviceQueues.get(deviceId) ?? Promise.resolve()
    const run = before
      .catch(() => undefined)
      .then(async () => {
        const found = await discovery.find(deviceId)
        if (!found)
          throw new FlashError(
            'device.unplugged',
            'That device is no longer connected.',
            'Plug it in, then look at the list in Devices again.',
          )
        const open = signers[found.known.model]
        if (!open)
          throw new FlashError(
            'device.no_driver',
            `Flash Box cannot sign with a ${found.known.modelName} over USB yet.`,
            'Use it by PSBT files if it can, or use another device for the vault.',
          )
        const opened = await open(found.dev, found.known, network(), (code) =>
          ctx.events.publish({ topic: 'hardware', type: 'pairing', deviceId, code }),
        )
        try {
          return await f(opened.signer)
        } finally {
          await opened.close().catch(() => undefined)
        }
      })
    deviceQueues.set(deviceId, run)
    try {
      return await run
    } finally {
      if (deviceQueues.get(deviceId) === run) deviceQueues.delete(deviceId)
    }
  }

  const deviceName = async (deviceId: string) => {
    const found = await discovery.find(deviceId)
    return (found?.known.modelName ?? 'Hardware wallet').slice(0, 40)
  }
  let session: TokenSession | undefined
  let key: HsmKey | undefined
  let wrongPins = 0
  let lastPinState: PinState | undefined

  const network = (): VaultNetwork => {
    const n = loadSettings(ctx.dataDir)?.network ?? 'regtest'
    return n === 'testnet4' ? 'testnet' : n
  }

  const status = (): HsmStatus => {
    const config = store.config()
    return {
      configured: !!config,
      ...(config ?? {}),
      pinRemembered: store.rememberedPin() !== undefined,
      unlocked: !!session,
      ...(key
        ? {
            key: {
              publicKey: bytesToHex(key.publicKey),
              fingerprint: keyFingerprint(key.publicKey),
            },
          }
        : {}),
      wrongPins,
      ...(lastPinState ? { pinState: lastPinState } : {}),
    }
  }

  const lock = () => {
    session?.close()
    session = undefined
    key = undefined
  }

  /** Opens the token with `pin` and finds (or, when `create`, makes) the cosigner key. */
  const unlock = (pin: string, create: boolean) => {
    const config = store.config()
    if (!config)
      throw new FlashError(
        'hsm.not_configured',
        'No HSM is set up yet.',
        'Choose the HSM module, token and PIN in Settings → HSM.',
      )
    lock()
    let s: TokenSession
    try {
      s = TokenSession.open({ ...config, pin })
    } catch (err) {
      if (err instanceof FlashError && err.code === 'hsm.pin_incorrect') wrongPins++
      try {
        lastPinState = listTokens(config.modulePath).find(
          (t) => t.serial === config.tokenSerial,
        )?.pin
      } catch {
        // The token is gone: the error below already says so.
      }
      throw err
    }
    wrongPins = 0
    try {
      const found = findSecp256k1Key(s, config.keyLabel)
      const k = found ?? (create ? generateSecp256k1Key(s, config.keyLabel) : undefined)
      if (!k)
        throw new FlashError(
          'hsm.key_missing',
          `The HSM has no key named “${config.keyLabel}”.`,
          'Set the HSM up again in Settings → HSM to make the key, or check that this is the right token.',
        )
      if (!found)
        log.info('made a new secp256k1 cosigner key on the HSM', { label: config.keyLabel })
      session = s
      key = k
      lastPinState = s.pinState()
    } catch (err) {
      s.close()
      throw err
    }
  }

  const signer = (): HsmSigner => {
    if (!session || !key)
      throw new FlashError(
        'hsm.locked',
        'The HSM is locked.',
        'Unlock it with its PIN in Settings → HSM.',
      )
    return new HsmSigner(session, key)
  }

  // Vaults: kept in vaults.sqlite, followed on chain through the wallet's Electrum server, spent
  // through the wallet's node (src/core/wallet/wallet-module.ts).
  const wallet = () => ctx.modules.get('wallet') as WalletModule | undefined
  const vaultStore = new VaultStore(ctx.dataDir)
  const kept = new Map(vaultStore.vaults().map((v) => [v.id, v]))
  let reconciling: Promise<void> | undefined
  let reconcileAgain = false
  const reconcileSpends = () => {
    if (reconciling) {
      reconcileAgain = true
      return
    }
    reconciling = spends
      .reconcile()
      .catch((err: unknown) =>
        log.debug('vault spend reconcile failed', { message: (err as Error).message }),
      )
      .finally(() => {
        reconciling = undefined
        if (reconcileAgain) {
          reconcileAgain = false
          reconcileSpends()
        }
      })
  }
  const vaultChanged = (id: string | undefined) => {
    for (const v of id ? [id] : kept.keys())
      ctx.events.publish({ topic: 'hardware', type: 'vault', vaultId: v })
    reconcileSpends()
  }
  const watch = new VaultWatch({
    dataDir: ctx.dataDir,
    vaults: [...kept.values()],
    endpoint: () => wallet()?.electrumEndpoint() ?? null,
    log: log.child('vault-sync'),
    changed: vaultChanged,
    ...(opts.retryMs ? { retryMs: opts.retryMs } : {}),
  })
  const keptVault = (id: string): SavedVault => {
    const v = kept.get(id)
    if (!v)
      throw new FlashError(
        'vault.unknown',
        'This box does not keep that vault.',
        'Save the vault in Devices first.',
      )
    return v
  }
  const spends = new VaultSpendSaga({
    store: vaultStore,
    vault: keptVault,
    chain: () => watch,
    node: () => {
      const w = wallet()
      if (!w)
        throw new FlashError(
          'vault.no_node',
          'The box’s on-chain wallet is not running, so there is no node to send through.',
          'Restart Flash Box; if it keeps happening, open the Bitcoin node logs.',
        )
      return w.node
    },
    log,
    // A spend moved on: the page hears of it, and the chain view is asked again (a spend just
    // broadcast may already be in the sync's view, which sends no further event for it).
    changed: (id) => vaultChanged(id),
  })
  const savedView = (v: SavedVault): SavedVaultView => ({
    ...vaultView(v),
    id: v.id,
    ...watch.view(v.id, vaultStore.heldCoins(v.id)),
  })

  const handlers: HandlersOf<typeof hardwareApi, unknown> = {
    devices: async () => discovery.overview(),
    hsmTokens: async ({ modulePath }) => listTokens(modulePath),
    hsmStatus: async () => status(),
    hsmSetup: async ({ modulePath, tokenSerial, keyLabel, pin, rememberPin }) => {
      const before = store.config()
      store.saveConfig({ modulePath, tokenSerial, keyLabel })
      try {
        unlock(pin, true)
      } catch (err) {
        if (before) store.saveConfig(before)
        else store.forgetAll()
        throw err
      }
      if (rememberPin) store.rememberPin(pin)
      else store.forgetPin()
      return status()
    },
    hsmUnlock: async ({ pin }) => {
      unlock(pin, false)
      return status()
    },
    hsmLock: async () => {
      lock()
      return status()
    },
    hsmForget: async () => {
      lock()
      store.forgetAll()
      wrongPins = 0
      lastPinState = undefined
      return status()
    },
    vaultPreview: async (input) => vaultView({ ...input, network: network() }),
    hsmSignPsbt: async ({ psbt, vault }) => {
      const v: Vault = { ...vault, network: network() }
      return signer().signPsbt(psbt, v)
    },
    cardWritePsbt: async ({ folder, name, psbt }) => ({
      path: writePsbtToCard(folder, name, psbt),
    }),
    cardReadSigned: async ({ folder, name, sentPsbt, vault, fingerprint }) => {
      const v: Vault = { ...vault, network: network() }
      const answer = readSignedFromCard(folder, name)
      if (!answer) return { state: 'waiting' }
      if (answer.kind === 'final')
        throw new FlashError(
          'sd.finalized_on_card',
          'The Coldcard finalized the transaction itself (a -final.txn file), so its signatures cannot be checked against the vault here.',
          'On the Coldcard, sign without finalizing (it writes a -part.psbt for a multisig it cannot finish alone), then load that file.',
        )
      return {
        state: 'signed',
        file: answer.file,
        result: acceptSignedPsbt(v, sentPsbt, answer.psbt, fingerprint),
      }
    },
    vaults: async () => [...kept.values()].map(savedView),
    vaultSave: async (input) => {
      const base = { ...input, network: network() }
      const id = vaultId(base)
      const v: SavedVault = kept.get(id) ?? { ...base, id, createdAt: new Date().toISOString() }
      vaultView(v) // checks the vault before it is kept
      vaultStore.putVault(v)
      kept.set(id, v)
      await watch.add(v)
      if (watch.sync.account(id).handed[0] < 0) await watch.nextAddress(id, 0)
      log.info('vault kept and followed on chain', { vaultId: id })
      return savedView(v)
    },
    vaultReceive: async ({ vaultId: id }) => {
      keptVault(id)
      return watch.nextAddress(id, 0)
    },
    vaultSpendPrepare: async (input) => spends.prepare(input),
    vaultSpendFinalize: async (input) => spends.finalize(input),
    vaultSpendBroadcast: async (input) => spends.broadcast(input),
    vaultSpendDiscard: async (input) => spends.discard(input),
    vaultSpends: async ({ vaultId: id }) => {
      keptVault(id)
      return spends.list(id)
    },
    importSignedPsbt: async ({ vault, sentPsbt, fileBase64, fingerprint }) => {
      const v: Vault = { ...vault, network: network() }
      const signed = psbtFileToBase64(Buffer.from(fileBase64, 'base64'))
      return acceptSignedPsbt(v, sentPsbt, signed, fingerprint)
    },
    deviceCosigner: async ({ deviceId }) => {
      const name = await deviceName(deviceId)
      return withDevice(deviceId, (s) => s.cosigner(network(), name))
    },
    deviceShowAddress: async ({ deviceId, vault, chain, index }) => {
      const v: Vault = { ...vault, network: network() }
      const address = await withDevice(deviceId, (s) => s.displayAddress(v, chain, index))
      if (!address)
        throw new FlashError(
          'device.no_screen',
          'This signer has no screen to show the address on.',
          'Check the address on a device with a screen.',
        )
      return { address }
    },
    deviceSignPsbt: async ({ deviceId, psbt, vault }) => {
      const v: Vault = { ...vault, network: network() }
      return withDevice(deviceId, (s) => s.signPsbt(psbt, v))
    },
  }

  let stopWatchingUnlock: (() => void) | undefined

  return {
    name: 'hardware',
    handlers: handlers as EngineModule<typeof hardwareApi>['handlers'],
    async start() {
      await watch.start()
      reconcileSpends()
      discovery.watch(
        (overview) => ctx.events.publish({ topic: 'hardware', type: 'devices', overview }),
        (err) => log.warn('device list after a plug/unplug failed', { error: String(err) }),
      )
      // Ledger registrations kept in clear before the owner had a password are sealed on unlock.
      stopWatchingUnlock = boxKeyFor(ctx.dataDir).onUnlock((box) => {
        try {
          if (new LedgerPolicyStore(ctx.dataDir, box).sealPlainFile())
            log.info('Ledger registrations moved under the box key')
        } catch (err) {
          log.warn('could not seal the Ledger registrations', { error: (err as Error).message })
        }
      })
      const pin = store.config() ? store.rememberedPin() : undefined
      if (pin) {
        try {
          unlock(pin, false)
        } catch (err) {
          log.warn('the HSM did not unlock with the remembered PIN', {
            code: err instanceof FlashError ? err.code : 'internal',
          })
        }
      }
    },
    async stop() {
      stopWatchingUnlock?.()
      discovery.stop()
      lock()
      await reconciling
      watch.stop()
      vaultStore.close()
    },
  }
}
