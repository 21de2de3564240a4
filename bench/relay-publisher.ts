// One publisher process for `npm run bench:relay`: signs its events up front, waits for "go" on
// stdin, then publishes them over one WebSocket with a window of events in flight, timing each
// EVENT → OK. Prints one JSON line with its results.
import WebSocket from 'ws'
import { initNostrWasm } from 'nostr-wasm'

const [url, countArg, windowArg] = process.argv.slice(2)
const count = Number(countArg ?? 1000)
const windowSize = Number(windowArg ?? 32)

const nw = await initNostrWasm()
const sk = nw.generateSecretKey()
const base = Math.floor(Date.now() / 1000)
const events = Array.from({ length: count }, (_, i) => {
  const ev = {
    kind: 1,
    created_at: base,
    tags: [['t', 'bench']],
    content: `bench ${process.pid} ${i}`,
  } as {
    id: string
    pubkey: string
    sig: string
    kind: number
    created_at: number
    tags: string[][]
    content: string
  }
  nw.finalizeEvent(ev, sk)
  return ev
})
const frames = events.map((e) => JSON.stringify(['EVENT', e]))

const ws = new WebSocket(url!)
await new Promise((r) => ws.once('open', r))
process.stdout.write('ready\n')
await new Promise<void>((r) => process.stdin.once('data', () => r()))

const sentAt = new Map<string, number>()
const latencies: number[] = []
let next = 0
let ok = 0
let failed = 0
const started = performance.now()
await new Promise<void>((resolve) => {
  const pump = () => {
    while (next < count && sentAt.size < windowSize) {
      sentAt.set(events[next]!.id, performance.now())
      ws.send(frames[next]!)
      next++
    }
  }
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as unknown[]
    if (m[0] !== 'OK') return
    const t = sentAt.get(m[1] as string)
    if (t === undefined) return
    sentAt.delete(m[1] as string)
    latencies.push(performance.now() - t)
    if (m[2] === true) ok++
    else failed++
    if (ok + failed === count) resolve()
    else pump()
  })
  pump()
})
const elapsedMs = performance.now() - started
ws.close()
process.stdout.write(JSON.stringify({ ok, failed, elapsedMs, latencies }) + '\n')
process.exit(0)
