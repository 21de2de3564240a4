// The box's engine with its Lightning module over the LND SIMULATOR, set up as a real install
// would be: the stack's data folder apart from the engine's, the catalog's files in LND's folder
// (box-made TLS certificate, wallet password file), the wallet created by the box.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import type { EngineModuleFactory } from '../../src/core/engine/module'
import { lightningModule, lightningPaths } from '../../src/core/lightning/lightning-module'
import { createLogger } from '../../src/core/log'
import { loadOrCreateStackSecrets } from '../../src/core/secrets/stack-secrets'
import type { StackSecrets } from '../../src/core/stack/spec'
import type { LightningStatus } from '../../src/shared/api/lightning'
import type { EngineEvent } from '../../src/shared/api/events'
import { defaultSettings } from '../../src/shared/settings'
import { startLndSimulator, type LndSimulator } from '../simulators/lnd-simulator'

export const OWNER = 'correct horse battery staple'
export const CTX = { transport: 'internal' as const }

export interface LightningBox {
  readonly engineDir: string
  readonly stackDir: string
  readonly paths: ReturnType<typeof lightningPaths>
  readonly secrets: StackSecrets
  readonly logLines: string[]
  readonly events: EngineEvent[]
  sim: LndSimulator
  /** The box's LND (the simulator, or the world node from `startLnd`). */
  lnd: BoxLnd
  engine: Engine
  call<T>(procedure: string, input?: unknown): Promise<T>
  until(ok: (s: LightningStatus) => boolean, what: string): Promise<LightningStatus>
  startSim(): Promise<LndSimulator>
  startEngine(extra?: EngineModuleFactory[]): Promise<Engine>
  close(): Promise<void>
}

/** Any LND the box can talk to: the single-node simulator or a node of the world network. */
export interface BoxLnd {
  readonly socket: string
  close(): Promise<void>
}

export async function lightningBox(
  opts: {
    extraModules?: EngineModuleFactory[]
    ownerFirst?: boolean
    /** Starts the box's LND in LND's folder (default: the single-node LND simulator). */
    startLnd?: (p: ReturnType<typeof lightningPaths>, passwordFile?: string) => Promise<BoxLnd>
    /** The lightning module's clock for its liquidity schedule. */
    now?: () => number
  } = {},
): Promise<LightningBox> {
  const engineDir = mkdtempSync(join(tmpdir(), 'flashbox-ln-engine-'))
  const stackDir = mkdtempSync(join(tmpdir(), 'flashbox-ln-stack-'))
  const settings = defaultSettings(stackDir)
  const paths = lightningPaths(settings)
  writeFileSync(join(engineDir, 'settings.json'), JSON.stringify(settings))
  const secrets = await loadOrCreateStackSecrets(stackDir)
  mkdirSync(paths.lndDir, { recursive: true })
  writeFileSync(join(paths.lndDir, 'tls.cert'), secrets.lndTls.certPem)
  writeFileSync(join(paths.lndDir, 'tls.key'), secrets.lndTls.keyPem, { mode: 0o600 })
  writeFileSync(paths.passwordFile, secrets.lndWalletPassword, { mode: 0o600 })
  const logLines: string[] = []
  const events: EngineEvent[] = []
  const log = createLogger('test', {
    level: 'debug',
    sink: (l) => logLines.push(JSON.stringify(l)),
  })

  const box: LightningBox = {
    engineDir,
    stackDir,
    paths,
    secrets,
    logLines,
    events,
    sim: undefined as unknown as LndSimulator,
    lnd: undefined as unknown as BoxLnd,
    engine: undefined as unknown as Engine,
    call: <T>(procedure: string, input: unknown = {}) =>
      box.engine.call('lightning', procedure, input, CTX) as Promise<T>,
    async until(ok, what) {
      const lightning = box.engine.module('lightning') as unknown as {
        reconcile(): Promise<LightningStatus>
      }
      const end = Date.now() + 20_000
      for (;;) {
        const s = await lightning.reconcile()
        if (ok(s)) return s
        if (Date.now() > end) throw new Error(`${what}: ${JSON.stringify(s)}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    },
    async startSim() {
      if (opts.startLnd) {
        box.lnd = await opts.startLnd(
          paths,
          existsSync(paths.passwordFile) ? paths.passwordFile : undefined,
        )
        return box.sim
      }
      box.sim = await startLndSimulator({
        dir: paths.lndDir,
        // No password file: LND waits for UnlockWallet.
        wallet: {
          mode: 'rpc',
          ...(existsSync(paths.passwordFile) ? { passwordFile: paths.passwordFile } : {}),
        },
        grpcPort: box.sim?.grpcPort ?? 0,
        log: () => {},
      })
      box.lnd = box.sim
      return box.sim
    },
    async startEngine(extra = opts.extraModules ?? []) {
      box.engine = await createEngine({
        dataDir: engineDir,
        log,
        modules: [
          lightningModule({
            endpoint: () => ({ socket: box.lnd.socket, cert: secrets.lndTls.certPem }),
            pollMs: 100,
            readyPollMs: 500,
            ...(opts.now ? { now: opts.now } : {}),
          }),
          ...extra,
        ],
      })
      box.engine.events.subscribe((e) => events.push(e))
      return box.engine
    },
    async close() {
      await box.engine?.stop()
      await box.lnd?.close()
      rmSync(engineDir, { recursive: true, force: true })
      rmSync(stackDir, { recursive: true, force: true })
    },
  }
  await box.startSim()
  await box.startEngine()
  if (opts.ownerFirst !== false) {
    await box.engine.module('lightning')!.ownerPasswordEntered!(OWNER)
    await box.until((s) => s.wallet === 'ready' && s.node !== undefined, 'ready')
  }
  return box
}
