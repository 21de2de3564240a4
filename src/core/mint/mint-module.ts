// The box's own Cashu mint as an engine module (API domain 'mint'): runs services/mint in its own
// process (never inside the engine, which holds the keys; restarted if it dies) on 127.0.0.1 (port 3338 unless configured), with the fake Lightning backend on regtest by
// default, data under <stack data folder>/mint — the folder the mint container uses too
// (src/core/stack/paths.ts). The operator's choices (port, backend, limits, fees) live in
// mint/config.json there (0600, written atomically).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import type {
  MintKeysetView,
  MintLimits,
  MintQuoteView,
  MintStatus,
  mintApi,
} from '../../shared/api/mint'
import type { HandlersOf } from '../../shared/api/procedure'
import {
  MintConfigSchema,
  mintChildEntry,
  type MeltQuote,
  type MintInfo,
  type MintLimitsData,
  type MintQuote,
  type MintQuoteEvent,
} from '../../../services/mint/src/index'
import type { ServiceError } from '../services/service-process'
import { ServiceProcess } from '../services/service-process'
import { writeSecretFileAtomic } from '../secrets/secret-file'
import { boxKeyFor } from '../secrets/box-key'
import { FlashError } from '../errors'
import { redact } from '../log'
import { INTERNAL_SETTLEMENT_PURPOSE } from './internal-settlement-client'
import { settlementHookUrl } from '../merchant/internal-settlement-hook'
import { frontDoorProxyAddresses } from '../reach/public-address'
import { changesPlacement, loadSettings } from '../engine/stack-module'
import { servicePorts } from '../stack/networks'
import { stackDataDir, stackPaths } from '../stack/paths'
import type { BackendSpec, LndBackendOptions } from '../../../services/mint/src/index'
import type {
  EngineContext,
  EngineModule,
  EngineModuleFactory,
  RequestContext,
} from '../engine/module'

export const DEFAULT_MINT_PORT = 3338

const BackendConfigSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('fake'),
    incomingPayDelayMs: z.number().int().min(-1).max(3_600_000).default(1000),
    outgoingDelayMs: z.number().int().min(0).max(3_600_000).default(500),
    feeMsat: z.number().int().min(0).max(100_000_000).default(1000),
  }),
  z.object({
    kind: z.literal('lnd'),
    socket: z.string().min(1).max(300),
    certPath: z.string().min(1).max(4096).optional(),
    macaroonPath: z.string().min(1).max(4096),
  }),
])

const ModuleConfigSchema = z.object({
  port: z.number().int().min(0).max(65535).default(DEFAULT_MINT_PORT),
  host: z.string().min(1).max(255).default('127.0.0.1'),
  backend: BackendConfigSchema.default({
    kind: 'fake',
    incomingPayDelayMs: 1000,
    outgoingDelayMs: 500,
    feeMsat: 1000,
  }),
  mint: MintConfigSchema.partial().default({}),
})
type ModuleConfig = z.infer<typeof ModuleConfigSchema>

export interface MintModuleOptions {
  /** Overrides the configured port (tests use 0: any free port). */
  readonly port?: number
  /**
   * Where the mint should run and on which network. Default: from the saved settings — inside
   * the engine when the mint is enabled and `ownServices` is 'embedded' (or before setup saved
   * any settings, on regtest).
   */
  readonly placement?: () => MintPlacement
  /** Where the box's LND answers gRPC (default 127.0.0.1:10009; tests use a simulator's port). */
  readonly lndSocket?: string
  /** First restart delay after the mint's process died (ms; doubles each time). Default 500. */
  readonly restartBaseMs?: number
  /**
   * The box's settlement hook as the mint reaches it (INTERNAL-SETTLEMENT design). Default: the
   * merchant module's hook on 127.0.0.1 (src/core/merchant/internal-settlement-hook.ts).
   */
  readonly internalSettlementUrl?: () => string
}

export type MintPlacement =
  | {
      mode: 'run'
      network: 'mainnet' | 'testnet4' | 'signet' | 'regtest'
      /** The box runs LND: the mint pays and gets paid through it (unless configured otherwise). */
      lnd?: boolean
    }
  | { mode: 'disabled' | 'container' }

