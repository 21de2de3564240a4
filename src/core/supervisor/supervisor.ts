// The container supervisor: a level-triggered controller in the manner of Kubernetes and Docker
// Compose. It never assumes it remembers what runs: every pass lists the project's containers by
// label, compares them with the plan and the persisted desired state, and takes idempotent steps
// toward it. Docker's event stream (start/die/oom/health_status) only triggers passes; a restart
// of the app or of Docker is just another pass. Containers whose spec hash still matches are
// adopted, never duplicated; data lives in bind mounts and named volumes that are never removed.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { isAbsolute, relative, resolve } from 'node:path'
import type Docker from 'dockerode'
import type {
  Alert,
  DockerStatus,
  LogLine,
  ServiceState,
  ServiceStatus,
  StackEvent,
  StatsSample,
} from '../../shared/api/stack'
import type { UserError } from '../../shared/errors'
import { detectDockerEngine, type DetectedDocker } from '../docker/connect'
import { acceptsNewConnections } from '../docker/accepts-new-connections'
import { stackGateway } from '../docker/stack-gateway'
import { FlashError, toUserError } from '../errors'
import type { Logger } from '../log'
import type { ContainerSpec, StackPlan } from '../stack/spec'
import { writeFileAtomicSync } from '../atomic-file'
import {
  defaultCrashPolicy,
  noCrashes,
  recordCrash,
  recordRestart,
  settle,
  type CrashPolicy,
  type CrashRecord,
} from './crash-policy'
import { loadDesiredState, saveDesiredState, type DesiredState } from './desired-state'
import { dependencyLevels, planReconcile, type ReconcileStep } from './reconcile-plan'
import { ensureImage } from './images'
import {
  containerName,
  LABEL_MANAGED,
  LABEL_PROJECT,
  LABEL_SERVICE,
  LABEL_SPEC_HASH,
  MANAGED_BY,
  specHash,
} from './labels'
import { followLogs, tailLogs } from './logs'
import { assertPortsFree } from './ports'
import { dirSize, RingBuffer, toSample, type DockerStats } from './stats'
import { deliverUnlockKeys, keyDeliveryError, unlockKeysTmpfs, type Keyring } from './unlock-keys'

export interface SupervisorOptions {
  readonly dataDir: string
  readonly log: Logger
  readonly publish: (event: StackEvent) => void
  /** How to reach Docker; default: DOCKER_HOST, then the usual sockets. */
  readonly connect?: () => Promise<DetectedDocker>
  readonly crashPolicy?: CrashPolicy
  /** Offline image bundle directory (manifest.json + `docker save` tarballs). */
  readonly bundleDir?: string
  /** Never try the network for images. */
  readonly offline?: boolean
  /** Extra labels on everything created (tests add `io.flashbox.test=1`). */
  readonly extraLabels?: Readonly<Record<string, string>>
  /** Stream live stats of running containers (default true). */
  readonly collectStats?: boolean
  /** Safety-net resync period (default 30 s); events drive everything else. */
  readonly resyncMs?: number
  /** Reconnect backoff when Docker goes away. */
  readonly reconnectBaseMs?: number
  readonly reconnectMaxMs?: number
  /**
   * The box key, for services that need keys derived from it (spec.unlockKeys): they wait while it
   * is locked and get their keys at every start. Without one they get empty key files.
   */
  readonly keyring?: Keyring
}

type Health = 'none' | 'starting' | 'healthy' | 'unhealthy'

interface Runtime {
  containerId?: string
  running: boolean
  health: Health
  startedAt?: string
  crash: CrashRecord
  problem?: UserError
  stopping: boolean
  pulling: boolean
  /** We asked Docker to stop it: its `die` is not a crash. */
  expectingStop: boolean
  oom: boolean
  stats: RingBuffer<StatsSample>
  statsStop?: () => void
  diskBytes: number
  diskCheckedAt: number
  /** Count of start/die/destroy events seen: a listing taken before the latest one is stale. */
  events: number
  /** Started with empty key files (no owner password then): restart once the box is unlocked. */
  keyless?: boolean
}

interface Observed {
  readonly id: string
  readonly state: string
  readonly created: number
  readonly hash: string | undefined
}

const HEALTH_RE = /\((healthy|unhealthy|health: starting)\)/

function healthFromStatus(status: string): Health {
  const m = HEALTH_RE.exec(status)
  if (!m) return 'none'
  return m[1] === 'health: starting' ? 'starting' : (m[1] as Health)
}

const ms = (n: number) => Math.round(n * 1_000_000) // Docker wants nanoseconds

/** Docker's HostConfig for a spec's confinement: cap-drop ALL, no-new-privileges, limits. */
export function confinementHostConfig(spec: ContainerSpec): Record<string, unknown> {
  const c = spec.confinement
  const keysTmpfs = unlockKeysTmpfs(spec)
  if (!c) return Object.keys(keysTmpfs).length ? { Tmpfs: keysTmpfs } : {}
  const tmpfs = {
    ...Object.fromEntries(c.tmpfs.map((p) => [p, 'rw,nosuid,nodev,noexec,size=64m'])),
    ...keysTmpfs,
  }
  return {
    CapDrop: ['ALL'],
    CapAdd: [...c.capAdd],
    SecurityOpt: ['no-new-privileges:true'],
    Memory: c.memoryBytes,
    // Equal to Memory: no swap on top of the limit.
    MemorySwap: c.memoryBytes,
    PidsLimit: c.pidsLimit,
    ReadonlyRootfs: c.readOnlyRootfs,
    ...(Object.keys(tmpfs).length ? { Tmpfs: tmpfs } : {}),
  }
}

export { dependencyLevels } from './reconcile-plan'

export class Supervisor {
  private readonly opts: SupervisorOptions
  private readonly policy: CrashPolicy
  private readonly log: Logger
  private plan: StackPlan | undefined
  private desired: DesiredState
  private docker: Docker | undefined
  private dockerStatus: DockerStatus = { state: 'not-running', host: '', os: 'other' }
  private readonly rt = new Map<string, Runtime>()
  private readonly alerts = new Map<string, Alert>()
  private readonly published = new Map<string, string>()
  private readonly logFollows = new Map<string, () => void>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private eventStream: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined
  private closed = false
  private running: Promise<void> | undefined
  private dirty = false
  private reconnecting = false
  private resyncTimer: NodeJS.Timeout | undefined
  /** Services the user asked to retry after a problem (port taken, image missing …). */
  private readonly retry = new Set<string>()
  /** Graceful stops in flight, by service: they never block a reconcile pass. */
  private readonly stops = new Map<string, Promise<void>>()
  /** Where the offline image bundle's manifest is (Settings → Images can change it). */
  private bundleDir: string | undefined
  private readonly stopWatchingUnlock: () => void

