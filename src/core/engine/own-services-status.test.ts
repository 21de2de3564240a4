// The dashboard's relay and mint cards read the same state as the Relay and Mint pages: what the
// relay and mint modules last reported, not "enabled, so running".
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { EngineEvent } from '../../shared/api/events'
import type { MintStatus } from '../../shared/api/mint'
import type { RelayStatus } from '../../shared/api/relay'
import type { StackStatus } from '../../shared/api/stack'
import { defaultSettings } from '../../shared/settings'
import { createLogger } from '../log'
import { createEngine, type Engine } from './engine'
import type { EngineContext, EngineModule } from './module'
import { saveSettingsFile, stackModule } from './stack-module'

const internal = { transport: 'internal' as const }
let engine: Engine | undefined
let dir: string | undefined
afterEach(async () => {
  await engine?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** A stand-in for the relay/mint module: it only reports its state, as the real ones do. */
function reporter(name: 'relay' | 'mint', box: { ctx?: EngineContext }) {
  return (ctx: EngineContext): EngineModule => {
    box.ctx = ctx
    return { name, handlers: {}, start: async () => {}, stop: async () => {} }
  }
}

describe('own services on the dashboard', () => {
  it('follow what the relay and mint modules report', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fb-own-'))
    saveSettingsFile(dir, { ...defaultSettings(join(dir, 'stack')), ownServices: 'embedded' })
    const box: { ctx?: EngineContext } = {}
    engine = await createEngine({
      dataDir: dir,
      log: createLogger('test', { sink: () => {} }),
      modules: [
        stackModule({
          supervisor: {
            connect: async () => ({
              status: { state: 'not-running', host: 'unix:///nowhere', os: 'linux' },
              endpoint: { host: 'unix:///nowhere', options: {}, explicit: true },
            }),
            reconnectBaseMs: 60_000,
          },
          catalog: {
            info: () => [],
            check: async () => ({
              ok: true,
              problems: [],
              disk: { neededBytes: 0, freeBytes: 1, path: '/' },
            }),
            render: async (s) =>
              ({
                project: 'fb-own',
                dataDir: s.dataDir,
                network: s.network,
                services: [],
              }) as never,
          },
        }),
        reporter('relay', box),
        reporter('mint', box),
      ],
    })
    const events: EngineEvent[] = []
    engine.events.subscribe((e) => events.push(e), ['stack'])
    const state = async (id: string) =>
      ((await engine!.call('stack', 'status', {}, internal)) as StackStatus).services.find(
        (s) => s.id === id,
      )

    // Nothing reported yet: not "Running".
    expect((await state('mint'))?.state).toBe('starting')
    const problem = { code: 'mint.failed', message: 'The mint stopped.', hint: 'Start it again.' }
    box.ctx!.events.publish({
      topic: 'mint',
      type: 'status',
      status: { running: false, problem } as unknown as MintStatus,
    })
    expect(await state('mint')).toMatchObject({ state: 'failed', problem })
    expect(
      events.some(
        (e) => e.type === 'service' && e.service.id === 'mint' && e.service.state === 'failed',
      ),
    ).toBe(true)
    box.ctx!.events.publish({
      topic: 'mint',
      type: 'status',
      status: { running: true } as unknown as MintStatus,
    })
    expect((await state('mint'))?.state).toBe('embedded')
    box.ctx!.events.publish({
      topic: 'relay',
      type: 'status',
      status: { running: false } as unknown as RelayStatus,
    })
    expect((await state('relay'))?.state).toBe('stopped')
  })
})
