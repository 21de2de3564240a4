// The planning half of the supervisor's reconcile pass: pure, from what Docker shows (observed
// containers), what the supervisor knows (health, crash records, stops in flight) and what the
// user wants (desired state) to the steps that move the stack towards it. No I/O and no clock of
// its own, so every decision is unit-tested (reconcile-plan.test.ts); the supervisor applies the
// steps (supervisor.ts).
//
// A stop is never waited for inside a pass: LND may take 300 s to stop, and meanwhile another
// service that crashed must still be restarted. A service whose stop is in flight is left alone
// until the stop ends (which triggers another pass); a dependency is stopped only once every
// dependent that is being stopped too is down.
import { FlashError } from '../errors'
import type { ContainerSpec } from '../stack/spec'
import type { DesiredState } from './desired-state'

export type Health = 'none' | 'starting' | 'healthy' | 'unhealthy'

export interface ObservedContainer {
  readonly id: string
  /** Docker's state: created, running, restarting, paused, exited, dead … */
  readonly state: string
  /** Seconds since epoch (Docker's `Created`). */
  readonly created: number
  /** The spec hash label it was created with. */
  readonly hash: string | undefined
}

export interface ServiceObservation {
  readonly spec: ContainerSpec
  /** Hash of the current spec (labels.ts specHash). */
  readonly hash: string
  readonly containers: readonly ObservedContainer[]
  readonly health: Health
  /** A stop of this service's container is in flight. */
  readonly stopping: boolean
  readonly crashLoop: boolean
  /** A start failed with a problem the user must fix. */
  readonly problem: boolean
  /** The user asked to try again despite a crash loop or problem. */
  readonly retry: boolean
  /** Crash backoff: not before this time (ms). */
  readonly nextRestartAt?: number
  /** The service needs keys from the box key (spec.unlockKeys) and the box is locked. */
  readonly locked?: boolean
}

export interface ReconcileInput {
  readonly desired: DesiredState
  /** Planned services, in plan order. */
  readonly services: readonly ServiceObservation[]
  /** Containers of this project whose service left the plan. */
  readonly orphans: readonly {
    readonly serviceId: string
    readonly containerIds: readonly string[]
  }[]
  readonly now: number
}

export type ReconcileStep =
  /** Containers of a service no longer planned: remove them (data stays). */
  | {
      readonly kind: 'remove-orphans'
      readonly serviceId: string
      readonly containerIds: readonly string[]
    }
  | { readonly kind: 'ensure-network' }
  /** More than one container for a service: remove the extras. */
  | {
      readonly kind: 'remove-duplicates'
      readonly serviceId: string
      readonly containerIds: readonly string[]
    }
  /** Stop these running containers (gracefully, in the background). */
  | { readonly kind: 'stop'; readonly serviceId: string; readonly containerIds: readonly string[] }
  /** To be stopped, but a dependent being stopped is still up: later. */
  | {
      readonly kind: 'await-dependents'
      readonly serviceId: string
      readonly dependents: readonly string[]
    }
  /** To be stopped and already down: forget any pending restart. */
  | { readonly kind: 'stopped'; readonly serviceId: string }
  /** A stop is in flight: nothing to do until it ends. */
  | { readonly kind: 'stop-in-flight'; readonly serviceId: string }
  /** Crash loop or a problem the user must fix: leave it until they press Start/Retry. */
  | { readonly kind: 'hold'; readonly serviceId: string; readonly reason: 'crash-loop' | 'problem' }
  /** The configuration changed: stop (in the background) and remove the old container. */
  | { readonly kind: 'recreate'; readonly serviceId: string; readonly containerId: string }
  /** The configuration changed and the old container is not running: remove it now. */
  | { readonly kind: 'remove-stale'; readonly serviceId: string; readonly containerId: string }
  /** Running with the current configuration. */
  | { readonly kind: 'keep'; readonly serviceId: string }
  | {
      readonly kind: 'await-dependencies'
      readonly serviceId: string
      readonly waitingFor: readonly string[]
    }
  | { readonly kind: 'await-backoff'; readonly serviceId: string; readonly at: number }
  /** Its keys are sealed under the box key and the box is locked: start once it is unlocked. */
  | { readonly kind: 'await-unlock'; readonly serviceId: string }
  /** Start it: the existing container when given, else a new one. `level`: dependency depth. */
  | {
      readonly kind: 'start'
      readonly serviceId: string
      readonly containerId?: string
      /** A restart after a crash (its backoff has passed). */
      readonly afterCrash: boolean
      readonly level: number
    }

const LIVE = new Set(['running', 'restarting', 'paused'])

/** Services grouped so that every service comes after all its dependencies. */
export function dependencyLevels(services: readonly ContainerSpec[]): ContainerSpec[][] {
  const byId = new Map(services.map((s) => [s.id, s]))
  const level = new Map<string, number>()
  const visit = (s: ContainerSpec, seen: Set<string>): number => {
    const known = level.get(s.id)
    if (known !== undefined) return known
    if (seen.has(s.id)) {
      throw new FlashError(
        'stack.dependency_cycle',
        `The services depend on each other in a circle (${[...seen, s.id].join(' → ')}).`,
        'This is a bug in the service catalog; please report it.',
      )
    }
    seen.add(s.id)
    let l = 0
    for (const d of s.dependsOn) {
      const dep = byId.get(d.id)
      if (dep) l = Math.max(l, visit(dep, seen) + 1)
    }
    seen.delete(s.id)
    level.set(s.id, l)
    return l
  }
  const out: ContainerSpec[][] = []
  for (const s of services) {
    const l = visit(s, new Set())
    ;(out[l] ??= []).push(s)
  }
  return out.filter(Boolean)
}

