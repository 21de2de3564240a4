import { createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../log'
import { RelayPool } from './relay-pool'

const sockets = new Set<Socket>()
afterEach(() => {
  for (const s of sockets) s.destroy()
  sockets.clear()
})

describe('RelayPool', () => {
  it('closes while a relay is still connecting without an uncaught error', async () => {
    // A relay that accepts the TCP connection and never answers the WebSocket handshake.
    const server = createServer((s) => {
      sockets.add(s)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    const uncaught: unknown[] = []
    const onUncaught = (err: unknown) => uncaught.push(err)
    process.on('uncaughtException', onUncaught)
    try {
      const pool = new RelayPool({
        log: silentLogger,
        authSigner: () => null,
        connectTimeoutMs: 10_000,
      })
      pool.setRelays([`ws://127.0.0.1:${port}`])
      pool.subscribe('inbox', [{ kinds: [1059] }], () => undefined)
      await expect.poll(() => sockets.size).toBe(1)
      pool.close()
      await new Promise((r) => setTimeout(r, 100))
      expect(uncaught).toEqual([])
    } finally {
      process.off('uncaughtException', onUncaught)
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    }
  })
})
