// The box's own Nostr relay as an engine module (API domain 'relay'): runs services/relay in its
// own process (never inside the engine, which holds the keys; restarted if it dies) on 127.0.0.1
// (port 7777 unless configured), database and key under
// <stack data folder>/relay — the folder the relay container uses too (src/core/stack/paths.ts).
// The operator's choices (policies, admin keys, port) live in relay/config.json there.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { z } from 'zod'
import {
  RelayPolicySchema,
  type RelayLists,
  type RelayRejection,
  type RelayStatus,
  type relayApi,
} from '../../shared/api/relay'
import type { HandlersOf } from '../../shared/api/procedure'
import {
  relayChildEntry,
  SUPPORTED_NIPS,
  type Rejection,
  type RelayInfo,
  type RelayListEntryData,
  type RelayListName,
} from '../../../services/relay/src/index'
import { writeFileAtomicSync } from '../atomic-file'
import { frontDoorProxyAddresses, publishedUrls } from '../reach/public-address'
import { ServiceError, ServiceProcess } from '../services/service-process'
import { FlashError } from '../errors'
import { changesPlacement, loadSettings } from '../engine/stack-module'
import { stackDataDir, stackPaths } from '../stack/paths'
import type {
  EngineContext,
  EngineModule,
  EngineModuleFactory,
  RequestContext,
} from '../engine/module'

export const DEFAULT_RELAY_PORT = 7777

const RelayConfigSchema = z.object({
  port: z.number().int().min(0).max(65535).default(DEFAULT_RELAY_PORT),
  policies: RelayPolicySchema.prefault({}),
  adminPubkeys: z
    .array(z.string().regex(/^[0-9a-f]{64}$/))
    .max(100)
    .default([]),
})
type RelayConfig = z.infer<typeof RelayConfigSchema>

export interface RelayModuleOptions {
  /** Overrides the configured port (tests use 0: any free port). */
  readonly port?: number
  /** How often a `status` event is published while something changes (ms). Default 5000. */
  readonly statusIntervalMs?: number
  /**
   * Whether the relay should run inside the engine. Default: from the saved settings — on when
   * the relay is enabled and `ownServices` is 'embedded' (or before setup saved any settings).
   */
  readonly shouldRun?: () => 'run' | 'disabled' | 'container'
  /** First restart delay after the relay's process died (ms; doubles each time). Default 500. */
  readonly restartBaseMs?: number
}

function savedSettings(engineDir: string): ReturnType<typeof loadSettings> | 'damaged' {
  try {
    return loadSettings(engineDir)
  } catch {
    return 'damaged'
  }
}

/** The stack's data folder (settings.dataDir; before setup or with damaged settings, the suggested one). */
function stackDirOf(engineDir: string): string {
  const settings = savedSettings(engineDir)
  return stackDataDir(engineDir, settings === 'damaged' ? null : settings)
}

function fromSettings(engineDir: string): 'run' | 'disabled' | 'container' {
  const settings = savedSettings(engineDir)
  // Damaged settings are the stack module's to report; the relay keeps serving meanwhile.
  if (settings === 'damaged') return 'run'
  if (!settings) return 'run'
  if (!settings.services.relay) return 'disabled'
  return settings.ownServices === 'embedded' ? 'run' : 'container'
}

export type RelayModule = EngineModule<typeof relayApi> & {
  /** ws:// URL of the running relay (the nostr module connects here). */
  readonly url: string | undefined
  /** The relay's own process. */
  readonly process: ServiceProcess
}

/** The relay's published URL and the front door as its trusted proxy (src/core/reach). */
function relayReach(engineDir: string): { publicUrls?: string[]; trustedProxies?: string[] } {
  const url = publishedUrls(engineDir).relay
  const proxies = frontDoorProxyAddresses(engineDir)
  return {
    ...(url ? { publicUrls: [url] } : {}),
    ...(proxies.length ? { trustedProxies: proxies } : {}),
  }
}

export function relayModule(options: RelayModuleOptions = {}): EngineModuleFactory {
  return (ctx) => createRelayModule(ctx, options)
}

const toIso = (secOrMs: number, ms = false) => new Date(ms ? secOrMs : secOrMs * 1000).toISOString()

