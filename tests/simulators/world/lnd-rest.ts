// SIMULATOR — test-only. The subset of LND's REST gateway (grpc-gateway, lnrpc/*.yaml) that BTCPay
// Server's LND client and other REST users call, over the same TLS certificate and macaroons
// (header `Grpc-Metadata-macaroon: <hex>`). JSON as LND writes it: proto field names, every field
// present, 64-bit integers as strings, bytes as base64, enums by name; server streams as one JSON
// object per line, `{"result": …}` or `{"error": …}`. Requests are converted with protobufjs
// from the real .proto files, so a field the proto does not have is dropped as the gateway would.
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import protobuf from 'protobufjs'
import type { GrpcError, WorldLnd } from './lnd-rpc'
import type { LndNode } from './lnd-node'

type Req = Record<string, unknown>

interface Route {
  readonly verb: 'GET' | 'POST' | 'DELETE'
  readonly path: string
  readonly method: string
  /** Whole body (`*`) or none. */
  readonly body: boolean
}

// From LND's lnrpc/lightning.yaml, routerrpc/routerrpc.yaml, invoicesrpc/invoices.yaml,
// walletrpc/walletkit.yaml, stateservice.yaml and walletunlocker.yaml.
const ROUTES: Route[] = [
  ['GET', '/v1/getinfo', 'lnrpc.Lightning/GetInfo'],
  ['GET', '/v1/balance/blockchain', 'lnrpc.Lightning/WalletBalance'],
  ['GET', '/v1/balance/channels', 'lnrpc.Lightning/ChannelBalance'],
  ['GET', '/v1/newaddress', 'lnrpc.Lightning/NewAddress'],
  ['POST', '/v1/transactions', 'lnrpc.Lightning/SendCoins', true],
  ['GET', '/v1/transactions', 'lnrpc.Lightning/GetTransactions'],
  ['GET', '/v1/transactions/fee', 'lnrpc.Lightning/EstimateFee'],
  ['POST', '/v1/transactions/many', 'lnrpc.Lightning/SendMany', true],
  ['GET', '/v1/utxos', 'lnrpc.Lightning/ListUnspent'],
  ['GET', '/v1/peers', 'lnrpc.Lightning/ListPeers'],
  ['POST', '/v1/peers', 'lnrpc.Lightning/ConnectPeer', true],
  ['DELETE', '/v1/peers/{pub_key}', 'lnrpc.Lightning/DisconnectPeer'],
  ['GET', '/v1/channels', 'lnrpc.Lightning/ListChannels'],
  ['POST', '/v1/channels', 'lnrpc.Lightning/OpenChannelSync', true],
  ['POST', '/v1/channels/stream', 'lnrpc.Lightning/OpenChannel', true],
  ['GET', '/v1/channels/pending', 'lnrpc.Lightning/PendingChannels'],
  ['GET', '/v1/channels/closed', 'lnrpc.Lightning/ClosedChannels'],
  ['GET', '/v1/channels/subscribe', 'lnrpc.Lightning/SubscribeChannelEvents'],
  ['GET', '/v1/channels/backup', 'lnrpc.Lightning/ExportAllChannelBackups'],
  ['GET', '/v1/channels/backup/subscribe', 'lnrpc.Lightning/SubscribeChannelBackups'],
  ['POST', '/v1/funding/step', 'lnrpc.Lightning/FundingStateStep', true],
  [
    'DELETE',
    '/v1/channels/{channel_point.funding_txid_str}/{channel_point.output_index}',
    'lnrpc.Lightning/CloseChannel',
  ],
  ['POST', '/v1/channels/transactions', 'lnrpc.Lightning/SendPaymentSync', true],
  ['POST', '/v1/invoices', 'lnrpc.Lightning/AddInvoice', true],
  ['GET', '/v1/invoices', 'lnrpc.Lightning/ListInvoices'],
  ['GET', '/v1/invoices/subscribe', 'lnrpc.Lightning/SubscribeInvoices'],
  ['GET', '/v1/invoice/{r_hash_str}', 'lnrpc.Lightning/LookupInvoice'],
  ['GET', '/v1/payreq/{pay_req}', 'lnrpc.Lightning/DecodePayReq'],
  ['GET', '/v1/payments', 'lnrpc.Lightning/ListPayments'],
  ['GET', '/v1/graph', 'lnrpc.Lightning/DescribeGraph'],
  ['GET', '/v1/graph/info', 'lnrpc.Lightning/GetNetworkInfo'],
  ['GET', '/v1/graph/node/{pub_key}', 'lnrpc.Lightning/GetNodeInfo'],
  ['GET', '/v1/graph/edge/{chan_id}', 'lnrpc.Lightning/GetChanInfo'],
  ['GET', '/v1/graph/routes/{pub_key}/{amt}', 'lnrpc.Lightning/QueryRoutes'],
  ['GET', '/v1/fees', 'lnrpc.Lightning/FeeReport'],
  ['POST', '/v1/chanpolicy', 'lnrpc.Lightning/UpdateChannelPolicy', true],
  ['POST', '/v1/macaroon', 'lnrpc.Lightning/BakeMacaroon', true],
  ['POST', '/v2/router/send', 'routerrpc.Router/SendPaymentV2', true],
  ['GET', '/v2/router/track/{payment_hash}', 'routerrpc.Router/TrackPaymentV2'],
  ['POST', '/v2/router/route/estimatefee', 'routerrpc.Router/EstimateRouteFee', true],
  ['POST', '/v2/invoices/hodl', 'invoicesrpc.Invoices/AddHoldInvoice', true],
  ['POST', '/v2/invoices/settle', 'invoicesrpc.Invoices/SettleInvoice', true],
  ['POST', '/v2/invoices/cancel', 'invoicesrpc.Invoices/CancelInvoice', true],
  ['GET', '/v2/invoices/subscribe/{r_hash}', 'invoicesrpc.Invoices/SubscribeSingleInvoice'],
  ['GET', '/v2/invoices/lookup', 'invoicesrpc.Invoices/LookupInvoiceV2'],
  ['POST', '/v2/wallet/utxos', 'walletrpc.WalletKit/ListUnspent', true],
  ['GET', '/v2/wallet/estimatefee/{conf_target}', 'walletrpc.WalletKit/EstimateFee'],
  ['POST', '/v2/wallet/address/next', 'walletrpc.WalletKit/NextAddr', true],
  ['POST', '/v2/wallet/psbt/fund', 'walletrpc.WalletKit/FundPsbt', true],
  ['POST', '/v2/wallet/psbt/sign', 'walletrpc.WalletKit/SignPsbt', true],
  ['POST', '/v2/wallet/psbt/finalize', 'walletrpc.WalletKit/FinalizePsbt', true],
  ['POST', '/v2/wallet/tx', 'walletrpc.WalletKit/PublishTransaction', true],
  ['GET', '/v2/versioner/version', 'verrpc.Versioner/GetVersion'],
  ['GET', '/v1/state', 'lnrpc.State/GetState'],
  ['GET', '/v1/state/subscribe', 'lnrpc.State/SubscribeState'],
  ['GET', '/v1/genseed', 'lnrpc.WalletUnlocker/GenSeed'],
  ['POST', '/v1/initwallet', 'lnrpc.WalletUnlocker/InitWallet', true],
  ['POST', '/v1/unlockwallet', 'lnrpc.WalletUnlocker/UnlockWallet', true],
].map(([verb, path, method, body]) => ({
  verb: verb as Route['verb'],
  path: path as string,
  method: method as string,
  body: !!body,
}))

