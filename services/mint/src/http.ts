// The mint's HTTP API (node:http): routes, body limits, rate limits, NUT-19 replay cache and
// NUT-00 errors (HTTP 400 `{detail, code}`). Every body is validated with zod before use.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { z } from 'zod'
import { BAD_REQUEST, MintError } from './errors'
import type { Mint } from './mint'
import { BlindedMessageSchema, HEX_POINT, KEYSET_ID, ProofSchema } from './nut00-models'
import { keysetJson } from './nut02-keysets'
import { mintInfo } from './nut06-info'
import { MintWebSocket } from './nut17-ws'
import { cacheKey, isCachedEndpoint } from './nut19-cache'
import {
  MeltBolt11RequestSchema,
  MeltQuoteBolt11RequestSchema,
  MintQuoteBolt11RequestSchema,
} from './nut23-bolt11'
import { RateLimiter } from './ratelimit'
import type { Logger } from './log'
import { clientAddress, trustedProxySet } from '../../shared/client-address'
import { verifySettlementRequest } from '../../shared/internal-settlement-auth'

const SwapSchema = z.object({
  inputs: z.array(ProofSchema).max(10_000),
  outputs: z.array(BlindedMessageSchema).max(10_000),
})
const MintBolt11Schema = z.object({
  quote: z.string().min(1).max(128),
  outputs: z.array(BlindedMessageSchema).max(10_000),
  signature: z.string().max(256).optional().nullable(),
})
const CheckStateSchema = z.object({ Ys: z.array(z.string().regex(HEX_POINT)).min(1).max(10_000) })
const RestoreSchema = z.object({ outputs: z.array(BlindedMessageSchema).max(10_000) })
const QUOTE_ID = /^[A-Za-z0-9_-]{1,128}$/
/** The box's admin route: settle one of the mint's own quotes (README "Internal settlement"). */
const SETTLE_ROUTE = /^\/internal\/v1\/mint-quote\/([A-Za-z0-9_-]{1,128})\/settle$/
const SettleSchema = z.object({ payment_hash: z.string().regex(/^[0-9a-fA-F]{64}$/) })
const INTERNAL_MAX_BODY = 4096

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { detail: string; code: number },
    readonly headers: Record<string, string> = {},
  ) {
    super(body.detail)
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body)
  if (!r.success) {
    const i = r.error.issues[0]
    const where = i?.path.length ? i.path.map(String).join('.') : 'body'
    throw new MintError(BAD_REQUEST, `Bad request: ${where}: ${i?.message ?? 'invalid'}.`)
  }
  return r.data
}

async function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit)
    throw new HttpError(413, {
      detail: `Request body larger than ${limit} bytes.`,
      code: BAD_REQUEST,
    })
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit)
      throw new HttpError(413, {
        detail: `Request body larger than ${limit} bytes.`,
        code: BAD_REQUEST,
      })
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text)
  } catch {
    throw new MintError(BAD_REQUEST, 'Bad request: the body is not valid JSON.')
  }
}

interface Route {
  method: 'GET' | 'POST'
  pattern: RegExp
  operation: string
  handler: (m: RegExpExecArray, body: unknown) => Promise<unknown>
}

export interface MintHttp {
  server: Server
  ws: MintWebSocket
}

/** The raw body text (signatures cover the exact bytes), bounded. */
async function readText(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit)
      throw new HttpError(413, {
        detail: `Request body larger than ${limit} bytes.`,
        code: BAD_REQUEST,
      })
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * POST /internal/v1/mint-quote/{id}/settle, signed by the box (services/shared/
 * internal-settlement-auth.ts). 404 when no key is configured, so the route does not exist then.
 */
async function settleByBox(
  mint: Mint,
  key: Uint8Array | null,
  req: IncomingMessage,
  pathname: string,
): Promise<{ status: number; body: unknown }> {
  const m = SETTLE_ROUTE.exec(pathname)
  if (!key || !m) return { status: 404, body: { detail: 'Not found.', code: BAD_REQUEST } }
  if (req.method !== 'POST')
    return { status: 405, body: { detail: 'Method not allowed.', code: BAD_REQUEST } }
  const text = await readText(req, INTERNAL_MAX_BODY)
  if (!verifySettlementRequest(key, 'POST', pathname, text, req.headers))
    return { status: 401, body: { error: 'unauthorized' } }
  let hash: string
  try {
    hash = SettleSchema.parse(JSON.parse(text)).payment_hash.toLowerCase()
  } catch {
    return { status: 400, body: { detail: 'Bad request: expected {"payment_hash": hex64}.' } }
  }
  const quoteId = m[1]!
  const state = await mint.settleMintQuoteInternally(quoteId, hash)
  if (state === undefined) return { status: 404, body: { detail: 'Quote not found.' } }
  if (state === 'mismatch')
    return { status: 409, body: { detail: 'The payment hash is not this quote’s invoice.' } }
  if (state === 'expired') return { status: 409, body: { detail: 'The quote has expired.' } }
  if (state === 'UNPAID') return { status: 409, body: { detail: 'The quote is still unpaid.' } }
  return { status: 200, body: { quote: quoteId, state } }
}

