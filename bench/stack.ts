// `npm run bench:stack` — the container supervisor against plain Docker, on the local Docker Engine
// with the TEST lifecycle image (tests/images; no registry needed). Not a test: timings only.
//
//  1. Start to all healthy, 8 containers with health checks (bitcoind first, the other 7 gated on
//     its health): the supervisor vs a plain bash script of `docker` CLI commands (network create,
//     `docker run` with the same --health-* flags, polling `docker inspect` for health). Each side
//     runs ROUNDS times, alternating; the best of each is compared.
//  2. Crash to restart: `docker kill` one container; the time until the supervisor, told by
//     Docker's event stream, publishes the restart (`restarting`), and until the container runs
//     again (the backoff's first delay is set to 100 ms here).
//  3. The supervisor's idle cost over ~10 s with all 8 running (stats streaming on, as in the app):
//     CPU (process.cpuUsage) and memory (resourceUsage maxRSS, heap).
//
// Everything it makes is labelled io.flashbox.test=1 and removed at the end.
// Options: --rounds N (default 2), --idle-seconds N (default 10).
import { spawnSync } from 'node:child_process'
import { readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ServiceId, StackPlan } from '../src/core/stack/spec'
import type { StackEvent } from '../src/shared/api/stack'
import { cleanupProject, makeSupervisor, tempDataDir } from '../tests/images/harness'
import { testPlan, testService } from '../tests/images/test-catalog'
import { buildTestImage, type BuiltImage } from '../tests/images/build'

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}
const ROUNDS = Math.max(1, Math.min(5, arg('rounds', 2)))
const IDLE_S = Math.max(2, Math.min(60, arg('idle-seconds', 10)))

const IDS: ServiceId[] = [
  'bitcoind',
  'electrs',
  'lnd',
  'relay',
  'mint',
  'postgres',
  'nbxplorer',
  'btcpay',
]
/**
 * The lifecycle test image plus a /bin/sh (the host's dash; it needs only libc, which the node
 * base image has): the docker CLI's --health-cmd always runs through /bin/sh (CMD-SHELL).
 */
