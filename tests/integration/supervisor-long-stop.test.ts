// A long graceful stop does not hold up the rest of the stack: while one service ignores SIGTERM
// for the whole of its long stop grace (as LND may take 300 s), another service crashes and the
// supervisor restarts it meanwhile (real Docker Engine, TEST lifecycle image).
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Supervisor } from '../../src/core/supervisor/supervisor'
import { cleanupProject, makeSupervisor, tempDataDir } from '../images/harness'
import { buildLifecycleImage, testPlan, testService } from '../images/test-catalog'

const project = `fbt-longstop-${process.pid}`
const dataDir = tempDataDir('longstop')
let sup: Supervisor

/** `start` / `crash` lines the lifecycle service wrote into its data folder, with their times. */
const lines = (id: string, what: string): number[] => {
  const path = join(dataDir, id, 'events.log')
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(` ${what}`))
    .map((l) => Date.parse(l.split(' ')[0]!))
}

beforeAll(() => {
  ;({ sup } = makeSupervisor(dataDir, {
    crashPolicy: {
      baseDelayMs: 200,
      maxDelayMs: 1000,
      maxCrashes: 50,
      windowMs: 600_000,
      stableAfterMs: 600_000,
    },
  }))
})

afterAll(async () => {
  await sup?.close()
  cleanupProject(project, dataDir)
})

describe('supervisor: a long graceful stop', () => {
  it('keeps reconciling other services: a crash is restarted while LND-like stop is in flight', async () => {
    const image = buildLifecycleImage()
    const plan = testPlan(project, dataDir, [
      // Ignores SIGTERM (keeps "flushing" for 10 minutes) and has a 120 s stop grace.
      testService(image, dataDir, {
        id: 'lnd',
        readyAfterMs: 100,
        stopDelayMs: 600_000,
        stopGraceSeconds: 120,
      }),
      // Crashes 8 s after every start: after the stop below has begun.
      testService(image, dataDir, { id: 'relay', readyAfterMs: 100, crashAfterMs: 8_000 }),
    ])
    await sup.open()
    sup.setPlan(plan)
    await sup.startStack()
    await sup.waitFor((ss) => ss.find((s) => s.id === 'lnd')?.state === 'healthy', 60_000)

    const stopping = sup.stopService('lnd')
    await sup.waitFor((ss) => ss.find((s) => s.id === 'lnd')?.state === 'stopping', 10_000)
    const stopBegan = Date.now()
    // relay crashes after the stop began (8 s after its start) and must be started again
    // within 30 s, while lnd is still stopping.
    const restartedAfterCrash = () => {
      const crash = lines('relay', 'crash').find((t) => t > stopBegan)
      return crash !== undefined && lines('relay', 'start').some((t) => t > crash)
    }
    const end = Date.now() + 30_000
    while (!restartedAfterCrash() && Date.now() < end) await new Promise((r) => setTimeout(r, 250))
    expect(lines('relay', 'crash').some((t) => t > stopBegan)).toBe(true)
    expect(restartedAfterCrash()).toBe(true)
    expect(sup.serviceStatuses().find((s) => s.id === 'lnd')?.state).toBe('stopping')

    // End the long stop now rather than waiting out its grace.
    const lndId = sup.serviceStatuses().find((s) => s.id === 'lnd')!.containerId!
    spawnSync('docker', ['kill', lndId])
    await stopping
    expect(sup.serviceStatuses().find((s) => s.id === 'lnd')?.state).toBe('stopped')
  }, 180_000)
})
