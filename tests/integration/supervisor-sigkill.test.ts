// The engine's process killed with SIGKILL in the middle of starting the stack (the first service
// healthy, its dependents still starting), then started again: the new process adopts the
// containers that are there (same IDs), creates no duplicates, finishes the start from the
// persisted desired state, and the data a service wrote before the kill is still there.
// The supervisor runs in a child process (tests/images/supervisor-driver.ts) so it can be killed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StackPlan } from '../../src/core/stack/spec'
import type { BuiltImage } from '../images/build'
import { cleanupProject, inspect, projectContainers, tempDataDir } from '../images/harness'
import { buildLifecycleImage, standardTestPlan } from '../images/test-catalog'

const driverPath = resolve(import.meta.dirname, '..', 'images', 'supervisor-driver.ts')

interface Driver {
  readonly child: ChildProcess
  readonly states: Map<string, { state: string; containerId: string | null }>
  readonly exited: Promise<NodeJS.Signals | number | null>
  until(pred: () => boolean, timeoutMs: number, what: string): Promise<void>
}

function runDriver(planPath: string, mode: 'start' | 'resume'): Driver {
  const child = spawn(process.execPath, ['--import', 'tsx', driverPath, planPath, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const states: Driver['states'] = new Map()
  const waiters = new Set<() => void>()
  let stderr = ''
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let msg: { kind?: string; id?: string; state?: string; containerId?: string | null }
    try {
      msg = JSON.parse(line) as typeof msg
    } catch {
      return
    }
    if (msg.kind === 'service' && msg.id && msg.state) {
      states.set(msg.id, { state: msg.state, containerId: msg.containerId ?? null })
    }
    for (const w of waiters) w()
  })
  const exited = new Promise<NodeJS.Signals | number | null>((r) =>
    child.on('exit', (code, signal) => r(signal ?? code)),
  )
  const until = (pred: () => boolean, timeoutMs: number, what: string) =>
    new Promise<void>((res, rej) => {
      const check = () => {
        if (!pred()) return
        waiters.delete(check)
        clearTimeout(to)
        res()
      }
      const to = setTimeout(() => {
        waiters.delete(check)
        const seen = [...states].map(([id, s]) => `${id}=${s.state}`).join(' ')
        rej(new Error(`timed out waiting for ${what}; states: ${seen}; stderr: ${stderr}`))
      }, timeoutMs)
      waiters.add(check)
      void exited.then(() => {
        if (!waiters.has(check)) return
        waiters.delete(check)
        clearTimeout(to)
        rej(new Error(`driver exited before ${what}; stderr: ${stderr}`))
      })
      check()
    })
  return { child, states, exited, until }
}

/** Container IDs of the project, per service label. */
function byService(project: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const id of projectContainers(project)) {
    const svc = inspect<{ Config: { Labels: Record<string, string> } }>(id).Config.Labels[
      'io.flashbox.service'
    ]!
    out.set(svc, [...(out.get(svc) ?? []), id])
  }
  return out
}

describe('supervisor: SIGKILL of the engine mid-start', () => {
  const project = `fbt-kill-${process.pid}`
  const dataDir = tempDataDir('kill')
  const planPath = join(dataDir, 'plan.json')
  const ids = ['bitcoind', 'electrs', 'lnd', 'mint']
  let image: BuiltImage
  const drivers: Driver[] = []

  beforeAll(() => {
    image = buildLifecycleImage()
    // Dependents take a while to become healthy, so the kill lands while they are starting.
    const plan: StackPlan = standardTestPlan(project, dataDir, image, {
      electrs: { readyAfterMs: 4000 },
      lnd: { readyAfterMs: 5000 },
    })
    writeFileSync(planPath, JSON.stringify(plan))
  })

  afterAll(async () => {
    for (const d of drivers) {
      if (d.child.exitCode === null && d.child.signalCode === null) {
        d.child.kill('SIGKILL')
        await d.exited
      }
    }
    cleanupProject(project, dataDir)
  })

  it('adopts the same containers, makes no duplicates, finishes the start, keeps data', async () => {
    const first = runDriver(planPath, 'start')
    drivers.push(first)
    await first.until(
      () => first.states.get('bitcoind')?.state === 'healthy',
      90_000,
      'bitcoind healthy',
    )
    // bitcoind writes into its data folder (a bind mount) through its own process in the container.
    const bitcoindId = first.states.get('bitcoind')!.containerId!
    const marker = `written before SIGKILL ${Date.now()}`
    const w = spawnSync('docker', [
      'exec',
      bitcoindId,
      '/usr/local/bin/node',
      '-e',
      `require('fs').writeFileSync('/data/marker.txt', ${JSON.stringify(marker)})`,
    ])
    expect(w.status, w.stderr.toString()).toBe(0)

    // The start is still in progress: some dependent is not healthy yet.
    const unfinished = ids.filter((id) => first.states.get(id)?.state !== 'healthy')
    expect(unfinished.length).toBeGreaterThan(0)
    first.child.kill('SIGKILL')
    expect(await first.exited).toBe('SIGKILL')

    // A create Docker had already received still completes; let it land, then look.
    await new Promise((r) => setTimeout(r, 1500))
    const atKill = byService(project)
    for (const cs of atKill.values()) expect(cs).toHaveLength(1)
    const runningAtKill = [...atKill.values()]
      .flat()
      .filter((id) => inspect<{ State: { Running: boolean } }>(id).State.Running)
    expect(runningAtKill).toContain(bitcoindId)

    // The app starts again: nothing asks it to start; the persisted desired state does.
    const second = runDriver(planPath, 'resume')
    drivers.push(second)
    await second.until(
      () => ids.every((id) => second.states.get(id)?.state === 'healthy'),
      120_000,
      'all healthy after restart',
    )

    // Exactly one container per service; the ones running at the kill were adopted, not replaced.
    const after = byService(project)
    expect([...after.keys()].sort()).toEqual([...ids].sort())
    for (const cs of after.values()) expect(cs).toHaveLength(1)
    const afterIds = [...after.values()].flat()
    for (const id of runningAtKill) expect(afterIds).toContain(id)
    expect(second.states.get('bitcoind')!.containerId).toBe(bitcoindId)
    // bitcoind's process was never restarted: one `start` in its own log.
    const starts = readFileSync(join(dataDir, 'bitcoind', 'events.log'), 'utf8')
      .split('\n')
      .filter((l) => l.endsWith(' start'))
    expect(starts).toHaveLength(1)

    // The data written before the kill is there, on the host and inside the container.
    expect(readFileSync(join(dataDir, 'bitcoind', 'marker.txt'), 'utf8')).toBe(marker)
    const r = spawnSync('docker', [
      'exec',
      bitcoindId,
      '/usr/local/bin/node',
      '-e',
      `process.stdout.write(require('fs').readFileSync('/data/marker.txt', 'utf8'))`,
    ])
    expect(r.stdout.toString()).toBe(marker)

    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  })
})
