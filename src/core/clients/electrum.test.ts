import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { FlashError } from '../errors'
import { ElectrumClient, HistorySchema, MerkleSchema, batchPart, isLowerHex } from './electrum'

type Handler = (requests: { id: number; params: unknown[] }[], socket: Socket) => void

let server: Server | undefined
afterEach(() => {
  server?.close()
  server = undefined
})

/** A line server on loopback: each batch line goes to `handler`. */
async function serve(handler: Handler): Promise<number> {
  server = createServer((socket) => {
    let buf = ''
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => {
      buf += d
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        const msg = JSON.parse(line) as { id: number; params: unknown[] }[]
        handler(msg, socket)
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  return (server!.address() as { port: number }).port
}

describe('ElectrumClient.batchSettled', () => {
  it('settles each item on its own, in order, whatever order the answers come in', async () => {
    const port = await serve((reqs, socket) => {
      const answers = reqs.map(({ id, params }) => {
        const n = params[0] as number
        if (n === 2) return { jsonrpc: '2.0', id, error: { code: 1, message: 'no such thing' } }
        if (n === 3) return { jsonrpc: '2.0', id, result: 'not a number' }
        return { jsonrpc: '2.0', id, result: n * 10 }
      })
      socket.write(JSON.stringify(answers.reverse()) + '\n')
    })
    const c = await ElectrumClient.connect({ host: '127.0.0.1', port })
    const out = await c.batchSettled('test.times_ten', [[0], [1], [2], [3], [4]], z.number())
    expect(out.map((s) => (s.ok ? s.value : s.error.code))).toEqual([
      0,
      10,
      'electrs.rpc-error',
      'electrs.bad-response',
      40,
    ])
    expect(c.roundTrips).toBe(1)
    expect(c.requests).toBe(5)
    await expect(c.batch('test.times_ten', [[1], [2]], z.number())).rejects.toMatchObject({
      code: 'electrs.rpc-error',
    })
    c.close()
  })

  it('fails the whole batch when the connection is lost before every answer came', async () => {
    const port = await serve((reqs, socket) => {
      socket.write(JSON.stringify([{ jsonrpc: '2.0', id: reqs[0]!.id, result: 1 }]) + '\n')
      setTimeout(() => socket.destroy(), 20)
    })
    const c = await ElectrumClient.connect({ host: '127.0.0.1', port })
    const err = await c.batchSettled('test.x', [[1], [2], [3]], z.number()).catch((e) => e)
    expect(err).toBeInstanceOf(FlashError)
    expect((err as FlashError).code).toBe('electrs.disconnected')
  })

  it('fails the whole batch on a timeout; a late answer is ignored and the connection goes on', async () => {
    let sock: Socket | undefined
    const received: { id: number }[][] = []
    const port = await serve((reqs, socket) => {
      sock = socket
      received.push(reqs)
    })
    const c = await ElectrumClient.connect({ host: '127.0.0.1', port, timeoutMs: 100 })
    const err = await c.batchSettled('test.x', [[1], [2]], z.number()).catch((e) => e)
    expect((err as FlashError).code).toBe('electrs.timeout')
    const next = c.batchSettled('test.x', [[5]], z.number())
    await expect.poll(() => received.length).toBe(2)
    const answer = (reqs: { id: number }[], result: number) =>
      sock!.write(JSON.stringify(reqs.map(({ id }) => ({ jsonrpc: '2.0', id, result }))) + '\n')
    answer(received[0]!, 1) // too late: nobody waits for these ids any more
    answer(received[1]!, 7)
    expect(await next).toEqual([{ ok: true, value: 7 }])
    c.close()
  })
})

describe('ElectrumClient answers', () => {
  it('writes each batch as the JSON-RPC requests JSON.stringify would', async () => {
    const lines: unknown[] = []
    const port = await serve((reqs, socket) => {
      lines.push(reqs)
      socket.write(JSON.stringify(reqs.map(({ id }) => ({ jsonrpc: '2.0', id, result: 1 }))) + '\n')
    })
    const c = await ElectrumClient.connect({ host: '127.0.0.1', port })
    await c.batch('test.odd "name"', [['a\n"b"', 2], [{ x: [null] }]], z.number())
    expect(lines).toEqual([
      [
        { jsonrpc: '2.0', id: 1, method: 'test.odd "name"', params: ['a\n"b"', 2] },
        { jsonrpc: '2.0', id: 2, method: 'test.odd "name"', params: [{ x: [null] }] },
      ],
    ])
    c.close()
  })

  it('skips what is not a JSON-RPC message, and checks every payload against its schema', async () => {
    const h = 'ab'.repeat(32)
    const notified: unknown[] = []
    const port = await serve((reqs, socket) => {
      const [a, b, d, e] = reqs
      socket.write(
        JSON.stringify([
          'not an envelope',
          { id: a!.id, error: { code: 'x' } }, // a broken error: skipped, as a broken line is
          { jsonrpc: '2.0', method: 'blockchain.scripthash.subscribe', params: [h, null] },
          { jsonrpc: '2.0', id: a!.id, result: [{ tx_hash: h, height: 5, fee: 10 }] },
          { jsonrpc: '2.0', id: b!.id, result: [{ tx_hash: h.toUpperCase(), height: 5 }] },
          { jsonrpc: '2.0', id: d!.id, result: [{ tx_hash: h, height: 1.5 }] },
          { jsonrpc: '2.0', id: e!.id, result: { not: 'a list' } },
        ]) + '\n',
      )
    })
    const c = await ElectrumClient.connect({ host: '127.0.0.1', port })
    c.on('blockchain.scripthash.subscribe', (params) => notified.push(params))
    const out = await c.batchSettled(
      'blockchain.scripthash.get_history',
      [[h], [h], [h], [h]],
      HistorySchema,
    )
    expect(out.map((s) => (s.ok ? s.value : s.error.code))).toEqual([
      [{ tx_hash: h, height: 5, fee: 10 }],
      'electrs.bad-response',
      'electrs.bad-response',
      'electrs.bad-response',
    ])
    expect(notified).toEqual([[h, null]])
    c.close()
  })

  it('checks hex as the regular expressions it replaces did', () => {
    for (const [s, len, ok] of [
      ['ab'.repeat(32), 64, true],
      ['AB'.repeat(32), 64, false],
      ['ab'.repeat(31), 64, false],
      ['0123456789abcdef', undefined, true],
      ['abc', undefined, false],
      ['', undefined, false],
      ['zz', undefined, false],
      // Just past each end of the two ranges, and characters past the table (code 128 and up).
      ['/0', undefined, false],
      [':0', undefined, false],
      ['`0', undefined, false],
      ['g0', undefined, false],
      ['a\u00e9', undefined, false],
      ['0\u0661', undefined, false],
      ['ab'.repeat(40) + '\uffff' + 'a', undefined, false],
      [12, undefined, false],
    ] as const)
      expect([s, isLowerHex(s, len)]).toEqual([s, ok])
    expect(
      MerkleSchema.safeParse({ block_height: 1, merkle: ['00'.repeat(32)], pos: 0 }).success,
    ).toBe(true)
    expect(MerkleSchema.safeParse({ block_height: 1, merkle: ['00'], pos: 0 }).success).toBe(false)
    expect(MerkleSchema.safeParse({ block_height: -1, merkle: [], pos: 0 }).success).toBe(false)
  })
})

describe('ElectrumClient.flightSettled', () => {
  it('sends the calls of several methods as one line and settles each part on its own', async () => {
    const lines: { method: string; params: unknown[] }[][] = []
    const port = await serve((reqs, socket) => {
      lines.push(reqs as unknown as { method: string; params: unknown[] }[])
      const answers = reqs.map(({ id, params }) => {
        const method = (reqs.find((r) => r.id === id) as unknown as { method: string }).method
        if (method === 'test.fail') return { jsonrpc: '2.0', id, error: { code: 1, message: 'no' } }
        return {
          jsonrpc: '2.0',
          id,
          result: method === 'test.double' ? 2 * (params[0] as number) : `s${String(params[0])}`,
        }
      })
      socket.write(JSON.stringify(answers.reverse()) + '\n')
    })
    const c = await ElectrumClient.connect({ host: '127.0.0.1', port })
    const [doubled, named, failed, none] = await c.flightSettled([
      batchPart('test.double', [[1], [2]], z.number()),
      batchPart('test.name', [[7]], z.string()),
      batchPart('test.fail', [[0]], z.string()),
      batchPart('test.never', [], z.string()),
    ])
    expect(doubled.map((s) => s.ok && s.value)).toEqual([2, 4])
    expect(named.map((s) => s.ok && s.value)).toEqual(['s7'])
    expect(failed.map((s) => !s.ok && s.error.code)).toEqual(['electrs.rpc-error'])
    expect(none).toEqual([])
    expect(lines.map((l) => l.map((r) => r.method))).toEqual([
      ['test.double', 'test.double', 'test.name', 'test.fail'],
    ])
    expect([c.roundTrips, c.requests]).toEqual([1, 4])
    expect(Object.fromEntries(c.methodCounts)).toEqual({
      'test.double': 2,
      'test.name': 1,
      'test.fail': 1,
    })
    // Nothing to ask: nothing sent.
    await c.flightSettled([batchPart('test.never', [], z.string())])
    expect(lines).toHaveLength(1)
    c.close()
  })
})
