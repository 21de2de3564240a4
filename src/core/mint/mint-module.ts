// The box's own Cashu mint as an engine module (API domain 'mint'): runs services/mint embedded
// on 127.0.0.1 (port 3338 unless configured), with the fake Lightning backend on regtest by
// default, data under <stack data folder>/mint — the folder the mint container uses too
// (src/core/stack/paths.ts). The operator's choices (port, backend, limits, fees) live in
// mint/config.json there (0600, written atomically).
import { existsSync, readFileSync } from 'node:fs'
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
  startMint,
  type MeltQuote,
  type MintQuote,
  type RunningMint,
} from '../../../services/mint/src/index'
import { writeSecretFileAtomic } from '../secrets/secret-file'
import { FlashError } from '../errors'
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
  readonly running: () => RunningMint | undefined
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
  let running: RunningMint | undefined
  let problem: FlashError | undefined
  let unsubscribe: (() => void) | undefined

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

  const mint = () => {
    if (running) return running.mint
    throw (
      problem ??
      new FlashError(
        'mint.not_running',
        'The mint is not running.',
        'Start the mint from the dashboard, then try again.',
      )
    )
  }

  const limitsOf = (m = mint()): MintLimits => {
    const c = m.config
    return {
      mintMinAmount: c.mintMinAmount,
      mintMaxAmount: c.mintMaxAmount,
      meltMinAmount: c.meltMinAmount,
      meltMaxAmount: c.meltMaxAmount,
      mintingDisabled: c.mintingDisabled,
      meltingDisabled: c.meltingDisabled,
      maxInputs: c.maxInputs,
      maxOutputs: c.maxOutputs,
      rateLimitPerIp: c.rateLimit.perIp,
      rateLimitWindowMs: c.rateLimit.windowMs,
    }
  }

  const keysetViews = async (m = mint()): Promise<MintKeysetView[]> => {
    const liabilities = new Map((await m.store.liabilities()).map((l) => [l.keysetId, l]))
    return [...m.keysets.values()].map((k) => {
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
    const r = running
    try {
      return await statusOf()
    } catch (err) {
      // Stopped or restarted while answering (settings changed): answer for the new state.
      if (running !== r) return statusOf()
      throw err
    }
  }

  const statusOf = async (): Promise<MintStatus> => {
    const mintCfg = MintConfigSchema.parse(config.mint)
    // The mint may stop or restart while this answer is put together: use one snapshot.
    const r = running
    if (!r)
      return {
        running: false,
        name: mintCfg.name,
        unit: mintCfg.unit,
        network: mintCfg.network,
        keysets: [],
        outstandingTotal: 0,
        pendingMelts: 0,
        ...(problem ? { problem: problem.toJSON() } : {}),
      }
    const m = r.mint
    const keysets = await keysetViews(m)
    const backend = await m.backend.status().catch((err: unknown) => ({
      ok: false,
      name: m.backend.name,
      detail: err instanceof Error ? err.message : 'The Lightning backend does not answer.',
    }))
    return {
      running: true,
      url: r.url,
      name: m.config.name,
      unit: m.config.unit,
      network: m.config.network,
      backend,
      keysets,
      outstandingTotal: keysets
        .filter((k) => k.unit === m.config.unit)
        .reduce((a, k) => a + k.outstanding, 0),
      limits: limitsOf(m),
      pendingMelts: (await m.store.meltSagas()).length,
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
      const m = mint()
      const out: MintQuoteView[] = []
      if (kind !== 'melt')
        for (const q of await m.store.listMintQuotes(limit)) out.push(quoteView(q, 'mint'))
      if (kind !== 'mint')
        for (const q of await m.store.listMeltQuotes(limit)) out.push(quoteView(q, 'melt'))
      return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, limit)
    },
    rotateKeyset: async ({ inputFeePpk }) => {
      const m = mint()
      const row = await m.rotateKeyset(m.config.unit, inputFeePpk)
      config = { ...config, mint: { ...config.mint, inputFeePpk } }
      saveConfig()
      void publishStatus()
      const view = (await keysetViews()).find((k) => k.id === row.id)
      if (!view)
        throw new FlashError('mint.rotate_failed', 'The new keyset did not appear.', 'Try again.')
      return view
    },
    setLimits: async (input) => {
      const m = mint()
      const next = { ...limitsOf(), ...input }
      if (next.mintMinAmount > next.mintMaxAmount || next.meltMinAmount > next.meltMaxAmount)
        throw new FlashError(
          'mint.bad_limits',
          'A minimum amount is larger than its maximum.',
          'Make each minimum smaller than or equal to its maximum.',
        )
      // Applied in place: the running mint reads its config on every request.
      const c = m.config
      c.mintMinAmount = next.mintMinAmount
      c.mintMaxAmount = next.mintMaxAmount
      c.meltMinAmount = next.meltMinAmount
      c.meltMaxAmount = next.meltMaxAmount
      c.mintingDisabled = next.mintingDisabled
      c.meltingDisabled = next.meltingDisabled
      c.maxInputs = next.maxInputs
      c.maxOutputs = next.maxOutputs
      c.rateLimit.perIp = next.rateLimitPerIp
      c.rateLimit.windowMs = next.rateLimitWindowMs
      config = {
        ...config,
        mint: {
          ...config.mint,
          mintMinAmount: c.mintMinAmount,
          mintMaxAmount: c.mintMaxAmount,
          meltMinAmount: c.meltMinAmount,
          meltMaxAmount: c.meltMaxAmount,
          mintingDisabled: c.mintingDisabled,
          meltingDisabled: c.meltingDisabled,
          maxInputs: c.maxInputs,
          maxOutputs: c.maxOutputs,
          rateLimit: { ...c.rateLimit },
        },
      }
      saveConfig()
      void publishStatus()
      return limitsOf()
    },
  }

  async function startNow(): Promise<void> {
    if (running) return
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
    try {
      running = await startMint({
        port: options.port ?? config.port,
        host: config.host,
        dataDir: paths.mint.dir,
        backend,
        config: { ...config.mint, network: placement.network },
        log,
      })
    } catch (err) {
      const e = err as NodeJS.ErrnoException
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
    unsubscribe = running.mint.subscribe((e) => {
      if (e.kind === 'proof_state') return
      void (async () => {
        const m = running?.mint
        if (!m) return
        const q =
          e.kind === 'bolt11_mint_quote'
            ? await m.store.mintQuote(e.id)
            : await m.store.meltQuote(e.id)
        if (q)
          ctx.events.publish({
            topic: 'mint',
            type: 'quote',
            quote: quoteView(q, e.kind === 'bolt11_mint_quote' ? 'mint' : 'melt'),
          })
      })()
    })
    await publishStatus()
  }

  async function stopNow(): Promise<void> {
    unsubscribe?.()
    unsubscribe = undefined
    const r = running
    running = undefined
    await r?.close()
  }

  // Level-triggered: whenever the stack reports, compare the saved settings with what runs and
  // converge (the wizard saving settings, the mint switched on or off, another network).
  let stopped = false
  let followSettings: (() => void) | undefined
  let transition: Promise<void> = Promise.resolve()
  // LND baking the mint's macaroon, and the data folder, are part of the observed state too.
  const placementKey = () => {
    const stackDir = stackDirOf(ctx.dataDir)
    return JSON.stringify([
      placementFromSettings(ctx.dataDir),
      stackDir,
      existsSync(stackPaths(stackDir).macaroon('mint')),
    ])
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
    running: () => running,
    async start() {
      stopped = false
      await startNow().catch((err: unknown) => {
        if (!options.placement) follow()
        throw err
      })
      if (!options.placement) follow()
    },
    async stop() {
      stopped = true
      followSettings?.()
      followSettings = undefined
      await transition
      await stopNow()
    },
  }
}
