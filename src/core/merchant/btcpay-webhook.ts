// BTCPay's webhooks into the box: `BTCPay-Sig: sha256=<hex HMAC-SHA256(secret, raw body)>` checked
// in constant time before the body is even parsed; a bad or missing signature is refused (401)
// and logged without the body or the secret. A delivery is handled once: BTCPay's redeliveries
// carry the first delivery's id as `originalDeliveryId`. Where it listens: webhook-route.ts.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from '../log'
import { readLimitedBody } from './limited-body'

export const WEBHOOK_PATH = '/merchant/btcpay-webhook'

/**
 * The webhook events the box acts on, with the invoice status each one means. The box's webhook
 * asks BTCPay for these only: InvoiceCreated, InvoiceReceivedPayment, InvoicePaymentSettled and the
 * payout events change nothing the box keeps, and each would cost BTCPay and the box a signed
 * delivery on every sale.
 */
export const INVOICE_STATUS_OF_EVENT: Readonly<Record<string, string>> = {
  InvoiceProcessing: 'Processing',
  InvoiceSettled: 'Settled',
  InvoiceExpired: 'Expired',
  InvoiceInvalid: 'Invalid',
}

/** The `authorizedEvents` of the box's webhook in BTCPay. */
export const WEBHOOK_EVENTS = {
  everything: false,
  specificEvents: Object.keys(INVOICE_STATUS_OF_EVENT),
}
const MAX_BODY = 64 * 1024

/** True when `header` is BTCPay's signature of `body` under `secret` (constant time). */
export function verifyBtcpaySig(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header || !header.startsWith('sha256=')) return false
  const given = Buffer.from(header.slice('sha256='.length), 'hex')
  const want = createHmac('sha256', secret).update(body).digest()
  // Equal lengths first (timingSafeEqual requires it); the length of a SHA-256 is public.
  return given.length === want.length && timingSafeEqual(given, want)
}

export interface BtcpayEvent {
  readonly deliveryId: string
  readonly originalDeliveryId?: string
  readonly webhookId?: string
  readonly isRedelivery?: boolean
  readonly type: string
  readonly timestamp?: number
  readonly storeId?: string
  readonly invoiceId?: string
  readonly metadata?: Record<string, unknown>
  readonly [k: string]: unknown
}

export interface WebhookReceiverOptions {
  readonly host: string
  readonly port: number
  readonly secret: () => string | null
  /** Handles a verified event; resolves when it is recorded. */
  readonly onEvent: (e: BtcpayEvent) => Promise<void>
  readonly onRefused: (reason: string) => void
  readonly log: Logger
  /** Only connections from these source addresses are answered (default: any). */
  readonly allowFrom?: (remoteAddress: string | undefined) => boolean
}

export async function startWebhookReceiver(
  o: WebhookReceiverOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (o.allowFrom && !o.allowFrom(req.socket.remoteAddress)) {
        o.log.warn('BTCPay webhook refused', {
          reason: 'not from the stack network',
          from: req.socket.remoteAddress,
        })
        o.onRefused('not from the stack network')
        res.writeHead(403).end()
        return
      }
      const path = new URL(req.url ?? '/', 'http://x').pathname
      if (path !== WEBHOOK_PATH || req.method !== 'POST') {
        res.writeHead(404).end()
        return
      }
      const body = await readLimitedBody(req, MAX_BODY)
      if (!body) {
        res.writeHead(413).end()
        return
      }
      const secret = o.secret()
      const sig = req.headers['btcpay-sig']
      if (!secret || !verifyBtcpaySig(secret, body, Array.isArray(sig) ? sig[0] : sig)) {
        const reason = !secret
          ? 'no webhook secret yet (BTCPay not set up)'
          : sig
            ? 'bad signature'
            : 'no signature'
        o.log.warn('BTCPay webhook refused', {
          reason,
          from: req.socket.remoteAddress,
          bytes: body.length,
        })
        o.onRefused(reason)
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad signature"}')
        return
      }
      let event: BtcpayEvent
      try {
        event = JSON.parse(body.toString('utf8')) as BtcpayEvent
        if (typeof event.type !== 'string' || typeof event.deliveryId !== 'string')
          throw new Error('shape')
      } catch {
        o.log.warn('BTCPay webhook with a signed but unreadable body refused')
        o.onRefused('unreadable body')
        res.writeHead(400).end()
        return
      }
      try {
        await o.onEvent(event)
        res.writeHead(200).end()
      } catch (err) {
        // Not recorded: a 5xx makes BTCPay deliver it again later.
        o.log.error('BTCPay webhook not handled', { type: event.type, error: String(err) })
        res.writeHead(503).end()
      }
    })()
  })
  server.keepAliveTimeout = 5_000
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, o.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  try {
    await listen(o.port)
  } catch (err) {
    // Another box (or program) has the usual port: take any free one; the merchant module
    // then points BTCPay's webhook at the new address.
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || o.port === 0) throw err
    o.log.warn('webhook port taken, using another one', { port: o.port })
    await listen(0)
  }
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}${WEBHOOK_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
