// Headless mode's safety, against the real server (startHttpApi) and a real engine with a small
// test module standing in for the stack domain: no session → nothing; foreign Origin or Host →
// refused; password guessing throttled; bad bodies answered clearly while the server keeps going.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { OwnerPassword } from '../../src/core/api/http/owner-password'
import { startHttpApi, type HttpApi } from '../../src/core/api/http/server'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import type { EngineModuleFactory } from '../../src/core/engine/module'
import { silentLogger } from '../../src/core/log'
import type { StackStatus } from '../../src/shared/api/stack'

const PASSWORD = 'correct horse battery staple'

/** A test module for the `stack` domain: counts the mutations that reach it. */
function testStackModule(calls: string[]): EngineModuleFactory {
  const status: StackStatus = {
    setupComplete: true,
    desired: 'stopped',
    docker: { state: 'running', host: 'test', os: 'linux' },
    services: [],
    alerts: [],
  }
  return () => ({
    name: 'stack',
    start: async () => {},
    stop: async () => {},
    handlers: {
      status: async () => status,
      start: async () => {
        calls.push('start')
      },
      startService: async (input: { id: string }) => {
        calls.push(`startService:${input.id}`)
      },
      followLogs: async (input: { id: string; follow: boolean }) => {
        calls.push(`followLogs:${input.id}:${input.follow}`)
      },
    } as never,
  })
}

interface Res {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  json: unknown
}

function send(
  api: HttpApi,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Res> {
  const u = new URL(api.url)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path, headers: opts.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = JSON.parse(body)
          } catch {
            json = null
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json })
        })
      },
    )
    // A server may answer (413) and close before the whole body is written: that is fine here.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err)
    })
    if (opts.body !== undefined) req.end(opts.body)
    else req.end()
  })
}

const origin = (api: HttpApi) => api.url
const jsonHeaders = (api: HttpApi, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  origin: origin(api),
  ...extra,
})

function cookieFrom(res: Res): string {
  const set = res.headers['set-cookie']
  const first = Array.isArray(set) ? set[0] : set
  expect(first).toBeTruthy()
  return first!.split(';')[0]!
}

async function setupOwner(api: HttpApi): Promise<string> {
  const res = await send(api, 'POST', '/api/auth/setup', {
    headers: jsonHeaders(api),
    body: JSON.stringify({ password: PASSWORD }),
  })
  expect(res.status).toBe(200)
  return cookieFrom(res)
}

function wsConnect(api: HttpApi, headers: Record<string, string>) {
  return new Promise<{ ws?: WebSocket; status?: number }>((resolve) => {
    const ws = new WebSocket(api.url.replace('http', 'ws') + '/api/events', { headers })
    ws.on('open', () => resolve({ ws }))
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode })
      ws.terminate()
    })
    ws.on('error', () => resolve({}))
  })
}