/** The one container to keep: the current configuration first, then running, then newest. */
function pickContainer(
  cs: readonly ObservedContainer[],
  hash: string,
): { keep?: ObservedContainer; extras: ObservedContainer[] } {
  if (cs.length <= 1) return { keep: cs[0], extras: [] }
  const ranked = [...cs].sort(
    (a, b) =>
      Number(b.hash === hash) - Number(a.hash === hash) ||
      Number(b.state === 'running') - Number(a.state === 'running') ||
      b.created - a.created,
  )
  return { keep: ranked[0], extras: ranked.slice(1) }
}

export function planReconcile(input: ReconcileInput): ReconcileStep[] {
  const steps: ReconcileStep[] = []
  for (const o of input.orphans) {
    if (o.containerIds.length)
      steps.push({ kind: 'remove-orphans', serviceId: o.serviceId, containerIds: o.containerIds })
  }
  const specs = input.services.map((s) => s.spec)
  const levels = dependencyLevels(specs)
  const levelOf = new Map(levels.flatMap((l, i) => l.map((s) => [s.id, i] as const)))
  const byId = new Map(input.services.map((s) => [s.spec.id, s]))
  const obs = (id: string) => byId.get(id)
  const isUp = (s: ServiceObservation) => s.stopping || s.containers.some((c) => LIVE.has(c.state))
  const wantsStopped = (id: string) =>
    input.desired.desired === 'stopped' || input.desired.stoppedServices.includes(id)

  if (input.desired.desired === 'running') steps.push({ kind: 'ensure-network' })

  // Dependents before their dependencies when stopping; dependencies first when starting.
  const order = levels.flat()
  for (const spec of order) {
    const s = obs(spec.id)!
    if (s.stopping) {
      steps.push({ kind: 'stop-in-flight', serviceId: spec.id })
      continue
    }
    if (wantsStopped(spec.id)) {
      const live = s.containers.filter((c) => LIVE.has(c.state)).map((c) => c.id)
      if (!live.length) {
        steps.push({ kind: 'stopped', serviceId: spec.id })
        continue
      }
      const dependents = specs
        .filter((d) => d.dependsOn.some((x) => x.id === spec.id) && wantsStopped(d.id))
        .filter((d) => isUp(obs(d.id)!))
        .map((d) => d.id)
      steps.push(
        dependents.length
          ? { kind: 'await-dependents', serviceId: spec.id, dependents }
          : { kind: 'stop', serviceId: spec.id, containerIds: live },
      )
      continue
    }

    const { keep, extras } = pickContainer(s.containers, s.hash)
    if (extras.length)
      steps.push({
        kind: 'remove-duplicates',
        serviceId: spec.id,
        containerIds: extras.map((c) => c.id),
      })
    if (s.crashLoop && !s.retry) {
      steps.push({ kind: 'hold', serviceId: spec.id, reason: 'crash-loop' })
      continue
    }
    if (s.problem && !s.retry) {
      steps.push({ kind: 'hold', serviceId: spec.id, reason: 'problem' })
      continue
    }
    let current = keep
    if (current && current.hash !== s.hash) {
      if (current.state === 'running') {
        steps.push({ kind: 'recreate', serviceId: spec.id, containerId: current.id })
        continue
      }
      steps.push({ kind: 'remove-stale', serviceId: spec.id, containerId: current.id })
      current = undefined
    }
    if (current?.state === 'running') {
      steps.push({ kind: 'keep', serviceId: spec.id })
      continue
    }
    const waitingFor = spec.dependsOn
      .filter((d) => {
        const dep = obs(d.id)
        if (!dep) return true // not planned: it never comes up
        const running = !dep.stopping && dep.containers.some((c) => c.state === 'running')
        if (!running) return true
        if (d.condition === 'started') return false
        const probed = dep.spec.health.test.length > 0
        return !(dep.health === 'healthy' || (!probed && dep.health === 'none'))
      })
      .map((d) => d.id)
    if (waitingFor.length) {
      steps.push({ kind: 'await-dependencies', serviceId: spec.id, waitingFor })
      continue
    }
    // Started without its keys it could only crash-loop: wait for the owner's password instead.
    if (s.locked) {
      steps.push({ kind: 'await-unlock', serviceId: spec.id })
      continue
    }
    const due = s.nextRestartAt
    if (due !== undefined && due > input.now) {
      steps.push({ kind: 'await-backoff', serviceId: spec.id, at: due })
      continue
    }
    steps.push({
      kind: 'start',
      serviceId: spec.id,
      ...(current ? { containerId: current.id } : {}),
      afterCrash: due !== undefined,
      level: levelOf.get(spec.id) ?? 0,
    })
  }
  // Stopping goes dependents-first: list the stop decisions in reverse dependency order.
  const isStop = (st: ReconcileStep) =>
    st.kind === 'stop' || st.kind === 'await-dependents' || st.kind === 'stopped'
  const stops = steps.filter(isStop).reverse()
  return [...steps.filter((st) => !isStop(st)), ...stops]
}
