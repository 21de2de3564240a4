// ElectrumSession.prefetch: subscriptions and histories sent ahead in one line, taken by
// subscribe() without asking again, asked again when the connection that carried them is lost,
// and released when they were not watched after all.
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ElectrumSession } from './electrum-session'

const sh = (n: number) => n.toString(16).padStart(64, '0')
const HEADER = '00'.repeat(80)

interface Request {
  id: number
  method: string
  params: unknown[]
}

let server: Server | undefined
const sockets = new Set<Socket>()
afterEach(() => {
  for (const s of sockets) s.destroy()
  sockets.clear()
  server?.close()
  server = undefined
})

/**
 * A minimal electrs on loopback: every line (a request or a batch) is recorded; `drop` decides
 * whether the connection is closed instead of answering that line.
 */
async function fakeElectrs(opts: { drop?: (line: Request[]) => boolean } = {}) {
  const lines: Request[][] = []
  const status = (h: string) => (h === sh(1) ? 'aa'.repeat(32) : null)
  server = createServer((socket) => {
    sockets.add(socket)
    socket.setEncoding('utf8')
    let buf = ''
    socket.on('data', (d: string) => {
      buf += d
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const raw = JSON.parse(buf.slice(0, nl)) as Request | Request[]
        buf = buf.slice(nl + 1)
        const reqs = Array.isArray(raw) ? raw : [raw]
        lines.push(reqs)
        if (opts.drop?.(reqs)) {
          socket.destroy()
          return
        }
        const answers = reqs.map(({ id, method, params }) => {
          const h = params[0] as string
          const result =
            method === 'server.version'
              ? ['fake', '1.4']
              : method === 'blockchain.headers.subscribe'
                ? { height: 1, hex: HEADER }
                : method === 'blockchain.scripthash.subscribe'
                  ? status(h)
                  : method === 'blockchain.scripthash.get_history'
                    ? h === sh(1)
                      ? [{ tx_hash: 'bb'.repeat(32), height: 1 }]
                      : []
                    : true
          return { jsonrpc: '2.0', id, result }
        })
        socket.write(JSON.stringify(Array.isArray(raw) ? answers : answers[0]) + '\n')
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  const port = (server!.address() as { port: number }).port
  const methods = (l: Request[]) => [...new Set(l.map((r) => r.method))].join('+')
  return { port, lines, methods }
}

async function readySession(port: number) {
  const session = new ElectrumSession({
    endpoint: () => ({ host: '127.0.0.1', port }),
    retryMs: { min: 20, max: 50 },
    timeoutMs: 2_000,
  })
  await session.start()
  await vi.waitFor(() => expect(session.state).toBe('ready'))
  return session
}

describe('ElectrumSession.prefetch', () => {
  it('subscribes and asks the histories in one line; subscribe() then asks nothing again', async () => {
    const e = await fakeElectrs()
    const session = await readySession(e.port)
    const before = e.lines.length
    const histories = await session.prefetch([sh(1), sh(2)])
    expect(e.lines.slice(before).map(e.methods)).toEqual([
      'blockchain.scripthash.subscribe+blockchain.scripthash.get_history',
    ])
    expect(histories?.get(sh(1))).toEqual([{ tx_hash: 'bb'.repeat(32), height: 1 }])
    expect(histories?.get(sh(2))).toEqual([])
    const statuses = await session.subscribe([sh(1), sh(2)])
    expect(Object.fromEntries(statuses)).toEqual({ [sh(1)]: 'aa'.repeat(32), [sh(2)]: null })
    expect(e.lines.length).toBe(before + 1) // nothing asked again
    session.stop()
  })

  it('while the prefetch is on its way, subscribe() waits for it instead of asking again', async () => {
    const e = await fakeElectrs()
    const session = await readySession(e.port)
    const before = e.lines.length
    void session.prefetch([sh(1)])
    const statuses = await session.subscribe([sh(1)], [sh(3)])
    expect(Object.fromEntries(statuses)).toEqual({ [sh(1)]: 'aa'.repeat(32), [sh(3)]: null })
    // The prefetch, then the probe alone in a line of its own (after the prefetch's answer).
    expect(e.lines.slice(before).map((l) => l.map((r) => r.params[0]))).toEqual([
      [sh(1), sh(1)],
      [sh(3)],
    ])
    session.stop()
  })

  it('asks again on the new connection when the one that carried the prefetch is lost', async () => {
    let dropped = false
    const e = await fakeElectrs({
      drop: (l) => {
        if (
          dropped ||
          !l.some((r) => r.method === 'blockchain.scripthash.get_history' && r.params[0] === sh(1))
        )
          return false
        return (dropped = true)
      },
    })
    const session = await readySession(e.port)
    const histories = await session.prefetch([sh(1)])
    expect(histories?.size).toBe(0) // lost with its connection
    await vi.waitFor(() => expect(session.state).toBe('ready'))
    const statuses = await session.subscribe([sh(1)])
    expect(statuses.get(sh(1))).toBe('aa'.repeat(32))
    session.stop()
  })

  it('releases script hashes sent ahead that were not watched, once their answer is in', async () => {
    const e = await fakeElectrs()
    const session = await readySession(e.port)
    void session.prefetch([sh(1), sh(2)])
    await session.subscribe([sh(1)])
    session.release([sh(2)])
    await vi.waitFor(() =>
      expect(e.lines.at(-1)?.map((r) => [r.method, r.params[0]])).toEqual([
        ['blockchain.scripthash.unsubscribe', sh(2)],
      ]),
    )
    session.stop()
  })
})
