// bench:wallet — a full sync of a wallet with N used addresses (2 transactions each, default
// N = 1,000 → 2,000 transactions) against the Electrum façade (electrs simulator following the
// bitcoind simulator's world chain, real signatures), two ways:
//  - the box's client (src/core/wallet/wallet-sync.ts): batched subscriptions, histories,
//    transactions, Merkle proofs and headers, one round trip per step;
//  - a naive client asking one address at a time: get_history, then each new transaction, its
//    Merkle proof and its block header (cached), one request per round trip.
// Both do the same work (discover to the gap limit, fetch every transaction, verify every proof)
// and derive keys the same way (AccountKeys: libsecp256k1's native prebuild where the platform
// has one, its WebAssembly build elsewhere; the report names which each client used).
// The box's client sends what a round needs at one moment (the transactions, their Merkle proofs,
// the headers) as one line (ElectrumClient.flightSettled: electrs writes each answer line with
// Nagle's algorithm on, so a short line behind a long one waited for a delayed ACK), subscribes
// the next round's addresses and asks their histories right after a round's answer arrives
// (electrs works on them while the client checks and stores the round), reads each transaction
// once from its bytes, fetches a parent paying many deposits once per discovery, and checks proofs
// with MerkleVerifier (each header's work checked once, tree nodes already established in a block
// not hashed again); the naive client checks each proof on its own with verifyMerkleProof, as a
// one-call-at-a-time client would.
// Then a restart of the box's wallet on the same store: what an unchanged wallet costs; and, at the
// end, another restart after K status hashes changed (one new payment to each of K used
// addresses): only those histories are fetched, in one batch.
//
// The path a round trip takes is the box's: on a box electrs is a Docker container and the
// wallet connects to 127.0.0.1:<servicePorts.electrum>, the port the stack publishes on the
// host's loopback (src/core/stack/electrs.ts, HostIp 127.0.0.1 in the supervisor's
// PortBindings). With Docker's default userland proxy such a connection goes through
// docker-proxy, a host process that copies every byte between the host's socket and the
// container's bridge address: a round trip through it costs about twice one over plain loopback.
// So the façade (bundle of bench/wallet-facade.ts with its simulators, esbuild, as
// tests/simulators/bundle.ts bundles simulators) runs in a container of a test image built here
// (tests/images/build.ts on the node base image; cached by content hash, so a second run builds
// nothing), labelled io.flashbox.test=1, published with -p 127.0.0.1:<free port>:50001 — the
// same publish form as the stack's electrs — and both clients connect to that port. The
// headline (last line) is that run. The same two clients then run again against the façade as a
// plain host process, over 127.0.0.1 loopback without Docker, and that figure is printed on its
// own labelled line ("without Docker's port publishing"). If Docker does not answer (start it
// with `bash scripts/start-dockerd.sh`), or the image cannot be built or the container started,
// the bench says so and the headline comes from the host-process façade, labelled as such.
// Either way it is one machine, so a round trip is far cheaper here than on a LAN or over Tor.
//
// The façade's CPU time while each client ran is printed beside the clients' own: both clients
// ask it for the same histories, transactions and Merkle proofs. It is the façade process's own
// count (process.cpuUsage, asked over its stdin — `docker run -i` attaches it in the container,
// where the façade is the only process, so that is all the container's CPU), the same measure
// for both façades; docker-proxy's CPU (from /proc) is printed separately.
// Each client runs in a fresh process of its own, so neither profits from code the other warmed
// up (JIT, the secp256k1 WebAssembly) and each one's memory is its own.
// A second, separately labelled figure runs both clients again through a simulated network
// (--latency-ms, default 1 ms per round trip, as on a LAN; Tor is more like 100+ ms; 0 skips it):
// a proxy inside the façade holds each answer that long; in the container it is published too,
// so that path also goes through docker-proxy.
// Everything the run makes (client and façade processes, the container, temp dirs) is removed on
// every way out: the end, an error, Ctrl-C or SIGTERM.
// --profile DIR writes a V8 CPU profile of each client's sync alone (start-up excluded) to
// DIR/<client>.cpuprofile, for Chrome DevTools or `node --cpu-prof`'s tools; timings then include
// the profiler's own cost, so a profiled run is not a headline run.
// Usage: npm run bench:wallet [-- --addresses 100] [-- --latency-ms 1] [-- --profile DIR]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { mnemonicToSeedSync } from '@scure/bip39'
import * as bitcoin from 'bitcoinjs-lib'
import { ElectrumClient } from '../src/core/clients/electrum'
import { servicePorts } from '../src/core/stack/networks'
import { AccountKeys, seedAccount } from '../src/core/wallet/account'
import { childPointBackend } from '../src/core/wallet/child-point'
import { verifyMerkleProof } from '../src/core/wallet/merkle-proof'
import { transactionId } from '../src/core/wallet/txid'
import { WalletStore } from '../src/core/wallet/wallet-store'
import { WalletSync } from '../src/core/wallet/wallet-sync'
import { buildTestImage, TEST_LABEL, type BuiltImage } from '../tests/images/build'
import { freePort } from '../tests/images/world-images'
import { bundleEntry, copySecp256k1Wasm, WASM } from '../tests/simulators/bundle'

