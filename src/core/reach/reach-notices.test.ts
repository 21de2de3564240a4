// What the reach domain needs the owner to know reaches them without Settings → Reachability open:
// the desktop app's engine server that cannot open its port, and Tor that cannot reach the Tor
// network (read in the background while Tor is on), each on the dashboard ("Needs attention")
// and in Settings → Reachability, and gone again once the cause is.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fakeTorControl, type FakeTorControl } from '../../../tests/unit/fake-tor-control'
import type { EngineEvent } from '../../shared/api/events'
import type { ReachStatus } from '../../shared/api/reach'
import type { StackStatus } from '../../shared/api/stack'
import type { ReachSettings } from '../../shared/reach'
import { defaultSettings } from '../../shared/settings'
import { followFrontDoor, type FrontDoorUpstream } from '../api/http/front-door-upstream'
import { createEngine, type Engine } from '../engine/engine'
import { saveSettingsFile, stackModule } from '../engine/stack-module'
import { silentLogger } from '../log'
import { torHostControlFiles } from '../stack/tor'
import { reachModule } from './reach-module'

const CTX = { transport: 'internal' } as const
const stuck =
  'WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Network is unreachable" REASON=NOROUTE COUNT=1 RECOMMENDATION=warn HOST=0000 HOSTADDR=1.2.3.4:443'
const done = 'NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"'

let dir = ''
let engine: Engine
let events: EngineEvent[]
let upstream: FrontDoorUpstream | undefined
let blocker: Server | undefined
let tor: FakeTorControl | undefined

/** The stack module without Docker (as in own-services-status.test.ts), so its status is real. */
const stackWithoutDocker = stackModule({
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
      ({ project: 'fb-notices', dataDir: s.dataDir, network: s.network, services: [] }) as never,
  },
})

const save = (reach: ReachSettings) =>
  saveSettingsFile(dir, { ...defaultSettings(join(dir, 'stack')), reach })
const dashboard = async () =>
  ((await engine.call('stack', 'status', {}, CTX)) as StackStatus).alerts
