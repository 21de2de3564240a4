// The stack domain: Docker, settings, the services' lifecycle, images, logs, stats, sync.
// Implemented by src/core/engine (stack module) over src/core/stack (catalog) and
// src/core/supervisor (dockerode); consumed by the setup wizard and the dashboard.
import { z } from 'zod'
import { mutation, query } from './procedure'
import { SettingsSchema, type Settings } from '../settings'
import type { UserError } from '../errors'

export type DockerState = 'running' | 'not-installed' | 'not-running' | 'permission-denied'

export interface DockerStatus {
  readonly state: DockerState
  /** Engine version when running, e.g. "28.2.2" (or Podman's). */
  readonly version?: string
  readonly host: string
  readonly os: 'linux' | 'darwin' | 'win32' | 'other'
  /** When not running: what happened and how to fix it on this OS. */
  readonly problem?: UserError
}

/** Lifecycle state of one service as the supervisor sees it. */
export type ServiceState =
  | 'disabled' // not enabled in settings
  | 'stopped' // enabled, desired stopped or not yet started
  | 'waiting' // waiting on its dependencies' health
  | 'pulling'
  | 'starting' // container running, health probe not yet passing
  | 'healthy'
  | 'unhealthy'
  | 'stopping'
  | 'restarting' // crashed; restart scheduled with backoff
  | 'crash-loop' // crashed too often; needs the user's attention
  | 'failed' // cannot start (image missing, port taken, bad config); see `problem`
  | 'embedded' // running inside the engine process (relay, mint)

export interface ServiceStatus {
  readonly id: string
  readonly displayName: string
  readonly description: string
  readonly state: ServiceState
  /** When waiting: the services it waits for, by name. */
  readonly waitingFor?: readonly string[]
  readonly enabled: boolean
  readonly image?: string
  readonly containerId?: string
  readonly startedAt?: string
  readonly restarts: number
  /** When restarting: when the next attempt happens. */
  readonly nextRestartAt?: string
  readonly problem?: UserError
  readonly ports: readonly { readonly host: number; readonly purpose: string }[]
}

export interface Alert {
  readonly id: string
  readonly severity: 'info' | 'warning' | 'critical'
  readonly serviceId?: string
  readonly title: string
  readonly message: string
  /** What to do, in plain words. */
  readonly hint: string
  readonly at: string
}

export interface StackStatus {
  readonly setupComplete: boolean
  readonly desired: 'running' | 'stopped'
  readonly docker: DockerStatus
  readonly services: readonly ServiceStatus[]
  readonly alerts: readonly Alert[]
}

export interface ServiceInfo {
  readonly id: string
  readonly displayName: string
  /** What it is for, in plain words. */
  readonly description: string
  readonly optional: boolean
  readonly requires: readonly string[]
  /** Of `requires`, what it can do without on regtest (the mint's fake Lightning backend). */
  readonly notRequiredOnRegtest?: readonly string[]
  readonly image: string
  readonly downloadBytes?: number
}

export interface SettingsCheck {
  readonly ok: boolean
  readonly problems: readonly UserError[]
  readonly disk: { readonly neededBytes: number; readonly freeBytes: number; readonly path: string }
}

export interface LayerProgress {
  readonly id: string
  readonly status: string
  readonly current: number
  readonly total: number
}

export interface LogLine {
  readonly serviceId: string
  readonly stream: 'stdout' | 'stderr'
  readonly time: string
  readonly text: string
}

export interface StatsSample {
  readonly serviceId: string
  readonly time: string
  readonly cpuPercent: number
  readonly memoryBytes: number
  readonly memoryLimitBytes: number
  readonly diskBytes: number
}

export type BitcoindSyncState = 'catching-up' | 'up-to-date' | 'no-blocks-yet'

export interface SyncStatus {
  readonly bitcoind?: {
    readonly chain: string
    readonly blocks: number
    readonly headers: number
    readonly verificationProgress: number
    readonly initialBlockDownload: boolean
    /**
     * What to tell the user: still catching up, up to date, or — a fresh regtest chain that has
     * only its genesis block, which bitcoind reports as initial block download until something
     * mines — ready with no blocks yet.
     */
    readonly state: BitcoindSyncState
    /** Estimated seconds to catch up, from recent progress; absent until measurable. */
    readonly etaSeconds?: number
  }
  readonly electrs?: { readonly indexedHeight: number; readonly tipHeight: number }
  readonly lnd?: {
    readonly syncedToChain: boolean
    readonly syncedToGraph: boolean
    readonly blockHeight: number
  }
}

export interface RenderedConfig {
  readonly serviceId: string
  readonly image: string
  readonly command: readonly string[]
  /** Secret values replaced by '••••••'. */
  readonly env: Readonly<Record<string, string>>
  readonly files: readonly { readonly path: string; readonly contents: string }[]
}

const ServiceIdInput = z.object({ id: z.string().min(1).max(64) })

export const stackApi = {
  status: query<StackStatus>()(z.object({})),
  detectDocker: query<DockerStatus>()(z.object({})),
  catalog: query<readonly ServiceInfo[]>()(z.object({})),
  getSettings: query<Settings | null>()(z.object({})),
  /** What the setup wizard starts from: the defaults, with a data folder on this machine. */
  suggestedSettings: query<Settings>()(z.object({})),
  checkSettings: query<SettingsCheck>()(SettingsSchema),
  /** Saves settings (refused with problems when they cannot work together); completes setup. */
  saveSettings: mutation<SettingsCheck>()(SettingsSchema),
  /** Downloads (or loads from the offline bundle) every enabled service's image; progress as events. */
  pullImages: mutation<void>()(z.object({})),
  start: mutation<void>()(z.object({})),
  stop: mutation<void>()(z.object({})),
  startService: mutation<void>()(ServiceIdInput),
  stopService: mutation<void>()(ServiceIdInput),
  restartService: mutation<void>()(ServiceIdInput),
  logs: query<readonly LogLine[]>()(
    ServiceIdInput.extend({
      tail: z.number().int().min(1).max(10_000).default(500),
      search: z.string().max(200).optional(),
    }),
  ),
  /** Start/stop streaming `log` events for one service to this client. */
  followLogs: mutation<void>()(ServiceIdInput.extend({ follow: z.boolean() })),
  stats: query<readonly StatsSample[]>()(ServiceIdInput),
  renderedConfig: query<RenderedConfig>()(ServiceIdInput),
  sync: query<SyncStatus>()(z.object({})),
  dismissAlert: mutation<void>()(z.object({ id: z.string().min(1).max(128) })),
}

export type StackEvent =
  | { topic: 'stack'; type: 'status'; status: StackStatus }
  | { topic: 'stack'; type: 'service'; service: ServiceStatus }
  | {
      topic: 'stack'
      type: 'image-progress'
      image: string
      serviceId: string
      layers: readonly LayerProgress[]
      current: number
      total: number
      done: boolean
    }
  | { topic: 'stack'; type: 'log'; line: LogLine }
  | { topic: 'stack'; type: 'stats'; sample: StatsSample }
  | { topic: 'stack'; type: 'alert'; alert: Alert }
  /** An alert's cause went away (another module's; the supervisor's come with `status`). */
  | { topic: 'stack'; type: 'alert-cleared'; id: string }
  | { topic: 'stack'; type: 'sync'; sync: SyncStatus }