const argv = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const N = Number(argv('addresses') ?? 1000)
const latencyMs = Number(argv('latency-ms') ?? 1)
const profileDir = argv('profile')
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`

const seed = mnemonicToSeedSync(
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
)
const account = seedAccount({
  seed,
  network: 'regtest',
  kind: 'wpkh',
  account: 0,
  id: 'bench',
  name: 'Bench',
})

interface Result {
  ms: number
  /** CPU time of the client's process during the sync (user + system), ms. */
  cpuMs?: number
  /** CPU time of the façade process (electrs + bitcoind simulators) while this client ran, ms. */
  facadeCpuMs?: number
  /** CPU time of the docker-proxy carrying this client's connection while it ran, ms. */
  dockerProxyCpuMs?: number
  trips: number
  requests?: number
  heap: number
  rss: number
  methods?: Record<string, number>
  /** Which build of libsecp256k1 derived the client's keys. */
  secp?: 'native' | 'wasm'
}

const mode = argv('client')

/** Runs `command`; resolves with the first line it prints on stdout (JSON). */
function child<T>(
  command: string,
  args: string[],
): { done: Promise<T>; proc: ChildProcess; exited: Promise<number | null> } {
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve))
  const done = new Promise<T>((resolve, reject) => {
    let buf = ''
    const onData = (d: Buffer) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl < 0) return
      proc.stdout!.off('data', onData)
      resolve(JSON.parse(buf.slice(0, nl)) as T)
      // Whatever came after the first line is for the next reader.
      if (buf.length > nl + 1) proc.stdout!.unshift(Buffer.from(buf.slice(nl + 1)))
    }
    proc.stdout!.on('data', onData)
    proc.once('error', reject)
    void exited.then((code) => reject(new Error(`${basename(command)} exited (${code})`)))
  })
  return { done, proc, exited }
}

/**
 * What this run made outside its own memory (processes, the container, temp dirs), undone on
 * every way out: the end, an error, Ctrl-C, SIGTERM. Synchronous, so it can run in 'exit'.
 */
const undo = new Map<string, () => void>()
function cleanUp() {
  for (const [key, fn] of [...undo].reverse()) {
    undo.delete(key)
    try {
      fn()
    } catch {
      // best effort: the rest still runs
    }
  }
}

/** docker: status, stdout and stderr, never throwing (a missing CLI is status null). */
function docker(args: string[]) {
  const r = spawnSync('docker', args, { encoding: 'utf8' })
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr || r.error?.message) ?? '' }
}

/** Why the box's path cannot be measured here, or undefined when Docker answers. */
function dockerMissing(): string | undefined {
  const r = docker(['info', '--format', '{{.ServerVersion}}'])
  if (r.ok) return undefined
  return `Docker is not answering (docker info: ${r.err.trim().split('\n')[0] ?? 'no output'}); start it with \`bash scripts/start-dockerd.sh\``
}

