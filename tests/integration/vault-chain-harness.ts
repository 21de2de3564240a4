// A box with its on-chain wallet and hardware module on the regtest world (chain + bitcoind
// simulator + electrs simulator), an emulated Trezor behind its driver's packet boundary, a real
// SoftHSM2 token and backup words: what the vault tests build a 2-of-3 vault from.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { saveSettingsFile } from '../../src/core/engine/stack-module'
import type { EngineContext, EngineModule } from '../../src/core/engine/module'
import { EventBus } from '../../src/core/events'
import { silentLogger } from '../../src/core/log'
import { createHardwareModule } from '../../src/core/hardware/hardware-module'
import { SeedSigner } from '../../src/core/hardware/seed-signer'
import { trezorInspector } from '../../src/core/hardware/trezor/trezor-inspect'
import { TrezorSigner } from '../../src/core/hardware/trezor/trezor-signer'
import { DeviceDiscovery } from '../../src/core/hardware/usb/discovery'
import { createWalletModule, type WalletModule } from '../../src/core/wallet/wallet-module'
import type { SendNode } from '../../src/core/wallet/send/send-service'
import type { hardwareApi } from '../../src/shared/api/hardware'
import type { Cosigner } from '../../src/shared/api/hardware'
import { defaultSettings } from '../../src/shared/settings'
import { TrezorEmulator } from '../simulators/hardware/trezor-emulator'
import { createSoftHsmToken, type SoftHsmToken } from '../setup/softhsm'
import {
  startWalletWorld,
  WALLET_RPC_PASSWORD,
  WALLET_RPC_USER,
  type WalletWorld,
} from './wallet-harness'

export const TREZOR_ID = '1-1'
const TREZOR_WORDS = 'legal winner thank year wave sausage worth useful legal winner thank yellow'
export const BACKUP_WORDS =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'
export const HSM_PIN = '123456'

export type HardwareModule = EngineModule<typeof hardwareApi>

export interface VaultBox {
  readonly wallet: WalletModule
  readonly hardware: HardwareModule
  call<K extends keyof HardwareModule['handlers']>(
    name: K,
    input: Parameters<HardwareModule['handlers'][K]>[0],
  ): ReturnType<HardwareModule['handlers'][K]>
  stop(): Promise<void>
}

export interface VaultWorld {
  readonly world: WalletWorld
  readonly dir: string
  readonly token: SoftHsmToken
  readonly emulator: TrezorEmulator
  readonly backup: SeedSigner
  /** The world's bitcoind as the box's node; `node` lets a test stand between them. */
  readonly rpc: BitcoindRpc
  /** Starts a box over the world's data folder (again after a "crash": same folder). */
  startBox(node?: SendNode): Promise<VaultBox>
  close(): Promise<void>
}

export async function startVaultWorld(): Promise<VaultWorld> {
  const world = await startWalletWorld({ coins: 4 })
  const dir = mkdtempSync(join(tmpdir(), 'flashbox-vault-chain-'))
  saveSettingsFile(dir, { ...defaultSettings(join(dir, 'stack')), network: 'regtest' })
  const token = createSoftHsmToken('vault-hsm', HSM_PIN)
  const emulator = new TrezorEmulator({ words: TREZOR_WORDS, label: 'Shop' })
  const rpc = new BitcoindRpc({
    url: world.bitcoind.url,
    user: WALLET_RPC_USER,
    password: WALLET_RPC_PASSWORD,
  })
  const boxes: VaultBox[] = []
  return {
    world,
    dir,
    token,
    emulator,
    backup: SeedSigner.fromWords(BACKUP_WORDS),
    rpc,
    async startBox(node) {
      const box = await openVaultBox({
        dir,
        electrumPort: world.electrs.electrumPort,
        node: node ?? rpc,
        emulator,
      })
      boxes.push(box)
      return box
    },
    async close() {
      for (const b of boxes) await b.stop().catch(() => undefined)
      await world.close()
      token.dispose()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * A box (wallet + hardware modules) over `dir`, following electrs at `electrumPort` and sending
 * through `node`; with `emulator`, that Trezor is plugged in. The crash test's child process opens
 * one too.
 */
export async function openVaultBox(opts: {
  dir: string
  electrumPort: number
  node: SendNode
  emulator?: TrezorEmulator
}): Promise<VaultBox> {
  const { emulator } = opts
  const modules = new Map<string, EngineModule>()
  const ctx: EngineContext = {
    dataDir: opts.dir,
    log: silentLogger,
    events: new EventBus(),
    modules,
  }
  const wallet = createWalletModule(ctx, {
    endpoint: () => ({ host: '127.0.0.1', port: opts.electrumPort }),
    node: () => opts.node,
    retryMs: { min: 50, max: 200 },
  })
  const hardware = createHardwareModule(ctx, {
    discovery: new DeviceDiscovery(
      {
        available: () => true,
        list: async () =>
          emulator
            ? [
                {
                  portPath: TREZOR_ID,
                  busNumber: 1,
                  address: 2,
                  vendorId: 0x1209,
                  productId: 0x53c1,
                },
              ]
            : [],
        watch: () => () => undefined,
      },
      async () => ({ permitted: true, holders: [] }),
      emulator ? { inspectors: { trezor: trezorInspector(async () => emulator.link()) } } : {},
    ),
    signers: emulator
      ? {
          trezor: async (_dev, _known, network) => ({
            signer: TrezorSigner.over(emulator.link(), network),
            close: async () => undefined,
          }),
        }
      : {},
    retryMs: { min: 50, max: 200 },
  })
  modules.set('wallet', wallet)
  await wallet.start()
  modules.set('hardware', hardware)
  await hardware.start()
  return {
    wallet,
    hardware,
    call: (name, input) =>
      (hardware.handlers[name] as (i: unknown, c: unknown) => Promise<unknown>)(input, {
        transport: 'internal',
      }) as never,
    async stop() {
      await hardware.stop()
      await wallet.stop()
    },
  }
}

/** Sets the HSM up on the box and makes the 2-of-3 vault: HSM, the Trezor, the backup words. */
export async function makeVault(
  w: VaultWorld,
  box: VaultBox,
): Promise<{ vault: { name: string; threshold: number; cosigners: Cosigner[] }; id: string }> {
  const hsm = await box.call('hsmSetup', {
    modulePath: w.token.modulePath,
    tokenSerial: w.token.serial,
    keyLabel: 'vault',
    pin: HSM_PIN,
    rememberPin: true,
  })
  const cosigners: Cosigner[] = [
    {
      kind: 'fixed',
      name: 'HSM',
      fingerprint: hsm.key!.fingerprint,
      publicKey: hsm.key!.publicKey,
    },
    { ...(await box.call('deviceCosigner', { deviceId: TREZOR_ID })), name: 'Trezor' },
    await w.backup.cosigner('regtest', 'Backup words'),
  ]
  const vault = { name: 'savings', threshold: 2, cosigners }
  const saved = await box.call('vaultSave', vault)
  return { vault, id: saved.id }
}

/** Polls `f` until it returns something truthy (bounded: 400 tries, 50 ms apart). */
export async function until<T>(f: () => Promise<T | undefined | false>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await f()
    if (v) return v
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}