  constructor(opts: SupervisorOptions) {
    this.opts = opts
    this.bundleDir = opts.bundleDir
    this.policy = opts.crashPolicy ?? defaultCrashPolicy
    this.log = opts.log
    this.desired = loadDesiredState(opts.dataDir)
    const unwatch = opts.keyring?.onUnlock(() => this.onUnlock())
    this.stopWatchingUnlock = () => void unwatch?.()
  }

  // ── lifecycle ────────────────────────────────────────────────────────────────────────────

  /** Connects to Docker (or keeps trying in the background) and starts reconciling. */
  async open(): Promise<DockerStatus> {
    await this.connect()
    if (!this.docker) this.scheduleReconnect(0)
    const every = this.opts.resyncMs ?? 30_000
    this.resyncTimer = setInterval(() => this.kick(), every)
    this.resyncTimer.unref()
    return this.dockerStatus
  }

  /** Stops watching; containers keep running (the next start adopts them). */
  async close(): Promise<void> {
    this.closed = true
    this.stopWatchingUnlock()
    if (this.resyncTimer) clearInterval(this.resyncTimer)
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.eventStream?.destroy?.()
    for (const stop of this.logFollows.values()) stop()
    this.logFollows.clear()
    for (const r of this.rt.values()) r.statsStop?.()
    await this.running?.catch(() => {})
  }

  setPlan(plan: StackPlan | undefined): void {
    this.plan = plan
    if (plan) dependencyLevels(plan.services) // throws on a cycle, before anything runs
    this.kick()
  }

  getPlan(): StackPlan | undefined {
    return this.plan
  }

  /** Images recorded in this bundle's manifest count as the pinned ones from now on. */
  setBundleDir(dir: string | undefined): void {
    this.bundleDir = dir
    this.kick()
  }

  getBundleDir(): string | undefined {
    return this.bundleDir
  }

  dockerClient(): Docker | undefined {
    return this.docker
  }

  desiredState(): DesiredState {
    return this.desired
  }

  // ── user intents (persisted, then converged) ─────────────────────────────────────────────

  async startStack(): Promise<void> {
    this.requirePlan()
    this.assertDataDirWritable()
    this.setDesired({ ...this.desired, desired: 'running', stoppedServices: [] })
    for (const id of this.rt.keys()) this.clearProblem(id)
    this.requireDocker() // desired state is saved: the stack starts as soon as Docker is back
    await this.reconcileNow()
  }

  async stopStack(): Promise<void> {
    this.setDesired({ ...this.desired, desired: 'stopped' })
    await this.reconcileNow()
    await this.stopsSettled()
  }

  async startService(id: string): Promise<void> {
    this.requireService(id)
    this.assertDataDirWritable()
    this.setDesired({
      ...this.desired,
      desired: 'running',
      stoppedServices: this.desired.stoppedServices.filter((s) => s !== id),
    })
    this.clearProblem(id)
    await this.reconcileNow()
  }

  async stopService(id: string): Promise<void> {
    this.requireService(id)
    if (!this.desired.stoppedServices.includes(id)) {
      this.setDesired({ ...this.desired, stoppedServices: [...this.desired.stoppedServices, id] })
    }
    await this.reconcileNow()
    await this.stopsSettled(new Set([id]))
  }

  async restartService(id: string): Promise<void> {
    const spec = this.requireService(id)
    this.clearProblem(id)
    const r = this.runtime(id)
    if (r.containerId && r.running && this.docker) {
      await this.stopContainer(spec, r.containerId)
    }
    await this.startService(id)
  }

  /** Downloads (or loads from the bundle) every planned image, with progress events. */
  async pullImages(): Promise<void> {
    const docker = this.requireDocker()
    const plan = this.requirePlan()
    const errors: FlashError[] = []
    for (const spec of plan.services) {
      try {
        await this.ensureServiceImage(docker, spec)
      } catch (err) {
        errors.push(err instanceof FlashError ? err : new FlashError('internal', String(err), ''))
      }
    }
    if (errors[0]) throw errors[0]
  }

  dismissAlert(id: string): void {
    this.alerts.delete(id)
    this.publishStatus()
  }

  // ── observation for the API ──────────────────────────────────────────────────────────────

  dockerState(): DockerStatus {
    return this.dockerStatus
  }

  serviceStatuses(): ServiceStatus[] {
    return (this.plan?.services ?? []).map((s) => this.statusOf(s))
  }

  alertList(): Alert[] {
    return [...this.alerts.values()]
  }

  async logs(id: string, tail: number, search?: string): Promise<LogLine[]> {
    this.requireService(id)
    const docker = this.requireDocker()
    const c = await this.findContainer(id)
    if (!c) return []
    return tailLogs(docker, c, id, tail, search)
  }

  async followLogs(id: string, follow: boolean): Promise<void> {
    this.requireService(id)
    const existing = this.logFollows.get(id)
    if (!follow) {
      existing?.()
      this.logFollows.delete(id)
      return
    }
    if (existing) return
    const docker = this.requireDocker()
    const c = await this.findContainer(id)
    if (!c) {
      throw new FlashError(
        'stack.service_not_running',
        `${this.requireService(id).displayName} has no container yet, so there are no logs to follow.`,
        'Start the service, then open its logs again.',
      )
    }
    const stop = await followLogs(docker, c, id, (line) =>
      this.opts.publish({ topic: 'stack', type: 'log', line }),
    )
    this.logFollows.set(id, stop)
  }

  stats(id: string): StatsSample[] {
    this.requireService(id)
    return this.runtime(id).stats.toArray()
  }