/** The façade bundled with its simulators on the node base image (cached by content hash). */
function facadeImage(): BuiltImage {
  const out = mkdtempSync(join(tmpdir(), 'flashbox-bench-wallet-bundle-'))
  undo.set(`rm ${out}`, () => rmSync(out, { recursive: true, force: true }))
  try {
    const bundle = bundleEntry(join(import.meta.dirname, 'wallet-facade.ts'), out)
    return buildTestImage('wallet-facade', {
      files: {
        '/opt/bench/wallet-facade.mjs': readFileSync(bundle),
        // Node runs this one-line entry, not the bundle: the simulators' "run as a program?"
        // checks compare import.meta.url, the bundle's own in a bundle, with the script Node ran.
        '/opt/bench/facade.mjs': "import './wallet-facade.mjs'\n",
        // tiny-secp256k1 loads its WebAssembly from beside the bundle.
        [`/opt/bench/${WASM}`]: readFileSync(copySecp256k1Wasm(out)),
      },
      cmd: ['/usr/local/bin/node', '/opt/bench/facade.mjs'],
    })
  } finally {
    rmSync(out, { recursive: true, force: true })
    undo.delete(`rm ${out}`)
  }
}

/** The pid of the docker-proxy listening on 127.0.0.1:`hostPort`, if Docker runs one. */
function dockerProxyPid(hostPort: number): number | undefined {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    let cmd: string[]
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    } catch {
      continue
    }
    if (basename(cmd[0] ?? '') !== 'docker-proxy') continue
    const at = cmd.indexOf('-host-port')
    if (at >= 0 && cmd[at + 1] === String(hostPort)) return Number(pid)
  }
  return undefined
}

/** CPU time (user + system) a process has used so far, ms, from /proc/<pid>/stat (Linux). */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces): utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1000
}
const CLK_TCK = 100 // USER_HZ: 100 on every Linux architecture Node supports

interface Facade {
  /** The port the clients connect to on 127.0.0.1, and the one with simulated latency. */
  readonly port: number
  readonly proxyPort: number
  readonly tip: number
  readonly fundedMs: number
  /** The docker-proxy carrying connections to `port`, when Docker runs one. */
  readonly dockerProxy?: number
  /** The façade process's CPU time so far, ms. */
  cpu(): Promise<number>
  /** One new payment to each of K used addresses, mined and indexed. */
  change(k: number): Promise<void>
  close(): Promise<void>
}

type Where = { kind: 'host' } | { kind: 'container'; image: BuiltImage }

/** Starts the façade (funds the chain, waits for electrs' index) and opens its control lines. */
async function startFacade(where: Where): Promise<Facade> {
  const script = join(import.meta.dirname, 'wallet-facade.ts')
  const common = [
    ...['--addresses', String(N), '--account', JSON.stringify(account)],
    ...['--latency-ms', String(latencyMs)],
  ]
  let command: string
  let args: string[]
  let hostPorts: { port: number; proxyPort: number } | undefined
  const key = `facade ${undo.size}`
  if (where.kind === 'host') {
    command = process.execPath
    args = [...process.execArgv, script, ...common]
  } else {
    // Fixed ports inside the container, published on the host's loopback at free ports, in the
    // form the stack publishes electrs (HostIp 127.0.0.1, HostPort, container port/tcp).
    hostPorts = { port: await freePort(), proxyPort: await freePort() }
    const name = `flashbox-bench-wallet-${process.pid}-${randomBytes(4).toString('hex')}`
    const proxyInside = servicePorts.electrum + 1
    command = 'docker'
    args = [
      ...['run', '-i', '--rm', '--name', name, '--label', `${TEST_LABEL}=1`],
      ...['-p', `127.0.0.1:${hostPorts.port}:${servicePorts.electrum}/tcp`],
      ...['-p', `127.0.0.1:${hostPorts.proxyPort}:${proxyInside}/tcp`],
      where.image.tag,
      ...['/usr/local/bin/node', '/opt/bench/facade.mjs', ...common],
      ...['--host', '0.0.0.0', '--electrum-port', String(servicePorts.electrum)],
      ...['--proxy-port', String(proxyInside)],
    ]
    undo.set(`${key} container`, () => void docker(['rm', '-f', '-v', name]))
  }
  const c = child<{ port: number; proxyPort: number; tip: number; fundedMs: number }>(command, args)
  undo.set(key, () => c.proc.kill('SIGKILL'))
  const ready = await c.done
  // Later lines answer "cpu" and "change K", one line each, in order.
  const lines: string[] = []
  const waiters: ((line: string) => void)[] = []
  let buf = ''
  c.proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString()
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      const w = waiters.shift()
      if (w) w(line)
      else lines.push(line)
    }
  })
  const ask = async <T>(command: string): Promise<T> => {
    const answer = new Promise<string>((resolve, reject) => {
      const early = lines.shift()
      if (early !== undefined) return resolve(early)
      waiters.push(resolve)
      void c.exited.then((code) => reject(new Error(`the façade exited (${code})`)))
    })
    c.proc.stdin!.write(`${command}\n`)
    return JSON.parse(await answer) as T
  }
  const port = hostPorts?.port ?? ready.port
  const dockerProxy = hostPorts ? dockerProxyPid(port) : undefined
  return {
    port,
    proxyPort: hostPorts?.proxyPort ?? ready.proxyPort,
    tip: ready.tip,
    fundedMs: ready.fundedMs,
    ...(dockerProxy ? { dockerProxy } : {}),
    cpu: async () => (await ask<{ cpuMs: number }>('cpu')).cpuMs,
    change: async (k) => void (await ask<{ changed: number }>(`change ${k}`)),
    close: async () => {
      c.proc.stdin!.end()
      const timer = setTimeout(() => c.proc.kill('SIGKILL'), 30_000)
      await c.exited
      clearTimeout(timer)
      undo.delete(key)
      undo.get(`${key} container`)?.()
      undo.delete(`${key} container`)
    },
  }
}