describe('headless HTTP API security', () => {
  let dir: string
  let engine: Engine
  let api: HttpApi
  const calls: string[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flashbox-http-'))
    engine = await createEngine({
      dataDir: dir,
      log: silentLogger,
      modules: [testStackModule(calls)],
    })
    api = await startHttpApi(engine, { dataDir: dir, log: silentLogger })
  })

  afterAll(async () => {
    await api?.close()
    await engine?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('binds to loopback by default', () => {
    expect(new URL(api.url).hostname).toBe('127.0.0.1')
  })

  it('refuses every API call before the owner logs in', async () => {
    const state = await send(api, 'GET', '/api/auth/state')
    expect(state.json).toMatchObject({ passwordSet: false, authenticated: false })

    const q = await send(api, 'POST', '/api/call/stack/status', {
      headers: jsonHeaders(api),
      body: '{}',
    })
    expect(q.status).toBe(401)
    expect(q.json).toMatchObject({ code: 'auth.required' })
    expect(typeof (q.json as { hint: string }).hint).toBe('string')

    const m = await send(api, 'POST', '/api/call/stack/start', {
      headers: jsonHeaders(api, { cookie: 'flashbox_session=forged-token-value' }),
      body: '{}',
    })
    expect(m.status).toBe(401)
    expect(calls).toEqual([])

    const ws = await wsConnect(api, { origin: origin(api) })
    expect(ws.status).toBe(401)
  })

  it('sets the owner password once, stored hashed in a 0600 file', async () => {
    const cookie = await setupOwner(api)
    expect(cookie).toMatch(/^flashbox_session=[A-Za-z0-9_-]{40,}$/)
    const file = join(dir, 'secrets', 'owner-password.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const text = readFileSync(file, 'utf8')
    expect(text).not.toContain(PASSWORD)
    expect(JSON.parse(text)).toMatchObject({ kdf: 'scrypt' })

    const again = await send(api, 'POST', '/api/auth/setup', {
      headers: jsonHeaders(api),
      body: JSON.stringify({ password: 'someone else entirely' }),
    })
    expect(again.status).toBe(409)
    expect(again.json).toMatchObject({ code: 'auth.already_set' })
  })

  it('logs in with an HttpOnly, SameSite=Strict, expiring cookie and serves the API', async () => {
    const res = await send(api, 'POST', '/api/auth/login', {
      headers: jsonHeaders(api),
      body: JSON.stringify({ password: PASSWORD }),
    })
    expect(res.status).toBe(200)
    const set = String(res.headers['set-cookie'])
    expect(set).toContain('HttpOnly')
    expect(set).toContain('SameSite=Strict')
    expect(set).toMatch(/Max-Age=\d+/)
    const cookie = cookieFrom(res)

    const q = await send(api, 'POST', '/api/call/stack/status', {
      headers: jsonHeaders(api, { cookie }),
      body: '{}',
    })
    expect(q.status).toBe(200)
    expect(q.json).toMatchObject({ result: { setupComplete: true } })
    expect(q.headers['cache-control']).toBe('no-store')

    const logout = await send(api, 'POST', '/api/auth/logout', {
      headers: jsonHeaders(api, { cookie }),
      body: '{}',
    })
    expect(logout.status).toBe(200)
    const after = await send(api, 'POST', '/api/call/stack/status', {
      headers: jsonHeaders(api, { cookie }),
      body: '{}',
    })
    expect(after.status).toBe(401)
  })

  it('marks the cookie Secure (with the __Host- prefix) behind a local TLS proxy', async () => {
    const res = await send(api, 'POST', '/api/auth/login', {
      headers: jsonHeaders(api, { 'x-forwarded-proto': 'https' }),
      body: JSON.stringify({ password: PASSWORD }),
    })
    expect(res.status).toBe(200)
    const set = String(res.headers['set-cookie'])
    expect(set).toMatch(/^__Host-flashbox_session=/)
    expect(set).toContain('; Secure')
    const q = await send(api, 'POST', '/api/call/stack/status', {
      headers: jsonHeaders(api, { cookie: cookieFrom(res) }),
      body: '{}',
    })
    expect(q.status).toBe(200)
  })

  it('refuses state changes from a foreign Origin or Host, and WebSockets from elsewhere', async () => {
    const cookie = cookieFrom(
      await send(api, 'POST', '/api/auth/login', {
        headers: jsonHeaders(api),
        body: JSON.stringify({ password: PASSWORD }),
      }),
    )
    const evil = await send(api, 'POST', '/api/call/stack/start', {
      headers: jsonHeaders(api, { cookie, origin: 'http://evil.example' }),
      body: '{}',
    })
    expect(evil.status).toBe(403)
    expect(evil.json).toMatchObject({ code: 'http.bad_origin' })

    const noOrigin = await send(api, 'POST', '/api/call/stack/start', {
      headers: { 'content-type': 'application/json', cookie },
      body: '{}',
    })
    expect(noOrigin.status).toBe(403)

    const evilLogin = await send(api, 'POST', '/api/auth/login', {
      headers: jsonHeaders(api, { origin: 'http://evil.example' }),
      body: JSON.stringify({ password: PASSWORD }),
    })
    expect(evilLogin.status).toBe(403)

    // DNS rebinding: the page's own host name reaches our port, but the Host header gives it away.
    const port = new URL(api.url).port
    const rebound = await send(api, 'POST', '/api/call/stack/status', {
      headers: jsonHeaders(api, {
        cookie,
        host: `evil.example:${port}`,
        origin: `http://evil.example:${port}`,
      }),
      body: '{}',
    })
    expect(rebound.status).toBe(421)
    expect(calls).toEqual([])

    const wsEvil = await wsConnect(api, { cookie, origin: 'http://evil.example' })
    expect(wsEvil.status).toBe(403)

    // The same mutation from our own page works.
    const ok = await send(api, 'POST', '/api/call/stack/start', {
      headers: jsonHeaders(api, { cookie }),
      body: '{}',
    })
    expect(ok.status).toBe(200)
    expect(calls).toEqual(['start'])
  })

  it('answers malformed, oversized, unknown and invalid requests clearly and keeps serving', async () => {
    const cookie = cookieFrom(
      await send(api, 'POST', '/api/auth/login', {
        headers: jsonHeaders(api),
        body: JSON.stringify({ password: PASSWORD }),
      }),
    )
    const h = jsonHeaders(api, { cookie })

    const bad = await send(api, 'POST', '/api/call/stack/status', { headers: h, body: '{"a":' })
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ code: 'http.bad_json' })

    const big = Buffer.alloc(2 * 1024 * 1024, 0x20)
    const huge = await send(api, 'POST', '/api/call/stack/status', { headers: h, body: big })
    expect(huge.status).toBe(413)
    expect(huge.json).toMatchObject({ code: 'http.body_too_large' })

    const unknown = await send(api, 'POST', '/api/call/stack/selfDestruct', {
      headers: h,
      body: '{}',
    })
    expect(unknown.status).toBe(404)
    expect(unknown.json).toMatchObject({ code: 'api.unknown_procedure' })

    const invalid = await send(api, 'POST', '/api/call/stack/startService', {
      headers: h,
      body: JSON.stringify({ id: '' }),
    })
    expect(invalid.status).toBe(400)
    expect(invalid.json).toMatchObject({ code: 'api.bad_input' })

    const notJson = await send(api, 'POST', '/api/call/stack/status', {
      headers: { ...h, 'content-type': 'text/plain' },
      body: '{}',
    })
    expect(notJson.status).toBe(415)

    for (const r of [bad, huge, unknown, invalid, notJson]) {
      expect(r.body).not.toMatch(/\bat .*\.ts:\d+/) // no stack traces
      expect(Object.keys(r.json as object).sort()).toEqual(['code', 'hint', 'message'])
    }

    const still = await send(api, 'POST', '/api/call/stack/status', { headers: h, body: '{}' })
    expect(still.status).toBe(200)
  })

  it('pushes engine events over the WebSocket to a logged-in page, by topic, and follows logs', async () => {
    const cookie = cookieFrom(
      await send(api, 'POST', '/api/auth/login', {
        headers: jsonHeaders(api),
        body: JSON.stringify({ password: PASSWORD }),
      }),
    )
    const { ws } = await wsConnect(api, { cookie, origin: origin(api) })
    expect(ws).toBeDefined()
    const got: unknown[] = []
    ws!.on('message', (d) => got.push(JSON.parse(String(d))))
    ws!.send(JSON.stringify({ type: 'subscribe', topics: ['stack'] }))
    ws!.send(JSON.stringify({ type: 'followLogs', id: 'bitcoind', follow: true }))
    await expect.poll(() => calls.includes('followLogs:bitcoind:true')).toBe(true)

    engine.events.publish({
      topic: 'stack',
      type: 'log',
      line: { serviceId: 'bitcoind', stream: 'stdout', time: new Date().toISOString(), text: 'hi' },
    })
    await expect.poll(() => got.length).toBe(1)
    expect(got[0]).toMatchObject({ type: 'event', event: { type: 'log', line: { text: 'hi' } } })

    ws!.close()
    await expect.poll(() => calls.includes('followLogs:bitcoind:false')).toBe(true)
  })

  it('closes an event socket that floods the server with messages', async () => {
    const cookie = cookieFrom(
      await send(api, 'POST', '/api/auth/login', {
        headers: jsonHeaders(api),
        body: JSON.stringify({ password: PASSWORD }),
      }),
    )
    const { ws } = await wsConnect(api, { cookie, origin: origin(api) })
    const closed = new Promise<number>((resolve) => ws!.on('close', (code) => resolve(code)))
    for (let i = 0; i < 200; i++) ws!.send(JSON.stringify({ type: 'subscribe', topics: ['stack'] }))
    expect(await closed).toBe(1008)
    const still = await send(api, 'GET', '/api/health')
    expect(still.status).toBe(200)
  })

  it('serves the UI with security headers', async () => {
    const res = await send(api, 'GET', '/')
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(res.headers['content-security-policy']).toContain("script-src 'self'")
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    const traversal = await send(api, 'GET', '/../../../../etc/passwd')
    expect(traversal.body).not.toContain('root:')
  })
})

