// SIMULATOR — test-only, never imported by production code. The core of the BTCPay Greenfield
// simulator: HTTP server, router, authentication (Basic and `Authorization: token <apikey>`),
// per-route permission checks (permissions.ts) and the error bodies BTCPay documents:
//   401 {code:"unauthenticated"}, 403 {code:"missing-permission", missingPermission},
//   404/400 ProblemDetails {code, message}, 422 ValidationProblemDetails [{path, message}].
// Each API area is one file (users.ts, stores.ts, invoices.ts, …) exporting `routes(sim)`;
// index.ts lists them. State is in memory, one `Greenfield` per simulator.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type * as bitcoin from 'bitcoinjs-lib'
import { allows, parsePermission, type Permission, type Principal } from './permissions'

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH'

/** What a route needs before its handler runs. */
export type RouteAuth =
  /** Anyone (health, claiming a pull payment, the PoS page). */
  | { readonly kind: 'none' }
  /** Any authenticated user or key. */
  | { readonly kind: 'user' }
  /**
   * One of `anyOf` (the swagger's `security` list for the operation), for the store that
   * `store(call)` names (default: the `{storeId}` path parameter). `store` returning null means
   * the resource does not exist (answered 404 with `notFound`).
   */
  | {
      readonly kind: 'policy'
      readonly anyOf: readonly string[]
      readonly store?: (c: Call) => string | null | undefined
      readonly notFound?: { code: string; message: string }
    }

export interface GreenfieldRoute {
  readonly method: Method
  /** Swagger path template, e.g. `/api/v1/stores/{storeId}/invoices`. */
  readonly path: string
  readonly auth: RouteAuth
  handle(c: Call): Reply | Promise<Reply>
}

export interface Call {
  readonly req: IncomingMessage
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  readonly body: unknown
  /** null only on `auth: none` routes called without credentials. */
  readonly who: Principal | null
  readonly sim: Greenfield
}

export interface Reply {
  readonly status: number
  readonly json?: unknown
  readonly html?: string
}

export const ok = (json: unknown, status = 200): Reply => ({ status, json })

export class GreenfieldError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'object' && body && 'message' in body ? String(body.message) : 'error')
  }
}

export const problem = (status: number, code: string, message: string) =>
  new GreenfieldError(status, { code, message })

/** 422 ValidationProblemDetails. */
export const invalid = (path: string, message: string) =>
  new GreenfieldError(422, [{ path, message }])

export interface User {
  readonly id: string
  email: string
  name: string | null
  readonly salt: Buffer
  readonly hash: Buffer
  readonly admin: boolean
  readonly created: number
}

export interface ApiKey {
  readonly key: string
  readonly userId: string
  readonly label: string
  readonly permissions: readonly string[]
}

/** In-memory state every area shares; areas add their own maps through `area()`. */
export class Greenfield extends EventEmitter {
  readonly users = new Map<string, User>()
  readonly apiKeys = new Map<string, ApiKey>()
  /** storeId → user ids with a role in it (the creator is Owner). */
  readonly storeUsers = new Map<string, Set<string>>()
  private readonly areas = new Map<string, unknown>()
  /** Base URL the simulator answers on (checkout links, PoS links, pull payment links). */
  baseUrl = ''
  /** Test clock (seconds); default the real one. */
  now: () => number = () => Math.floor(Date.now() / 1000)

  constructor(
    readonly log: (line: string) => void,
    readonly network: bitcoin.Network,
    /** Fiat per BTC: the simulator's fixed exchange rates (BTCPay asks exchanges). */
    readonly rates: Readonly<Record<string, number>>,
  ) {
    super()
  }

  /** BTC per unit of `currency`. */
  btcPer(currency: string): number {
    if (currency === 'BTC') return 1
    if (currency === 'SATS') return 1e-8
    const r = this.rates[currency]
    if (!r) throw problem(400, 'rate-unavailable', `No exchange rate for ${currency}`)
    return 1 / r
  }

  /** Per-area state, created on first use: `sim.area('invoices', () => new Map())`. */
  area<T>(name: string, make: () => T): T {
    let a = this.areas.get(name) as T | undefined
    if (a === undefined) {
      a = make()
      this.areas.set(name, a)
    }
    return a
  }

  id(bytes = 16): string {
    // BTCPay's ids are base58 of random bytes (Encoders.Base58); base64url keeps this short.
    return randomBytes(bytes).toString('base64url').replace(/[-_]/g, 'x')
  }

  hashPassword(password: string): { salt: Buffer; hash: Buffer } {
    const salt = randomBytes(16)
    return { salt, hash: scryptSync(password, salt, 32, { N: 1024 }) }
  }

  userByEmail(email: string): User | undefined {
    const e = email.toLowerCase()
    for (const u of this.users.values()) if (u.email.toLowerCase() === e) return u
    return undefined
  }

  hasAdmin(): boolean {
    for (const u of this.users.values()) if (u.admin) return true
    return false
  }

  principal(userId: string, permissions: readonly Permission[] | null): Principal {
    const user = this.users.get(userId)!
    const storeIds = new Set<string>()
    for (const [id, members] of this.storeUsers) if (members.has(userId)) storeIds.add(id)
    return { userId, admin: user.admin, permissions, storeIds }
  }

  authenticate(header: string | undefined): Principal | null | 'bad' {
    if (!header) return null
    const [scheme, value = ''] = header.split(/\s+/, 2)
    if (scheme?.toLowerCase() === 'token') {
      const key = this.apiKeys.get(value)
      if (!key || !this.users.has(key.userId)) return 'bad'
      const perms = key.permissions.map(parsePermission).filter((p): p is Permission => !!p)
      return this.principal(key.userId, perms)
    }
    if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      const i = decoded.indexOf(':')
      if (i < 0) return 'bad'
      const user = this.userByEmail(decoded.slice(0, i))
      if (!user) return 'bad'
      const hash = scryptSync(decoded.slice(i + 1), user.salt, 32, { N: 1024 })
      if (!timingSafeEqual(hash, user.hash)) return 'bad'
      return this.principal(user.id, null)
    }
    return 'bad'
  }
}

