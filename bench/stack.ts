// `npm run bench:stack` — the container supervisor against plain Docker, on the local Docker Engine
// with the TEST lifecycle image (tests/images; no registry needed). Not a test: timings only.
//
//  1. Start to all healthy, 8 containers with health checks (bitcoind first, the other 7 gated on
//     its health): the supervisor vs three plain-Docker baselines doing the same work —
//       sequential  a bash script of `docker` CLI commands (network create, `docker run` with the
//                   same --health-* flags one after another, polling `docker inspect` for health);
//       parallel    the same script, but every `docker run` of a dependency level at once;
//       compose     `docker-compose up -d` (Debian's docker-compose 1.29, file format 2.4) with
//                   `depends_on: condition: service_healthy` and the same healthchecks; compose
//                   waits for bitcoind's health before starting the rest, then the script polls
//                   until all are healthy.
//     Each runs ROUNDS times, in rotating order; the best of each is compared, and the headline
//     ratio is against the fastest baseline.
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

/** Each stand-in service answers its health probe only this long after it started. */
const READY_AFTER_MS = 300
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`

function plan(project: string, dataDir: string, image: BuiltImage): StackPlan {
  return testPlan(
    project,
    dataDir,
    IDS.map((id) =>
      testService(image, dataDir, {
        id,
        readyAfterMs: READY_AFTER_MS,
        dependsOn: id === 'bitcoind' ? [] : ['bitcoind'],
      }),
    ),
  )
}

/** The same containers, started by a plain bash script of docker CLI commands. */
function bashScript(p: StackPlan, parallel: boolean): string {
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
    // One dependency level: all at once (each in the background, then wait for every one).
    ...(parallel ? [...rest.map((id) => `${run(id)} &`), 'wait'] : rest.map(run)),
    waitHealthy(IDS),
  ].join('\n')
}

/** The same containers as a docker-compose file (format 2.4: healthchecks, service_healthy). */
function composeFile(p: StackPlan): string {
  const services: Record<string, unknown> = {}
  for (const id of IDS) {
    const s = p.services.find((x) => x.id === id)!
    const h = s.health
    services[id] = {
      image: `${s.image.repository}:${s.image.tag}`,
      container_name: `${p.project}-${id}`,
      hostname: id,
      labels: {
        'io.flashbox.test': '1',
        'io.flashbox.project': p.project,
        'io.flashbox.service': id,
      },
      environment: s.env,
      volumes: s.mounts.map((m) => `${m.kind === 'bind' ? m.source : m.name}:${m.target}`),
      ...(s.command.length ? { command: s.command } : {}),
      healthcheck: {
        test: h.test,
        interval: `${h.intervalMs}ms`,
        timeout: `${h.timeoutMs}ms`,
        retries: h.retries,
        start_period: `${h.startPeriodMs}ms`,
      },
      ...(id === 'bitcoind' ? {} : { depends_on: { bitcoind: { condition: 'service_healthy' } } }),
    }
  }
  return JSON.stringify({
    version: '2.4',
    services,
    networks: {
      default: {
        name: p.dockerNetwork,
        labels: { 'io.flashbox.test': '1', 'io.flashbox.project': p.project },
      },
    },
  })
}

type Baseline = 'sequential' | 'parallel' | 'compose'
const BASELINES: Baseline[] = ['sequential', 'parallel', 'compose']

async function plainRound(image: BuiltImage, round: number, how: Baseline): Promise<number> {
  const project = `fbb-${how}-${process.pid}-${round}`
  const dataDir = tempDataDir(`bench-${how}`)
  const script = join(dataDir, 'start.sh')
  const p = plan(project, dataDir, image)
  if (how === 'compose') {
    // JSON is YAML: docker-compose reads it as is.
    const file = join(dataDir, 'docker-compose.yml')
    writeFileSync(file, composeFile(p))
    const all = p.services.map((s) => `${p.project}-${s.id}`).join(' ')
    writeFileSync(
      script,
      [
        'set -euo pipefail',
        ...p.services.map((s) => `mkdir -p '${join(p.dataDir, s.id)}'`),
        `docker-compose --no-ansi -p ${project} -f '${file}' up -d --quiet-pull >/dev/null 2>&1`,
        `for _ in $(seq 1 300); do
  ok=1
  for c in ${all}; do
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" = healthy ] || { ok=0; break; }
  done
  [ $ok = 1 ] && break
  sleep 0.2