interface Measured {
  box: Result
  naive: Result
  restart?: Result
  restartChanged?: Result
  slow?: { box: Result; naive: Result }
  idleCpuMsPerS?: number
  K: number
}

/** Both clients against one façade; with `full`, also the restarts and the latency figure. */
async function measure(facade: Facade, full: boolean): Promise<Measured> {
  const self = join(import.meta.dirname, 'wallet.ts')
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'flashbox-bench-wallet-'))
    undo.set(`rm ${d}`, () => rmSync(d, { recursive: true, force: true }))
    return d
  }
  const dir = tempDir()
  const run = async (client: string, port = facade.port, store = dir) => {
    const before = await facade.cpu()
    const proxyPid = port === facade.port ? facade.dockerProxy : undefined
    const proxyBefore = proxyPid ? procCpuMs(proxyPid) : 0
    const c = child<Result>(process.execPath, [
      ...process.execArgv,
      self,
      ...['--addresses', String(N), '--port', String(port), '--dir', store],
      ...(profileDir
        ? ['--profile', join(profileDir, `${client}${port === facade.port ? '' : '-latency'}`)]
        : []),
      '--client',
      client,
    ])
    const key = `client ${c.proc.pid}`
    undo.set(key, () => c.proc.kill('SIGKILL'))
    const r = await c.done
    // From the client's spawn to its answer: includes its start-up, while the electrs simulator
    // keeps polling bitcoind (idleCpuMsPerS of it per second of wall time, measured below).
    r.facadeCpuMs = (await facade.cpu()) - before
    if (proxyPid) r.dockerProxyCpuMs = procCpuMs(proxyPid) - proxyBefore
    await c.exited
    undo.delete(key)
    return r
  }
  const m: Measured = { box: undefined!, naive: undefined!, K: Math.min(10, N) }
  if (full) {
    // The façade's own background cost: the electrs simulator polls bitcoind every 50 ms.
    const idle0 = await facade.cpu()
    const idleT = performance.now()
    await new Promise((r) => setTimeout(r, 1000))
    m.idleCpuMsPerS = ((await facade.cpu()) - idle0) / ((performance.now() - idleT) / 1000)
  }
  m.box = await run('box')
  if (full) m.restart = await run('restart')
  m.naive = await run('naive')
  if (full && latencyMs > 0) {
    const dir2 = tempDir()
    m.slow = {
      box: await run('box', facade.proxyPort, dir2),
      naive: await run('naive', facade.proxyPort),
    }
  }
  if (full) {
    // Last (the other runs expect exactly 2N transactions): K status hashes change (one new
    // payment to each of K used addresses, mined) and the box's wallet restarts again.
    await facade.change(m.K)
    m.restartChanged = await run('restart')
  }
  return m
}

