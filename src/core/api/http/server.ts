// Headless mode: the engine's API over HTTP + WebSocket, and the built UI, safe by default.
//   - binds 127.0.0.1 unless told otherwise; beyond loopback, first setup needs a printed code
//   - owner password (scrypt) → session token in an HttpOnly, SameSite=Strict cookie
//   - login attempts throttled per client (behind a trusted reverse proxy: the forwarded
//     address); Host and Origin checked; JSON bodies bounded
//   - errors are always {code, message, hint}; never a stack trace
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync } from 'node:fs'
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { resolve } from 'node:path'
import { z } from 'zod'
import type { UserError } from '../../../shared/errors'
import { FlashError, toUserError } from '../../errors'
import type { Engine } from '../../engine/engine'
import type { RequestContext } from '../../engine/module'
import type { Logger } from '../../log'
import { securityHeaders } from '../csp'
import { LogFollows } from '../log-follows'
import { HttpError, readJsonBody } from './body'
import { EventsSocket } from './events-socket'
import {
  clientAddress,
  normalizeAddress,
  trustedProxySet,
} from '../../../../services/shared/client-address'
import { LoginThrottle } from './login-throttle'
import { hostAllowed, isLoopbackHost, sameOrigin, type OriginPolicy } from './origin'
import { boxKeyFor } from '../../secrets/box-key'
import { OwnerPassword, PASSWORD_MAX, PasswordSchema } from './owner-password'
import { Sessions } from './sessions'
import { devicePairingFor } from '../../reach/device-pairing'
import type { Nip05HttpResponse } from '../../nostr/nip05'
import { serveStatic } from './static-files'

/** NIP-05 identities are served at this well-known path of the box's own web server. */
const NIP05_PATH = '/.well-known/nostr.json'

/** LUD-16 Lightning address and its LUD-06 callback (src/core/lightning/wallet-service-module.ts). */
const LNURLP_PATH = /^\/\.well-known\/lnurlp\/([A-Za-z0-9._-]{1,64})$/
const LNURLP_CALLBACK = /^\/lnurlp\/([A-Za-z0-9._-]{1,64})\/callback$/

/** What the wallet-service module offers the web server. */
interface LnurlProvider {
  servedAt(url: string): void
  lnurlpResponse(name: string): Promise<Nip05HttpResponse>
  lnurlCallback(name: string, query: URLSearchParams): Promise<Nip05HttpResponse>
}

/** What the boltcard module offers the web server (src/core/boltcard/boltcard-module.ts). */
interface BoltcardPublic {
  publicGet(path: string, query: URLSearchParams): Promise<Nip05HttpResponse | undefined>
  publicPost(path: string, body: unknown): Promise<Nip05HttpResponse | undefined>
}

/** What the nostr module offers the web server (src/core/nostr/nostr-module.ts). */
interface Nip05Provider {
  nip05Response(name: string | null): Nip05HttpResponse
}

export interface HttpApiOptions {
  /** Default 127.0.0.1. Anything else exposes the box to the network: think twice. */
  readonly host?: string
  /** Default 0 (any free port; see the returned url). */
  readonly port?: number
  readonly dataDir: string
  /** The built renderer; default out/renderer of this checkout, then of the working directory. */
  readonly staticDir?: string
  /** Host names a reverse proxy presents (e.g. 'box.example.com'); default: the comma-separated
   *  FLASHBOX_ALLOWED_HOSTS environment variable. */
  readonly allowedHosts?: readonly string[]
  /** Mark cookies Secure (a TLS proxy fronts the server); default FLASHBOX_SECURE_COOKIES=1.
   *  Also inferred per request from X-Forwarded-Proto: https sent by a proxy on loopback. */
  readonly secureCookies?: boolean
  readonly maxBodyBytes?: number
  readonly sessionIdleMs?: number
  readonly sessionMaxAgeMs?: number
  readonly loginAttempts?: { readonly max: number; readonly windowMs: number }
  /** Addresses of reverse proxies whose X-Forwarded-For is believed (login throttle, logs);
   *  default: the comma-separated FLASHBOX_TRUSTED_PROXIES environment variable. Serving
   *  through a proxy also makes the first setup need the printed code. */
  readonly trustedProxies?: readonly string[]
  readonly log?: Logger
}

