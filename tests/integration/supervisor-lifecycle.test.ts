// The supervisor against the real Docker Engine with the TEST catalog: dependency-ordered start
// gated on health, adoption after a restart of the supervisor, recreate on a changed spec, data
// kept when a service is removed, reverse-ordered graceful stop honouring each service's grace,
// and crashes restarted with backoff until a crash loop is reported.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Supervisor } from '../../src/core/supervisor/supervisor'
import {
  cleanupProject,
  firstState,
  inspect,
  makeSupervisor,
  projectContainers,
  tempDataDir,
  type Recorded,
} from '../images/harness'
import {
  buildLifecycleImage,
  standardTestPlan,
  testPlan,
  testService,
} from '../images/test-catalog'
import type { BuiltImage } from '../images/build'
import type { StackPlan } from '../../src/core/stack/spec'

interface ContainerInfo {
  Id: string
  State: { StartedAt: string; FinishedAt: string; ExitCode: number; Running: boolean }
  Config: { Labels: Record<string, string> }
}

/** `events.log` lines a service wrote into its bind-mounted data directory. */
function serviceEvents(dataDir: string, id: string): { at: number; what: string }[] {
  const path = join(dataDir, id, 'events.log')
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [at, what] = l.split(' ')
      return { at: Date.parse(at!), what: what! }
    })
}
const last = (dataDir: string, id: string, what: string) =>
  serviceEvents(dataDir, id)
    .filter((e) => e.what === what)
    .at(-1)?.at

const allHealthy = (ids: readonly string[]) => (ss: { id: string; state: string }[]) =>
  ids.every((id) => ss.find((s) => s.id === id)?.state === 'healthy')

