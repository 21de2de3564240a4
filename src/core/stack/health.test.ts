// The HEALTHCHECK scripts run in images without curl; prove they speak enough HTTP/Electrum by
// running them with the local bash against tiny servers on ephemeral loopback ports.
import { execFile } from 'node:child_process'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { electrumPingProbe, httpProbe, nodeFetchProbe } from './health'

const servers: { close: (cb: () => void) => void }[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))))
})

function run(test: readonly string[]): Promise<number> {
  expect(test[0]).toBe('CMD')
  return new Promise((resolve) => {
    execFile(test[1]!, test.slice(2), { timeout: 15_000 }, (err) => {
      resolve(err ? (typeof err.code === 'number' ? err.code : 99) : 0)
    })
  })
}

async function http(status: number): Promise<number> {
  const srv: Server = createHttpServer((req, res) => {
    res.writeHead(req.url === '/health' ? status : 404, { 'content-type': 'application/json' })
    res.end('{"synchronized":true}')
  })
  servers.push(srv)
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  return (srv.address() as AddressInfo).port
}

async function closedPort(): Promise<number> {
  const srv = createTcpServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

describe('health probes', () => {
  it('httpProbe 2xx: healthy on 200, not on 503, not when nothing listens', async () => {
    expect(await run(httpProbe(await http(200), '/health', '2xx'))).toBe(0)
    expect(await run(httpProbe(await http(503), '/health', '2xx'))).not.toBe(0)
    expect(await run(httpProbe(await closedPort(), '/health', '2xx'))).not.toBe(0)
  })

  it('httpProbe any: healthy on any HTTP answer', async () => {
    expect(await run(httpProbe(await http(503), '/health', 'any'))).toBe(0)
    expect(await run(httpProbe(await closedPort(), '/health', 'any'))).not.toBe(0)
  })

  it('electrumPingProbe: healthy when server.ping has a result', async () => {
    const srv = createTcpServer((sock) => {
      sock.once('data', (d) => {
        const req = JSON.parse(d.toString()) as { id: number; method: string }
        const reply =
          req.method === 'server.ping'
            ? { jsonrpc: '2.0', id: req.id, result: null }
            : { jsonrpc: '2.0', id: req.id, error: { code: -32601, message: 'unknown' } }
        sock.end(JSON.stringify(reply) + '\n')
      })
    })
    servers.push(srv)
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
    const port = (srv.address() as AddressInfo).port
    expect(await run(electrumPingProbe(port))).toBe(0)
    expect(await run(electrumPingProbe(await closedPort()))).not.toBe(0)
  })

  it('nodeFetchProbe: healthy on 2xx only', async () => {
    const ok = await http(200)
    expect(nodeFetchProbe(`http://127.0.0.1:${ok}/health`)[1]).toBe('node')
    const asNode = (url: string) => ['CMD', process.execPath, ...nodeFetchProbe(url).slice(2)]
    expect(await run(asNode(`http://127.0.0.1:${ok}/health`))).toBe(0)
    expect(await run(asNode(`http://127.0.0.1:${await http(503)}/health`))).not.toBe(0)
  })
})