export interface HttpApi {
  readonly url: string
  close(): Promise<void>
}

const COOKIE = 'flashbox_session'
const SECURE_COOKIE = '__Host-flashbox_session'
const MiB = 1024 * 1024
const CTX: RequestContext = { transport: 'http' }

const PasswordBody = z.object({
  password: z.string().max(PASSWORD_MAX),
  /** First use of a device through the LAN door (src/core/reach/device-pairing.ts). */
  pairingCode: z.string().max(32).optional(),
})
const DEVICE_COOKIE = '__Host-flashbox_device'
/** Set by the front door's owner site only (src/core/reach/caddy-config.ts DOOR_HEADER). */
const DOOR_HEADER = 'x-flashbox-door'
const SetupBody = z.object({
  password: z.string().max(PASSWORD_MAX),
  setupCode: z.string().max(64).optional(),
})

function defaultStaticDir(): string {
  const candidates = [
    resolve(import.meta.dirname, '../../../../out/renderer'),
    resolve(process.cwd(), 'out/renderer'),
  ]
  return candidates.find((d) => existsSync(resolve(d, 'index.html'))) ?? candidates[0]!
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>()
  if (!header) return out
  for (const part of header.split(';')) {
    const i = part.indexOf('=')
    if (i < 0) continue
    out.set(part.slice(0, i).trim(), part.slice(i + 1).trim())
  }
  return out
}

/** Status for an engine error: the code says what kind of failure it is. */
export function statusForError(code: string): number {
  if (code === 'api.unknown_procedure') return 404
  if (code === 'api.bad_input' || code.endsWith('.bad_input') || code.endsWith('.invalid'))
    return 400
  if (code === 'api.unavailable') return 503
  if (code === 'internal') return 500
  // The engine understood the request but the box's state refuses it (e.g. Docker is down).
  return 409
}