describe('login throttling', () => {
  let dir: string
  let engine: Engine
  let api: HttpApi

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flashbox-http-throttle-'))
    engine = await createEngine({ dataDir: dir, log: silentLogger, modules: [testStackModule([])] })
    api = await startHttpApi(engine, { dataDir: dir, log: silentLogger })
    await setupOwner(api)
  })

  afterAll(async () => {
    await api?.close()
    await engine?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('throttles the 11th rapid wrong password with 429 and Retry-After', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await send(api, 'POST', '/api/auth/login', {
        headers: jsonHeaders(api),
        body: JSON.stringify({ password: `wrong guess number ${i}` }),
      })
      expect(r.status).toBe(401)
      expect(r.json).toMatchObject({ code: 'auth.wrong_password' })
    }
    const eleventh = await send(api, 'POST', '/api/auth/login', {
      headers: jsonHeaders(api),
      body: JSON.stringify({ password: 'wrong guess number 11' }),
    })
    expect(eleventh.status).toBe(429)
    expect(Number(eleventh.headers['retry-after'])).toBeGreaterThan(0)
    expect(eleventh.json).toMatchObject({ code: 'auth.too_many_attempts' })

    // Even the right password waits: the throttle does not reveal whether a guess was right.
    const right = await send(api, 'POST', '/api/auth/login', {
      headers: jsonHeaders(api),
      body: JSON.stringify({ password: PASSWORD }),
    })
    expect(right.status).toBe(429)
  })
})