async function parent() {
  process.on('exit', cleanUp)
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(signal, () => {
      console.error(`bench:wallet: ${signal}, cleaning up`)
      cleanUp()
      process.exit(code)
    })
  }

  // The box's path first: the façade in a container, reached through its published port.
  let why = dockerMissing()
  let image: BuiltImage | undefined
  if (!why) {
    console.log('building the façade image (bundle + test image; cached by content hash)…')
    try {
      image = facadeImage()
      console.log(`façade image: ${image.tag}`)
    } catch (err) {
      why = `the façade image could not be built (${(err as Error).message.split('\n')[0]})`
    }
  }
  let primary: { facade: Facade; m?: Measured; inContainer: boolean } | undefined
  if (image) {
    console.log(
      `funding ${N} addresses with ${2 * N} transactions in the façade container (published on 127.0.0.1 as the stack publishes electrs)…`,
    )
    try {
      primary = { facade: await startFacade({ kind: 'container', image }), inContainer: true }
    } catch (err) {
      why = `the façade container did not start (${(err as Error).message})`
      cleanUp()
    }
  }
  if (!primary) {
    console.log(`${why}: the headline falls back to the façade as a plain host process`)
    console.log(
      `funding ${N} addresses with ${2 * N} transactions in the façade host process (not in Docker)…`,
    )
    primary = { facade: await startFacade({ kind: 'host' }), inContainer: false }
  }
  const f = primary.facade
  console.log(`funded in ${(f.fundedMs / 1000).toFixed(1)} s; tip ${f.tip}`)
  const m = await measure(f, true)
  await f.close()

  // Then, when the headline went through Docker, the same two clients without it.
  let plain: Measured | undefined
  if (primary.inContainer) {
    console.log(
      `funding ${N} addresses with ${2 * N} transactions in the façade as a plain host process (the figure without Docker's port publishing)…`,
    )
    const hostFacade = await startFacade({ kind: 'host' })
    console.log(`funded in ${(hostFacade.fundedMs / 1000).toFixed(1)} s; tip ${hostFacade.tip}`)
    plain = await measure(hostFacade, false)
    await hostFacade.close()
  }
  cleanUp()
  printReport(m, f, primary.inContainer ? undefined : why, plain)
  process.exit(0)
}

const secpBuild = (r: Result) => (r.secp === 'native' ? 'native prebuild' : 'WebAssembly build')