describe('supervisor: start, adopt, change, remove, stop', () => {
  const project = `fbt-life-${process.pid}`
  const dataDir = tempDataDir('life')
  let image: BuiltImage
  let plan: StackPlan
  let sup: Supervisor
  let events: Recorded[]
  const ids = ['bitcoind', 'electrs', 'lnd', 'mint']

  beforeAll(() => {
    image = buildLifecycleImage()
    // bitcoind flushes for 11 s on SIGTERM: longer than Docker's default 10 s stop timeout, so a
    // clean exit proves the supervisor passed the service's own grace.
    plan = standardTestPlan(project, dataDir, image, { bitcoind: { stopDelayMs: 11_000 } })
    ;({ sup, events } = makeSupervisor(dataDir))
  })

  afterAll(async () => {
    await sup?.close()
    cleanupProject(project, dataDir)
  })

  it('starts services in dependency order, each gated on its dependencies being healthy', async () => {
    await sup.open()
    sup.setPlan(plan)
    await sup.startStack()
    await sup.waitFor(allHealthy(ids), 90_000)

    const bitcoindHealthy = firstState(events, 'bitcoind', 'healthy')!
    const lndHealthy = firstState(events, 'lnd', 'healthy')!
    expect(bitcoindHealthy).toBeDefined()
    // Dependents waited, visibly, and their containers started only after the dependency was healthy.
    expect(firstState(events, 'electrs', 'waiting')).toBeLessThan(bitcoindHealthy)
    expect(firstState(events, 'lnd', 'waiting')).toBeLessThan(bitcoindHealthy)
    expect(firstState(events, 'mint', 'waiting')).toBeLessThan(lndHealthy)
    const started = (id: string) => {
      const c = inspect<ContainerInfo>(sup.serviceStatuses().find((s) => s.id === id)!.containerId!)
      return Date.parse(c.State.StartedAt)
    }
    expect(started('electrs')).toBeGreaterThan(bitcoindHealthy)
    expect(started('lnd')).toBeGreaterThan(bitcoindHealthy)
    expect(started('mint')).toBeGreaterThan(lndHealthy)

    // One container per service, labelled; rendered config written atomically with its mode.
    const cs = projectContainers(project)
    expect(cs).toHaveLength(4)
    for (const id of cs) {
      const labels = inspect<ContainerInfo>(id).Config.Labels
      expect(labels['io.flashbox.project']).toBe(project)
      expect(ids).toContain(labels['io.flashbox.service'])
      expect(labels['io.flashbox.spec-hash']).toMatch(/^[0-9a-f]{32}$/)
      expect(labels['io.flashbox.test']).toBe('1')
    }
    const conf = join(dataDir, 'config', 'lnd.conf')
    expect(readFileSync(conf, 'utf8')).toContain('name=lnd')
    expect(statSync(conf).mode & 0o777).toBe(0o600)
    // The desired state is persisted for the next start of the app.
    const desired = JSON.parse(
      readFileSync(join(dataDir, 'supervisor', 'desired-state.json'), 'utf8'),
    )
    expect(desired.desired).toBe('running')
  })

  it('a new supervisor adopts the running containers instead of duplicating them', async () => {
    const before = new Set(projectContainers(project))
    await sup.close()
    ;({ sup, events } = makeSupervisor(dataDir))
    await sup.open()
    sup.setPlan(plan)
    await sup.reconcileNow()
    await sup.waitFor(allHealthy(ids), 30_000)
    expect(new Set(projectContainers(project))).toEqual(before)
    expect(sup.desiredState().desired).toBe('running')
  })

  it('recreates only the container whose spec changed', async () => {
    const idOf = (id: string) => sup.serviceStatuses().find((s) => s.id === id)!.containerId!
    const lndBefore = idOf('lnd')
    const mintBefore = idOf('mint')
    plan = standardTestPlan(project, dataDir, image, {
      bitcoind: { stopDelayMs: 11_000 },
      mint: { env: { MINT_SETTING: 'changed' } },
    })
    sup.setPlan(plan)
    await sup.reconcileNow()
    await sup.waitFor(allHealthy(ids), 30_000)
    expect(idOf('lnd')).toBe(lndBefore)
    expect(idOf('mint')).not.toBe(mintBefore)
    expect(projectContainers(project)).toHaveLength(4)
    // The data directory carried over: two starts recorded by the same mint data.
    expect(serviceEvents(dataDir, 'mint').filter((e) => e.what === 'start')).toHaveLength(2)
  })

  it('removing a service removes its container but keeps its data', async () => {
    const withoutMint = testPlan(
      project,
      dataDir,
      plan.services.filter((s) => s.id !== 'mint'),
    )
    sup.setPlan(withoutMint)
    await sup.reconcileNow()
    expect(projectContainers(project)).toHaveLength(3)
    expect(existsSync(join(dataDir, 'mint', 'events.log'))).toBe(true)
    expect(serviceEvents(dataDir, 'mint').length).toBeGreaterThanOrEqual(2)
    sup.setPlan(plan)
    await sup.reconcileNow()
    await sup.waitFor(allHealthy(ids), 30_000)
    expect(serviceEvents(dataDir, 'mint').filter((e) => e.what === 'start')).toHaveLength(3)
  })

  it('stops in reverse dependency order, giving each service its full grace', async () => {
    await sup.stopStack()
    const stopped = sup.serviceStatuses()
    expect(stopped.map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped', 'stopped'])
    // Dependents finished before their dependency was even asked to stop.
    expect(last(dataDir, 'mint', 'stop')).toBeLessThanOrEqual(last(dataDir, 'lnd', 'sigterm')!)
    expect(last(dataDir, 'lnd', 'stop')).toBeLessThanOrEqual(last(dataDir, 'bitcoind', 'sigterm')!)
    expect(last(dataDir, 'electrs', 'stop')).toBeLessThanOrEqual(
      last(dataDir, 'bitcoind', 'sigterm')!,
    )
    // bitcoind flushed for its whole 11 s and exited cleanly: not killed at Docker's 10 s default.
    const flush = last(dataDir, 'bitcoind', 'stop')! - last(dataDir, 'bitcoind', 'sigterm')!
    expect(flush).toBeGreaterThanOrEqual(10_900)
    for (const id of projectContainers(project)) {
      const c = inspect<ContainerInfo>(id)
      expect(c.State.Running).toBe(false)
      expect(c.State.ExitCode).toBe(0)
    }
  })
})

describe('supervisor: crashes', () => {
  const project = `fbt-crash-${process.pid}`
  const dataDir = tempDataDir('crash')
  let sup: Supervisor
  let events: Recorded[]

  afterAll(async () => {
    await sup?.close()
    cleanupProject(project, dataDir)
  })

  it('restarts a crashed service with growing backoff, then reports a crash loop', async () => {
    const image = buildLifecycleImage()
    const plan = testPlan(project, dataDir, [
      testService(image, dataDir, { id: 'relay', readyAfterMs: 100, crashAfterMs: 400 }),
    ])
    ;({ sup, events } = makeSupervisor(dataDir, {
      crashPolicy: {
        baseDelayMs: 500,
        maxDelayMs: 4000,
        maxCrashes: 4,
        windowMs: 120_000,
        stableAfterMs: 60_000,
      },
    }))
    await sup.open()
    sup.setPlan(plan)
    await sup.startStack()
    await sup.waitFor((ss) => ss[0]?.state === 'crash-loop', 90_000)

    const status = sup.serviceStatuses()[0]!
    expect(status.restarts).toBe(3)
    // Each restart was scheduled with twice the previous delay (1×, 2×, 4× the base).
    const scheduled = events
      .filter((e) => e.event.type === 'service' && e.event.service.state === 'restarting')
      .map((e) => (e.event.type === 'service' ? e.event.service.nextRestartAt : undefined))
    const delays = [...new Set(scheduled)].map((t, i) => {
      const at = events.find(
        (e) =>
          e.event.type === 'service' &&
          e.event.service.state === 'restarting' &&
          e.event.service.nextRestartAt === t,
      )!.at
      return { i, delay: Date.parse(t!) - at }
    })
    expect(delays).toHaveLength(3)
    expect(delays[0]!.delay).toBeGreaterThan(400)
    expect(delays[0]!.delay).toBeLessThanOrEqual(500)
    expect(delays[1]!.delay).toBeGreaterThan(900)
    expect(delays[2]!.delay).toBeGreaterThan(1900)
    // Container starts respected the backoff (lower bounds only: a busy machine is only slower).
    const starts = serviceEvents(dataDir, 'relay').filter((e) => e.what === 'start')
    const crashes = serviceEvents(dataDir, 'relay').filter((e) => e.what === 'crash')
    expect(starts).toHaveLength(4)
    expect(crashes).toHaveLength(4)
    expect(starts[1]!.at - crashes[0]!.at).toBeGreaterThanOrEqual(450)
    expect(starts[2]!.at - crashes[1]!.at).toBeGreaterThanOrEqual(950)
    expect(starts[3]!.at - crashes[2]!.at).toBeGreaterThanOrEqual(1950)

    // The user sees it: a critical alert that says what to do; no further restarts.
    const alert = sup.alertList().find((a) => a.id === 'crash-loop:relay')
    expect(alert?.severity).toBe('critical')
    expect(alert?.hint).toMatch(/logs/)
    expect(events.some((e) => e.event.type === 'alert' && e.event.alert.id === alert!.id)).toBe(
      true,
    )
    await new Promise((r) => setTimeout(r, 2500))
    expect(serviceEvents(dataDir, 'relay').filter((e) => e.what === 'start')).toHaveLength(4)
    expect(sup.serviceStatuses()[0]!.state).toBe('crash-loop')
  })
})
