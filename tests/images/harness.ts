// Helpers for the supervisor's integration tests: a supervisor wired to a recording event list,
// and clean-up of everything a test project made (test resources only: io.flashbox.test=1).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StackEvent } from '../../src/shared/api/stack'
import { silentLogger, createLogger } from '../../src/core/log'
import { Supervisor, type SupervisorOptions } from '../../src/core/supervisor/supervisor'
import { testLabels } from './test-catalog'

export interface Recorded {
  readonly at: number
  readonly event: StackEvent
}

export function makeSupervisor(
  dataDir: string,
  extra: Partial<SupervisorOptions> = {},
): { sup: Supervisor; events: Recorded[] } {
  const events: Recorded[] = []
  const sup = new Supervisor({
    dataDir,
    log: process.env.FLASHBOX_TEST_LOG ? createLogger('test-supervisor') : silentLogger,
    publish: (event) => events.push({ at: Date.now(), event }),
    extraLabels: testLabels,
    collectStats: false,
    ...extra,
  })
  return { sup, events }
}

/** First time (ms) a service was published in `state`. */
export function firstState(
  events: readonly Recorded[],
  id: string,
  state: string,
): number | undefined {
  return events.find(
    (e) =>
      e.event.type === 'service' && e.event.service.id === id && e.event.service.state === state,
  )?.at
}

export function tempDataDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `flashbox-${prefix}-`))
}

function dockerLines(args: string[]): string[] {
  const r = spawnSync('docker', args)
  return r.status === 0 ? r.stdout.toString().split('\n').filter(Boolean) : []
}

/** Container IDs of a project (all states). */
export function projectContainers(project: string): string[] {
  return dockerLines([
    'ps',
    '-aq',
    '--no-trunc',
    '--filter',
    `label=io.flashbox.project=${project}`,
  ])
}

export function inspect<T = Record<string, unknown>>(id: string): T {
  const r = spawnSync('docker', ['inspect', id])
  if (r.status !== 0) throw new Error(`docker inspect ${id}: ${r.stderr.toString()}`)
  return (JSON.parse(r.stdout.toString()) as T[])[0]!
}

/** Removes a test project's containers, networks and volumes — only ones labelled as test. */
export function cleanupProject(project: string, dataDir?: string): void {
  const f = [
    '--filter',
    `label=io.flashbox.project=${project}`,
    '--filter',
    'label=io.flashbox.test=1',
  ]
  const cs = dockerLines(['ps', '-aq', ...f])
  if (cs.length) spawnSync('docker', ['rm', '-f', '-v', ...cs])
  const nets = dockerLines(['network', 'ls', '-q', ...f])
  if (nets.length) spawnSync('docker', ['network', 'rm', ...nets])
  const vols = dockerLines(['volume', 'ls', '-q', ...f])
  if (vols.length) spawnSync('docker', ['volume', 'rm', '-f', ...vols])
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
}