export function createMintHttp(
  mint: Mint,
  log: Logger,
  internalKey: Uint8Array | null = null,
): MintHttp {
  const limiter = new RateLimiter(mint.config.rateLimit)
  const trusted = trustedProxySet(mint.config.trustedProxies)
  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/v1\/info$/,
      operation: 'info',
      handler: async () => mintInfo(mint),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/keys$/,
      operation: 'keys',
      handler: async () => ({
        keysets: mint.activeKeysets().map((k) => ({ ...keysetJson(k), keys: k.keys.publicKeys })),
      }),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/keys\/([^/]+)$/,
      operation: 'keys',
      handler: async (m) => {
        const id = decodePath(m[1]!)
        const k = KEYSET_ID.test(id) ? mint.keysets.get(id.toLowerCase()) : undefined
        if (!k) throw new MintError(12001, 'Keyset is not known.')
        return { keysets: [{ ...keysetJson(k), keys: k.keys.publicKeys }] }
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/keysets$/,
      operation: 'keys',
      handler: async () => ({ keysets: [...mint.keysets.values()].map(keysetJson) }),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/swap$/,
      operation: 'swap',
      handler: async (_m, body) => {
        const r = parse(SwapSchema, body)
        return mint.swap(r.inputs, r.outputs)
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/mint\/quote\/bolt11$/,
      operation: 'mint_quote',
      handler: async (_m, body) => mint.createMintQuote(parse(MintQuoteBolt11RequestSchema, body)),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/mint\/quote\/bolt11\/([^/]+)$/,
      operation: 'quote_state',
      handler: async (m) => mint.getMintQuote(quoteId(m[1]!)),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/mint\/bolt11$/,
      operation: 'mint',
      handler: async (_m, body) => mint.mint(parse(MintBolt11Schema, body)),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/melt\/quote\/bolt11$/,
      operation: 'melt_quote',
      handler: async (_m, body) => mint.createMeltQuote(parse(MeltQuoteBolt11RequestSchema, body)),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/melt\/quote\/bolt11\/([^/]+)$/,
      operation: 'quote_state',
      handler: async (m) => mint.getMeltQuote(quoteId(m[1]!)),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/melt\/bolt11$/,
      operation: 'melt',
      handler: async (_m, body) => mint.melt(parse(MeltBolt11RequestSchema, body)),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/checkstate$/,
      operation: 'checkstate',
      handler: async (_m, body) => mint.checkState(parse(CheckStateSchema, body).Ys),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/restore$/,
      operation: 'restore',
      handler: async (_m, body) => mint.restore(parse(RestoreSchema, body).outputs),
    },
  ]

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) => {
    if (res.headersSent) return
    // A declared length: the answer goes out in one piece, not chunked (writeHead before end()
    // would otherwise make Node chunk it), so a proxy in front forwards it in one piece too.
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'access-control-allow-origin': '*',
      'cache-control': 'no-store',
      ...headers,
    })
    res.end(body)
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://mint.invalid')
    const path = url.pathname.replace(/\/+$/, '') || '/'
    const method = req.method ?? 'GET'
    if (method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'content-type, clear-auth, blind-auth',
        'access-control-max-age': '86400',
      })
      return res.end()
    }
    if (path === '/internal' || path.startsWith('/internal/')) {
      // Never through the front door (it forwards /v1/* only); the box calls it directly.
      const r = await settleByBox(mint, internalKey, req, url.pathname)
      return send(res, r.status, JSON.stringify(r.body))
    }
    let match: RegExpExecArray | null = null
    const route = routes.find((r) => (match = r.pattern.exec(path)) !== null && r.method === method)
    if (!route || !match) {
      const known = routes.some((r) => r.pattern.test(path))
      return send(
        res,
        known ? 405 : 404,
        JSON.stringify({ detail: known ? 'Method not allowed.' : 'Not found.', code: BAD_REQUEST }),
      )
    }
    const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted)
    const wait = limiter.allow(ip, route.operation)
    if (wait > 0)
      throw new HttpError(
        429,
        { detail: 'Too many requests; slow down.', code: BAD_REQUEST },
        { 'retry-after': String(Math.ceil(wait / 1000)) },
      )
    const body = method === 'POST' ? await readBody(req, mint.config.maxBodyBytes) : undefined
    const cacheable = isCachedEndpoint(method, path)
    const key = cacheable ? cacheKey(method, path, body) : ''
    if (cacheable) {
      const hit = await mint.store.cachedResponse(key, Date.now())
      if (hit !== undefined) return send(res, 200, hit)
    }
    const result = await route.handler(match, body)
    const text = JSON.stringify(result)
    // Only final answers are replayable: a melt still PENDING must be asked again.
    if (cacheable && (result as { state?: string }).state !== 'PENDING') {
      await mint.store.cacheResponse(key, text, Date.now() + mint.config.cacheTtlSeconds * 1000)
    }
    send(res, 200, text)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError)
        return send(res, err.status, JSON.stringify(err.body), err.headers)
      if (err instanceof MintError) return send(res, err.status, JSON.stringify(err.toJSON()))
      log.error('mint request failed', {
        path: req.url?.slice(0, 100),
        error: err instanceof Error ? err.message : String(err),
      })
      send(res, 500, JSON.stringify({ detail: 'Internal error in the mint.', code: BAD_REQUEST }))
    })
  })
  server.headersTimeout = 20_000
  server.requestTimeout = 120_000
  server.keepAliveTimeout = 5_000
  const ws = new MintWebSocket(mint)
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://mint.invalid').pathname.replace(/\/+$/, '')
    if (path !== '/v1/ws') return socket.destroy()
    ws.handleUpgrade(req, socket, head)
  })
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
  })
  return { server, ws }
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new MintError(BAD_REQUEST, 'Bad request: the path is not valid.')
  }
}

function quoteId(raw: string): string {
  const id = decodePath(raw)
  if (!QUOTE_ID.test(id)) throw new MintError(BAD_REQUEST, 'Bad request: not a quote id.')
  return id
}
