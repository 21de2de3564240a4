// `npm run bench:lightning` — Lightning payments through the box against ln-service called
// directly, in the same run, between two simulated nodes.
//
// The Lightning side is the world LND SIMULATOR as its own process (the bundle a test image
// runs): the box's LND, configured by an lnd.conf as the box renders it, and a peer, carol, in
// that process, on the world's bitcoind simulator (here). The box is the real engine with its
// Lightning module behind the real headless server; it creates LND's wallet itself after the
// owner password, funds it, opens a channel to carol through its own API.
//   through the box  carol's invoices paid with POST /api/call/lightning/pay (the session cookie
//                    and Origin the page sends), BENCH_CONCURRENCY at a time — the payment saga
//                    persists each attempt before and after, as it does for the owner
//   direct           the same number of carol's invoices paid with ln-service's pay() on the
//                    box's LND (admin macaroon), same concurrency and the same request the box
//                    sends (max_paths 4: the saga allows MPP; ln-service's own default is 1)
// The two alternate in rounds so that drift hits both. Then the settle-to-UI latency: invoices
// made by the box's API, paid by carol one at a time; for each, the time from LND's invoice
// stream reporting it settled (a direct ln-service subscription on the box's LND) to the event
// reaching a WebSocket client of /api/events, as the page gets it (p50/p99).
// Knobs: BENCH_PAYMENTS (per side per round, default 200), BENCH_ROUNDS (2), BENCH_CONCURRENCY
// (4), BENCH_NOTIFY (100).
import { spawn, type ChildProcess } from 'node:child_process'
import { Agent, request as httpRequest } from 'node:http'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import WebSocket from 'ws'
import { startHttpApi } from '../src/core/api/http/server'
import { createEngine } from '../src/core/engine/engine'
import { lightningModule, lightningPaths } from '../src/core/lightning/lightning-module'
import { silentLogger } from '../src/core/log'
import { loadOrCreateStackSecrets } from '../src/core/secrets/stack-secrets'
import type { EngineEvent } from '../src/shared/api/events'
import { defaultSettings } from '../src/shared/settings'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../tests/simulators/bitcoind-simulator'
import { bundleSimulators } from '../tests/simulators/bundle'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

const PAYMENTS = Number(process.env.BENCH_PAYMENTS ?? 200)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4)
const NOTIFY = Number(process.env.BENCH_NOTIFY ?? 100)
const OWNER = 'benchmark owner password'
const BURN = Buffer.from(`0014${'5a'.repeat(20)}`, 'hex')

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })

async function until<T>(fn: () => Promise<T | undefined>, what: string, ms = 60_000) {
  const end = Date.now() + ms
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}