export async function startHttpApi(engine: Engine, opts: HttpApiOptions): Promise<HttpApi> {
  const log = (opts.log ?? engine.log).child('http')
  const host = opts.host ?? '127.0.0.1'
  const limit = opts.maxBodyBytes ?? MiB
  const staticDir = opts.staticDir ?? defaultStaticDir()
  const password = new OwnerPassword(opts.dataDir)
  // Keys derived from the owner's password (the Lightning seed vault) are made when it is typed.
  // The box key (src/core/secrets/box-key.ts) is made or unwrapped from it at the same moment.
  const ownerPasswordEntered = async (pw: string) => {
    await boxKeyFor(opts.dataDir)
      .enterPassword(pw)
      .catch((err: unknown) =>
        log.warn('the owner password did not open the box key', {
          code: err instanceof FlashError ? err.code : 'internal',
        }),
      )
    // The Lightning seed vault, then the on-chain wallet's seed (both may still need the password).
    for (const name of ['lightning', 'wallet'])
      await (engine.module(name)?.ownerPasswordEntered?.(pw) ?? Promise.resolve())
  }
  const sessions = new Sessions({
    idleMs: opts.sessionIdleMs ?? 12 * 3600_000,
    maxAgeMs: opts.sessionMaxAgeMs ?? 7 * 24 * 3600_000,
    maxSessions: 64,
  })
  const throttle = new LoginThrottle({
    max: opts.loginAttempts?.max ?? 10,
    windowMs: opts.loginAttempts?.windowMs ?? 15 * 60_000,
    maxTracked: 10_000,
  })
  const follows = new LogFollows(engine, CTX)
  const events = new EventsSocket(engine, follows, (id) => sessions.alive(id))
  const headers = securityHeaders()
  const policy: { current: OriginPolicy } = {
    current: {
      bindHost: host,
      port: opts.port ?? 0,
      allowedHosts:
        opts.allowedHosts ??
        (process.env.FLASHBOX_ALLOWED_HOSTS ?? '')
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean),
    },
  }

  const trustedProxies = trustedProxySet(
    opts.trustedProxies ?? (process.env.FLASHBOX_TRUSTED_PROXIES ?? '').split(','),
  )
  const loopbackPeer = (req: IncomingMessage) =>
    isLoopbackHost(normalizeAddress(req.socket.remoteAddress ?? ''))
  // The owner's UI on the LAN comes through the front door (Caddy on this computer), which marks
  // it: such a request needs the owner password and a paired device. Only believed from
  // loopback — the engine listens there, and Caddy overwrites the header, so a LAN client cannot
  // set it, and a local program that sets it only makes things stricter for itself.
  const viaOwnerDoor = (req: IncomingMessage) =>
    loopbackPeer(req) && req.headers[DOOR_HEADER] === 'owner-lan'
  const doorProxies = new Set([...trustedProxies, '127.0.0.1', '::1'])
  const clientIp = (req: IncomingMessage) =>
    clientAddress(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      // Caddy replaces X-Forwarded-For with the peer it saw: the LAN device.
      viaOwnerDoor(req) ? doorProxies : trustedProxies,
    )
  const pairing = devicePairingFor(opts.dataDir)
  const devicePaired = (req: IncomingMessage) =>
    pairing.known(parseCookies(req.headers.cookie).get(DEVICE_COOKIE))

  // Beyond loopback, whoever reaches the page first could claim the box: the first setup then
  // needs a code only the person who started the server can read (its log). A reverse proxy in
  // front (trusted proxies, or host names it presents) exposes a loopback server just the same.
  const exposed =
    !isLoopbackHost(host) || trustedProxies.size > 0 || policy.current.allowedHosts.length > 0
  let setupCode: string | null = null
  if (exposed && !(await password.isSet())) {
    setupCode = randomBytes(6).toString('hex').toUpperCase()
    log.warn(`Listening beyond this computer. First-run setup code: ${setupCode}`)
  }

  const secureCookies = opts.secureCookies ?? process.env.FLASHBOX_SECURE_COOKIES === '1'
  const isSecure = (req: IncomingMessage) =>
    secureCookies ||
    viaOwnerDoor(req) ||
    (isLoopbackHost(req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '') &&
      req.headers['x-forwarded-proto'] === 'https')

  const sessionToken = (req: IncomingMessage) => {
    const c = parseCookies(req.headers.cookie)
    return c.get(SECURE_COOKIE) ?? c.get(COOKIE)
  }

  const sendJson = (
    res: ServerResponse,
    status: number,
    body: unknown,
    extra: OutgoingHttpHeaders = {},
  ) => {
    const text = JSON.stringify(body ?? null)
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
      ...extra,
    })
    res.end(text)
  }

  const fail = (res: ServerResponse, status: number, error: UserError, extra = {}) =>
    sendJson(res, status, { code: error.code, message: error.message, hint: error.hint }, extra)

  const setSessionCookie = (req: IncomingMessage, token: string | null): string => {
    const secure = isSecure(req)
    const name = secure ? SECURE_COOKIE : COOKIE
    const maxAge = token ? Math.floor((opts.sessionMaxAgeMs ?? 7 * 24 * 3600_000) / 1000) : 0
    return [
      `${name}=${token ?? ''}`,
      'Path=/',
      'HttpOnly',
      'SameSite=Strict',
      `Max-Age=${maxAge}`,
      ...(secure ? ['Secure'] : []),
    ].join('; ')
  }

  /** The host the browser asked for: through the LAN door, the one Caddy forwards. */
  const browserHost = (req: IncomingMessage): string | undefined => {
    if (!viaOwnerDoor(req)) return req.headers.host
    const h = req.headers['x-forwarded-host']
    return Array.isArray(h) ? h[0] : h
  }

  const requireSameOrigin = (req: IncomingMessage) => {
    if (!sameOrigin(req.headers.origin, browserHost(req))) {
      throw new HttpError(403, {
        code: 'http.bad_origin',
        message: 'This request did not come from the Flash Box page.',
        hint: 'Open Flash Box at its own address and try again there.',
      })
    }
  }

  const notPaired = () =>
    new HttpError(403, {
      code: 'auth.device_not_paired',
      message: 'This device is not paired with Flash Box yet.',
      hint: 'Log in again and type the pairing code shown on the Flash Box computer under Settings → Reachability.',
    })

  const requireSession = (req: IncomingMessage): string => {
    if (viaOwnerDoor(req) && !devicePaired(req)) throw notPaired()
    const id = sessions.check(sessionToken(req))
    if (!id)
      throw new HttpError(401, {
        code: 'auth.required',
        message: 'You are not logged in.',
        hint: 'Log in with the owner password.',
      })
    return id
  }

  const throttled = (req: IncomingMessage) => {
    const wait = throttle.retryAfter(clientIp(req))
    if (wait > 0)
      throw new HttpError(
        429,
        {
          code: 'auth.too_many_attempts',
          message: 'Too many wrong passwords.',
          hint: `Wait ${Math.ceil(wait / 60)} minute${wait > 60 ? 's' : ''} and try again.`,
        },
        { 'retry-after': String(wait) },
      )
  }

  const parse = <T>(schema: z.ZodType<T>, body: unknown): T => {
    const r = schema.safeParse(body)
    if (!r.success)
      throw new HttpError(400, {
        code: 'http.bad_input',
        message: 'The request was not valid.',
        hint: 'Reload the page and try again.',
      })
    return r.data
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, path: string) {
    if (path === '/api/health' && req.method === 'GET') return sendJson(res, 200, { ok: true })

    if (path === '/api/auth/state' && req.method === 'GET') {
      return sendJson(res, 200, {
        passwordSet: await password.isSet(),
        authenticated:
          sessions.check(sessionToken(req)) !== null && (!viaOwnerDoor(req) || devicePaired(req)),
        setupCodeRequired: setupCode !== null,
        pairingRequired: viaOwnerDoor(req) && !devicePaired(req),
      })
    }

    if (req.method !== 'POST') {
      throw new HttpError(
        405,
        {
          code: 'http.method',
          message: 'This address only accepts POST.',
          hint: 'Use the Flash Box page or its API client.',
        },
        { allow: 'POST' },
      )
    }

    if (path === '/api/auth/setup') {
      requireSameOrigin(req)
      if (viaOwnerDoor(req))
        throw new HttpError(403, {
          code: 'auth.setup_on_this_computer',
          message:
            'The owner password is chosen on the Flash Box computer itself, not over the shop’s network.',
          hint: 'Open Flash Box on its own computer to finish the setup, then pair this device.',
        })
      throttled(req)
      const body = parse(SetupBody, await readJsonBody(req, limit))
      if (await password.isSet())
        throw new FlashError(
          'auth.already_set',
          'The owner password is already set.',
          'Log in with it.',
        )
      if (setupCode !== null) {
        const given = Buffer.from((body.setupCode ?? '').trim().toUpperCase())
        const want = Buffer.from(setupCode)
        if (given.length !== want.length || !timingSafeEqual(given, want)) {
          throttle.fail(clientIp(req))
          throw new HttpError(403, {
            code: 'auth.bad_setup_code',
            message: 'The setup code is not right.',
            hint: 'Copy the code from the Flash Box server’s log (it is printed when it starts).',
          })
        }
      }
      const pw = PasswordSchema.safeParse(body.password)
      if (!pw.success)
        throw new HttpError(400, {
          code: 'auth.weak_password',
          message: pw.error.issues[0]?.message ?? 'Choose a longer password.',
          hint: 'A few unrelated words make a strong password that is easy to remember.',
        })
      await password.create(pw.data)
      await ownerPasswordEntered(pw.data)
      setupCode = null
      const { token } = sessions.create()
      log.info('owner password set')
      return sendJson(res, 200, { ok: true }, { 'set-cookie': setSessionCookie(req, token) })
    }

    if (path === '/api/auth/login') {
      requireSameOrigin(req)
      throttled(req)
      const body = parse(PasswordBody, await readJsonBody(req, limit))
      if (!(await password.isSet()))
        throw new HttpError(409, {
          code: 'auth.no_password',
          message: 'No owner password is set yet.',
          hint: 'Reload the page to choose one.',
        })
      // Counted before the (slow) check, so parallel guesses cannot slip past the limit.
      throttle.fail(clientIp(req))
      if (!(await password.verify(body.password))) {
        log.warn('wrong owner password', { ip: clientIp(req) })
        throw new HttpError(401, {
          code: 'auth.wrong_password',
          message: 'That password is not right.',
          hint: 'Check Caps Lock and try again.',
        })
      }
      // A device's first use through the LAN door also spends the one-time pairing code (only
      // checked once the password is right, so the code cannot be guessed without it).
      const cookies: string[] = []
      if (viaOwnerDoor(req) && !devicePaired(req)) {
        const code = body.pairingCode?.trim() ?? ''
        if (!code)
          throw new HttpError(403, {
            code: 'auth.pairing_code_required',
            message:
              'This device is new to Flash Box: it needs a pairing code as well as the password.',
            hint: 'On the Flash Box computer open Settings → Reachability, press “New pairing code” and type it here.',
          })
        const r = pairing.redeem(code)
        if (!r.ok) {
          log.warn('pairing code refused', { ip: clientIp(req), reason: r.reason })
          throw new HttpError(403, {
            code: r.reason === 'wrong' ? 'auth.wrong_pairing_code' : 'auth.pairing_code_expired',
            message:
              r.reason === 'wrong'
                ? 'That pairing code is not right.'
                : 'There is no pairing code waiting, or it has expired or was used.',
            hint: 'Make a new code on the Flash Box computer under Settings → Reachability (each code works once, for 10 minutes).',
          })
        }
        cookies.push(
          `${DEVICE_COOKIE}=${r.deviceToken}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=${365 * 86400}`,
        )
        log.info('a device was paired over the LAN', { ip: clientIp(req) })
      }
      throttle.succeed(clientIp(req))
      await ownerPasswordEntered(body.password)
      const { token } = sessions.create()
      cookies.push(setSessionCookie(req, token))
      return sendJson(res, 200, { ok: true }, { 'set-cookie': cookies })
    }

    if (path === '/api/auth/logout') {
      requireSameOrigin(req)
      const id = sessions.destroy(sessionToken(req))
      if (id) events.closeSession(id)
      return sendJson(res, 200, { ok: true }, { 'set-cookie': setSessionCookie(req, null) })
    }

    const m = /^\/api\/call\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_-]{1,64})$/.exec(path)
    if (m) {
      const [, domain, procedure] = m as unknown as [string, string, string]
      const kind = engine.kindOf(domain, procedure)
      // Mutations must come from our own page; a query with a foreign Origin is refused too.
      if (kind === 'mutation' || req.headers.origin !== undefined) requireSameOrigin(req)
      requireSession(req)
      if (!kind)
        throw new FlashError(
          'api.unknown_procedure',
          `There is no "${domain}.${procedure}" in the API.`,
          'Update the app: the page and the server may be different versions.',
        )
      const input = await readJsonBody(req, limit)
      const result = await engine.call(domain, procedure, input, CTX)
      return sendJson(res, 200, { result: result ?? null })
    }

    throw new HttpError(404, {
      code: 'http.not_found',
      message: 'There is nothing at this address.',
      hint: 'Check the address.',
    })
  }

  const server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000 }, (req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      try {
        if (!hostAllowed(req.headers.host, policy.current)) {
          throw new HttpError(421, {
            code: 'http.bad_host',
            message: 'This server does not answer to that host name.',
            hint: 'Open Flash Box by its IP address, or list this name in FLASHBOX_ALLOWED_HOSTS and restart it.',
          })
        }
        if (path === '/api' || path.startsWith('/api/')) return await handleApi(req, res, path)
        // NIP-05: the business's Nostr identity, public by design (no session, open CORS).
        if (path === NIP05_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
          const nostr = engine.module('nostr') as Partial<Nip05Provider> | undefined
          if (typeof nostr?.nip05Response !== 'function') {
            throw new HttpError(404, {
              code: 'nostr.nip05_off',
              message: 'This box does not publish Nostr names.',
              hint: 'Turn on Messages and set your shop’s names in its profile.',
            })
          }
          const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name')
          const r = nostr.nip05Response(name)
          res.writeHead(r.status, { ...headers, ...r.headers })
          res.end(req.method === 'HEAD' ? undefined : r.body)
          return
        }
        // The Lightning address (LUD-16/06, NIP-57): public by design, like NIP-05.
        const lnurlp = LNURLP_PATH.exec(path) ?? LNURLP_CALLBACK.exec(path)
        if (lnurlp && req.method === 'GET') {
          const wallet = engine.module('walletService') as Partial<LnurlProvider> | undefined
          if (typeof wallet?.lnurlpResponse !== 'function' || !wallet.lnurlCallback) {
            throw new HttpError(404, {
              code: 'walletService.off',
              message: 'This box does not serve a Lightning address.',
              hint: 'Turn on the Lightning address on the Lightning page.',
            })
          }
          const query = new URL(req.url ?? '/', 'http://x').searchParams
          const r = path.startsWith('/.well-known/')
            ? await wallet.lnurlpResponse(lnurlp[1]!)
            : await wallet.lnurlCallback(lnurlp[1]!, query)
          res.writeHead(r.status, { ...headers, ...r.headers })
          res.end(r.body)
          return
        }
        // Flash Cards (Boltcard): taps as LNURL-withdraw and the programmer app's keys request,
        // public by design (src/core/boltcard/boltcard-module.ts).
        if (path.startsWith('/boltcard/')) {
          const cards = engine.module('boltcard') as Partial<BoltcardPublic> | undefined
          if (typeof cards?.publicGet !== 'function' || !cards.publicPost) {
            throw new HttpError(404, {
              code: 'boltcard.off',
              message: 'This box does not serve Flash Cards.',
              hint: 'Issue a card on the Flash Cards page.',
            })
          }
          const r =
            req.method === 'POST'
              ? await cards.publicPost(path, await readJsonBody(req, 16 * 1024))
              : req.method === 'GET'
                ? await cards.publicGet(path, new URL(req.url ?? '/', 'http://x').searchParams)
                : undefined
          if (!r)
            throw new HttpError(404, {
              code: 'http.not_found',
              message: 'There is nothing at this address.',
              hint: 'Check the address.',
            })
          res.writeHead(r.status, { ...headers, ...r.headers })
          res.end(r.body)
          return
        }
        if (req.method !== 'GET' && req.method !== 'HEAD')
          throw new HttpError(
            405,
            {
              code: 'http.method',
              message: 'Only GET works here.',
              hint: 'Open the page in a browser.',
            },
            { allow: 'GET, HEAD' },
          )
        await serveStatic(staticDir, req, res, headers)
      } catch (err) {
        if (res.headersSent) {
          res.destroy()
          return
        }
        if (err instanceof HttpError) {
          // The unread rest of an oversized body is not worth reading: close after answering.
          const close = err.status === 413 ? { connection: 'close' } : {}
          fail(res, err.status, err.error, { ...err.headers, ...close })
          if (err.status === 413) res.on('finish', () => req.socket.destroySoon?.())
          return
        }
        const ue = toUserError(err)
        if (!(err instanceof FlashError))
          log.error('request failed', {
            path,
            error: err instanceof Error ? err.message : String(err),
          })
        fail(res, statusForError(ue.code), ue)
      }
    })()
  })

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    socket.on('error', () => socket.destroy())
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (path !== '/api/events') return refuse(404, 'Not Found')
    if (!hostAllowed(req.headers.host, policy.current)) return refuse(421, 'Misdirected Request')
    if (!sameOrigin(req.headers.origin, browserHost(req))) return refuse(403, 'Forbidden')
    if (viaOwnerDoor(req) && !devicePaired(req)) return refuse(403, 'Forbidden')
    const id = sessions.check(sessionToken(req))
    if (!id) return refuse(401, 'Unauthorized')
    events.accept(req, socket, head, id)
  })
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })

  await new Promise<void>((ok, bad) => {
    server.once('error', bad)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', bad)
      ok()
    })
  })
  const addr = server.address() as AddressInfo
  policy.current = { ...policy.current, port: addr.port }
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${addr.port}`
  log.info(`Flash Box is listening on ${url}`, { host, port: addr.port })
  // Until the box has an address of its own, the Lightning address lives at this server's URL.
  ;(engine.module('walletService') as Partial<LnurlProvider> | undefined)?.servedAt?.(url)
  if (exposed) log.warn('The API is reachable from other machines; use a TLS proxy in front of it.')
  if (!existsSync(resolve(staticDir, 'index.html')))
    log.warn('The user interface is not built; run "npm run build".', { staticDir })

  return {
    url,
    close: () =>
      new Promise<void>((done) => {
        events.close()
        server.close(() => done())
        server.closeAllConnections()
      }),
  }
}
