// The stack domain of the engine: every procedure of `stackApi` (src/shared/api/stack.ts) over a
// catalog (settings → StackPlan) and the container supervisor. Settings and the desired state are
// persisted atomically under the data directory; everything else is observed from Docker.
import { loadOrCreateStackSecrets } from '../secrets'
import type { EngineEvent } from '../../shared/api/events'
import { createStackSync, productionSyncEndpoints } from '../sync/stack-sync'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type {
  Alert,
  RenderedConfig,
  ServiceStatus,
  StackEvent,
  StackStatus,
  SyncStatus,
  stackApi,
} from '../../shared/api/stack'
import { defaultSettings, SettingsSchema, type Settings } from '../../shared/settings'
import { detectDocker } from '../docker/connect'
import { FlashError } from '../errors'
import type { UserError } from '../../shared/errors'
import { writeFileAtomicSync } from '../atomic-file'
import { Supervisor, type SupervisorOptions } from '../supervisor/supervisor'
import { boxKeyFor } from '../secrets/box-key'
import type { EngineContext, EngineModule, EngineModuleFactory } from './module'
import { stackCatalog, type StackCatalog } from '../stack/catalog'
import { ensureLanCertificate } from '../reach/box-ca'
import { sealOnionKeysFile } from '../reach/onion-store'
import { catalogImages, pinBuiltImage } from '../stack/images'
import type { ContainerSpec, PinnedImage, ServiceId, StackSecrets } from '../stack/spec'
import { buildServiceImage } from '../supervisor/service-image-build'
import { readBundleManifest } from '../supervisor/images'
import { enginePaths } from '../stack/paths'

export const MASK = '••••••'

/** The checkout the engine runs from (services/ and docker/ for building the own images). */
const repoRoot = resolve(import.meta.dirname, '../../..')

export interface StackModuleOptions {
  /** Settings → plan. Default: the production catalog (src/core/stack). */
  readonly catalog?: StackCatalog
  /** Passed to the supervisor (tests: extra labels, crash policy, Docker endpoint). */
  readonly supervisor?: Partial<Omit<SupervisorOptions, 'dataDir' | 'log' | 'publish'>>
  /** Where sync status comes from (bitcoind/electrs/LND clients); absent → `{}`. */
  readonly sync?: (settings: Settings) => Promise<SyncStatus>
}

/**
 * Whether a stack event is a moment to look at the saved settings again. Modules that follow the
 * settings (relay, mint) re-read them then — not on the streams that come many times a second
 * (log lines, stats samples, download progress), which never follow a settings change.
 */
export function changesPlacement(e: EngineEvent): boolean {
  return (
    e.topic === 'stack' && e.type !== 'log' && e.type !== 'stats' && e.type !== 'image-progress'
  )
}

export function settingsPath(dataDir: string): string {
  return enginePaths(dataDir).settings
}

export function loadSettings(dataDir: string): Settings | null {
  let raw: string
  try {
    raw = readFileSync(settingsPath(dataDir), 'utf8')
  } catch {
    return null
  }
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    json = undefined
  }
  const parsed = SettingsSchema.safeParse(json)
  if (!parsed.success) {
    throw new FlashError(
      'stack.settings_damaged',
      `The saved settings in ${settingsPath(dataDir)} are damaged and cannot be read.`,
      'Open Settings and save them again (your data is untouched), or restore settings.json from a backup.',
    )
  }
  return parsed.data
}

export function saveSettingsFile(dataDir: string, settings: Settings): void {
  writeFileAtomicSync(settingsPath(dataDir), JSON.stringify(settings, null, 2) + '\n', 0o600)
}

/** The rendered configuration as the UI shows it: secret env values and secret files masked. */
export function maskedConfig(spec: ContainerSpec): RenderedConfig {
  const secret = new Set(spec.secretEnv ?? [])
  return {
    serviceId: spec.id,
    image: `${spec.image.repository}:${spec.image.tag}@${spec.image.digest}`,
    command: [...(spec.entrypoint ?? []), ...spec.command],
    env: Object.fromEntries(
      Object.entries(spec.env).map(([k, v]) => [k, secret.has(k) ? MASK : v]),
    ),
    files: spec.files.map((f) => ({ path: f.hostPath, contents: f.secret ? MASK : f.contents })),
  }
}