  /** Resolves once `pred` holds for the published statuses (tests, benchmarks, the CLI). */
  waitFor(pred: (services: ServiceStatus[]) => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolveWait, reject) => {
      const check = () => pred(this.serviceStatuses())
      if (check()) return resolveWait()
      const iv = setInterval(() => {
        if (check()) {
          clearInterval(iv)
          clearTimeout(to)
          resolveWait()
        }
      }, 100)
      const to = setTimeout(() => {
        clearInterval(iv)
        reject(
          new Error(
            `timed out; states: ${this.serviceStatuses()
              .map((s) => `${s.id}=${s.state}`)
              .join(' ')}`,
          ),
        )
      }, timeoutMs)
    })
  }

  // ── reconcile ────────────────────────────────────────────────────────────────────────────

  /** Ask for a pass; passes never overlap, and a request during a pass runs another one. */
  kick(): void {
    this.dirty = true
    if (!this.running) this.running = this.loop()
  }

  /** Kick and wait until the stack has converged as far as it can right now. */
  async reconcileNow(): Promise<void> {
    this.kick()
    while (this.running) await this.running
  }

  private async loop(): Promise<void> {
    try {
      while (this.dirty && !this.closed) {
        this.dirty = false
        try {
          await this.reconcile()
        } catch (err) {
          if (this.isDisconnect(err)) this.onDisconnect(err)
          else this.log.error('reconcile failed', { error: (err as Error).message })
        }
      }
    } finally {
      this.running = undefined
    }
  }

  /** One pass: look, plan (reconcile-plan.ts, pure), apply. Stops run in the background. */
  private async reconcile(): Promise<void> {
    const docker = this.docker
    const plan = this.plan
    if (!docker || !plan) return
    const observed = await this.observe(docker, plan)
    const planned = new Set(plan.services.map((s) => s.id))
    const steps = planReconcile({
      desired: this.desired,
      services: plan.services.map((spec) => {
        const r = this.runtime(spec.id)
        return {
          spec,
          hash: specHash(spec, plan.dockerNetwork),
          containers: observed.get(spec.id) ?? [],
          health: r.health,
          stopping: this.stops.has(spec.id),
          crashLoop: r.crash.crashLoop,
          problem: r.problem !== undefined,
          retry: this.retry.has(spec.id),
          locked: this.lockedOut(spec),
          ...(r.crash.nextRestartAt !== undefined ? { nextRestartAt: r.crash.nextRestartAt } : {}),
        }
      }),
      orphans: [...observed]
        .filter(([id]) => !planned.has(id))
        .map(([serviceId, cs]) => ({ serviceId, containerIds: cs.map((c) => c.id) })),
      now: Date.now(),
    })
    await this.apply(docker, plan, steps)
    this.publishStatus()
  }

  /** Carries out a pass's steps: removals first, stops launched, then starts level by level. */
  private async apply(docker: Docker, plan: StackPlan, steps: readonly ReconcileStep[]) {
    const specOf = (id: string) => plan.services.find((s) => s.id === id)!
    const remove = (ids: readonly string[]) =>
      Promise.all(
        ids.map((id) =>
          docker
            .getContainer(id)
            .remove({ force: true, v: false })
            .catch(() => {}),
        ),
      )
    const starts: Extract<ReconcileStep, { kind: 'start' }>[] = []
    for (const step of steps) {
      switch (step.kind) {
        case 'remove-orphans':
          // The service left the plan: its container goes, its data stays.
          await remove(step.containerIds)
          this.rt.delete(step.serviceId)
          break
        case 'ensure-network':
          await this.ensureNetwork(docker, plan)
          break
        case 'remove-duplicates':
          this.log.warn('removing duplicate containers', {
            service: step.serviceId,
            containers: step.containerIds.length,
          })
          await remove(step.containerIds)
          break
        case 'remove-stale':
          this.log.info(`${step.serviceId}: configuration changed, recreating its container`)
          await remove([step.containerId])
          this.runtime(step.serviceId).containerId = undefined
          break
        case 'stop':
          for (const id of step.containerIds) this.stopInBackground(specOf(step.serviceId), id)
          break
        case 'recreate':
          this.log.info(`${step.serviceId}: configuration changed, recreating its container`)
          this.stopInBackground(specOf(step.serviceId), step.containerId, async () => {
            await remove([step.containerId])
            this.runtime(step.serviceId).containerId = undefined
          })
          break
        case 'stopped': {
          const r = this.runtime(step.serviceId)
          r.crash = { ...r.crash, nextRestartAt: undefined }
          this.publishService(specOf(step.serviceId))
          break
        }
        case 'keep': {
          // Adopted (or already ours). Forgive old crashes once it has been up long enough.
          const r = this.runtime(step.serviceId)
          if (r.startedAt)
            r.crash = settle(r.crash, Date.parse(r.startedAt), Date.now(), this.policy)
          this.publishService(specOf(step.serviceId))
          break
        }
        case 'await-backoff':
          this.after(step.at - Date.now(), () => this.kick())
          this.publishService(specOf(step.serviceId))
          break
        case 'start':
          starts.push(step)
          break
        default:
          this.publishService(specOf(step.serviceId))
      }
    }
    // A daemon that is shutting down first stops listening, then stops every container: their
    // `die` looks like a crash. A start sent to it then (over a kept-alive connection, which it
    // still serves) leaves a containerd task behind that the restarted daemon can neither use nor
    // clean up ("task already exists"), and its shim outlives everything. So nothing is started
    // unless the daemon still takes new connections; if not, this is a disconnect.
    if (starts.length) await acceptsNewConnections(docker)
    // Each level after the one before: a dependency's container exists before its dependents'.
    const levels = [...new Set(starts.map((s) => s.level))].sort((a, b) => a - b)
    for (const level of levels) {
      await Promise.all(
        starts
          .filter((s) => s.level === level)
          .map((s) => this.start(docker, plan, specOf(s.serviceId), s)),
      )
    }
  }

  /**
   * Stops a container without holding up the reconcile loop (LND may need minutes): the
   * service shows "stopping", other services keep being reconciled, and the end of the stop
   * triggers another pass (which may stop the next dependency, or start it again).
   */
  private stopInBackground(
    spec: ContainerSpec,
    containerId: string,
    then?: () => Promise<void>,
  ): void {
    if (this.stops.has(spec.id)) return
    const done = (async () => {
      try {
        await this.stopContainer(spec, containerId)
        await then?.()
      } catch (err) {
        if (this.isDisconnect(err)) this.onDisconnect(err)
        else this.log.error(`${spec.id} did not stop cleanly`, { error: (err as Error).message })
      } finally {
        this.stops.delete(spec.id)
        this.kick()
      }
    })()
    this.stops.set(spec.id, done)
  }

  /** Waits until no stop of these services (default: all) is in flight and the loop is idle. */
  private async stopsSettled(ids?: ReadonlySet<string>): Promise<void> {
    for (;;) {
      const pending = [...this.stops].filter(([id]) => !ids || ids.has(id)).map(([, p]) => p)
      if (!pending.length && !this.running) return
      await Promise.allSettled([...pending, ...(this.running ? [this.running] : [])])
    }
  }

  private async observe(docker: Docker, plan: StackPlan): Promise<Map<string, Observed[]>> {
    // An event that arrives while Docker lists the containers (a `die` just after the listing
    // saw it running) is newer than the listing: the runtime keeps what the event said, and
    // another pass looks again.
    const eventsBefore = new Map([...this.rt].map(([id, r]) => [id, r.events]))
    const fresh = (id: string) => (eventsBefore.get(id) ?? 0) === this.runtime(id).events
    const list = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_PROJECT}=${plan.project}`] },
    })
    const out = new Map<string, Observed[]>()
    const seen = new Set<string>()
    for (const c of list) {
      const id = c.Labels[LABEL_SERVICE]
      if (!id) continue
      seen.add(id)
      const arr = out.get(id) ?? []
      arr.push({ id: c.Id, state: c.State, created: c.Created, hash: c.Labels[LABEL_SPEC_HASH] })
      out.set(id, arr)
      const r = this.runtime(id)
      if (!fresh(id)) {
        this.dirty = true
        continue
      }
      if (c.State === 'running') {
        if (r.containerId !== c.Id || !r.running) {
          this.startStats(id, c.Id)
          r.startedAt = await this.startedAtOf(docker, c.Id)
        }
        r.containerId = c.Id
        r.running = true
        r.health = healthFromStatus(c.Status)
      } else if (!arr.some((o) => o.state === 'running')) {
        r.containerId = c.Id
        r.running = false
        r.health = 'none'
      }
    }
    for (const [id, r] of this.rt) {
      if (!seen.has(id) && fresh(id)) {
        r.containerId = undefined
        r.running = false
        r.health = 'none'
      }
    }
    return out
  }

  private async startedAtOf(docker: Docker, id: string): Promise<string | undefined> {
    try {
      const info = (await docker.getContainer(id).inspect()) as { State?: { StartedAt?: string } }
      return info.State?.StartedAt
    } catch {
      return undefined
    }
  }

  private depsReady(spec: ContainerSpec): boolean {
    return spec.dependsOn.every((d) => {
      const r = this.rt.get(d.id)
      if (!r?.running) return false
      if (d.condition === 'started') return true
      const probed = this.plan?.services.find((s) => s.id === d.id)?.health.test.length
      return r.health === 'healthy' || (!probed && r.health === 'none')
    })
  }

  private hasProbe(id: string): boolean {
    return !!this.plan?.services.find((s) => s.id === id)?.health.test.length
  }

  private async stopContainer(spec: ContainerSpec, containerId: string): Promise<void> {
    const r = this.runtime(spec.id)
    r.stopping = true
    r.expectingStop = true
    this.publishService(spec)
    this.log.info(`stopping ${spec.id}`, { graceSeconds: spec.stopGraceSeconds })
    try {
      // `t` is the grace between SIGTERM and SIGKILL: bitcoind and LND get minutes to flush.
      await this.docker!.getContainer(containerId).stop({ t: spec.stopGraceSeconds })
    } catch (err) {
      const code = (err as { statusCode?: number }).statusCode
      if (code !== 304 && code !== 404) throw err // 304: already stopped
      r.expectingStop = false // no `die` will come
    } finally {
      r.stopping = false
      r.running = false
      r.health = 'none'
      r.statsStop?.()
      r.statsStop = undefined
      this.publishService(spec)
    }
  }

  /** Starts a service's container (the existing one, or a new one) as planned. */
  private async start(
    docker: Docker,
    plan: StackPlan,
    spec: ContainerSpec,
    step: Extract<ReconcileStep, { kind: 'start' }>,
  ): Promise<void> {
    const r = this.runtime(spec.id)
    const hash = specHash(spec, plan.dockerNetwork)
    let current: Observed | undefined = step.containerId
      ? { id: step.containerId, state: 'created', created: 0, hash }
      : undefined
    try {
      this.writeFiles(plan, spec)
      if (current) {
        await assertPortsFree(spec)
        await docker.getContainer(current.id).start()
      } else {
        const image = await this.ensureServiceImage(docker, spec)
        await assertPortsFree(spec)
        const created = await this.createContainer(docker, plan, spec, image, hash)
        current = { id: created, state: 'created', created: Date.now() / 1000, hash }
        await docker.getContainer(created).start()
      }
      if (spec.unlockKeys) {
        try {
          r.keyless = this.opts.keyring?.state !== 'unlocked'
          await deliverUnlockKeys(docker, current.id, spec, this.opts.keyring)
        } catch (err) {
          if (this.isDisconnect(err)) throw err
          // Without its key the service only waits: stop it rather than leave it hanging.
          await docker
            .getContainer(current.id)
            .kill()
            .catch(() => {})
          r.expectingStop = true
          throw keyDeliveryError(spec, err)
        }
      }
      if (step.afterCrash) r.crash = recordRestart({ ...r.crash, nextRestartAt: undefined })
      r.containerId = current.id
      r.running = true
      r.health = spec.health.test.length ? 'starting' : 'none'
      r.expectingStop = false
      r.oom = false
      r.startedAt = new Date().toISOString()
      r.problem = undefined
      this.retry.delete(spec.id)
      this.alerts.delete(`failed:${spec.id}`)
      this.startStats(spec.id, current.id)
      this.log.info(`started ${spec.id}`, { container: current.id.slice(0, 12) })
      this.scheduleSettle(spec.id)
    } catch (err) {
      if (this.isDisconnect(err)) throw err
      const status = (err as { statusCode?: number }).statusCode
      if (status === 304) return // already started
      if (!(err instanceof FlashError) && status !== undefined && status >= 500) {
        // Docker's own trouble (e.g. "task already exists" just after the daemon restarted) is
        // usually transient: retry with the crash backoff; the crash-loop limit bounds it.
        r.crash = recordCrash(r.crash, Date.now(), this.policy)
        if (!r.crash.crashLoop && r.crash.nextRestartAt !== undefined) {
          this.log.warn(`${spec.id}: Docker refused to start it; retrying`, {
            error: (err as Error).message,
          })
          // A container Docker cannot start again (a task left over from its shutdown) is
          // replaced: remove it, keeping volumes and bind-mounted data; the retry creates anew.
          if (current) {
            await docker
              .getContainer(current.id)
              .remove({ force: true, v: false })
              .catch(() => {})
            r.containerId = undefined
            r.running = false
          }
          this.after(r.crash.nextRestartAt - Date.now(), () => this.kick())
          return this.publishService(spec)
        }
      }
      this.log.error(`${spec.id} could not start`, { error: (err as Error).message })
      const p: UserError =
        err instanceof FlashError
          ? toUserError(err)
          : {
              code: 'stack.start_failed',
              message: `${spec.displayName} could not start: ${(err as Error).message}`,
              hint: 'Open its logs to see why, fix the cause, then press Start again.',
            }
      r.problem = p
      this.retry.delete(spec.id)
      this.raise({
        id: `failed:${spec.id}`,
        severity: 'critical',
        serviceId: spec.id,
        title: `${spec.displayName} cannot start`,
        message: p.message,
        hint: p.hint,
        at: new Date().toISOString(),
      })
    }
    this.publishService(spec)
  }

  private async ensureServiceImage(docker: Docker, spec: ContainerSpec): Promise<string> {
    const r = this.runtime(spec.id)
    r.pulling = true
    this.publishService(spec)
    try {
      return await ensureImage(docker, spec.image, spec.displayName, {
        bundleDir: this.bundleDir,
        offline: this.opts.offline,
        onProgress: (p) =>
          this.opts.publish({
            topic: 'stack',
            type: 'image-progress',
            image: `${spec.image.repository}:${spec.image.tag}`,
            serviceId: spec.id,
            ...p,
          }),
      })
    } finally {
      r.pulling = false
    }
  }

  private inDataDir(plan: StackPlan, p: string): boolean {
    const rel = relative(resolve(plan.dataDir), resolve(p))
    return isAbsolute(p) && !rel.startsWith('..') && !isAbsolute(rel)
  }

  /** Rendered config files, written atomically with their modes, and the bind-mount sources. */
  private writeFiles(plan: StackPlan, spec: ContainerSpec): void {
    try {
      for (const m of spec.mounts) {
        if (m.kind === 'bind' && this.inDataDir(plan, m.source)) {
          mkdirSync(m.source, { recursive: true, mode: 0o700 })
        }
      }
      for (const f of spec.files) {
        if (!this.inDataDir(plan, f.hostPath)) {
          throw new FlashError(
            'stack.file_outside_data_dir',
            `${spec.displayName}'s configuration file ${f.hostPath} is outside the data folder.`,
            'This is a bug in the service catalog; please report it.',
          )
        }
        writeFileAtomicSync(f.hostPath, f.contents, f.mode)
      }
    } catch (err) {
      if (err instanceof FlashError) throw err
      throw this.notWritable(plan.dataDir, err)
    }
  }

  private notWritable(dir: string, err: unknown): FlashError {
    return new FlashError(
      'stack.datadir_not_writable',
      `Flash Box cannot write to its data folder ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
      'Choose a data folder on a disk that is mounted read-write and that your user owns (it is shown in Settings → Your stack → Data folder), or fix its permissions, then start again.',
      { cause: err },
    )
  }

  private assertDataDirWritable(): void {
    const dir = this.plan?.dataDir ?? this.opts.dataDir
    const probe = resolve(dir, `.flashbox-write-test-${process.pid}`)
    try {
      mkdirSync(dir, { recursive: true })
      writeFileSync(probe, 'ok')
      rmSync(probe, { force: true })
    } catch (err) {
      throw this.notWritable(dir, err)
    }
  }

  private labels(plan: StackPlan, serviceId?: string): Record<string, string> {
    return {
      ...this.opts.extraLabels,
      [LABEL_PROJECT]: plan.project,
      [LABEL_MANAGED]: MANAGED_BY,
      ...(serviceId ? { [LABEL_SERVICE]: serviceId } : {}),
    }
  }

  private async ensureNetwork(docker: Docker, plan: StackPlan): Promise<void> {
    const nets = await docker.listNetworks({ filters: { name: [plan.dockerNetwork] } })
    if (nets.some((n) => n.Name === plan.dockerNetwork)) return
    try {
      await docker.createNetwork({
        Name: plan.dockerNetwork,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: this.labels(plan),
      })
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 409) throw err
    }
  }

  private async createContainer(
    docker: Docker,
    plan: StackPlan,
    spec: ContainerSpec,
    image: string,
    hash: string,
  ): Promise<string> {
    for (const m of spec.mounts) {
      if (m.kind !== 'volume') continue
      const exists = await docker
        .getVolume(m.name)
        .inspect()
        .then(() => true)
        .catch(() => false)
      if (!exists) {
        await docker.createVolume({ Name: m.name, Labels: this.labels(plan, spec.id) })
      }
    }
    const exposed: Record<string, object> = {}
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {}
    for (const p of spec.ports) {
      const key = `${p.container}/${p.protocol}`
      exposed[key] = {}
      if (p.host !== undefined) {
        bindings[key] = [{ HostIp: p.hostIp ?? '127.0.0.1', HostPort: String(p.host) }]
      }
    }
    const name = containerName(plan.project, spec.id)
    // This computer's address on the stack network, under the name the spec asks for.
    const extraHosts: string[] = []
    if (spec.gatewayHostname && spec.networkMode !== 'host') {
      const gw = await stackGateway(docker, plan.dockerNetwork)
      if (gw) extraHosts.push(`${spec.gatewayHostname}:${gw.gateway}`)
      else
        this.log.warn('the stack network has no IPv4 gateway; a service cannot reach the box', {
          service: spec.id,
        })
    }
    const create = () =>
      docker.createContainer({
        name,
        Image: image,
        ...(spec.entrypoint ? { Entrypoint: [...spec.entrypoint] } : {}),
        Cmd: [...spec.command],
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        ...(spec.user ? { User: spec.user } : {}),
        ...(spec.networkMode === 'host' ? {} : { Hostname: spec.hostname }),
        Labels: { ...this.labels(plan, spec.id), [LABEL_SPEC_HASH]: hash },
        ExposedPorts: exposed,
        StopSignal: 'SIGTERM',
        StopTimeout: spec.stopGraceSeconds,
        ...(spec.health.test.length
          ? {
              Healthcheck: {
                Test: [...spec.health.test],
                Interval: ms(spec.health.intervalMs),
                Timeout: ms(spec.health.timeoutMs),
                Retries: spec.health.retries,
                StartPeriod: ms(spec.health.startPeriodMs),
              },
            }
          : {}),
        HostConfig: {
          NetworkMode: spec.networkMode === 'host' ? 'host' : plan.dockerNetwork,
          Mounts: spec.mounts.map((m) =>
            m.kind === 'bind'
              ? {
                  Type: 'bind' as const,
                  Source: m.source,
                  Target: m.target,
                  ReadOnly: !!m.readOnly,
                }
              : {
                  Type: 'volume' as const,
                  Source: m.name,
                  Target: m.target,
                  ReadOnly: !!m.readOnly,
                },
          ),
          PortBindings: bindings,
          ...(extraHosts.length ? { ExtraHosts: extraHosts } : {}),
          // The supervisor restarts crashed services itself (backoff, crash-loop detection).
          RestartPolicy: { Name: 'no' },
          ...confinementHostConfig(spec),
          LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
        },
        ...(spec.networkMode === 'host'
          ? {}
          : {
              NetworkingConfig: {
                EndpointsConfig: { [plan.dockerNetwork]: { Aliases: [spec.hostname, spec.id] } },
              },
            }),
      })
    try {
      return (await create()).id
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 409) throw err
      // A container with our name that the label query did not return (made by someone else,
      // or a create interrupted by a crash): only replace it when it is ours.
      const other = (await docker.getContainer(name).inspect()) as {
        Config: { Labels?: Record<string, string> }
      }
      if (other.Config.Labels?.[LABEL_PROJECT] !== plan.project) {
        throw new FlashError(
          'stack.name_taken',
          `A container named ${name} already exists and does not belong to Flash Box.`,
          `Rename or remove that container (\`docker rm ${name}\` after checking what it is), then start again.`,
        )
      }
      await docker.getContainer(name).remove({ force: true, v: false })
      return (await create()).id
    }
  }

  // ── events from Docker ───────────────────────────────────────────────────────────────────

  private async connect(): Promise<void> {
    const found = await (this.opts.connect ?? (() => detectDockerEngine()))()
    this.dockerStatus = found.status
    if (!found.client) {
      this.raiseDockerAlert()
      this.publishStatus()
      return
    }
    const docker = found.client
    const stream = (await docker.getEvents({
      filters: {
        type: ['container'],
        event: ['start', 'die', 'oom', 'health_status', 'destroy'],
        label: [LABEL_MANAGED + '=' + MANAGED_BY],
      },
    })) as NodeJS.ReadableStream & { destroy?: () => void }
    this.docker = docker
    this.eventStream = stream
    this.alerts.delete('docker')
    let buf = ''
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8')
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim()
        buf = buf.slice(nl + 1)
        if (!line) continue
        try {
          this.onEvent(JSON.parse(line))
        } catch (err) {
          this.log.debug('unreadable docker event', { error: (err as Error).message })
        }
      }
    })
    const ended = () => {
      if (this.eventStream !== stream) return
      this.eventStream = undefined
      this.onDisconnect(new Error('Docker event stream ended'))
    }
    stream.on('end', ended)
    stream.on('close', ended)
    stream.on('error', ended)
    this.log.info('connected to Docker', {
      host: found.status.host,
      version: found.status.version,
    })
    if (this.reconnecting) {
      // Starts that Docker itself refused while it was going away (e.g. restarting a container
      // that died in its shutdown) are stale now: look again instead of waiting for the user.
      for (const [id, r] of this.rt)
        if (r.problem?.code === 'stack.start_failed') this.clearProblem(id)
    }
    this.publishStatus()
    this.kick()
  }

  private onEvent(ev: {
    Action?: string
    id?: string
    timeNano?: number
    Actor?: { ID?: string; Attributes?: Record<string, string> }
  }): void {
    const attrs = ev.Actor?.Attributes ?? {}
    if (!this.plan || attrs[LABEL_PROJECT] !== this.plan.project) return
    const id = attrs[LABEL_SERVICE]
    const spec = id ? this.plan.services.find((s) => s.id === id) : undefined
    if (!spec || !ev.Action) return
    const r = this.runtime(spec.id)
    const containerId = ev.Actor?.ID ?? ev.id
    if (ev.Action === 'start' || ev.Action === 'die' || ev.Action === 'destroy') r.events++
    if (ev.Action.startsWith('health_status')) {
      r.health = ev.Action.includes('unhealthy') ? 'unhealthy' : 'healthy'
      if (r.health === 'unhealthy') {
        this.raise({
          id: `unhealthy:${spec.id}`,
          severity: 'warning',
          serviceId: spec.id,
          title: `${spec.displayName} is not answering`,
          message: `${spec.displayName} is running but its health check fails.`,
          hint: 'Open its logs to see why. It often recovers by itself; if not, restart it.',
          at: new Date().toISOString(),
        })
      } else this.alerts.delete(`unhealthy:${spec.id}`)
      this.publishService(spec)
      this.kick() // dependents may now start
      return
    }
    switch (ev.Action) {
      case 'start':
        if (!r.running) r.health = spec.health.test.length ? 'starting' : 'none'
        r.running = true
        r.containerId = containerId
        this.publishService(spec)
        return
      case 'oom':
        r.oom = true
        return
      case 'die': {
        const exitCode = Number(attrs.exitCode ?? 'NaN')
        // A late `die` of a run that ended before the current one started is old news.
        const at = ev.timeNano ? ev.timeNano / 1e6 : Date.now()
        if (r.startedAt && at < Date.parse(r.startedAt) - 5) return
        r.running = false
        r.health = 'none'
        r.statsStop?.()
        r.statsStop = undefined
        if (r.expectingStop) {
          r.expectingStop = false
          this.publishService(spec)
          return
        }
        const wanted =
          this.desired.desired === 'running' && !this.desired.stoppedServices.includes(spec.id)
        if (!wanted) return this.publishService(spec)
        r.crash = recordCrash(r.crash, Date.now(), this.policy)
        this.log.warn(`${spec.id} crashed`, {
          exitCode,
          oom: r.oom,
          crashesInWindow: r.crash.crashes.length,
        })
        if (r.crash.crashLoop) {
          this.raise({
            id: `crash-loop:${spec.id}`,
            severity: 'critical',
            serviceId: spec.id,
            title: `${spec.displayName} keeps crashing`,
            message: `${spec.displayName} stopped unexpectedly ${r.crash.crashes.length} times in a short time${r.oom ? ' (it ran out of memory)' : ''}, so Flash Box stopped restarting it.`,
            hint: r.oom
              ? 'Give it more memory (close other programs or lower its cache in Settings), then press Restart.'
              : 'Open its logs to see why, fix the cause, then press Restart.',
            at: new Date().toISOString(),
          })
        } else if (r.crash.nextRestartAt !== undefined) {
          this.after(r.crash.nextRestartAt - Date.now(), () => this.kick())
        }
        this.publishService(spec)
        return
      }
      case 'destroy':
        if (r.containerId === containerId) {
          r.containerId = undefined
          r.running = false
        }
        this.kick()
        return
    }
  }

  private isDisconnect(err: unknown): boolean {
    const code = (err as NodeJS.ErrnoException)?.code
    return (
      code === 'ECONNREFUSED' ||
      code === 'ENOENT' ||
      code === 'ECONNRESET' ||
      code === 'EPIPE' ||
      /socket hang up/i.test((err as Error)?.message ?? '')
    )
  }

  private onDisconnect(err: unknown): void {
    if (this.closed || this.reconnecting) return
    this.log.warn('lost the connection to Docker; reconnecting', {
      error: (err as Error)?.message,
    })
    this.eventStream?.destroy?.()
    this.eventStream = undefined
    this.docker = undefined
    for (const r of this.rt.values()) {
      r.statsStop?.()
      r.statsStop = undefined
    }
    this.dockerStatus = { ...this.dockerStatus, state: 'not-running' }
    this.publishStatus()
    this.scheduleReconnect(0)
  }

  private scheduleReconnect(attempt: number): void {
    if (this.closed) return
    this.reconnecting = true
    const base = this.opts.reconnectBaseMs ?? 500
    const delay = Math.min(base * 2 ** attempt, this.opts.reconnectMaxMs ?? 10_000)
    this.after(delay, () => {
      this.connect()
        .catch((e) => this.log.debug('reconnect failed', { error: (e as Error).message }))
        .finally(() => {
          if (this.docker) {
            this.reconnecting = false
            this.log.info('reconnected to Docker; reconciling')
          } else this.scheduleReconnect(attempt + 1)
        })
    })
  }

  // ── stats ────────────────────────────────────────────────────────────────────────────────

  private startStats(serviceId: string, containerId: string): void {
    if (this.opts.collectStats === false || !this.docker) return
    const r = this.runtime(serviceId)
    r.statsStop?.()
    const docker = this.docker
    let stopped = false
    let stream: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined
    r.statsStop = () => {
      stopped = true
      stream?.destroy?.()
    }
    void (async () => {
      try {
        stream = (await docker
          .getContainer(containerId)
          .stats({ stream: true })) as unknown as NodeJS.ReadableStream & { destroy?: () => void }
        if (stopped) return stream.destroy?.()
        let buf = ''
        let lastPublish = 0
        stream.on('data', (chunk: Buffer) => {
          buf += chunk.toString('utf8')
          let nl: number
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl)
            buf = buf.slice(nl + 1)
            if (!line.trim()) continue
            let s: DockerStats
            try {
              s = JSON.parse(line) as DockerStats
            } catch {
              continue
            }
            void this.refreshDisk(serviceId, containerId)
            const sample = toSample(serviceId, s, r.diskBytes)
            r.stats.push(sample)
            const now = Date.now()
            if (now - lastPublish >= 2000) {
              lastPublish = now
              this.opts.publish({ topic: 'stack', type: 'stats', sample })
            }
          }
        })
        stream.on('error', () => {})
      } catch {
        // the container went away; the next start restarts the stream
      }
    })()
  }

  private async refreshDisk(serviceId: string, containerId: string): Promise<void> {
    const r = this.runtime(serviceId)
    const now = Date.now()
    if (now - r.diskCheckedAt < 30_000 || !this.docker) return
    r.diskCheckedAt = now
    const spec = this.plan?.services.find((s) => s.id === serviceId)
    let total = 0
    try {
      // `size=1` adds SizeRw (the writable layer); the typings do not know the flag.
      const sizeOpt = { size: true } as unknown as Docker.ContainerInspectOptions
      const info = (await this.docker.getContainer(containerId).inspect(sizeOpt)) as {
        SizeRw?: number
      }
      total += info.SizeRw ?? 0
    } catch {
      // gone
    }
    for (const m of spec?.mounts ?? []) {
      if (m.kind === 'bind' && !m.readOnly) total += await dirSize(m.source)
    }
    r.diskBytes = total
  }

  // ── status and alerts ────────────────────────────────────────────────────────────────────

  private runtime(id: string): Runtime {
    let r = this.rt.get(id)
    if (!r) {
      r = {
        running: false,
        health: 'none',
        crash: noCrashes,
        stopping: false,
        pulling: false,
        expectingStop: false,
        oom: false,
        stats: new RingBuffer<StatsSample>(300),
        diskBytes: 0,
        diskCheckedAt: 0,
        events: 0,
      }
      this.rt.set(id, r)
    }
    return r
  }

  private stateOf(spec: ContainerSpec, r: Runtime): ServiceState {
    const wanted =
      this.desired.desired === 'running' && !this.desired.stoppedServices.includes(spec.id)
    if (r.stopping) return 'stopping'
    if (r.running) {
      if (r.health === 'healthy' || (r.health === 'none' && !this.hasProbe(spec.id)))
        return 'healthy'
      return r.health === 'unhealthy' ? 'unhealthy' : 'starting'
    }
    if (r.pulling) return 'pulling'
    if (!wanted) return 'stopped'
    if (r.crash.crashLoop) return 'crash-loop'
    if (r.problem) return 'failed'
    if (r.crash.nextRestartAt !== undefined) return 'restarting'
    if (!this.depsReady(spec) || this.lockedOut(spec)) return 'waiting'
    return 'starting'
  }

  /** The services `spec` still waits for, by name (for "Waiting for Bitcoin Core"). */
  private waitingFor(spec: ContainerSpec): string[] {
    return [
      ...spec.dependsOn
        .filter((d) => !this.depsReady({ ...spec, dependsOn: [d] }))
        .map((d) => this.plan?.services.find((s) => s.id === d.id)?.displayName ?? d.id),
      // Shown as "Waiting for unlock": the owner password opens the box (Settings → Backup).
      ...(this.lockedOut(spec) ? ['unlock'] : []),
    ]
  }

  /** The service needs keys from the box key, and the box is locked. */
  private lockedOut(spec: ContainerSpec): boolean {
    return !!spec.unlockKeys && this.opts.keyring?.state === 'locked'
  }

  /**
   * The box was unlocked: services waiting for it start, and one started before the owner had a
   * password (its key files were empty) is restarted once so it seals its secrets under the key.
   */
  private onUnlock(): void {
    for (const spec of this.plan?.services ?? []) {
      const r = this.rt.get(spec.id)
      if (!spec.unlockKeys || !r?.keyless || !r.running || !r.containerId) continue
      r.keyless = false
      this.log.info(`${spec.id}: the box was unlocked; restarting it with its key`)
      this.stopInBackground(spec, r.containerId)
    }
    this.kick()
  }

  private statusOf(spec: ContainerSpec): ServiceStatus {
    const r = this.runtime(spec.id)
    const state = this.stateOf(spec, r)
    return {
      id: spec.id,
      displayName: spec.displayName,
      description: spec.description,
      state,
      ...(state === 'waiting' ? { waitingFor: this.waitingFor(spec) } : {}),
      enabled: true,
      image: `${spec.image.repository}:${spec.image.tag}`,
      ...(r.containerId ? { containerId: r.containerId } : {}),
      ...(r.running && r.startedAt ? { startedAt: r.startedAt } : {}),
      restarts: r.crash.restarts,
      ...(r.crash.nextRestartAt !== undefined && !r.running
        ? { nextRestartAt: new Date(r.crash.nextRestartAt).toISOString() }
        : {}),
      ...(r.problem ? { problem: r.problem } : {}),
      ports: spec.ports
        .filter((p) => p.host !== undefined)
        .map((p) => ({ host: p.host!, purpose: p.purpose })),
    }
  }

  private publishService(spec: ContainerSpec): void {
    const status = this.statusOf(spec)
    const key = JSON.stringify(status)
    if (this.published.get(spec.id) === key) return
    this.published.set(spec.id, key)
    this.opts.publish({ topic: 'stack', type: 'service', service: status })
  }

  /** Called by the owner to publish a full status; also after each pass. */
  private publishStatus(): void {
    for (const s of this.plan?.services ?? []) this.publishService(s)
    this.opts.publish({
      topic: 'stack',
      type: 'status',
      status: {
        setupComplete: !!this.plan,
        desired: this.desired.desired,
        docker: this.dockerStatus,
        services: this.serviceStatuses(),
        alerts: this.alertList(),
      },
    })
  }

  private raise(alert: Alert): void {
    const prev = this.alerts.get(alert.id)
    if (prev && prev.message === alert.message) return
    this.alerts.set(alert.id, alert)
    this.opts.publish({ topic: 'stack', type: 'alert', alert })
  }

  private raiseDockerAlert(): void {
    const p = this.dockerStatus.problem
    if (!p) return
    this.raise({
      id: 'docker',
      severity: 'critical',
      title: 'Docker is not available',
      message: p.message,
      hint: p.hint,
      at: new Date().toISOString(),
    })
  }

  private clearProblem(id: string): void {
    const r = this.runtime(id)
    r.problem = undefined
    r.crash = r.crash.crashLoop ? { ...noCrashes, restarts: r.crash.restarts } : r.crash
    this.alerts.delete(`failed:${id}`)
    this.alerts.delete(`crash-loop:${id}`)
    this.retry.add(id)
  }

  private scheduleSettle(id: string): void {
    const r = this.runtime(id)
    if (r.crash.crashes.length === 0) return
    this.after(this.policy.stableAfterMs + 50, () => {
      const cur = this.runtime(id)
      if (cur.running && cur.startedAt) {
        cur.crash = settle(cur.crash, Date.parse(cur.startedAt), Date.now(), this.policy)
        const spec = this.plan?.services.find((s) => s.id === id)
        if (spec) this.publishService(spec)
      }
    })
  }

  private after(delayMs: number, fn: () => void): void {
    const t = setTimeout(
      () => {
        this.timers.delete(t)
        if (!this.closed) fn()
      },
      Math.max(0, delayMs),
    )
    t.unref()
    this.timers.add(t)
  }

  private setDesired(next: DesiredState): void {
    saveDesiredState(this.opts.dataDir, next)
    this.desired = next
  }

  private requirePlan(): StackPlan {
    if (!this.plan) {
      throw new FlashError(
        'stack.not_set_up',
        'The stack is not set up yet.',
        'Finish the setup wizard (choose network and services), then try again.',
      )
    }
    return this.plan
  }

  private requireService(id: string): ContainerSpec {
    const spec = this.requirePlan().services.find((s) => s.id === id)
    if (!spec) {
      throw new FlashError(
        'stack.unknown_service',
        `There is no service "${id}" in this stack.`,
        'Enable it in Settings first, or pick one of the services shown on the dashboard.',
      )
    }
    return spec
  }

  private requireDocker(): Docker {
    if (!this.docker) {
      const p = this.dockerStatus.problem
      throw new FlashError(
        p?.code ?? 'docker.not_running',
        p?.message ?? 'Docker is not available right now.',
        p?.hint ?? 'Start Docker, then try again.',
      )
    }
    return this.docker
  }

  private async findContainer(id: string): Promise<string | undefined> {
    const r = this.runtime(id)
    if (r.containerId) return r.containerId
    const plan = this.requirePlan()
    const list = await this.requireDocker().listContainers({
      all: true,
      filters: { label: [`${LABEL_PROJECT}=${plan.project}`, `${LABEL_SERVICE}=${id}`] },
    })
    return list[0]?.Id
  }
}