interface Compiled {
  readonly route: GreenfieldRoute
  readonly re: RegExp
  readonly names: string[]
}

function compile(route: GreenfieldRoute): Compiled {
  const names: string[] = []
  const re = new RegExp(
    '^' +
      route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, n: string) => {
        names.push(n)
        return '([^/]+)'
      }) +
      '/?$',
  )
  return { route, re, names }
}

const UNAUTHENTICATED = {
  code: 'unauthenticated',
  message: 'Authentication is required for accessing this endpoint',
}

/** BTCPay's GreenfieldPermissionAPIError. */
export function missingPermission(policy: string): GreenfieldError {
  return new GreenfieldError(403, {
    code: 'missing-permission',
    message: `Insufficient API Permissions. Please use an API key with permission "${policy}". You can create an API key in your account's settings / Api Keys.`,
    missingPermission: policy,
  })
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > 1024 * 1024) throw problem(413, 'body-too-large', 'The request body is too large')
    chunks.push(c)
  }
  if (size === 0) return undefined
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw invalid('', 'The request body is not valid JSON')
  }
}

export interface GreenfieldServer {
  readonly url: string
  readonly sim: Greenfield
  close(): Promise<void>
}

export async function serveGreenfield(
  sim: Greenfield,
  routes: readonly GreenfieldRoute[],
  opts: { host?: string; port?: number } = {},
): Promise<GreenfieldServer> {
  const compiled = routes.map(compile)

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<Reply> => {
    const url = new URL(req.url ?? '/', 'http://x')
    let pathMatched = false
    for (const c of compiled) {
      const m = c.re.exec(url.pathname)
      if (!m) continue
      pathMatched = true
      if (c.route.method !== req.method) continue
      const params: Record<string, string> = {}
      c.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)))
      const who = sim.authenticate(req.headers.authorization)
      if (who === 'bad') throw new GreenfieldError(401, UNAUTHENTICATED)
      const body = req.method === 'GET' || req.method === 'DELETE' ? undefined : await readBody(req)
      const call: Call = { req, params, query: url.searchParams, body, who, sim }
      const auth = c.route.auth
      if (auth.kind !== 'none' && !who) throw new GreenfieldError(401, UNAUTHENTICATED)
      if (auth.kind === 'policy') {
        const storeId = auth.store ? auth.store(call) : params.storeId
        if (storeId === null)
          throw problem(
            404,
            auth.notFound?.code ?? 'not-found',
            auth.notFound?.message ?? 'Not found',
          )
        if (storeId !== undefined && !sim.storeUsers.has(storeId)) {
          if (!who!.admin) throw missingPermission(auth.anyOf[0]!)
          throw problem(404, 'store-not-found', 'The store was not found')
        }
        if (!auth.anyOf.some((p) => allows(who!, p, storeId)))
          throw missingPermission(auth.anyOf[0]!)
      }
      void res
      return await c.route.handle(call)
    }
    if (pathMatched) throw problem(405, 'method-not-allowed', 'Method not allowed')
    throw problem(404, 'not-found', 'Not found')
  }

  const server: Server = createServer((req, res) => {
    void handle(req, res)
      .then((r) => {
        if (r.html !== undefined) {
          res.writeHead(r.status, { 'content-type': 'text/html; charset=utf-8' })
          res.end(r.html)
          return
        }
        const body = r.json === undefined ? '' : JSON.stringify(r.json)
        res.writeHead(r.status, body ? { 'content-type': 'application/json; charset=utf-8' } : {})
        res.end(body)
      })
      .catch((err: unknown) => {
        const e =
          err instanceof GreenfieldError
            ? err
            : problem(500, 'internal-error', err instanceof Error ? err.message : String(err))
        if (e.status >= 500) sim.log(`BTCPAY SIMULATOR ${req.method} ${req.url}: ${e.message}`)
        res.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8' })
        res.end(JSON.stringify(e.body))
      })
  })
  await new Promise<void>((resolve) =>
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve),
  )
  const addr = server.address() as AddressInfo
  const url = `http://${opts.host ?? '127.0.0.1'}:${addr.port}`
  sim.baseUrl = url
  return {
    url,
    sim,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Reads a JSON object body or answers 422. */
export function objectBody(c: Call): Record<string, unknown> {
  if (c.body === undefined) return {}
  if (typeof c.body !== 'object' || c.body === null || Array.isArray(c.body))
    throw invalid('', 'The request body must be a JSON object')
  return c.body as Record<string, unknown>
}

export function str(b: Record<string, unknown>, key: string, required = false): string | null {
  const v = b[key]
  if (v === undefined || v === null) {
    if (required) throw invalid(key, `${key} is missing`)
    return null
  }
  if (typeof v !== 'string') throw invalid(key, `${key} should be a string`)
  return v
}

/** Greenfield decimals are strings ("0.1") but numbers are accepted, as BTCPay's JSON converter. */
export function decimal(b: Record<string, unknown>, key: string, required = false): number | null {
  const v = b[key]
  if (v === undefined || v === null) {
    if (required) throw invalid(key, `${key} is missing`)
    return null
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN
  if (!Number.isFinite(n)) throw invalid(key, `${key} should be a decimal`)
  return n
}

/** Decimal to BTCPay's string form (no exponent, no trailing zeros). */
export function fmt(n: number, places = 8): string {
  const s = n.toFixed(places)
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s
}