describe('exposed beyond loopback', () => {
  let dir: string
  let engine: Engine
  let api: HttpApi

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flashbox-http-exposed-'))
    engine = await createEngine({ dataDir: dir, log: silentLogger, modules: [testStackModule([])] })
    api = await startHttpApi(engine, { dataDir: dir, host: '0.0.0.0', log: silentLogger })
  })

  afterAll(async () => {
    await api?.close()
    await engine?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('demands the printed setup code for the first password', async () => {
    const state = await send(api, 'GET', '/api/auth/state')
    expect(state.json).toMatchObject({ setupCodeRequired: true })
    const res = await send(api, 'POST', '/api/auth/setup', {
      headers: jsonHeaders(api),
      body: JSON.stringify({ password: PASSWORD, setupCode: 'WRONG0' }),
    })
    expect(res.status).toBe(403)
    expect(res.json).toMatchObject({ code: 'auth.bad_setup_code' })
  })
})

describe('login throttle keyed on the client', () => {
  const dirs: string[] = []
  const apis: HttpApi[] = []
  const engines: Engine[] = []
  afterAll(async () => {
    for (const a of apis) await a.close()
    for (const e of engines) await e.stop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  const start = async (trustedProxies: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'flashbox-http-proxy-'))
    dirs.push(dir)
    const engine = await createEngine({ dataDir: dir, log: silentLogger, modules: [] })
    engines.push(engine)
    const api = await startHttpApi(engine, { dataDir: dir, trustedProxies, log: silentLogger })
    apis.push(api)
    return api
  }
  const login = (api: HttpApi, password: string, forwardedFor?: string) =>
    send(api, 'POST', '/api/auth/login', {
      headers: jsonHeaders(api, forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      body: JSON.stringify({ password }),
    })

  it('behind a trusted reverse proxy, one attacker cannot lock the owner out', async () => {
    // This test's requests come from 127.0.0.1, standing in for the proxy.
    const api = await start(['127.0.0.1'])
    // A proxy in front makes a loopback server reachable from anywhere: setup needs the code.
    expect((await send(api, 'GET', '/api/auth/state')).json).toMatchObject({
      setupCodeRequired: true,
    })
    const setup = await send(api, 'POST', '/api/auth/setup', {
      headers: jsonHeaders(api, { 'x-forwarded-for': '198.51.100.7' }),
      body: JSON.stringify({ password: PASSWORD }),
    })
    expect(setup.json).toMatchObject({ code: 'auth.bad_setup_code' })
    // (The owner types the printed code; here the password file is made directly instead.)
    await new OwnerPassword(dirs.at(-1)!).create(PASSWORD)

    for (let i = 0; i < 10; i++)
      expect((await login(api, `attacker guess ${i}`, '203.0.113.66')).status).toBe(401)
    expect((await login(api, 'attacker guess 11', '203.0.113.66')).status).toBe(429)
    // Claiming another address on the left of the chain does not help the attacker: the proxy
    // appends the real one on the right.
    expect((await login(api, 'attacker guess 12', '1.2.3.4, 203.0.113.66')).status).toBe(429)
    // The owner, from another address through the same proxy, still gets in.
    expect((await login(api, PASSWORD, '198.51.100.7')).status).toBe(200)
  })

  it('without a trusted proxy, X-Forwarded-For is ignored: spoofing it does not reset the count', async () => {
    const api = await start([])
    await new OwnerPassword(dirs.at(-1)!).create(PASSWORD)
    for (let i = 0; i < 10; i++)
      expect((await login(api, `guess ${i}`, `198.51.100.${i + 1}`)).status).toBe(401)
    expect((await login(api, 'guess 11', '198.51.100.99')).status).toBe(429)
  })
})

describe('login throttling under parallel guessing', () => {
  let dir: string
  let engine: Engine
  let api: HttpApi

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flashbox-http-parallel-'))
    engine = await createEngine({ dataDir: dir, log: silentLogger, modules: [testStackModule([])] })
    api = await startHttpApi(engine, { dataDir: dir, log: silentLogger })
    await setupOwner(api)
  })

  afterAll(async () => {
    await api?.close()
    await engine?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('lets at most 10 of 20 simultaneous guesses be checked', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        send(api, 'POST', '/api/auth/login', {
          headers: jsonHeaders(api),
          body: JSON.stringify({ password: `parallel guess ${i}` }),
        }),
      ),
    )
    const statuses = answers.map((a) => a.status)
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(10)
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true)
  })
})