export function createRelayModule(
  ctx: EngineContext,
  options: RelayModuleOptions = {},
): RelayModule {
  const log = ctx.log.child('relay')
  // Where the relay's data is follows the settings' data folder (resolved again on every start).
  let paths = stackPaths(stackDirOf(ctx.dataDir)).relay
  let config: RelayConfig = RelayConfigSchema.parse({})
  let problem: FlashError | undefined
  let statusTimer: NodeJS.Timeout | undefined
  let lastStatusKey = ''
  let rejectionWindow = { second: 0, count: 0 }

  const loadConfig = (): RelayConfig => {
    if (!existsSync(paths.config)) return RelayConfigSchema.parse({})
    try {
      return RelayConfigSchema.parse(JSON.parse(readFileSync(paths.config, 'utf8')))
    } catch (err) {
      // A damaged config never stops the relay: defaults apply and the problem is logged.
      log.warn('relay config is damaged; using defaults until it is saved again', {
        error: (err as Error).message,
      })
      return RelayConfigSchema.parse({})
    }
  }
  const saveConfig = () =>
    writeFileAtomicSync(paths.config, JSON.stringify(config, null, 2) + '\n', 0o600)

  const proc: ServiceProcess = new ServiceProcess({
    launch: { name: 'relay', entry: relayChildEntry },
    ...(ctx.serviceLauncher ? { launcher: ctx.serviceLauncher } : {}),
    log,
    startOptions: () => ({
      port: options.port ?? config.port,
      host: '127.0.0.1',
      dbPath: paths.db,
      keyPath: paths.key,
      policies: config.policies,
      adminPubkeys: config.adminPubkeys,
      ...relayReach(ctx.dataDir),
    }),
    onEvent: (name, data) => {
      if (name !== 'rejection') return
      const r = data as Rejection
      // A flood must not flood the UI too: at most 20 rejection events a second.
      const sec = Math.floor(r.at / 1000)
      if (sec !== rejectionWindow.second) rejectionWindow = { second: sec, count: 0 }
      if (++rejectionWindow.count > 20) return
      ctx.events.publish({ topic: 'relay', type: 'rejection', rejection: toRejection(r) })
    },
    onState: () => void publishStatus(true),
    ...(options.restartBaseMs !== undefined ? { restartBaseMs: options.restartBaseMs } : {}),
  })

  /** A call to the relay's process; when it is not running, the reason why. */
  const call = async <T>(op: string, ...args: unknown[]): Promise<T> => {
    if (proc.serviceUrl) return proc.call<T>(op, ...args)
    throw (
      problem ??
      new FlashError(
        'relay.not_running',
        'The relay is not running.',
        'Start the relay from the dashboard, then try again.',
      )
    )
  }

  const status = async (): Promise<RelayStatus> => {
    const base = {
      policies: config.policies,
      adminPubkeys: config.adminPubkeys,
      supportedNips: SUPPORTED_NIPS,
      process: proc.state,
    }
    const stopped = (): RelayStatus => ({
      ...base,
      running: false,
      ...(problem ? { problem: problem.toJSON() } : {}),
      connections: 0,
      subscriptions: 0,
      eventsStored: 0,
      storageBytes: 0,
    })
    if (!proc.serviceUrl) return stopped()
    let info: RelayInfo
    try {
      info = await proc.call<RelayInfo>('info')
    } catch {
      return stopped() // died while asked; it restarts by itself
    }
    return {
      ...base,
      running: true,
      url: info.url,
      connections: info.connections,
      subscriptions: info.subscriptions,
      eventsStored: info.eventsStored,
      storageBytes: info.storageBytes,
      policies: info.policies,
      relayPubkey: info.relayPubkey,
      verifier: info.verifier,
    }
  }

  const lists = async (): Promise<RelayLists> => {
    const all = await call<Record<RelayListName, RelayListEntryData[]>>('lists')
    const entries = (name: RelayListName) =>
      all[name].map((e) => ({ value: e.value, reason: e.reason, addedAt: toIso(e.addedAt) }))
    return {
      allowedPubkeys: entries('allowed-pubkey'),
      bannedPubkeys: entries('banned-pubkey'),
      bannedEvents: entries('banned-event'),
      blockedIps: entries('blocked-ip'),
      allowedKinds: all['allowed-kind'].map((e) => Number(e.value)),
      disallowedKinds: all['disallowed-kind'].map((e) => Number(e.value)),
    }
  }

  const toRejection = (r: Rejection): RelayRejection => ({ ...r, at: toIso(r.at, true) })

  const publishStatus = async (force = false) => {
    const s = await status()
    const key = JSON.stringify([
      s.running,
      s.connections,
      s.eventsStored,
      s.subscriptions,
      s.process?.pid,
      s.process?.restarts,
    ])
    if (!force && key === lastStatusKey) return
    lastStatusKey = key
    ctx.events.publish({ topic: 'relay', type: 'status', status: s })
  }

  const handlers: HandlersOf<typeof relayApi, RequestContext> = {
    status: async () => status(),
    setPolicies: async ({ policies }) => {
      const applied = proc.serviceUrl
        ? await proc.call<RelayConfig['policies']>('setPolicy', policies)
        : RelayPolicySchema.parse(policies)
      config = { ...config, policies: applied }
      saveConfig()
      log.info('relay policies changed', { writes: applied.writes, reads: applied.reads })
      void publishStatus(true)
      return applied
    },
    setAdmins: async ({ pubkeys }) => {
      config = { ...config, adminPubkeys: [...new Set(pubkeys)] }
      saveConfig()
      if (proc.serviceUrl) await proc.call('setAdmins', config.adminPubkeys)
      void publishStatus(true)
      return config.adminPubkeys
    },
    lists: async () => lists(),
    editList: async (input) => {
      await call('editList', input.list, input.action, String(input.value), input.reason)
      return lists()
    },
    rejections: async ({ limit }) =>
      (await call<Rejection[]>('rejections', limit)).map(toRejection),
    backup: async ({ path }) => {
      if (existsSync(path))
        throw new FlashError(
          'relay.backup_exists',
          `There is already a file at ${path}.`,
          'Choose a new file name; a backup never overwrites anything.',
        )
      if (!existsSync(dirname(path)))
        throw new FlashError(
          'relay.backup_no_folder',
          `The folder ${dirname(path)} does not exist.`,
          'Choose a folder that exists (for example a USB drive that is plugged in).',
        )
      let events: number
      try {
        ;({ events } = await call<{ events: number }>('backup', path))
      } catch (err) {
        if (err instanceof FlashError) throw err
        log.error('relay backup failed', { error: (err as Error).message })
        throw new FlashError(
          'relay.backup_failed',
          'The relay backup could not be written.',
          'Check that the drive has free space and is writable, then try again.',
          { cause: err },
        )
      }
      return { path, bytes: statSync(path).size, events }
    },
  }

  let followSettings: (() => void) | undefined
  let transition: Promise<void> = Promise.resolve()
  let stopped = false

  const module: RelayModule = {
    name: 'relay',
    handlers,
    get url() {
      return proc.serviceUrl
    },
    process: proc,
    async start() {
      stopped = false
      await startNow()
      // Level-triggered: whenever the stack reports, compare the settings with what runs and
      // converge (the wizard saving settings, the user switching the relay on or off).
      if (!options.shouldRun && !followSettings) {
        // The data folder is part of the observed state: moving it restarts the relay there.
        const observe = () => ({ mode: fromSettings(ctx.dataDir), dir: stackDirOf(ctx.dataDir) })
        let last = observe()
        followSettings = ctx.events.subscribe(
          (e) => {
            if (!changesPlacement(e)) return
            const now = observe()
            if ((now.mode === last.mode && now.dir === last.dir) || stopped) return
            last = now
            transition = transition
              .then(async () => {
                if (now.mode === 'run') {
                  await stopNow()
                  await startNow()
                } else await stopNow(now.mode)
              })
              .catch((err: unknown) => {
                log.error('relay could not follow a settings change', {
                  error: (err as Error).message,
                })
              })
          },
          ['stack'],
        )
      }
    },
    async stop() {
      stopped = true
      followSettings?.()
      followSettings = undefined
      await transition
      await stopNow()
    },
  }

  async function stopNow(mode?: 'disabled' | 'container'): Promise<void> {
    if (statusTimer) clearInterval(statusTimer)
    statusTimer = undefined
    await proc.stop()
    if (mode) problem = modeProblem(mode)
    void publishStatus(true)
  }

  function modeProblem(mode: 'disabled' | 'container'): FlashError {
    return mode === 'disabled'
      ? new FlashError(
          'relay.disabled',
          'The Nostr relay is switched off.',
          'Turn it on in Settings (Services → Nostr relay) if you want your own relay.',
        )
      : new FlashError(
          'relay.in_container',
          'The Nostr relay runs as its own container, not inside the app.',
          'See it on the dashboard; switch “Own services” to “inside the app” in Settings to manage it here.',
        )
  }

  async function startNow(): Promise<void> {
    if (proc.serviceUrl) return
    paths = stackPaths(stackDirOf(ctx.dataDir)).relay
    config = loadConfig()
    const mode = (options.shouldRun ?? (() => fromSettings(ctx.dataDir)))()
    if (mode !== 'run') {
      problem = modeProblem(mode)
      log.info('relay not started inside the engine', { reason: mode })
      void publishStatus(true)
      return
    }
    const port = options.port ?? config.port
    let url: string
    try {
      url = await proc.start()
      problem = undefined
    } catch (err) {
      const code = err instanceof ServiceError ? err.code : undefined
      problem =
        code === 'EADDRINUSE'
          ? new FlashError(
              'relay.port_taken',
              `The relay could not start: port ${port} is already used by another program.`,
              'Close the other program, or choose another relay port, then start the relay again.',
              { cause: err },
            )
          : new FlashError(
              'relay.start_failed',
              'The relay could not start.',
              'Check that the data folder is writable and has free space, then start it again.',
              { cause: err },
            )
      log.error('relay failed to start', { error: (err as Error).message })
      void publishStatus(true)
      throw problem
    }
    log.info('relay listening', { url, pid: proc.state.pid })
    statusTimer = setInterval(() => void publishStatus(), options.statusIntervalMs ?? 5000)
    statusTimer.unref()
    void publishStatus(true)
  }

  return module
}
