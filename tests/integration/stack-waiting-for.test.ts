// "Waiting for …" names what a service waits for, at the engine's API (what the dashboard reads),
// against the real Docker Engine: LND waits for Bitcoin Core until that one is healthy, and the
// stack's status — the `stack.status` answer and the `stack` events the page follows — says
// `waitingFor: ['Bitcoin Core']` meanwhile, then LND starts. Services are the lifecycle TEST
// image standing in for the daemons (tests/images).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { saveSettingsFile, stackModule } from '../../src/core/engine/stack-module'
import { basicChecks } from '../../src/core/stack/catalog'
import { createLogger } from '../../src/core/log'
import type { EngineEvent } from '../../src/shared/api/events'
import type { StackStatus } from '../../src/shared/api/stack'
import { defaultSettings } from '../../src/shared/settings'
import { cleanupProject } from '../images/harness'
import { buildLifecycleImage, testLabels, testPlan, testService } from '../images/test-catalog'

const project = `fbwait-${process.pid}`
const internal = { transport: 'internal' as const }
let engine: Engine | undefined
let dir: string | undefined

afterAll(async () => {
  await engine?.stop()
  cleanupProject(project)
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('waiting for a dependency, at the engine level', () => {
  it('LND says it waits for Bitcoin Core until that is healthy, then starts', async () => {
    const image = buildLifecycleImage()
    dir = mkdtempSync(join(tmpdir(), 'fb-wait-'))
    saveSettingsFile(dir, { ...defaultSettings(join(dir, 'stack')), ownServices: 'embedded' })
    engine = await createEngine({
      dataDir: dir,
      log: createLogger('test', { sink: () => {} }),
      modules: [
        stackModule({
          supervisor: { extraLabels: testLabels },
          catalog: {
            info: () => [],
            check: async (s) => basicChecks(s, 2 ** 30),
            render: async (s) =>
              testPlan(project, s.dataDir, [
                {
                  ...testService(image, s.dataDir, { id: 'bitcoind', readyAfterMs: 6000 }),
                  displayName: 'Bitcoin Core',
                },
                {
                  ...testService(image, s.dataDir, {
                    id: 'lnd',
                    dependsOn: ['bitcoind'],
                    readyAfterMs: 200,
                  }),
                  displayName: 'Lightning (LND)',
                },
              ]),
          },
        }),
      ],
    })
    const events: EngineEvent[] = []
    engine.events.subscribe((e) => events.push(e), ['stack'])
    await engine.call('stack', 'start', {}, internal)

    const lndOf = (s: StackStatus) => s.services.find((x) => x.id === 'lnd')
    const seen: string[] = []
    const end = Date.now() + 90_000
    let waiting: ReturnType<typeof lndOf>
    let running: ReturnType<typeof lndOf>
    while (Date.now() < end && !running) {
      const lnd = lndOf((await engine.call('stack', 'status', {}, internal)) as StackStatus)
      if (lnd) seen.push(lnd.state)
      if (lnd?.state === 'waiting') waiting ??= lnd
      if (lnd?.state === 'starting' || lnd?.state === 'healthy') running = lnd
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(waiting, `states seen: ${[...new Set(seen)].join(', ')}`).toMatchObject({
      state: 'waiting',
      waitingFor: ['Bitcoin Core'],
    })
    expect(running, `states seen: ${[...new Set(seen)].join(', ')}`).toBeDefined()
    expect(running!.waitingFor).toBeUndefined()
    // The page follows the same state through the stack's events.
    const pushed = events.flatMap((e) =>
      e.topic === 'stack' && e.type === 'status'
        ? e.status.services.filter((x) => x.id === 'lnd' && x.state === 'waiting')
        : [],
    )
    expect(pushed.length).toBeGreaterThan(0)
    expect(pushed.every((x) => x.waitingFor?.join() === 'Bitcoin Core')).toBe(true)
  }, 120_000)
})