const HTTP_OF: Partial<Record<grpc.status, number>> = {
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.ALREADY_EXISTS]: 409,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.UNAUTHENTICATED]: 401,
  [grpc.status.UNIMPLEMENTED]: 501,
  [grpc.status.UNAVAILABLE]: 503,
}

type StreamHandler = (req: Req, call: grpc.ServerWritableStream<unknown, unknown>) => void

export async function startLndRest(o: {
  lnd: WorldLnd
  host: string
  port: number
  cert: string
  key: Buffer
  protosDir: string
  streaming: Record<string, StreamHandler>
  need: () => LndNode
  authorize: (method: string, macaroonHex: string | undefined) => void
}): Promise<{ url: string; close: () => Promise<void> }> {
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => join(o.protosDir, target.replace(/^.*\//, ''))
  root.loadSync(
    [
      'lightning.proto',
      'router.proto',
      'invoices.proto',
      'walletkit.proto',
      'verrpc.proto',
      'stateservice.proto',
      'walletunlocker.proto',
    ],
    { keepCase: true },
  )
  const types = (method: string) => {
    const [svc, name] = method.split('/') as [string, string]
    const m = root.lookupService(svc).methods[name]!
    m.resolve()
    return { req: m.resolvedRequestType!, res: m.resolvedResponseType! }
  }
  const toJson = (t: protobuf.Type, obj: unknown) =>
    t.toObject(t.fromObject(obj as Req), {
      longs: String,
      enums: String,
      bytes: String,
      defaults: true,
      arrays: true,
      objects: true,
    })

  const setPath = (target: Req, dotted: string, value: unknown) => {
    const parts = dotted.split('.')
    let cur = target
    for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Req
    cur[parts[parts.length - 1]!] = value
  }
  const coerce = (t: protobuf.Type, obj: Req): Req => {
    // Query and path values arrive as strings; booleans and base64url bytes need help.
    for (const [k, v] of Object.entries(obj)) {
      const f = t.fields[k]
      if (!f) continue
      if (f.type === 'bool' && typeof v === 'string') obj[k] = v === 'true' || v === '1'
      else if (f.type === 'bytes' && typeof v === 'string')
        obj[k] = v.replace(/-/g, '+').replace(/_/g, '/')
      else if (f.resolvedType instanceof protobuf.Type && v && typeof v === 'object')
        coerce(f.resolvedType, v as Req)
    }
    return obj
  }

  const handle = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const url = new URL(req.url ?? '/', 'https://lnd')
    let route: Route | undefined
    const params: Record<string, string> = {}
    for (const r of ROUTES) {
      if (r.verb !== req.method) continue
      const names: string[] = []
      const re = new RegExp(
        '^' +
          r.path.replace(/\{([^}]+)\}/g, (_m, n: string) => {
            names.push(n)
            return '([^/]+)'
          }) +
          '$',
      )
      const m = re.exec(url.pathname)
      if (!m) continue
      route = r
      names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)))
      break
    }
    const fail = (status: number, code: number, message: string) =>
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code, message, details: [] }))
    if (!route) return fail(404, grpc.status.UNIMPLEMENTED, 'Not Found')
    const t = types(route.method)
    const body: Req = route.body && raw.length ? (JSON.parse(raw.toString()) as Req) : {}
    for (const [k, v] of url.searchParams) setPath(body, k, v)
    for (const [k, v] of Object.entries(params)) setPath(body, k, v)
    const request = t.req.toObject(t.req.fromObject(coerce(t.req, body)), {
      longs: String,
      enums: String,
      defaults: true,
      arrays: true,
      objects: true,
    }) as Req
    // protobufjs yields Uint8Array for bytes; the handlers expect Buffers as grpc-js gives them.
    const buffers = (v: unknown): unknown =>
      v instanceof Uint8Array
        ? Buffer.from(v)
        : Array.isArray(v)
          ? v.map(buffers)
          : v && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, buffers(x)]))
            : v
    const reqObj = buffers(request) as Req
    const mac = req.headers['grpc-metadata-macaroon']
    const macHex = typeof mac === 'string' ? mac : undefined
    const stream = o.streaming[route.method]
    if (stream) {
      o.authorize(route.method, macHex)
      res.writeHead(200, { 'content-type': 'application/json' })
      const call = new EventEmitter() as EventEmitter & {
        write: (m: unknown) => boolean
        end: () => void
        request: unknown
      }
      call.write = (m) => res.write(JSON.stringify({ result: toJson(t.res, m) }) + '\n')
      call.end = () => res.end()
      call.on('error', (e: { code: number; details: string }) => {
        res.end(JSON.stringify({ error: { code: e.code, message: e.details, details: [] } }) + '\n')
      })
      res.on('close', () => call.emit('cancelled'))
      try {
        stream(reqObj, call as unknown as grpc.ServerWritableStream<unknown, unknown>)
      } catch (err) {
        const e = err as GrpcError
        res.end(
          JSON.stringify({ error: { code: e.code ?? 2, message: e.message, details: [] } }) + '\n',
        )
      }
      return
    }
    const out = await o.lnd.call(route.method, reqObj, macHex as string)
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(toJson(t.res, out)))
  }

  const server = createServer({ cert: o.cert, key: o.key }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        const e = err as GrpcError
        const code = typeof e.code === 'number' ? e.code : grpc.status.UNKNOWN
        if (!res.headersSent)
          res
            .writeHead(HTTP_OF[code as grpc.status] ?? 500, { 'content-type': 'application/json' })
            .end(JSON.stringify({ code, message: e.message ?? String(err), details: [] }))
        else res.end()
      })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const reachable = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host
  return {
    url: `https://${reachable}:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
