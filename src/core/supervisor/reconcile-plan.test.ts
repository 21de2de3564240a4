import { describe, expect, it } from 'vitest'
import type { ContainerSpec } from '../stack/spec'
import type { DesiredState } from './desired-state'
import { planReconcile, type ServiceObservation } from './reconcile-plan'

const spec = (id: string, deps: string[] = [], probed = true): ContainerSpec => ({
  id,
  displayName: id,
  description: id,
  image: { repository: `test/${id}`, tag: 't', digest: `sha256:${'a'.repeat(64)}` },
  command: [],
  env: {},
  ports: [],
  mounts: [],
  files: [],
  health: {
    test: probed ? ['CMD', 'true'] : [],
    intervalMs: 1000,
    timeoutMs: 1000,
    retries: 1,
    startPeriodMs: 0,
  },
  dependsOn: deps.map((d) => ({ id: d, condition: 'healthy' as const })),
  stopGraceSeconds: 10,
  hostname: id,
})

const running = (id: string, hash = 'h') => ({ id: `c-${id}`, state: 'running', created: 1, hash })
const exited = (id: string, hash = 'h') => ({ id: `c-${id}`, state: 'exited', created: 1, hash })

function svc(
  s: ContainerSpec,
  over: Partial<Omit<ServiceObservation, 'spec'>> = {},
): ServiceObservation {
  return {
    spec: s,
    hash: 'h',
    containers: [],
    health: 'none',
    stopping: false,
    crashLoop: false,
    problem: false,
    retry: false,
    ...over,
  }
}

const want = (desired: 'running' | 'stopped', stoppedServices: string[] = []): DesiredState => ({
  version: 1,
  desired,
  stoppedServices,
})

const bitcoind = spec('bitcoind')
const lnd = spec('lnd', ['bitcoind'])
const mint = spec('mint', ['lnd'])
const relay = spec('relay')
const kinds = (steps: { kind: string; serviceId?: string }[]) =>
  steps.map((s) => `${s.kind}${s.serviceId ? ':' + s.serviceId : ''}`)