function savedSettings(engineDir: string): ReturnType<typeof loadSettings> {
  try {
    return loadSettings(engineDir)
  } catch {
    // Damaged settings are the stack module's to report.
    return null
  }
}

/** The stack's data folder (settings.dataDir; before setup, the suggested one). */
function stackDirOf(engineDir: string): string {
  return stackDataDir(engineDir, savedSettings(engineDir))
}

function placementFromSettings(engineDir: string): MintPlacement {
  const settings = savedSettings(engineDir)
  if (!settings) return { mode: 'run', network: 'regtest' }
  if (!settings.services.mint) return { mode: 'disabled' }
  if (settings.ownServices !== 'embedded') return { mode: 'container' }
  return { mode: 'run', network: settings.network, lnd: settings.services.lnd }
}

/**
 * The box's own LND as seen from the engine: gRPC published on 127.0.0.1, the box-made TLS
 * certificate (public) from the stack secrets, and the mint's own baked macaroon — both from the
 * stack's data folder (`stackDir`, settings.dataDir), where LND got them. Undefined until LND has
 * baked that macaroon.
 */
export function lndFromStack(
  stackDir: string,
  socket = `127.0.0.1:${servicePorts.lndGrpc}`,
): (LndBackendOptions & { kind: 'lnd' }) | undefined {
  const paths = stackPaths(stackDir)
  const macaroon = paths.macaroon('mint')
  if (!existsSync(macaroon)) return undefined
  let certPem: string | undefined
  try {
    const secrets = JSON.parse(readFileSync(paths.stackSecrets, 'utf8')) as {
      lndTls?: { certPem?: string }
    }
    certPem = secrets.lndTls?.certPem
  } catch {
    return undefined
  }
  if (!certPem) return undefined
  return {
    kind: 'lnd',
    socket,
    cert: certPem,
    macaroonPath: macaroon,
  }
}

export type MintModule = EngineModule<typeof mintApi> & {
  /** `{ url }` while the mint runs (the eCash wallet finds the box's own mint here). */
  readonly running: () => { readonly url: string } | undefined
  /** The mint's own process. */
  readonly process: ServiceProcess
}

export function mintModule(options: MintModuleOptions = {}): EngineModuleFactory {
  return (ctx) => createMintModule(ctx, options)
}

const iso = (sec: number) => new Date(sec * 1000).toISOString()

export function quoteView(q: MintQuote | MeltQuote, kind: 'mint' | 'melt'): MintQuoteView {
  const base = {
    kind,
    idPrefix: q.id.slice(0, 8),
    amount: q.amount,
    unit: q.unit,
    state: q.state,
    createdAt: iso(q.createdAt),
    expiresAt: iso(q.expiry),
  }
  if (kind === 'melt') {
    const m = q as MeltQuote
    return { ...base, feeReserve: m.feeReserve, feePaid: m.feePaid }
  }
  return { ...base, locked: (q as MintQuote).pubkey !== null }
}

