// `npm run bench:relay` — the relay's throughput and latency over loopback WebSockets.
//
//  1. Ceiling: raw signature verification (nostr-wasm), on 1 thread (a plain loop in this
//     process) and on N threads (the relay's own verification pool, N = its default: one per
//     core less one, at least 1) — the relay can never ingest faster than it can verify. The
//     ceiling is the better of the two.
//  2. Ingest: several publisher processes (bench/relay-publisher.ts) publish pre-signed events
//     concurrently; events/s acknowledged (OK true = committed, synchronous=FULL) and OK latency.
//  3. REQ → EOSE latency at 10k and 1M stored events. Signing 1M events would take minutes, so
//     the read test bulk-loads the database directly: a small set of really signed events is
//     multiplied with fresh ids (their signatures then no longer match — irrelevant for reads,
//     which never verify) and inserted through the store's own save path in large transactions.
//
// Options: --events N (ingest events per publisher, default 2000), --publishers N (default 3),
//          --big N (size of the large read test, default 1000000), --threads N (the relay's
//          signature threads, default one per core less one, at least 1).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import WebSocket from 'ws'
import { initNostrWasm } from 'nostr-wasm'
import { startRelay } from '../services/relay/src/index'
import { loadVerifier } from '../services/relay/src/verify'
import { defaultVerifyThreads, startVerifyPool } from '../services/relay/src/verify-pool'
import type { NostrEvent } from '../services/relay/src/nip01'

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}
const PER_PUBLISHER = arg('events', 2000)
const THREADS = arg('threads', Math.max(1, defaultVerifyThreads()))
const PUBLISHERS = arg('publishers', 3)
const BIG = arg('big', 1_000_000)
const root = resolve(import.meta.dirname, '..')

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN
}
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`
const rate = (x: number) => `${Math.round(x).toLocaleString('en-US')}/s`

// ---------------------------------------------------------------- 1. ceiling
const nw = await initNostrWasm()
const sample: NostrEvent[] = Array.from({ length: 2000 }, (_, i) => {
  const ev = {
    kind: 1,
    created_at: 1_700_000_000 + i,
    tags: [['t', 'x']],
    content: `sample ${i}`,
  } as NostrEvent
  nw.finalizeEvent(ev, nw.generateSecretKey())
  return ev
})
const measureCeiling = () => {
  let verified = 0
  const t = performance.now()
  while (performance.now() - t < 3000) {
    for (const ev of sample) nw.verifyEvent(ev)
    verified += sample.length
  }
  return verified / ((performance.now() - t) / 1000)
}
/** Events/s through the relay's verification pool with `threads` threads, 2 batches in flight. */
const measurePoolCeiling = async (threads: number) => {
  const pool = await startVerifyPool(threads, await loadVerifier())
  try {
    if (pool.threads !== threads) throw new Error(`pool started ${pool.threads} threads`)
    let verified = 0
    const t = performance.now()
    let inFlight: Promise<unknown> = Promise.resolve()
    while (performance.now() - t < 3000) {
      const batch = Promise.all(sample.map((ev) => pool.verify(ev)))
      await inFlight
      inFlight = batch
      verified += sample.length
    }
    await inFlight
    return verified / ((performance.now() - t) / 1000)
  } finally {
    await pool.close()
  }
}
// Measured before and after the ingest run and averaged: on a shared machine the CPU available
// drifts, and one reading alone can make the ratio meaningless.
const ceilingBefore = measureCeiling()
const poolCeilingBefore = await measurePoolCeiling(THREADS)

// ---------------------------------------------------------------- 2. ingest
let ceiling: number
const dir = mkdtempSync(join(tmpdir(), 'flashbox-relay-bench-'))
const noLimits = {
  rateLimits: {
    eventsPerConnection: null,
    eventsPerPubkey: null,
    eventsPerIp: null,
    queriesPerConnection: null,
    queriesPerIp: null,
  },
  limits: { maxLimit: 500 },
}
try {
  const relay = await startRelay({
    port: 0,
    dbPath: join(dir, 'ingest.db'),
    policies: noLimits,
    verifyThreads: THREADS,
  })
  const pubs = Array.from({ length: PUBLISHERS }, () =>
    spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'bench/relay-publisher.ts'),
        relay.url,
        String(PER_PUBLISHER),
        '32',
      ],
      {
        cwd: root,
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    ),
  )
  const lines = pubs.map((p) => createInterface({ input: p.stdout! })[Symbol.asyncIterator]())
  for (const l of lines) {
    const first = await l.next()
    if (first.value !== 'ready') throw new Error(`publisher did not start: ${String(first.value)}`)
  }
  const t0 = performance.now()
  for (const p of pubs) p.stdin!.write('go\n')
  const results = (await Promise.all(
    lines.map(async (l) => JSON.parse((await l.next()).value as string)),
  )) as {
    ok: number
    failed: number
    elapsedMs: number
    latencies: number[]
  }[]
  const wall = (performance.now() - t0) / 1000
  const ok = results.reduce((n, r) => n + r.ok, 0)
  const failed = results.reduce((n, r) => n + r.failed, 0)
  const lat = results.flatMap((r) => r.latencies)
  const ingest = ok / wall
  console.log(
    `ingest: ${PUBLISHERS} publishers × ${PER_PUBLISHER} events (32 in flight each), ${ok} acknowledged, ${failed} refused: ${rate(ingest)} events; OK latency p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}`,
  )
  console.log(`relay verified signatures on ${relay.relay.verifyThreads} worker thread(s)`)
  await relay.close()
  const ceilingAfter = measureCeiling()
  const poolCeilingAfter = await measurePoolCeiling(THREADS)
  const ceiling1 = (ceilingBefore + ceilingAfter) / 2
  const ceilingN = (poolCeilingBefore + poolCeilingAfter) / 2
  ceiling = Math.max(ceiling1, ceilingN)
  console.log(
    `verify ceiling, 1 thread (nostr-wasm loop): ${rate(ceiling1)} events (before ${rate(ceilingBefore)}, after ${rate(ceilingAfter)})`,
  )
  console.log(
    `verify ceiling, ${THREADS} thread(s) (the relay's pool): ${rate(ceilingN)} events (before ${rate(poolCeilingBefore)}, after ${rate(poolCeilingAfter)}); ${(ceilingN / ceiling1).toFixed(2)}× one thread`,
  )
  console.log(`ingest vs 1-thread ceiling: ${Math.round((ingest / ceiling1) * 100)}%`)

  // -------------------------------------------------------------- 3. reads
  const readRelay = await startRelay({
    port: 0,
    dbPath: join(dir, 'read.db'),
    policies: noLimits,
    verifyThreads: THREADS,
  })
  const store = readRelay.relay.store
  const authors = Array.from({ length: 1000 }, () => randomBytes(32).toString('hex'))
  const words = ['coffee', 'bread', 'sale', 'open', 'closed', 'pizza', 'bitcoin', 'nostr']
  const now = Math.floor(Date.now() / 1000)
  let loaded = 0
  const load = (upTo: number) => {
    const t = performance.now()
    while (loaded < upTo) {
      const n = Math.min(20_000, upTo - loaded)
      store.transaction(() => {
        for (let i = 0; i < n; i++) {
          const src = sample[(loaded + i) % sample.length]!
          const k = loaded + i
          const kind = k % 10 === 0 ? 7 : k % 25 === 0 ? 30023 : 1
          const tags: string[][] = [['t', words[k % words.length]!]]
          if (k % 3 === 0) tags.push(['p', authors[(k * 7) % authors.length]!])
          if (kind === 30023) tags.push(['d', `article-${k}`])
          store.save({
            ...src,
            id: randomBytes(32).toString('hex'),
            pubkey: authors[k % authors.length]!,
            kind,
            created_at: now - (k % (365 * 86400)),
            tags,
          })
        }
      })
      loaded += n
    }
    return (performance.now() - t) / 1000
  }
  const reqLatency = async (label: string) => {
    const ws = new WebSocket(readRelay.url)
    await new Promise((r) => ws.once('open', r))
    const filters: object[][] = [
      [{ kinds: [1], limit: 50 }],
      [{ authors: [authors[3]], limit: 50 }],
      [{ '#t': ['pizza'], limit: 100 }],
      [{ authors: [authors[5], authors[6]], kinds: [1, 7], since: now - 30 * 86400, limit: 100 }],
      [{ '#p': [authors[10]], limit: 20 }],
      [
        { kinds: [30023], limit: 20 },
        { kinds: [7], '#t': ['sale'], limit: 20 },
      ],
      [{ ids: [randomBytes(32).toString('hex')] }],
    ]
    const lat: number[] = []
    const ROUNDS = 40
    for (let i = 0; i < ROUNDS * filters.length; i++) {
      const f = filters[i % filters.length]!
      const id = `r${i}`
      const t = performance.now()
      await new Promise<void>((res) => {
        const onMsg = (d: WebSocket.RawData) => {
          const m = JSON.parse(String(d)) as unknown[]
          if ((m[0] === 'EOSE' || m[0] === 'CLOSED') && m[1] === id) {
            ws.off('message', onMsg)
            res()
          }
        }
        ws.on('message', onMsg)
        ws.send(JSON.stringify(['REQ', id, ...f]))
      })
      lat.push(performance.now() - t)
      ws.send(JSON.stringify(['CLOSE', id]))
    }
    ws.close()
    console.log(
      `REQ→EOSE at ${label} stored events (${lat.length} REQs, 7 filter shapes): p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}`,
    )
  }
  const s10 = load(10_000)
  console.log(
    `bulk-loaded 10,000 events into SQLite in ${s10.toFixed(1)} s (ids varied from 2,000 signed events)`,
  )
  await reqLatency('10k')
  const sBig = load(BIG)
  console.log(
    `bulk-loaded up to ${BIG.toLocaleString('en-US')} events in ${sBig.toFixed(1)} s; database ${(store.storageBytes() / 1e6).toFixed(0)} MB`,
  )
  await reqLatency(BIG >= 1_000_000 ? `${BIG / 1_000_000}M` : BIG.toLocaleString('en-US'))
  await readRelay.close()

  console.log(
    `ingest: ${Math.round((ingest / ceiling) * 100)}% of ceiling (the better of 1 and ${THREADS} threads)`,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
