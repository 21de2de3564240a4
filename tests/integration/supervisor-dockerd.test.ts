// The Docker daemon restarted under a running supervisor: the supervisor notices, keeps trying,
// reconnects, re-subscribes to Docker's event stream and reconciles until every service is
// healthy again. The test runs its OWN dockerd (separate socket, data root and exec root, started
// and stopped by PID), so restarting it never disturbs the Docker Engine other tests use.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Supervisor } from '../../src/core/supervisor/supervisor'
import type { BuiltImage } from '../images/build'
import {
  cleanupProject,
  makeSupervisor,
  projectContainers,
  tempDataDir,
  type Recorded,
} from '../images/harness'
import { buildLifecycleImage, standardTestPlan } from '../images/test-catalog'
import { eventually } from './eventually'

const root = mkdtempSync('/tmp/fbt-dockerd-')
const socket = join(root, 'docker.sock')
const host = `unix://${socket}`
const daemonArgs = [
  '--data-root',
  join(root, 'data'),
  '--exec-root',
  join(root, 'exec'),
  '--pidfile',
  join(root, 'docker.pid'),
  '-H',
  host,
  '--bridge=none',
  '--iptables=false',
  '--ip-masq=false',
  '--default-address-pool',
  'base=10.213.0.0/16,size=24',
  '--shutdown-timeout',
  '20',
]

const daemonAnswers = () =>
  spawnSync('docker', ['-H', host, 'info'], { stdio: 'ignore', timeout: 10_000 }).status === 0

let daemon: ChildProcess | undefined

async function startDaemon(): Promise<void> {
  const log = openSync(join(root, 'dockerd.log'), 'a')
  // Its own network namespace too: a second dockerd in the host's namespace tears down the
  // shared daemon's docker0 bridge (seen here), breaking every other container on the machine.
  daemon = spawn(
    'unshare',
    ['--net', '--', 'sh', '-c', 'ip link set lo up && exec dockerd "$@"', 'dockerd', ...daemonArgs],
    { stdio: ['ignore', log, log] },
  )
  closeSync(log)
  const d = daemon
  await eventually(
    () => d.exitCode !== null || daemonAnswers(),
    'the test dockerd to answer',
    60_000,
  )
  if (d.exitCode !== null) {
    throw new Error(`test dockerd exited: ${readFileSync(join(root, 'dockerd.log'), 'utf8')}`)
  }
}

/** SIGTERM by PID (the daemon stops its containers first), SIGKILL if it hangs. */
async function stopDaemon(): Promise<void> {
  const d = daemon
  if (!d || d.exitCode !== null || d.signalCode !== null) return
  const exited = new Promise((r) => d.once('exit', r))
  d.kill('SIGTERM')
  const killer = setTimeout(() => d.kill('SIGKILL'), 60_000)
  await exited
  clearTimeout(killer)
}

const allHealthy = (ids: readonly string[]) => (ss: { id: string; state: string }[]) =>
  ids.every((id) => ss.find((s) => s.id === id)?.state === 'healthy')

const starts = (dataDir: string, id: string) =>
  readFileSync(join(dataDir, id, 'events.log'), 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(' start')).length

describe('supervisor: the Docker daemon restarts underneath it', () => {
  const project = `fbt-dockerd-${process.pid}`
  const dataDir = tempDataDir('dockerd')
  const ids = ['bitcoind', 'electrs', 'lnd', 'mint']
  const savedHost = process.env.DOCKER_HOST
  let image: BuiltImage
  let sup: Supervisor | undefined
  let events: Recorded[] = []

  beforeAll(async () => {
    await startDaemon()
    // Everything below (image build, the supervisor, clean-up) talks to the test daemon.
    process.env.DOCKER_HOST = host
    image = buildLifecycleImage()
  }, 180_000)

  afterAll(async () => {
    await sup?.close()
    try {
      if (!daemonAnswers()) await startDaemon().catch(() => {})
      cleanupProject(project, dataDir)
    } finally {
      await stopDaemon()
      if (savedHost === undefined) delete process.env.DOCKER_HOST
      else process.env.DOCKER_HOST = savedHost
      rmSync(root, { recursive: true, force: true })
    }
  }, 120_000)

  it('reconnects, re-subscribes to events and brings every service back to healthy', async () => {
    ;({ sup, events } = makeSupervisor(dataDir, {
      // Only events and the reconnect may drive it: the safety-net resync is out of reach.
      resyncMs: 600_000,
      reconnectBaseMs: 250,
      reconnectMaxMs: 2000,
      crashPolicy: {
        baseDelayMs: 200,
        maxDelayMs: 2000,
        maxCrashes: 10,
        windowMs: 120_000,
        stableAfterMs: 60_000,
      },
    }))
    const s = sup
    expect((await s.open()).state).toBe('running')
    s.setPlan(standardTestPlan(project, dataDir, image, { bitcoind: { stopDelayMs: 500 } }))
    await s.startStack()
    await s.waitFor(allHealthy(ids), 90_000)
    const before = projectContainers(project)
    expect(before).toHaveLength(4)

    // The daemon goes away (stopping every container on its way out).
    await stopDaemon()
    expect(daemonAnswers()).toBe(false)
    await eventually(() => s.dockerState().state !== 'running', 'the supervisor to notice', 30_000)
    expect(s.alertList().some((a) => a.id === 'docker') || events.length > 0).toBe(true)

    // … and comes back. The supervisor reconnects by itself and converges again.
    await startDaemon()
    await eventually(
      () => s.dockerState().state === 'running',
      'the supervisor to reconnect',
      60_000,
    )
    await s.waitFor(allHealthy(ids), 120_000)
    const after = projectContainers(project)
    expect(after).toHaveLength(4)
    // Every service ran again after the daemon came back (a dependent may be restarted once more
    // while its dependency settles; the supervisor's backoff bounds that).
    for (const id of ids) expect(starts(dataDir, id)).toBeGreaterThanOrEqual(2)
    const running = spawnSync('docker', [
      'ps',
      '-q',
      '--filter',
      `label=io.flashbox.project=${project}`,
    ])
    expect(running.stdout.toString().split('\n').filter(Boolean)).toHaveLength(4)

    // The event stream is live again: a crash is seen and restarted (resync is 10 minutes away).
    const electrs = s.serviceStatuses().find((x) => x.id === 'electrs')!.containerId!
    const seenBefore = events.length
    const startsBefore = starts(dataDir, 'electrs')
    expect(spawnSync('docker', ['kill', electrs]).status).toBe(0)
    await eventually(
      () =>
        events
          .slice(seenBefore)
          .some(
            (e) =>
              e.event.type === 'service' &&
              e.event.service.id === 'electrs' &&
              e.event.service.state === 'restarting',
          ),
      'the crash to be seen through the event stream',
      30_000,
    )
    await s.waitFor(allHealthy(ids), 60_000)
    expect(starts(dataDir, 'electrs')).toBeGreaterThan(startsBefore)
  }, 300_000)
})