export function createMintModule(ctx: EngineContext, options: MintModuleOptions = {}): MintModule {
  const log = ctx.log.child('mint')
  // Where the mint's data is follows the settings' data folder (resolved again on every start).
  let paths = stackPaths(stackDirOf(ctx.dataDir))
  let config: ModuleConfig = ModuleConfigSchema.parse({})
  let problem: FlashError | undefined
  /** What the next start of the mint's process gets (set by startNow). */
  let startOptions: unknown

  /** Whether the operator chose a Lightning backend in config.json (else: LND when the box runs it). */
  let explicitBackend = false
  const loadConfig = (): ModuleConfig => {
    explicitBackend = false
    if (!existsSync(paths.mint.config)) return ModuleConfigSchema.parse({})
    try {
      const raw = JSON.parse(readFileSync(paths.mint.config, 'utf8')) as Record<string, unknown>
      explicitBackend = raw !== null && typeof raw === 'object' && 'backend' in raw
      return ModuleConfigSchema.parse(raw)
    } catch (err) {
      log.warn('mint config is damaged; using defaults until it is saved again', {
        error: (err as Error).message,
      })
      return ModuleConfigSchema.parse({})
    }
  }
  const saveConfig = () =>
    writeSecretFileAtomic(paths.mint.config, JSON.stringify(config, null, 2) + '\n')

  const proc: ServiceProcess = new ServiceProcess({
    launch: { name: 'mint', entry: mintChildEntry },
    ...(ctx.serviceLauncher ? { launcher: ctx.serviceLauncher } : {}),
    log,
    startOptions: () => startOptions,
    onEvent: (name, data) => {
      if (name !== 'quote') return
      const e = data as MintQuoteEvent
      ctx.events.publish({ topic: 'mint', type: 'quote', quote: quoteView(e.quote, e.kind) })
    },
    onState: () => void publishStatus(),
    ...(options.restartBaseMs !== undefined ? { restartBaseMs: options.restartBaseMs } : {}),
  })

  /** A call to the mint's process; when it is not running, the reason why. */
  const call = async <T>(op: string, ...args: unknown[]): Promise<T> => {
    if (proc.serviceUrl) return proc.call<T>(op, ...args)
    throw (
      problem ??
      new FlashError(
        'mint.not_running',
        'The mint is not running.',
        'Start the mint from the dashboard, then try again.',
      )
    )
  }

  const limitsView = (l: MintLimitsData): MintLimits => ({ ...l })

  const keysetViews = (info: MintInfo): MintKeysetView[] => {
    const liabilities = new Map(info.liabilities.map((l) => [l.keysetId, l]))
    return info.keysets.map((k) => {
      const l = liabilities.get(k.id)
      return {
        id: k.id,
        unit: k.unit,
        active: k.active,
        inputFeePpk: k.inputFeePpk,
        finalExpiry: k.finalExpiry,
        createdAt: new Date(k.createdAt).toISOString(),
        issued: l?.issued ?? 0,
        redeemed: l?.redeemed ?? 0,
        outstanding: l?.outstanding ?? 0,
      }
    })
  }

  const status = async (): Promise<MintStatus> => {
    const mintCfg = MintConfigSchema.parse(config.mint)
    const stopped = (): MintStatus => ({
      running: false,
      name: mintCfg.name,
      unit: mintCfg.unit,
      network: mintCfg.network,
      keysets: [],
      outstandingTotal: 0,
      pendingMelts: 0,
      process: proc.state,
      ...(problem ? { problem: problem.toJSON() } : {}),
    })
    if (!proc.serviceUrl) return stopped()
    let info: MintInfo
    try {
      info = await proc.call<MintInfo>('info')
    } catch {
      return stopped() // stopped or died while asked; it restarts by itself
    }
    const keysets = keysetViews(info)
    return {
      running: true,
      url: info.url,
      name: info.name,
      unit: info.unit,
      network: info.network,
      backend: info.backend,
      keysets,
      outstandingTotal: keysets
        .filter((k) => k.unit === info.unit)
        .reduce((a, k) => a + k.outstanding, 0),
      limits: limitsView(info.limits),
      pendingMelts: info.pendingMelts,
      process: proc.state,
    }
  }

  const publishStatus = async () => {
    try {
      ctx.events.publish({ topic: 'mint', type: 'status', status: await status() })
    } catch {
      // status is best effort; the page asks again
    }
  }

  const handlers: HandlersOf<typeof mintApi, RequestContext> = {
    status: async () => status(),
    quotes: async ({ kind, limit }) => {
      const out: MintQuoteView[] = []
      if (kind !== 'melt')
        for (const q of await call<MintQuote[]>('mintQuotes', limit)) out.push(quoteView(q, 'mint'))
      if (kind !== 'mint')
        for (const q of await call<MeltQuote[]>('meltQuotes', limit)) out.push(quoteView(q, 'melt'))
      return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, limit)
    },
    rotateKeyset: async ({ inputFeePpk }) => {
      const info = await call<MintInfo>('info')
      const row = await call<{ id: string }>('rotateKeyset', info.unit, inputFeePpk)
      config = { ...config, mint: { ...config.mint, inputFeePpk } }
      saveConfig()
      void publishStatus()
      const view = keysetViews(await call<MintInfo>('info')).find((k) => k.id === row.id)
      if (!view)
        throw new FlashError('mint.rotate_failed', 'The new keyset did not appear.', 'Try again.')
      return view
    },
    setLimits: async (input) => {
      const current = (await call<MintInfo>('info')).limits
      const next = { ...current, ...input }
      if (next.mintMinAmount > next.mintMaxAmount || next.meltMinAmount > next.meltMaxAmount)
        throw new FlashError(
          'mint.bad_limits',
          'A minimum amount is larger than its maximum.',
          'Make each minimum smaller than or equal to its maximum.',
        )
      const applied = await call<MintLimitsData>('setLimits', next)
      config = {
        ...config,
        mint: {
          ...config.mint,
          mintMinAmount: applied.mintMinAmount,
          mintMaxAmount: applied.mintMaxAmount,
          meltMinAmount: applied.meltMinAmount,
          meltMaxAmount: applied.meltMaxAmount,
          mintingDisabled: applied.mintingDisabled,
          meltingDisabled: applied.meltingDisabled,
          maxInputs: applied.maxInputs,
          maxOutputs: applied.maxOutputs,
          rateLimit: {
            ...MintConfigSchema.parse(config.mint).rateLimit,
            perIp: applied.rateLimitPerIp,
            windowMs: applied.rateLimitWindowMs,
          },
        },
      }
      saveConfig()
      void publishStatus()
      return limitsView(applied)
    },
  }

  async function startNow(): Promise<void> {
    if (proc.serviceUrl) return
    paths = stackPaths(stackDirOf(ctx.dataDir))
    config = loadConfig()
    problem = undefined
    const placement = (options.placement ?? (() => placementFromSettings(ctx.dataDir)))()
    if (placement.mode !== 'run') {
      problem =
        placement.mode === 'disabled'
          ? new FlashError(
              'mint.disabled',
              'The mint is switched off.',
              'Switch the mint on in Settings to use it.',
            )
          : new FlashError(
              'mint.in_container',
              'The mint runs as its own container, not inside the app.',
              'See it on the dashboard; switch “Own services” to “inside the app” in Settings to manage it here.',
            )
      log.info('mint not started inside the engine', { reason: placement.mode })
      return
    }
    let backend: BackendSpec = config.backend
    if (!explicitBackend && placement.lnd) {
      const lnd = lndFromStack(paths.root, options.lndSocket)
      if (!lnd) {
        problem = new FlashError(
          'mint.waiting_for_lnd',
          'The mint is waiting for your Lightning node to be ready.',
          'Start LND from the dashboard (and unlock its wallet); the mint starts by itself once LND is up.',
        )
        log.info('mint waits for LND to bake its macaroon')
        return
      }
      backend = lnd
    }
    // The fake Lightning wallet never stands behind real money.
    if (backend.kind === 'fake' && placement.network !== 'regtest') {
      problem = new FlashError(
        'mint.needs_lightning',
        `The mint needs your Lightning node on ${placement.network}; the test wallet only works on regtest.`,
        'Connect the mint to LND in its settings, then start it again.',
      )
      log.warn('mint not started: fake Lightning backend outside regtest', {
        network: placement.network,
      })
      return
    }
    // The seed is sealed under a key derived from the box key once the owner has a password; after
    // a restart the mint waits until the box is unlocked (or the keychain unlocked it).
    const box = boxKeyFor(ctx.dataDir)
    if (box.state === 'locked') {
      problem = new FlashError(
        'mint.locked',
        'The mint is waiting for the box to be unlocked: its seed stays encrypted until the owner password is entered after a restart.',
        'Enter the owner password in Settings → Backup (or log in again); the mint then starts by itself.',
      )
      log.info('mint waits for the box to be unlocked')
      return
    }
    // The key the box and its mint sign internal settlement with goes the seed key's way: in the
    // start message to the mint's own process, never in its environment, a command line or a log.
    const settlementKey = box.unlocked
      ? box.subkey(INTERNAL_SETTLEMENT_PURPOSE).toString('hex')
      : undefined
    if (settlementKey) redact(settlementKey)
    startOptions = {
      ...(box.unlocked ? { seedPassphrase: box.subkey('mint.seed').toString('hex') } : {}),
      ...(settlementKey
        ? {
            internalSettlementKey: settlementKey,
            internalSettlementUrl:
              options.internalSettlementUrl?.() ?? settlementHookUrl('127.0.0.1'),
          }
        : {}),
      port: options.port ?? config.port,
      host: config.host,
      dataDir: paths.mint.dir,
      backend,
      config: {
        ...config.mint,
        network: placement.network,
        trustedProxies: frontDoorProxyAddresses(ctx.dataDir),
      },
    }
    try {
      const url = await proc.start()
      log.info('mint listening', { url, pid: proc.state.pid })
    } catch (err) {
      const e = err as ServiceError
      const seedProblem = /does not match the mint seed|could not be decrypted/.test(
        e.message ?? '',
      )
      problem = seedProblem
        ? new FlashError(
            'mint.seed_problem',
            'The mint’s keys cannot be opened: its seed was replaced, lost or its key does not fit.',
            'Restore the mint’s secrets folder (inside the Flash Box data folder, mint/secrets) from your backup. Do not start a new mint: wallets hold eCash from this one.',
            { cause: err },
          )
        : e.code === 'EADDRINUSE'
          ? new FlashError(
              'mint.port_taken',
              `The mint cannot listen on port ${options.port ?? config.port}: another program uses it.`,
              'Close the other program, or choose another mint port in Settings, then start the mint again.',
            )
          : new FlashError(
              'mint.start_failed',
              'The mint could not start.',
              'See the recent problems in Settings → Diagnostics for why, then start the mint again.',
              { cause: err },
            )
      throw problem
    }
    await publishStatus()
  }

  async function stopNow(): Promise<void> {
    await proc.stop()
  }

  // Level-triggered: whenever the stack reports, compare the saved settings with what runs and
  // converge (the wizard saving settings, the mint switched on or off, another network).
  let stopped = false
  let followSettings: (() => void) | undefined
  let transition: Promise<void> = Promise.resolve()
  let stopWatchingUnlock = (): unknown => undefined
  // LND baking the mint's macaroon, and the data folder, are part of the observed state too.
  const placementKey = () => {
    const stackDir = stackDirOf(ctx.dataDir)
    return JSON.stringify([
      placementFromSettings(ctx.dataDir),
      stackDir,
      existsSync(stackPaths(stackDir).macaroon('mint')),
    ])
  }
  // Locked after a restart: start as soon as the owner unlocks the box.
  function watchUnlock() {
    stopWatchingUnlock()
    stopWatchingUnlock = boxKeyFor(ctx.dataDir).onUnlock(() => {
      // Running with a seed still sealed by the key file beside it: restart once to re-seal it.
      const keyFileSeed = existsSync(join(paths.mint.dir, 'secrets', 'seed.key'))
      if (stopped || (proc.serviceUrl ? !keyFileSeed : problem?.code !== 'mint.locked')) return
      transition = transition
        .then(async () => {
          await stopNow()
          await startNow()
          await publishStatus()
        })
        .catch((err: unknown) =>
          log.error('mint could not start after unlock', { error: (err as Error).message }),
        )
    })
  }
  function follow() {
    if (followSettings) return
    let last = placementKey()
    followSettings = ctx.events.subscribe(
      (e) => {
        // The Lightning module reports when it has baked the mint's macaroon.
        if (!changesPlacement(e) && e.topic !== 'lightning') return
        const key = placementKey()
        if (key === last || stopped) return
        last = key
        transition = transition
          .then(async () => {
            await stopNow()
            await startNow()
            await publishStatus()
          })
          .catch((err: unknown) =>
            log.error('mint could not follow a settings change', { error: (err as Error).message }),
          )
      },
      ['stack', 'lightning'],
    )
  }

  return {
    name: 'mint',
    handlers,
    running: () => (proc.serviceUrl ? { url: proc.serviceUrl } : undefined),
    process: proc,
    async start() {
      stopped = false
      await startNow().catch((err: unknown) => {
        if (!options.placement) follow()
        watchUnlock()
        throw err
      })
      if (!options.placement) follow()
      watchUnlock()
    },
    async stop() {
      stopped = true
      stopWatchingUnlock()
      followSettings?.()
      followSettings = undefined
      await transition
      await stopNow()
    },
  }
}