function printReport(m: Measured, f: Facade, fallback: string | undefined, plain?: Measured) {
  const { box, naive, restart, restartChanged, slow, K } = m
  const s = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(2)} s`
  const methods = (r: Result | undefined) =>
    Object.entries(r?.methods ?? {})
      .map(([name, n]) => `${name} ×${n}`)
      .join(', ')
  console.log(`addresses used: ${N}, transactions: ${2 * N} (all Merkle-verified by both clients)`)
  console.log(
    fallback
      ? `headline path: the façade as a plain host process, clients over 127.0.0.1 loopback — NOT the box's path (a port Docker publishes), because ${fallback}`
      : `headline path: the box's — the façade in a container, clients connecting to 127.0.0.1:${f.port}, the port Docker publishes for it (-p 127.0.0.1:${f.port}:${servicePorts.electrum}, the form the stack publishes electrs in); ${f.dockerProxy ? `docker-proxy (pid ${f.dockerProxy}, Docker's default userland proxy) carries each connection` : 'no docker-proxy process listens on it: this Docker forwards published ports in the kernel (userland-proxy off)'}`,
  )
  console.log(
    `box client (batched, subscribed): ${s(box.ms)}, ${box.trips} round trips, ${box.requests} requests, heap +${mb(box.heap)}, rss ${mb(box.rss)}`,
  )
  console.log(
    `naive (one call per address):     ${s(naive.ms)}, ${naive.trips} round trips, heap +${mb(naive.heap)}, rss ${mb(naive.rss)}`,
  )
  console.log(
    `restart of the unchanged wallet:  ${s(restart?.ms)}, ${restart?.trips} round trips (${methods(restart)})`,
  )
  const hist = (r: Result | undefined) => r?.methods?.['blockchain.scripthash.get_history'] ?? 0
  console.log(
    `restart after ${K} status hashes changed: ${s(restartChanged?.ms)}, ${restartChanged?.trips} round trips (${methods(restartChanged)})`,
  )
  // One of the get_history calls is the connect's "is electrs still indexing?" probe.
  console.log(
    `a sync of an unchanged wallet after restart costs one round trip per changed status hash: unchanged → ${hist(restart) - 1} histories fetched, ${restart?.trips} round trips in all (connect, tip, indexing probe, one subscription batch, one header check); ${K} changed → ${hist(restartChanged) - 1} histories fetched in one batch, ${(restartChanged?.trips ?? 0) - (restart?.trips ?? 0)} more round trips for their histories, new transactions, proofs and headers (all batched, never a rescan)`,
  )
  console.log(
    `CPU time of the client's own process during the sync (the machine's other load moves it far less than the wall clock): box ${s(box.cpuMs)}, naive ${s(naive.cpuMs)}; keys derived on libsecp256k1's ${secpBuild(box)} (box) and ${secpBuild(naive)} (naive)`,
  )
  console.log(
    `CPU time of the façade (electrs and bitcoind simulators, one process${fallback ? '' : ', the container’s only one'}) from each client's spawn to its answer (start-up included; idle it polls bitcoind at ${s(m.idleCpuMsPerS)} CPU per s): box ${s(box.facadeCpuMs)} (sync ${s(box.ms)}), naive ${s(naive.facadeCpuMs)} (sync ${s(naive.ms)})`,
  )
  if (f.dockerProxy) {
    console.log(
      `CPU time of docker-proxy over the same spans (copying every request and answer between the host's loopback and the container): box ${s(box.dockerProxyCpuMs)}, naive ${s(naive.dockerProxyCpuMs)}`,
    )
  }
  if (slow) {
    console.log(
      `with ${latencyMs} ms network latency (simulated: a proxy in the façade holds each answer ${latencyMs} ms${fallback ? '' : ', reached through its own published port'}; not the headline): box ${s(slow.box.ms)}, naive ${s(slow.naive.ms)} → ${(slow.naive.ms / slow.box.ms).toFixed(1)}x`,
    )
  }
  if (plain) {
    console.log(
      `without Docker's port publishing (the same clients against the façade as a plain host process over 127.0.0.1 loopback, in this run; not the headline): box ${s(plain.box.ms)}, naive ${s(plain.naive.ms)} → ${(plain.naive.ms / plain.box.ms).toFixed(1)}x`,
    )
  }
  const ratio = naive.ms / box.ms
  if (ratio < 5) {
    console.log(
      `below the 5x target on this machine: on one machine a round trip costs well under 1 ms${fallback ? '' : ', even through docker-proxy'}, so the naive client's ${naive.trips} round trips are cheap; what is left is work both clients need — the façade answering the same histories, transactions and Merkle proofs (it computes each branch per request, as electrs does; its CPU is above) and each client deriving keys, parsing and verifying every transaction (its CPU is above; the box's client is busy for about its whole sync, and also stores every address, transaction and spent output)`,
    )
  }
  console.log(`wallet sync: ${ratio.toFixed(1)}x faster than one call per address`)
}

// The parent runs everything above and exits; a client (--client) runs what follows.
if (mode === undefined) await parent()

const endpoint = { host: '127.0.0.1', port: Number(argv('port')) }
const dir = argv('dir')!
// The client exits on its own once its line is written (so `--cpu-prof` can write its profile).
// --profile: the sync alone is profiled (the inspector session is opened before the timing).
let profiler: Session | undefined
const profileStart = async () => {
  if (!profileDir) return
  profiler = new Session()
  profiler.connect()
  await profiler.post('Profiler.enable')
  await profiler.post('Profiler.setSamplingInterval', { interval: 100 })
  await profiler.post('Profiler.start')
}
const profileStop = async () => {
  if (!profiler) return
  const { profile } = await profiler.post('Profiler.stop')
  writeFileSync(`${profileDir}.cpuprofile`, JSON.stringify(profile))
  profiler.disconnect()
}
const report = (r: Result) => process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0))
const cpuNow = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