function benchImage(): BuiltImage {
  const here = join(import.meta.dirname, '..', 'tests', 'images', 'lifecycle')
  return buildTestImage('lifecycle-sh', {
    files: {
      '/app/service.mjs': readFileSync(join(here, 'service.mjs')),
      '/app/health.mjs': readFileSync(join(here, 'health.mjs')),
      '/bin/sh': readFileSync(realpathSync('/bin/sh')),
    },
    executable: ['/bin/sh'],
    cmd: ['/usr/local/bin/node', '/app/service.mjs'],
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`

function plan(project: string, dataDir: string, image: BuiltImage): StackPlan {
  return testPlan(
    project,
    dataDir,
    IDS.map((id) =>
      testService(image, dataDir, {
        id,
        readyAfterMs: 300,
        dependsOn: id === 'bitcoind' ? [] : ['bitcoind'],
      }),
    ),
  )
}

/** The same containers, started by a plain bash script of docker CLI commands. */
function bashScript(p: StackPlan): string {
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`
  const labels = `--label io.flashbox.test=1 --label io.flashbox.project=${p.project}`
  const run = (id: string) => {
    const s = p.services.find((x) => x.id === id)!
    const h = s.health
    return [
      'docker run -d -q',
      `--name ${p.project}-${id}`,
      `--network ${p.dockerNetwork}`,
      `--hostname ${id}`,
      labels,
      `--label io.flashbox.service=${id}`,
      ...Object.entries(s.env).map(([k, v]) => `-e ${q(`${k}=${v}`)}`),
      ...s.mounts.map((m) => `-v ${q(`${m.kind === 'bind' ? m.source : m.name}:${m.target}`)}`),
      `--health-cmd ${q(h.test.slice(1).join(' '))}`,
      `--health-interval ${h.intervalMs}ms`,
      `--health-timeout ${h.timeoutMs}ms`,
      `--health-retries ${h.retries}`,
      `--health-start-period ${h.startPeriodMs}ms`,
      `${s.image.repository}:${s.image.tag}`,
      ...s.command.map(q),
      '>/dev/null',
    ].join(' ')
  }
  const waitHealthy = (ids: string[]) => `
for _ in $(seq 1 300); do
  ok=1
  for c in ${ids.map((id) => `${p.project}-${id}`).join(' ')}; do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" = healthy ] || { ok=0; break; }
  done
  [ $ok = 1 ] && break
  sleep 0.2
done
[ $ok = 1 ] || { echo "not healthy in time" >&2; exit 1; }`
  const rest = IDS.filter((id) => id !== 'bitcoind')
  return [
    'set -euo pipefail',
    `docker network create ${labels} ${p.dockerNetwork} >/dev/null`,
    ...p.services.map((s) => `mkdir -p ${q(join(p.dataDir, s.id))}`),
    run('bitcoind'),
    waitHealthy(['bitcoind']),
    ...rest.map(run),
    waitHealthy(IDS),
  ].join('\n')
}

async function plainRound(image: BuiltImage, round: number): Promise<number> {
  const project = `fbb-plain-${process.pid}-${round}`
  const dataDir = tempDataDir('bench-plain')
  const script = join(dataDir, 'start.sh')
  writeFileSync(script, bashScript(plan(project, dataDir, image)))
  try {
    const t0 = performance.now()
    const r = spawnSync('bash', [script], { stdio: ['ignore', 'ignore', 'pipe'] })
    const t = performance.now() - t0
    if (r.status !== 0) throw new Error(`plain docker script failed: ${r.stderr.toString()}`)
    return t
  } finally {
    cleanupProject(project, dataDir)
  }
}

const allHealthy = (ss: { state: string }[]) =>
  ss.length === IDS.length && ss.every((s) => s.state === 'healthy')

async function supervisorRound(image: BuiltImage, round: number): Promise<number> {
  const project = `fbb-sup-${process.pid}-${round}`
  const dataDir = tempDataDir('bench-sup')
  const { sup } = makeSupervisor(dataDir, { collectStats: true })
  try {
    await sup.open()
    sup.setPlan(plan(project, dataDir, image))
    const t0 = performance.now()
    await sup.startStack()
    await sup.waitFor(allHealthy, 120_000)
    return performance.now() - t0
  } finally {
    await sup.close()
    cleanupProject(project, dataDir)
  }
}

async function crashAndIdle(image: BuiltImage) {
  const project = `fbb-crash-${process.pid}`
  const dataDir = tempDataDir('bench-crash')
  const seen: { at: number; event: StackEvent }[] = []
  const { sup } = makeSupervisor(dataDir, {
    collectStats: true,
    publish: (event) => seen.push({ at: performance.now(), event }),
    crashPolicy: {
      baseDelayMs: 100,
      maxDelayMs: 1000,
      maxCrashes: 5,
      windowMs: 60_000,
      stableAfterMs: 60_000,
    },
  })
  try {
    await sup.open()
    sup.setPlan(plan(project, dataDir, image))
    await sup.startStack()
    await sup.waitFor(allHealthy, 120_000)

    const victim = sup.serviceStatuses().find((s) => s.id === 'mint')!.containerId!
    const from = seen.length
    const t0 = performance.now()
    const k = spawnSync('docker', ['kill', victim])
    if (k.status !== 0) throw new Error(`docker kill failed: ${k.stderr.toString()}`)
    await sup.waitFor((ss) => ss.find((s) => s.id === 'mint')?.state === 'restarting', 30_000)
    const restarting = seen
      .slice(from)
      .find(
        (e) =>
          e.event.type === 'service' &&
          e.event.service.id === 'mint' &&
          e.event.service.state === 'restarting',
      )!.at
    await sup.waitFor(
      (ss) => ['starting', 'healthy'].includes(ss.find((s) => s.id === 'mint')?.state ?? ''),
      30_000,
    )
    const runningAgain = performance.now()
    await sup.waitFor(allHealthy, 60_000)
    await sleep(2000) // let the restart's own work settle before measuring idle

    const cpu0 = process.cpuUsage()
    const w0 = performance.now()
    await sleep(IDLE_S * 1000)
    const cpu = process.cpuUsage(cpu0)
    const wall = performance.now() - w0
    const ru = process.resourceUsage()
    const mem = process.memoryUsage()
    return {
      toRestarting: restarting - t0,
      toRunning: runningAgain - t0,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / wall) * 100,
      maxRssMiB: ru.maxRSS / 1024,
      rssMiB: mem.rss / 1024 / 1024,
      heapMiB: mem.heapUsed / 1024 / 1024,
    }
  } finally {
    await sup.close()
    cleanupProject(project, dataDir)
  }
}

async function main() {
  console.log('building the lifecycle test image (cached after the first run) …')
  const image = benchImage()
  const plain: number[] = []
  const supervised: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate who goes first so neither always gets the warmer machine.
    if (i % 2 === 0) {
      supervised.push(await supervisorRound(image, i))
      plain.push(await plainRound(image, i))
    } else {
      plain.push(await plainRound(image, i))
      supervised.push(await supervisorRound(image, i))
    }
    console.log(
      `round ${i + 1}: supervisor ${fmt(supervised.at(-1)!)}, plain docker ${fmt(plain.at(-1)!)}`,
    )
  }
  const bestSup = Math.min(...supervised)
  const bestPlain = Math.min(...plain)

  const c = await crashAndIdle(image)
  console.log('')
  console.log(`containers with health checks: ${IDS.length} (bitcoind, then 7 gated on it)`)
  console.log(`start to all healthy, supervisor (best of ${ROUNDS}): ${fmt(bestSup)}`)
  console.log(`start to all healthy, plain docker (best of ${ROUNDS}): ${fmt(bestPlain)}`)
  console.log(`crash → supervisor restarting (event stream): ${c.toRestarting.toFixed(0)} ms`)
  console.log(`crash → container running again (backoff 100 ms): ${c.toRunning.toFixed(0)} ms`)
  console.log(
    `supervisor idle over ${IDLE_S} s with ${IDS.length} containers: CPU ${c.cpuPercent.toFixed(2)} %, RSS ${c.rssMiB.toFixed(0)} MiB (max ${c.maxRssMiB.toFixed(0)} MiB), heap ${c.heapMiB.toFixed(1)} MiB`,
  )
  console.log(`start ratio vs plain docker: ${(bestSup / bestPlain).toFixed(2)}`)
}

await main()