type Handlers = EngineModule<typeof stackApi>['handlers']

export interface StackModule extends EngineModule<typeof stackApi> {
  /** The supervisor behind the API (the CLI and tests wait on it). */
  readonly supervisor: Supervisor
}

export function stackModule(opts: StackModuleOptions = {}): EngineModuleFactory {
  return (ctx: EngineContext) => createStackModule(ctx, opts)
}

export function createStackModule(ctx: EngineContext, opts: StackModuleOptions = {}): StackModule {
  const log = ctx.log.child('stack')
  const catalog =
    opts.catalog ??
    stackCatalog({
      // The onion keys are stored sealed under the box key (src/core/reach/onion-store.ts).
      boxKey: boxKeyFor(ctx.dataDir),
      // LAN mode's certificate: the box CA's key is sealed under the box key (the owner logged in).
      lanCertificate: async (s, address) => {
        await ensureLanCertificate(boxKeyFor(ctx.dataDir), ctx.dataDir, s.dataDir, {
          name: s.reach!.lan!.name,
          address,
        })
      },
    })
  // Other modules' alerts (the reach domain's: Tor offline, a port taken) beside the supervisor's.
  const moduleAlerts = (): Alert[] =>
    [...ctx.modules.values()].flatMap((m) => (m.name === 'stack' ? [] : [...(m.alerts?.() ?? [])]))
  const publish = (e: StackEvent) =>
    ctx.events.publish(
      e.type === 'status'
        ? { ...e, status: { ...e.status, alerts: [...e.status.alerts, ...moduleAlerts()] } }
        : e,
    )
  const supervisor = new Supervisor({
    dataDir: ctx.dataDir,
    log: log.child('supervisor'),
    publish,
    // The mint container's seed key comes from the box key (stack/mint.ts unlockKeys).
    keyring: boxKeyFor(ctx.dataDir),
    ...opts.supervisor,
  })
  let settings: Settings | null = null
  let settingsProblem: FlashError | undefined
  // Sync status (bitcoind blocks/ETA, electrs index, LND) from the production clients, unless the
  // caller brings its own source (tests). The monitor keeps polling in the background once asked,
  // so the ETA has a history, and publishes every update as a `stack/sync` event.
  // The box's secrets live in the settings' data folder (where the catalog made them for the
  // containers) and never change once made: read them once per data folder, not on every request.
  let secretsOnce: { dataDir: string; secrets: Promise<StackSecrets> } | undefined
  const stackSecrets = (dataDir: string) => {
    if (secretsOnce?.dataDir !== dataDir) {
      const secrets = loadOrCreateStackSecrets(dataDir)
      secretsOnce = { dataDir, secrets }
      secrets.catch(() => {
        if (secretsOnce?.secrets === secrets) secretsOnce = undefined
      })
    }
    return secretsOnce.secrets
  }
  const productionSync =
    opts.sync || opts.catalog
      ? undefined
      : createStackSync({
          endpoints: async (s) => productionSyncEndpoints(s, await stackSecrets(s.dataDir)),
          publish: (sync) => publish({ topic: 'stack', type: 'sync', sync }),
          log: log.child('sync'),
        })
  const syncSource =
    opts.sync ?? (productionSync ? (s: Settings) => productionSync.sync(s) : undefined)

  // The relay and the mint run outside the containers; their own modules know whether they run.
  // The dashboard shows what those modules last said (their `status` events) — the same state the
  // Relay, Mint and eCash pages read — never an assumption that they run because they are enabled.
  const own = new Map<'relay' | 'mint', { running: boolean; problem?: UserError }>()
  const ownStatus = (id: 'relay' | 'mint'): Pick<ServiceStatus, 'state' | 'problem'> => {
    const o = own.get(id)
    if (!o) return { state: 'starting' }
    if (o.running) return { state: 'embedded' }
    return o.problem ? { state: 'failed', problem: o.problem } : { state: 'stopped' }
  }

  const embeddedStatuses = (): ServiceStatus[] => {
    if (!settings || settings.ownServices !== 'embedded') return []
    const out: ServiceStatus[] = []
    for (const id of ['relay', 'mint'] as const) {
      if (!settings.services[id] || !ctx.modules.has(id)) continue
      const info = catalog.info(settings).find((s) => s.id === id)
      out.push({
        id,
        displayName: info?.displayName ?? (id === 'relay' ? 'Nostr relay' : 'Cashu mint'),
        description: info?.description ?? '',
        ...ownStatus(id),
        enabled: true,
        restarts: 0,
        ports: [],
      })
    }
    return out
  }

  const stopFollowingOwn = ctx.events.subscribe(
    (e) => {
      if ((e.topic !== 'relay' && e.topic !== 'mint') || e.type !== 'status') return
      const next = {
        running: e.status.running,
        ...(e.status.problem ? { problem: e.status.problem } : {}),
      }
      const before = JSON.stringify(own.get(e.topic))
      own.set(e.topic, next)
      if (before === JSON.stringify(next)) return
      const service = embeddedStatuses().find((x) => x.id === e.topic)
      if (service) publish({ topic: 'stack', type: 'service', service })
    },
    ['relay', 'mint'],
  )

  const services = (): ServiceStatus[] => {
    const running = supervisor.serviceStatuses()
    const embedded = embeddedStatuses()
    const known = new Set([...running, ...embedded].map((s) => s.id))
    const disabled: ServiceStatus[] = catalog
      .info(settings)
      .filter((i) => !known.has(i.id))
      .map((i) => ({
        id: i.id,
        displayName: i.displayName,
        description: i.description,
        state: 'disabled',
        enabled: false,
        image: i.image,
        restarts: 0,
        ports: [],
      }))
    return [...running, ...embedded, ...disabled]
  }

  const status = (): StackStatus => ({
    setupComplete: settings !== null,
    desired: supervisor.desiredState().desired,
    docker: supervisor.dockerState(),
    services: services(),
    alerts: [
      ...(settingsProblem
        ? [
            {
              id: 'settings',
              severity: 'critical' as const,
              title: 'Settings need attention',
              message: settingsProblem.message,
              hint: settingsProblem.hint,
              at: new Date().toISOString(),
            },
          ]
        : []),
      ...supervisor.alertList(),
      ...moduleAlerts(),
    ],
  })

  // The box's own relay and mint as containers: their images are built here, once, through
  // Docker (progress as `image-progress` events), instead of refusing to start.
  const ownImages = async (next: Settings): Promise<Partial<Record<ServiceId, PinnedImage>>> => {
    const docker = supervisor.dockerClient()
    if (next.ownServices !== 'container' || !docker || opts.catalog) return {}
    const out: Partial<Record<ServiceId, PinnedImage>> = {}
    for (const id of ['relay', 'mint'] as const) {
      if (!next.services[id]) continue
      const image = catalogImages[id]
      if (image.kind !== 'local-build') continue
      const existing = await docker
        .getImage(`${image.repository}:${image.tag}`)
        .inspect()
        .catch(() => undefined)
      out[id] = existing
        ? pinBuiltImage(image, existing.Id)
        : await buildServiceImage({
            docker,
            id,
            repoRoot,
            cacheDir: join(ctx.dataDir, 'cache'),
            publish,
            bundle: readBundleManifest(supervisor.getBundleDir()),
          })
    }
    return out
  }

  const applySettings = async (next: Settings) => {
    const plan = await catalog.render(next, await ownImages(next))
    supervisor.setPlan(plan)
  }

  const requireSettings = (): Settings => {
    if (!settings) {
      throw new FlashError(
        'stack.not_set_up',
        'The stack is not set up yet.',
        'Finish the setup wizard (choose the network and the services), then try again.',
      )
    }
    return settings
  }

  const requireSpec = (id: string) => {
    const spec = supervisor.getPlan()?.services.find((s) => s.id === id)
    if (!spec) {
      throw new FlashError(
        'stack.unknown_service',
        `There is no container service "${id}" in this stack.`,
        'Enable it in Settings, or pick one of the services shown on the dashboard.',
      )
    }
    return spec
  }

  const handlers: Handlers = {
    status: async () => status(),
    detectDocker: async () => {
      const found = await detectDocker()
      // The supervisor reconnects by itself; a fresh look also nudges a reconcile.
      if (found.state === 'running') supervisor.kick()
      return found
    },
    catalog: async () => catalog.info(settings),
    getSettings: async () => settings,
    // Service data beside, not inside, the engine's own files (settings, login, wallet).
    suggestedSettings: async () => defaultSettings(enginePaths(ctx.dataDir).suggestedStackDir),
    checkSettings: async (input) => catalog.check(input),
    saveSettings: async (input) => {
      const check = await catalog.check(input)
      if (!check.ok) return check
      await applySettings(input)
      saveSettingsFile(ctx.dataDir, input)
      settings = input
      settingsProblem = undefined
      publish({ topic: 'stack', type: 'status', status: status() })
      return check
    },
    pullImages: async () => {
      requireSettings()
      await supervisor.pullImages()
    },
    start: async () => {
      const s = requireSettings()
      const check = await catalog.check(s)
      const first = check.problems[0]
      if (first) throw new FlashError(first.code, first.message, first.hint)
      await supervisor.startStack()
    },
    stop: async () => {
      requireSettings()
      await supervisor.stopStack()
    },
    startService: async ({ id }) => {
      requireSpec(id)
      await supervisor.startService(id)
    },
    stopService: async ({ id }) => {
      requireSpec(id)
      await supervisor.stopService(id)
    },
    restartService: async ({ id }) => {
      requireSpec(id)
      await supervisor.restartService(id)
    },
    logs: async ({ id, tail, search }) => {
      requireSpec(id)
      return supervisor.logs(id, tail, search)
    },
    followLogs: async ({ id, follow }) => {
      requireSpec(id)
      await supervisor.followLogs(id, follow)
    },
    stats: async ({ id }) => {
      requireSpec(id)
      return supervisor.stats(id)
    },
    renderedConfig: async ({ id }) => maskedConfig(requireSpec(id)),
    sync: async () => {
      const s = settings
      if (!s || !syncSource) return {}
      return syncSource(s)
    },
    dismissAlert: async ({ id }) => {
      if (id === 'settings') settingsProblem = undefined
      for (const m of ctx.modules.values()) m.dismissAlert?.(id)
      supervisor.dismissAlert(id)
    },
  }

  let stopWatchingUnlock: (() => void) | undefined

  return {
    name: 'stack',
    handlers,
    supervisor,
    async start() {
      try {
        settings = loadSettings(ctx.dataDir)
      } catch (err) {
        settingsProblem = err as FlashError
        log.error(settingsProblem.message, { hint: settingsProblem.hint })
      }
      const docker = await supervisor.open()
      if (docker.state === 'running') {
        log.info(`Docker ${docker.version ?? ''} at ${docker.host}`)
      } else {
        log.warn(`Docker is not available: ${docker.problem?.message ?? docker.state}`, {
          hint: docker.problem?.hint,
        })
        log.warn('the engine keeps running; containers start once Docker answers')
      }
      if (settings) {
        try {
          await applySettings(settings)
        } catch (err) {
          settingsProblem =
            err instanceof FlashError
              ? err
              : new FlashError(
                  'stack.render_failed',
                  `The stack could not be prepared from your settings: ${(err as Error).message}`,
                  'Open Settings, check them and save again.',
                )
          log.error(settingsProblem.message)
        }
      } else {
        log.info('no settings saved yet: finish setup in the app (regtest is the default)')
      }
      stopWatchingUnlock = boxKeyFor(ctx.dataDir).onUnlock((box) => {
        const s = settings
        if (!s) return
        try {
          if (sealOnionKeysFile(s.dataDir, box)) log.info('onion keys moved under the box key')
        } catch (err) {
          log.warn('could not seal the onion keys', { message: (err as Error).message })
        }
        // A render that needed the box key (a new onion key) is tried again now.
        if (settingsProblem?.code !== 'box.locked') return
        void applySettings(s)
          .then(() => {
            settingsProblem = undefined
          })
          .catch((err: unknown) =>
            log.warn('the stack could not be prepared', { message: (err as Error).message }),
          )
      })
    },
    async stop() {
      stopWatchingUnlock?.()
      stopFollowingOwn()
      // Containers keep running: the next start of the engine adopts them.
      productionSync?.stop()
      await supervisor.close()
    },
  }
}