describe('planReconcile', () => {
  it('starts only what has its dependencies healthy; dependents wait', () => {
    const steps = planReconcile({
      desired: want('running'),
      services: [svc(bitcoind), svc(lnd), svc(mint)],
      orphans: [],
      now: 0,
    })
    expect(kinds(steps)).toEqual([
      'ensure-network',
      'start:bitcoind',
      'await-dependencies:lnd',
      'await-dependencies:mint',
    ])
    const next = planReconcile({
      desired: want('running'),
      services: [
        svc(bitcoind, { containers: [running('bitcoind')], health: 'healthy' }),
        svc(lnd, { containers: [exited('lnd')] }),
        svc(mint),
      ],
      orphans: [],
      now: 0,
    })
    expect(next).toContainEqual({
      kind: 'start',
      serviceId: 'lnd',
      containerId: 'c-lnd',
      afterCrash: false,
      level: 1,
    })
    expect(kinds(next)).toContain('keep:bitcoind')
  })

  it('stops dependents first and never waits for a stop inside the pass', () => {
    const up = { containers: [], health: 'healthy' as const }
    const all = [
      svc(bitcoind, { ...up, containers: [running('bitcoind')] }),
      svc(lnd, { ...up, containers: [running('lnd')] }),
      svc(mint, { ...up, containers: [running('mint')] }),
    ]
    expect(
      kinds(planReconcile({ desired: want('stopped'), services: all, orphans: [], now: 0 })),
    ).toEqual(['stop:mint', 'await-dependents:lnd', 'await-dependents:bitcoind'])
    // mint's stop in flight: lnd still waits; once mint is down, lnd's stop starts.
    const mintStopping = [
      all[0]!,
      all[1]!,
      svc(mint, { stopping: true, containers: [running('mint')] }),
    ]
    expect(
      kinds(
        planReconcile({ desired: want('stopped'), services: mintStopping, orphans: [], now: 0 }),
      ),
    ).toEqual(['stop-in-flight:mint', 'await-dependents:lnd', 'await-dependents:bitcoind'])
    const mintDown = [all[0]!, all[1]!, svc(mint, { containers: [exited('mint')] })]
    expect(
      kinds(planReconcile({ desired: want('stopped'), services: mintDown, orphans: [], now: 0 })),
    ).toEqual(['stopped:mint', 'stop:lnd', 'await-dependents:bitcoind'])
  })

  it('restarts a crashed service while another service’s long stop is in flight', () => {
    const steps = planReconcile({
      desired: want('running', ['lnd']),
      services: [
        svc(bitcoind, { containers: [running('bitcoind')], health: 'healthy' }),
        svc(lnd, { containers: [running('lnd')], stopping: true }),
        svc(relay, { containers: [exited('relay')], nextRestartAt: 500 }),
      ],
      orphans: [],
      now: 1000,
    })
    expect(kinds(steps)).toEqual([
      'ensure-network',
      'keep:bitcoind',
      'start:relay',
      'stop-in-flight:lnd',
    ])
    expect(steps.find((s) => s.kind === 'start')).toMatchObject({
      containerId: 'c-relay',
      afterCrash: true,
    })
  })

  it('waits out a crash backoff, holds a crash loop or a problem unless retried', () => {
    const base = { containers: [exited('relay')] }
    const plan = (o: Partial<ServiceObservation>) =>
      planReconcile({
        desired: want('running'),
        services: [svc(relay, { ...base, ...o })],
        orphans: [],
        now: 1000,
      })
    expect(plan({ nextRestartAt: 2000 }).at(-1)).toEqual({
      kind: 'await-backoff',
      serviceId: 'relay',
      at: 2000,
    })
    expect(plan({ crashLoop: true }).at(-1)).toMatchObject({ kind: 'hold', reason: 'crash-loop' })
    expect(plan({ problem: true }).at(-1)).toMatchObject({ kind: 'hold', reason: 'problem' })
    expect(plan({ crashLoop: true, retry: true }).at(-1)).toMatchObject({ kind: 'start' })
  })

  it('recreates on a changed configuration, keeps one container, removes orphans', () => {
    const steps = planReconcile({
      desired: want('running'),
      services: [
        svc(relay, {
          containers: [
            running('relay', 'old'),
            { id: 'c-extra', state: 'exited', created: 0, hash: 'old' },
          ],
        }),
        svc(bitcoind, { containers: [exited('bitcoind', 'old')] }),
      ],
      orphans: [{ serviceId: 'btcpay', containerIds: ['c-btcpay'] }],
      now: 0,
    })
    expect(steps).toEqual([
      { kind: 'remove-orphans', serviceId: 'btcpay', containerIds: ['c-btcpay'] },
      { kind: 'ensure-network' },
      { kind: 'remove-duplicates', serviceId: 'relay', containerIds: ['c-extra'] },
      { kind: 'recreate', serviceId: 'relay', containerId: 'c-relay' },
      { kind: 'remove-stale', serviceId: 'bitcoind', containerId: 'c-bitcoind' },
      { kind: 'start', serviceId: 'bitcoind', afterCrash: false, level: 0 },
    ])
  })
})

describe('services that need the box key', () => {
  it('waits for unlock instead of starting while the box is locked, and keeps a running one', () => {
    const steps = planReconcile({
      desired: want('running'),
      services: [svc(relay), svc(spec('mint'), { locked: true })],
      orphans: [],
      now: 0,
    })
    expect(kinds(steps)).toContain('await-unlock:mint')
    expect(kinds(steps)).not.toContain('start:mint')
    expect(kinds(steps)).toContain('start:relay')
    const kept = planReconcile({
      desired: want('running'),
      services: [svc(relay, { containers: [running('relay')], locked: true })],
      orphans: [],
      now: 0,
    })
    expect(kinds(kept)).toEqual(['ensure-network', 'keep:relay'])
  })
})
