import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { fakeTorControl, type FakeTorControl } from '../../../tests/unit/fake-tor-control'
import { torBootstrapProblem, torView } from './tor-bootstrap'
import {
  parseBootstrapPhase,
  readTorBootstrapPhase,
  torControlFiles,
  TorControlError,
} from './tor-control'

// status/bootstrap-phase values as tor 0.4.9 answers them (control-spec.txt §4.1.10).
const starting = 'NOTICE BOOTSTRAP PROGRESS=0 TAG=starting SUMMARY="Starting"'
const stuck =
  'WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Network is unreachable" REASON=NOROUTE COUNT=1 RECOMMENDATION=warn HOST=0000 HOSTADDR=1.2.3.4:443'
const done = 'NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"'

describe('tor bootstrap', () => {
  it('parses tor’s bootstrap phase, with the reason it is stuck', () => {
    expect(parseBootstrapPhase(stuck, 12)).toEqual({
      progress: 5,
      tag: 'conn',
      summary: 'Connecting to a relay',
      warning: 'Network is unreachable',
      reason: 'NOROUTE',
      recommendation: 'warn',
      uptimeSeconds: 12,
    })
    expect(
      parseBootstrapPhase('NOTICE BOOTSTRAP PROGRESS=45 TAG=a SUMMARY="say \\"hi\\""', 1)?.summary,
    ).toBe('say "hi"')
    expect(parseBootstrapPhase('nonsense', 1)).toBeUndefined()
    expect(parseBootstrapPhase('NOTICE BOOTSTRAP PROGRESS=140 TAG=x', 1)).toBeUndefined()
  })

  it('says plainly when Tor cannot reach the network: at once when tor warns, else after the patience', () => {
    const p = torBootstrapProblem(parseBootstrapPhase(stuck, 5)!)
    expect(p?.code).toBe('tor.offline')
    expect(p?.message).toBe(
      'Tor cannot reach the Tor network (stuck at 5%: Network is unreachable after 5 seconds), so your onion addresses do not work yet.',
    )
    expect(p?.hint).toMatch(/Check that this computer is online/)
    expect(torBootstrapProblem(parseBootstrapPhase(done, 500)!)).toBeUndefined()
    // Still starting: no complaint within the patience, tor.offline after it.
    expect(torBootstrapProblem(parseBootstrapPhase(starting, 30)!, 60_000)).toBeUndefined()
    expect(torBootstrapProblem(parseBootstrapPhase(starting, 61)!, 60_000)?.message).toMatch(
      /stuck at 0% after 61 seconds/,
    )
    // A problem tor itself would not warn about waits for the patience too.
    const ignorable = stuck.replace('RECOMMENDATION=warn', 'RECOMMENDATION=ignore')
    expect(torBootstrapProblem(parseBootstrapPhase(ignorable, 5)!)).toBeUndefined()
  })

  it('words the owner sees: connecting with the percent, connected, offline, not running', () => {
    const half = parseBootstrapPhase(
      'NOTICE BOOTSTRAP PROGRESS=45 TAG=requesting_descriptors SUMMARY="Asking for relay descriptors"',
      20,
    )!
    expect(torView(half)).toEqual({
      state: 'connecting',
      percent: 45,
      words: 'Tor: connecting 45% (asking for relay descriptors)',
    })
    expect(torView(parseBootstrapPhase(done, 20)!)).toMatchObject({
      state: 'connected',
      words: 'Tor: connected',
    })
    const off = torView(parseBootstrapPhase(starting, 300)!)
    expect(off.state).toBe('offline')
    expect(off.problem?.code).toBe('tor.offline')
    expect(torView(new TorControlError('gone', true)).state).toBe('not-running')
    expect(torView(new TorControlError('odd', false)).state).toBe('unknown')
  })
})

describe('tor control socket', () => {
  let dir = ''
  let server: FakeTorControl | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  async function controlSocket(cookie: Buffer, phase: string): Promise<string[]> {
    dir = mkdtempSync(join(tmpdir(), 'tor-control-'))
    server = await fakeTorControl(torControlFiles(dir), cookie, phase)
    return server.heard
  }

  it('authenticates with the cookie and reads the phase and uptime', async () => {
    const cookie = Buffer.alloc(32, 7)
    const heard = await controlSocket(cookie, stuck)
    const phase = await readTorBootstrapPhase(torControlFiles(dir))
    expect(phase).toMatchObject({
      progress: 5,
      uptimeSeconds: 42,
      warning: 'Network is unreachable',
    })
    expect(heard[0]).toBe(`AUTHENTICATE ${cookie.toString('hex')}`)
  })

  it('a wrong cookie, and no tor at all, are told apart', async () => {
    await controlSocket(Buffer.alloc(32, 7), done)
    writeFileSync(torControlFiles(dir).cookie, Buffer.alloc(32, 8))
    const refused = await readTorBootstrapPhase(torControlFiles(dir)).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(TorControlError)
    expect((refused as TorControlError).notRunning).toBe(false)
    expect((refused as Error).message).toMatch(/refused the control cookie: 515/)

    const none = await readTorBootstrapPhase(torControlFiles(join(dir, 'nowhere'))).catch(
      (e: unknown) => e,
    )
    expect((none as TorControlError).notRunning).toBe(true)
    await server!.close()
    server = undefined
    const gone = await readTorBootstrapPhase(torControlFiles(dir)).catch((e: unknown) => e)
    expect((gone as TorControlError).notRunning).toBe(true)
  })

  it('reaches a socket whose path is too long for sockaddr_un through a short link', async () => {
    const cookie = Buffer.alloc(32, 9)
    await controlSocket(cookie, done)
    // A second name for the same folder, long enough that the socket path passes 108 bytes.
    const deep = join(dir, 'x'.repeat(60), 'y'.repeat(60))
    mkdirSync(join(dir, 'x'.repeat(60)))
    symlinkSync(dir, deep)
    const phase = await readTorBootstrapPhase(torControlFiles(deep))
    expect(phase.progress).toBe(100)
  })
})
