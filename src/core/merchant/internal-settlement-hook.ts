// The box's settlement hook: the box's own mint asks here to settle a melt whose payee is one of
// the shop's BTCPay invoices on the same LND (INTERNAL-SETTLEMENT design, "The box's settlement
// hook"). Two routes under /internal/settlement/v1:
//   POST /pay    {"payment_hash","bolt11","amount_msat","melt_quote"} → PAID | PENDING | FAILED | NOT_INTERNAL
//   POST /status {"payment_hash"}                                     → the same, or UNKNOWN
// Every request is signed by the mint with the key both hold (services/shared/internal-settlement-auth.ts):
// a bad or missing signature is refused (401) before the body is read as JSON. Where it listens:
// 127.0.0.1 for the mint running as the engine's child, and the stack network's gateway address
// for the mint container (webhook-route.ts), where connections from outside the network's subnet
// are refused. The front door never forwards it (it is not one of its public routes).
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { verifySettlementRequest } from '../../../services/shared/internal-settlement-auth'
import type { Logger } from '../log'
import type { InternalSettlement } from './internal-settlement'
import { readLimitedBody } from './limited-body'

export const SETTLEMENT_HOOK_PATH = '/internal/settlement/v1'
/** Where the hook listens unless told otherwise (the mint is given this address). */
export const SETTLEMENT_HOOK_PORT = 23011
/** The name the mint container reaches the box by (its /etc/hosts: the stack network's gateway). */
export const SETTLEMENT_HOOK_HOSTNAME = 'flashbox-host'

export const settlementHookUrl = (host: string, port = SETTLEMENT_HOOK_PORT): string =>
  `http://${host.includes(':') ? `[${host}]` : host}:${port}${SETTLEMENT_HOOK_PATH}`

const Hash = z.string().regex(/^[0-9a-f]{64}$/)
const PayBody = z.object({
  payment_hash: Hash,
  bolt11: z.string().min(1).max(4096),
  amount_msat: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  melt_quote: z.string().min(1).max(256),
})
const StatusBody = z.object({ payment_hash: Hash })

const MAX_BODY = 16 * 1024

export interface SettlementHookOptions {
  readonly host: string
  readonly port: number
  /** K, or undefined while the box is locked (then every call gets 503: ask again later). */
  readonly key: () => Uint8Array | undefined
  readonly settlement: () => InternalSettlement | undefined
  readonly log: Logger
  /** Only connections from these source addresses are answered (default: any). */
  readonly allowFrom?: (remoteAddress: string | undefined) => boolean
}

export async function startSettlementHook(
  o: SettlementHookOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    void (async () => {
      if (o.allowFrom && !o.allowFrom(req.socket.remoteAddress)) {
        o.log.warn('settlement hook: refused a caller outside the stack network', {
          from: req.socket.remoteAddress,
        })
        return send(403, { error: 'forbidden' })
      }
      const path = new URL(req.url ?? '/', 'http://x').pathname
      const route =
        path === `${SETTLEMENT_HOOK_PATH}/pay`
          ? 'pay'
          : path === `${SETTLEMENT_HOOK_PATH}/status`
            ? 'status'
            : null
      if (!route || req.method !== 'POST') return send(404, { error: 'not found' })
      const raw = await readLimitedBody(req, MAX_BODY)
      const body = raw === null ? null : raw.toString('utf8')
      if (body === null) return send(413, { error: 'body too large' })
      const key = o.key()
      const settlement = o.settlement()
      if (!key || !settlement) return send(503, { error: 'the box is locked' })
      if (!verifySettlementRequest(key, 'POST', path, body, req.headers)) {
        o.log.warn('settlement hook: refused a request with a bad or missing signature', {
          from: req.socket.remoteAddress,
        })
        return send(401, { error: 'unauthorized' })
      }
      let json: unknown
      try {
        json = JSON.parse(body)
      } catch {
        return send(400, { error: 'the body is not JSON' })
      }
      try {
        if (route === 'pay') {
          const p = PayBody.safeParse(json)
          if (!p.success) return send(400, { error: 'bad body' })
          return send(
            200,
            await settlement.pay({
              paymentHash: p.data.payment_hash,
              bolt11: p.data.bolt11,
              amountMsat: p.data.amount_msat,
              meltQuote: p.data.melt_quote,
            }),
          )
        }
        const s = StatusBody.safeParse(json)
        if (!s.success) return send(400, { error: 'bad body' })
        return send(200, await settlement.status(s.data.payment_hash))
      } catch (err) {
        // Nothing is known for sure: the mint keeps its proofs pending and asks /status again.
        o.log.error('settlement hook: not answered', { route, error: String(err) })
        return send(200, { state: 'PENDING' })
      }
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end()
    })
  })
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: settlementHookUrl(o.host, port),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