async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'flashbox-bench-ln-'))
  let bitcoind: BitcoindSimulator | undefined
  let proc: ChildProcess | undefined
  let closeBox: (() => Promise<void>) | undefined
  try {
    const bundled = bundleSimulators(join(work, 'bundle'))
    bitcoind = await startBitcoindSimulator({
      network: 'regtest',
      chain: true,
      rpcauth: [makeRpcauth('lnd', 'lnd-rpc-password', '00112233445566778899aabbccddeeff')],
      warmupMs: 0,
      log: () => undefined,
    })
    const ports = {
      grpc: await freePort(),
      rest: await freePort(),
      carolGrpc: await freePort(),
      carolRest: await freePort(),
    }

    // The box's data folders and LND's folder as the catalog lays them out.
    const engineDir = join(work, 'engine')
    const stackDir = join(work, 'stack')
    mkdirSync(engineDir)
    const settings = defaultSettings(stackDir)
    writeFileSync(join(engineDir, 'settings.json'), JSON.stringify(settings))
    const paths = lightningPaths(settings)
    const secrets = await loadOrCreateStackSecrets(stackDir)
    mkdirSync(paths.lndDir, { recursive: true })
    writeFileSync(join(paths.lndDir, 'tls.cert'), secrets.lndTls.certPem)
    writeFileSync(join(paths.lndDir, 'tls.key'), secrets.lndTls.keyPem, { mode: 0o600 })
    writeFileSync(paths.passwordFile, secrets.lndWalletPassword, { mode: 0o600 })
    writeFileSync(
      join(paths.lndDir, 'lnd.conf'),
      [
        '[Application Options]',
        'alias=box',
        `rpclisten=127.0.0.1:${ports.grpc}`,
        `restlisten=127.0.0.1:${ports.rest}`,
        `wallet-unlock-password-file=${paths.passwordFile}`,
        '[Bitcoin]',
        'bitcoin.regtest=1',
        '[Bitcoind]',
        `bitcoind.rpchost=${new URL(bitcoind.url).host}`,
        'bitcoind.rpcuser=lnd',
        'bitcoind.rpcpass=lnd-rpc-password',
        '',
      ].join('\n'),
    )
    let output = ''
    proc = spawn(
      process.execPath,
      [bundled.files['lnd-world-simulator'], `--lnddir=${paths.lndDir}`],
      {
        env: {
          PATH: process.env.PATH,
          LND_WORLD_HOST: '127.0.0.1',
          LND_WORLD_PEERS: `carol:${ports.carolGrpc}:${ports.carolRest}`,
          LND_WORLD_POLL_MS: '100',
          // LND's disk is not what is measured here: keep the simulator's state in memory.
          LND_WORLD_PERSIST: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()))
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()))
    await until(
      async () => (output.includes('LND SIMULATOR carol') ? true : undefined),
      `LND process: ${output}`,
    )

    const engine = await createEngine({
      dataDir: engineDir,
      log: silentLogger,
      modules: [
        lightningModule({
          endpoint: () => ({
            socket: `127.0.0.1:${ports.grpc}`,
            cert: secrets.lndTls.certPem,
          }),
          pollMs: 200,
          readyPollMs: 2000,
        }),
      ],
    })
    const api = await startHttpApi(engine, {
      host: '127.0.0.1',
      port: 0,
      dataDir: engineDir,
      log: silentLogger,
    })
    closeBox = async () => {
      await api.close()
      await engine.stop()
    }
    const origin = api.url.replace(/\/$/, '')
    const setup = await fetch(`${origin}/api/auth/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ password: OWNER }),
    })
    if (!setup.ok) throw new Error(`setup: ${setup.status} ${await setup.text()}`)
    const cookie = setup.headers.get('set-cookie')!.split(';')[0]!
    // The page's calls: POST over kept-alive connections (as a browser keeps them), one per
    // call in flight. node:http with a keep-alive agent: the client's own cost, which runs in
    // this process next to the box, stays as small as a browser's would be for the box.
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    const call = <T>(procedure: string, input: unknown = {}): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const body = JSON.stringify(input)
        const req = httpRequest(
          `${origin}/api/call/lightning/${procedure}`,
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              origin,
              cookie,
            },
          },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString()
              if (res.statusCode !== 200)
                reject(new Error(`${procedure}: ${res.statusCode} ${text}`))
              else resolve((JSON.parse(text) as { result: T }).result)
            })
            res.on('error', reject)
          },
        )
        req.on('error', reject)
        req.end(body)
      })

    // Ready, funded, a channel to carol with balance both ways.
    let last: unknown
    await until(async () => {
      const s = await call<{ wallet: string; node?: unknown }>('status')
      last = s
      return s.wallet === 'ready' && s.node ? s : undefined
    }, 'box LND ready').catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}\n${output}`)
    })
    const { address } = await call<{ address: string }>('newAddress')
    bitcoind.world!.mine(1, address)
    bitcoind.world!.mine(100, BURN)
    await until(async () => {
      const b = await call<{ onchainSat: number }>('balances')
      return b.onchainSat > 0 ? b : undefined
    }, 'box funded')
    const carolDir = join(paths.lndDir, 'world-peers', 'carol')
    const carol = ln.authenticatedLndGrpc({
      socket: `127.0.0.1:${ports.carolGrpc}`,
      cert: readFileSync(join(carolDir, 'tls.cert')).toString('base64'),
      macaroon: readFileSync(
        join(carolDir, 'data', 'chain', 'bitcoin', 'regtest', 'admin.macaroon'),
      ).toString('base64'),
    }).lnd
    const carolInfo = await ln.getWalletInfo({ lnd: carol })
    await call('connectPeer', { uri: carolInfo.uris![0]! })
    await call('openChannel', {
      peerPublicKey: carolInfo.public_key,
      amountSat: 16_000_000,
      feeRate: 2,
      private: false,
    })
    bitcoind.world!.mine(6, BURN)
    await until(async () => {
      const list = await call<{ state: string }[]>('channels')
      return list.some((c) => c.state === 'active') ? true : undefined
    }, 'channel active')
    await call('setLimits', { maxPaymentSat: 1_000_000, feeLimitPercent: 1, minFeeLimitSat: 10 })
    const box = ln.authenticatedLndGrpc({
      socket: `127.0.0.1:${ports.grpc}`,
      cert: Buffer.from(secrets.lndTls.certPem).toString('base64'),
      macaroon: readFileSync(paths.adminMacaroon).toString('base64'),
    }).lnd

    // Carol gets spendable balance (above her channel reserve) to pay the box's invoices later.
    await ln.pay({
      lnd: box,
      request: (await ln.createInvoice({ lnd: carol, tokens: 900_000 })).request,
      max_fee: 1000,
    })

    const invoices = async (n: number) => {
      const out: string[] = []
      for (let i = 0; i < n; i++)
        out.push((await ln.createInvoice({ lnd: carol, tokens: 100 + (i % 7) })).request)
      return out
    }
    // CPU time of this process (the box, or the direct ln-service caller, and the bench client)
    // per side: a figure the machine's other load disturbs far less than the wall clock.
    const cpu = { box: 0, direct: 0 }
    const cpuMs = () => {
      const u = process.cpuUsage()
      return (u.user + u.system) / 1000
    }
    const runBox = async (reqs: string[]) => {
      const t = performance.now()
      const c = cpuMs()
      await pool(reqs, CONCURRENCY, async (request) => {
        const p = await call<{ state: string }>('pay', { request, feeLimitSat: 10 })
        if (p.state !== 'succeeded') throw new Error(`box payment ${p.state}`)
      })
      cpu.box += cpuMs() - c
      return performance.now() - t
    }
    const runDirect = async (reqs: string[]) => {
      const t = performance.now()
      const c = cpuMs()
      await pool(reqs, CONCURRENCY, async (request) => {
        // The same request the box sends LND (its payment saga asks for up to 4 paths, MPP), so the
        // two sides differ only by what the box adds. ln-service alone would default to 1 path.
        const p = await ln.pay({ lnd: box, request, max_fee: 10, max_paths: 4 })
        if (!p.is_confirmed) throw new Error('direct payment not confirmed')
      })
      cpu.direct += cpuMs() - c
      return performance.now() - t
    }

    // Warm-up (both paths), then alternating rounds.
    await runBox(await invoices(10))
    await runDirect(await invoices(10))
    cpu.box = 0
    cpu.direct = 0
    let boxMs = 0
    let directMs = 0
    for (let r = 0; r < ROUNDS; r++) {
      const a = await invoices(PAYMENTS)
      const b = await invoices(PAYMENTS)
      if (r % 2 === 0) {
        boxMs += await runBox(a)
        directMs += await runDirect(b)
      } else {
        directMs += await runDirect(b)
        boxMs += await runBox(a)
      }
    }
    const total = PAYMENTS * ROUNDS
    const boxRate = total / (boxMs / 1000)
    const directRate = total / (directMs / 1000)

    // Settle → UI notification.
    const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/api/events`, {
      headers: { cookie, origin },
    })
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    ws.send(JSON.stringify({ type: 'subscribe', topics: ['lightning'] }))
    const uiSeen = new Map<string, number>()
    ws.on('message', (m) => {
      const msg = JSON.parse(String(m)) as { type: string; event?: EngineEvent }
      const e = msg.event
      if (e?.topic === 'lightning' && e.type === 'invoice' && e.invoice.state === 'paid')
        if (!uiSeen.has(e.invoice.id)) uiSeen.set(e.invoice.id, performance.now())
    })
    const lndSeen = new Map<string, number>()
    const sub = ln.subscribeToInvoices({ lnd: box })
    sub.on('invoice_updated', (i: { id: string; is_confirmed: boolean }) => {
      if (i.is_confirmed && !lndSeen.has(i.id)) lndSeen.set(i.id, performance.now())
    })
    await new Promise((r) => setTimeout(r, 300))
    const latencies: number[] = []
    for (let i = 0; i < NOTIFY; i++) {
      const inv = await call<{ id: string; request: string }>('createInvoice', {
        amountSat: 50 + i,
        memo: `bench ${i}`,
        expirySeconds: 600,
      })
      await ln.pay({ lnd: carol, request: inv.request, max_fee: 10 })
      await until(
        async () => (uiSeen.has(inv.id) && lndSeen.has(inv.id) ? true : undefined),
        'paid event',
        10_000,
      )
      latencies.push(uiSeen.get(inv.id)! - lndSeen.get(inv.id)!)
    }
    sub.removeAllListeners()
    ws.close()
    agent.destroy()

    const ratio = boxRate / directRate
    console.log(
      `payments (${total} per side, ${CONCURRENCY} at a time, alternating in ${ROUNDS} rounds):`,
    )
    console.log(`  through the box (HTTP API, payment saga)  ${boxRate.toFixed(1)}/s`)
    console.log(`  direct ln-service pay()                   ${directRate.toFixed(1)}/s`)
    console.log(
      `  box overhead per payment                  ${((1000 / boxRate - 1000 / directRate) * CONCURRENCY).toFixed(1)} ms`,
    )
    console.log(
      `  CPU of this process per payment           box ${(cpu.box / total).toFixed(2)} ms, direct ${(cpu.direct / total).toFixed(2)} ms`,
    )
    console.log(
      `settle → UI notification (${NOTIFY} invoices; the /api/events WebSocket event after a direct subscription to LND's invoice stream saw the settle — below 0 when the box's stream was first): p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms`,
    )
    console.log(`payments through the box vs direct ln-service: ${ratio.toFixed(2)}`)
  } finally {
    await closeBox?.()
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r))
      proc.kill('SIGTERM')
      await exited
    }
    await bitcoind?.close()
    rmSync(work, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