if (mode === 'box') {
  // --- the box's client -------------------------------------------------------------------------
  global.gc?.()
  await profileStart()
  const heapBefore = process.memoryUsage().heapUsed
  const cpu0 = cpuNow()
  const t = performance.now()
  const store = new WalletStore(join(dir, 'wallet.sqlite'))
  const sync = new WalletSync({ store, endpoint: () => endpoint, timeoutMs: 120_000 })
  await sync.start()
  await sync.addAccount(account)
  await sync.synced()
  const batchedMs = performance.now() - t
  const batchedCpu = cpuNow() - cpu0
  await profileStop()
  const state = sync.account('bench')
  const txCount = state.txs.size
  const verified = [...state.txs.values()].filter((x) => x.verified).length
  const batchedTrips = sync.session.roundTrips
  const batchedRequests = sync.session.requests
  const heapBatched = process.memoryUsage().heapUsed - heapBefore
  const rss = process.memoryUsage().rss
  sync.stop()
  store.close()
  if (txCount !== 2 * N || verified !== 2 * N) {
    throw new Error(
      `the box's client found ${txCount} transactions, ${verified} verified; expected ${2 * N}`,
    )
  }

  report({
    ms: batchedMs,
    cpuMs: batchedCpu,
    trips: batchedTrips,
    requests: batchedRequests,
    heap: heapBatched,
    rss,
    secp: childPointBackend,
  })
}

if (mode === 'restart') {
  // --- restart: an unchanged wallet ----------------------------------------------------------------
  const t = performance.now()
  const store2 = new WalletStore(join(dir, 'wallet.sqlite'))
  const sync2 = new WalletSync({ store: store2, endpoint: () => endpoint, timeoutMs: 120_000 })
  await sync2.start()
  await sync2.synced()
  const restartMs = performance.now() - t
  const rss = process.memoryUsage().rss
  const restartTrips = sync2.session.roundTrips
  const restartMethods = Object.fromEntries(sync2.session.methodCounts())
  sync2.stop()
  store2.close()

  report({ ms: restartMs, trips: restartTrips, heap: 0, rss, methods: restartMethods })
}

if (mode === 'naive') {
  // --- the naive client: one call per round trip -------------------------------------------------
  global.gc?.()
  await profileStart()
  const heapBefore2 = process.memoryUsage().heapUsed
  const cpu0 = cpuNow()
  const t = performance.now()
  const client = await ElectrumClient.connect({ ...endpoint, timeoutMs: 120_000 })
  // The same derivation as the box's sync (AccountKeys, built inside the timing as WalletSync does).
  const keys = new AccountKeys(account)
  const gap = account.gapLimit
  const seen = new Map<string, string>()
  const headers = new Map<number, string>()
  let naiveVerified = 0
  for (const chainNo of [0, 1] as const) {
    let lastUsed = -1
    for (let i = 0; i <= lastUsed + gap; i++) {
      const a = keys.derive(chainNo, i)
      const history = await client.getHistory(a.scriptHash)
      if (history.length) lastUsed = i
      for (const h of history) {
        if (seen.has(h.tx_hash)) continue
        const hex = await client.transactionGet(h.tx_hash)
        // The same checks as the box's sync: parsed, and its id computed from the raw bytes.
        const raw = Buffer.from(hex, 'hex')
        bitcoin.Transaction.fromBuffer(raw)
        if (transactionId(raw) !== h.tx_hash) throw new Error('bad tx')
        seen.set(h.tx_hash, hex)
        if (h.height > 0) {
          const proof = await client.getMerkle(h.tx_hash, h.height)
          let header = headers.get(h.height)
          if (!header) {
            header = await client.blockHeader(h.height)
            headers.set(h.height, header)
          }
          verifyMerkleProof({
            txid: h.tx_hash,
            txSize: hex.length / 2,
            branch: proof.merkle,
            pos: proof.pos,
            headerHex: header,
          })
          naiveVerified++
        }
      }
    }
  }
  const naiveMs = performance.now() - t
  const naiveCpu = cpuNow() - cpu0
  await profileStop()
  const naiveTrips = client.roundTrips
  const heapNaive = process.memoryUsage().heapUsed - heapBefore2
  const rss = process.memoryUsage().rss
  client.close()
  if (seen.size !== 2 * N || naiveVerified !== 2 * N)
    throw new Error(`naive client found ${seen.size}`)

  report({
    ms: naiveMs,
    cpuMs: naiveCpu,
    trips: naiveTrips,
    heap: heapNaive,
    rss,
    secp: childPointBackend,
  })
}