done
[ $ok = 1 ] || { echo "not healthy in time" >&2; exit 1; }`,
      ].join('\n'),
    )
  } else writeFileSync(script, bashScript(p, how === 'parallel'))
  try {
    const t0 = performance.now()
    const r = spawnSync('bash', [script], { stdio: ['ignore', 'ignore', 'pipe'] })
    const t = performance.now() - t0
    if (r.status !== 0) throw new Error(`${how} docker script failed: ${r.stderr.toString()}`)
    if (how === 'compose') composeWaitedForHealth(project)
    return t
  } finally {
    cleanupProject(project, dataDir)
  }
}

/**
 * Proof that docker-compose 1.29 honoured `condition: service_healthy` with format 2.4: bitcoind
 * cannot pass a probe before READY_AFTER_MS after it started, and no dependent started earlier.
 * (Without the condition, compose starts them all within a few milliseconds of each other.)
 */
function composeWaitedForHealth(project: string): void {
  const startedAt = (id: string) =>
    Date.parse(
      spawnSync('docker', ['inspect', '-f', '{{.State.StartedAt}}', `${project}-${id}`])
        .stdout.toString()
        .trim(),
    )
  const earliestHealthy = startedAt('bitcoind') + READY_AFTER_MS
  for (const id of IDS.filter((x) => x !== 'bitcoind'))
    if (!(startedAt(id) >= earliestHealthy))
      throw new Error(`docker-compose started ${id} before bitcoind could be healthy`)
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
  const plain: Record<Baseline, number[]> = { sequential: [], parallel: [], compose: [] }
  const supervised: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    // Rotate who goes first so nobody always gets the warmer machine.
    const order = ['supervisor', ...BASELINES] as const
    const turn = [...order.slice(i % order.length), ...order.slice(0, i % order.length)]
    for (const who of turn) {
      if (who === 'supervisor') supervised.push(await supervisorRound(image, i))
      else plain[who].push(await plainRound(image, i, who))
    }
    console.log(
      `round ${i + 1}: supervisor ${fmt(supervised.at(-1)!)}, ${BASELINES.map((b) => `${b} ${fmt(plain[b].at(-1)!)}`).join(', ')}`,
    )
  }
  const bestSup = Math.min(...supervised)
  const best = Object.fromEntries(BASELINES.map((b) => [b, Math.min(...plain[b])])) as Record<
    Baseline,
    number
  >
  const fastest = BASELINES.reduce((a, b) => (best[b] < best[a] ? b : a))

  const c = await crashAndIdle(image)
  console.log('')
  console.log(`containers with health checks: ${IDS.length} (bitcoind, then 7 gated on it)`)
  console.log(`start to all healthy, supervisor (best of ${ROUNDS}): ${fmt(bestSup)}`)
  console.log(
    `start to all healthy, plain docker, sequential script (best of ${ROUNDS}): ${fmt(best.sequential)}`,
  )
  console.log(
    `start to all healthy, plain docker, parallel per dependency level (best of ${ROUNDS}): ${fmt(best.parallel)}`,
  )
  console.log(
    `start to all healthy, docker-compose 1.29 up, depends_on service_healthy (best of ${ROUNDS}): ${fmt(best.compose)}`,
  )
  console.log(`crash → supervisor restarting (event stream): ${c.toRestarting.toFixed(0)} ms`)
  console.log(`crash → container running again (backoff 100 ms): ${c.toRunning.toFixed(0)} ms`)
  console.log(
    `supervisor idle over ${IDLE_S} s with ${IDS.length} containers: CPU ${c.cpuPercent.toFixed(2)} %, RSS ${c.rssMiB.toFixed(0)} MiB (max ${c.maxRssMiB.toFixed(0)} MiB), heap ${c.heapMiB.toFixed(1)} MiB`,
  )
  console.log(`start ratio vs the sequential script: ${(bestSup / best.sequential).toFixed(2)}`)
  console.log(`fastest plain-Docker baseline: ${fastest} (${fmt(best[fastest])})`)
  console.log(`start ratio vs plain docker: ${(bestSup / best[fastest]).toFixed(2)}`)
}

await main()