const reachStatus = async () => (await engine.call('reach', 'status', {}, CTX)) as ReachStatus

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await what()
    if (ok(v) || Date.now() > end) return v
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function start(reach: ReachSettings): Promise<void> {
  save(reach)
  engine = await createEngine({
    dataDir: dir,
    log: silentLogger,
    modules: [stackWithoutDocker, reachModule({ torWatchMs: 100, torPatienceMs: 60_000 })],
  })
  engine.events.subscribe((e) => events.push(e), ['stack'])
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reach-notices-'))
  events = []
})
afterEach(async () => {
  await upstream?.stop()
  upstream = undefined
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()))
  blocker = undefined
  await tor?.close()
  tor = undefined
  await engine?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('reach notices reach the owner', () => {
  it('a port taken for the engine’s server behind the front door: shown, then cleared when it binds', async () => {
    blocker = createServer()
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as AddressInfo).port
    const publicAddress = {
      baseUrl: 'https://shop.example.com',
      tlsBeforeBox: true,
      proxyAddresses: [],
    }
    await start({ frontDoorPort: 8480, enginePort: port, publicAddress })
    upstream = followFrontDoor(engine, { dataDir: dir, log: silentLogger })
    await upstream.reconcile()

    const alerts = await dashboard()
    expect(alerts).toHaveLength(1)
    expect(alerts[0]).toMatchObject({
      id: 'reach:engine-server',
      severity: 'warning',
      title: 'The front door cannot reach Flash Box',
    })
    expect(alerts[0]!.message).toMatch(new RegExp(`^Another program already uses port ${port} `))
    expect(alerts[0]!.hint).toContain(`sudo ss -ltnp 'sport = :${port}'`)
    expect(events.some((e) => e.type === 'alert' && e.alert.id === 'reach:engine-server')).toBe(
      true,
    )
    expect((await reachStatus()).engineServerProblem?.code).toBe('reach.engine_port_taken')

    // Dismissed on the dashboard: it stays away while the cause is the same.
    await engine.call('stack', 'dismissAlert', { id: 'reach:engine-server' }, CTX)
    await upstream.reconcile()
    expect(await dashboard()).toEqual([])
    expect((await reachStatus()).engineServerProblem).toBeDefined()

    await new Promise<void>((r) => blocker!.close(() => r()))
    blocker = undefined
    await upstream.reconcile()
    expect(upstream.url).toBe(`http://127.0.0.1:${port}`)
    expect((await reachStatus()).engineServerProblem).toBeUndefined()
    expect(events.some((e) => e.type === 'alert-cleared' && e.id === 'reach:engine-server')).toBe(
      true,
    )
  })

  it('Tor offline while nobody has Settings → Reachability open; connected clears it; off stops reading', async () => {
    const files = torHostControlFiles(join(dir, 'stack'))
    tor = await fakeTorControl(files, Buffer.alloc(32, 7), stuck)
    await start({ frontDoorPort: 8480, enginePort: 8347, tor: { lndP2p: false, lndRest: false } })

    // No status call: the background watch alone raises it.
    const raised = await until(
      async () => events.find((e) => e.type === 'alert' && e.alert.id === 'reach:tor'),
      (e) => e !== undefined,
    )
    expect(raised).toMatchObject({
      alert: {
        title: 'Tor is not connected',
        message: expect.stringMatching(
          /^Tor cannot reach the Tor network \(stuck at 5%: Network is unreachable/,
        ),
      },
    })
    expect((await dashboard()).map((a) => a.id)).toEqual(['reach:tor'])
    // Read again and again in the background, but told once.
    const reads = tor.heard.filter((l) => l.startsWith('GETINFO')).length
    await until(
      async () => tor!.heard.filter((l) => l.startsWith('GETINFO')).length,
      (n) => n >= reads + 2,
    )
    expect(events.filter((e) => e.type === 'alert' && e.alert.id === 'reach:tor')).toHaveLength(1)

    tor.phase = done
    await until(dashboard, (a) => a.length === 0)
    expect(await dashboard()).toEqual([])
    expect(events.some((e) => e.type === 'alert-cleared' && e.id === 'reach:tor')).toBe(true)

    // Stuck again, then tor stops (the stack stopped): nothing is left saying it is offline.
    tor.phase = stuck
    await until(dashboard, (a) => a.length === 1)
    await tor.close()
    await until(dashboard, (a) => a.length === 0)
    expect(await dashboard()).toEqual([])
    tor = await fakeTorControl(files, Buffer.alloc(32, 7), done)

    // Tor turned off: the watch stops.
    await engine.call('reach', 'save', { frontDoorPort: 8480, enginePort: 8347 }, CTX)
    const after = tor.heard.length
    await new Promise((r) => setTimeout(r, 400))
    expect(tor.heard.length).toBe(after)
  })

  it('a LAN port another program holds: the front door’s problem shows in Settings → Reachability', async () => {
    const problem = {
      code: 'stack.port_taken',
      message:
        'Port 8443 (the shop’s devices on the LAN, for Front door (Caddy)) is already used by another program, so Front door (Caddy) cannot start.',
      hint: 'Close the program that uses port 8443, then start again.',
    }
    // The stack's own status for Caddy (the supervisor names the port: src/core/supervisor/ports.ts).
    const stack = () => ({
      name: 'stack',
      start: async () => {},
      stop: async () => {},
      handlers: {
        status: async () => ({ services: [{ id: 'caddy', state: 'failed', problem }], alerts: [] }),
      },
    })
    const publicAddress = {
      baseUrl: 'https://shop.example.com',
      tlsBeforeBox: true,
      proxyAddresses: [],
    }
    save({ frontDoorPort: 8480, enginePort: 8347, publicAddress })
    engine = await createEngine({
      dataDir: dir,
      log: silentLogger,
      modules: [stack, reachModule()],
    })
    expect((await reachStatus()).frontDoorProblem).toEqual(problem)
  })
})
