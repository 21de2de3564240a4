// SIMULATOR — test-only. Greenfield "Webhooks" (swagger.template.webhooks.json) and their delivery
// as BTCPay does it: POST of the event JSON to the webhook's URL with header
// `BTCPay-Sig: sha256=<hex HMAC-SHA256(secret, body)>`; a delivery whose answer is not 2xx (or
// that fails) is tried again after the retry delays when `automaticRedelivery` is on (BTCPay:
// 10 s, 1 min, 10 min; configurable here), each try a new delivery record. Redeliver makes a new
// delivery with `isRedelivery` and `originalDeliveryId`.
import { createHmac, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import {
  invalid,
  objectBody,
  ok,
  problem,
  str,
  type Call,
  type Greenfield,
  type GreenfieldRoute,
} from './greenfield'
import { Policies } from './permissions'
import { storeOf } from './stores'

export interface WebhookRecord {
  readonly id: string
  readonly storeId: string
  enabled: boolean
  automaticRedelivery: boolean
  url: string
  secret: string
  everything: boolean
  specificEvents: string[]
}

export interface DeliveryRecord {
  readonly id: string
  readonly webhookId: string
  readonly timestamp: number
  readonly body: string
  readonly event: Record<string, unknown>
  httpCode: number | null
  errorMessage: string | null
  status: 'Failed' | 'HttpError' | 'HttpSuccess'
  pruned: boolean
}

export interface WebhookOptions {
  /** Delays before each automatic redelivery (BTCPay: 10 s, 1 min, 10 min). */
  readonly retryDelaysMs: readonly number[]
}

interface WebhookArea {
  readonly hooks: Map<string, WebhookRecord>
  readonly deliveries: Map<string, DeliveryRecord[]>
  readonly timers: Set<NodeJS.Timeout>
  opts: WebhookOptions
  closed: boolean
}

const areaOf = (sim: Greenfield) =>
  sim.area<WebhookArea>('webhooks', () => ({
    hooks: new Map(),
    deliveries: new Map(),
    timers: new Set(),
    opts: { retryDelaysMs: [10_000, 60_000, 600_000] },
    closed: false,
  }))

export const webhookEvents = [
  'InvoiceCreated',
  'InvoiceReceivedPayment',
  'InvoiceProcessing',
  'InvoiceExpired',
  'InvoiceSettled',
  'InvoiceInvalid',
  'InvoicePaymentSettled',
  'PayoutCreated',
  'PayoutApproved',
  'PayoutUpdated',
] as const

function webhookData(h: WebhookRecord, withSecret: boolean) {
  return {
    id: h.id,
    enabled: h.enabled,
    automaticRedelivery: h.automaticRedelivery,
    url: h.url,
    authorizedEvents: { everything: h.everything, specificEvents: h.specificEvents },
    ...(withSecret ? { secret: h.secret } : {}),
  }
}

const deliveryData = (d: DeliveryRecord) => ({
  id: d.id,
  timestamp: d.timestamp,
  httpCode: d.httpCode,
  errorMessage: d.errorMessage,
  status: d.status,
})

function post(url: string, body: string, sig: string): Promise<number> {
  const u = new URL(url)
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'BTCPayServer',
      'BTCPay-Sig': sig,
    },
    timeout: 10_000,
  })
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('timeout', () => req.destroy(new Error('Timeout')))
    req.on('error', reject)
    req.end(body)
  })
}

function deliver(
  sim: Greenfield,
  h: WebhookRecord,
  event: Record<string, unknown>,
  attempt: number,
  original: string | null,
): void {
  const a = areaOf(sim)
  if (a.closed) return
  const id = sim.id(16)
  const payload = {
    deliveryId: id,
    webhookId: h.id,
    originalDeliveryId: original ?? id,
    isRedelivery: original !== null,
    timestamp: sim.now(),
    ...event,
  }
  const body = JSON.stringify(payload)
  const d: DeliveryRecord = {
    id,
    webhookId: h.id,
    timestamp: payload.timestamp,
    body,
    event,
    httpCode: null,
    errorMessage: null,
    status: 'Failed',
    pruned: false,
  }
  let list = a.deliveries.get(h.id)
  if (!list) a.deliveries.set(h.id, (list = []))
  list.unshift(d)
  const sig = `sha256=${createHmac('sha256', h.secret).update(body).digest('hex')}`
  void post(h.url, body, sig)
    .then((code) => {
      d.httpCode = code
      d.status = code >= 200 && code < 300 ? 'HttpSuccess' : 'HttpError'
      if (d.status === 'HttpError') d.errorMessage = `HTTP ${code}`
    })
    .catch((e: unknown) => {
      d.errorMessage = (e as Error).message
      d.status = 'Failed'
    })
    .then(() => {
      if (d.status === 'HttpSuccess' || !h.automaticRedelivery) return
      const delay = a.opts.retryDelaysMs[attempt]
      if (delay === undefined || a.closed) return
      const t = setTimeout(() => {
        a.timers.delete(t)
        deliver(sim, h, event, attempt + 1, original ?? id)
      }, delay)
      a.timers.add(t)
    })
}

/** An event of a store happened: deliver it to every enabled webhook that wants it. */
export function publish(
  sim: Greenfield,
  storeId: string,
  event: { type: string } & Record<string, unknown>,
): void {
  sim.emit('event', { storeId, ...event })
  for (const h of areaOf(sim).hooks.values()) {
    if (h.storeId !== storeId || !h.enabled) continue
    if (!h.everything && !h.specificEvents.includes(event.type)) continue
    deliver(sim, h, event, 0, null)
  }
}

function parse(b: Record<string, unknown>, h: WebhookRecord): void {
  const url = str(b, 'url')
  if (url !== null) {
    let u: URL
    try {
      u = new URL(url)
    } catch {
      throw invalid('url', 'Invalid url')
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid('url', 'Invalid url')
    h.url = url
  }
  if (typeof b.enabled === 'boolean') h.enabled = b.enabled
  if (typeof b.automaticRedelivery === 'boolean') h.automaticRedelivery = b.automaticRedelivery
  const secret = str(b, 'secret')
  if (secret !== null && secret !== '') h.secret = secret
  const ev = b.authorizedEvents as { everything?: unknown; specificEvents?: unknown } | undefined
  if (ev !== undefined) {
    if (typeof ev !== 'object' || ev === null)
      throw invalid('authorizedEvents', 'Invalid authorizedEvents')
    h.everything = ev.everything !== false
    const specific = ev.specificEvents ?? []
    if (
      !Array.isArray(specific) ||
      specific.some((e) => !(webhookEvents as readonly string[]).includes(e as string))
    )
      throw invalid('authorizedEvents.specificEvents', 'Invalid event type')
    h.specificEvents = specific as string[]
  }
}

export function routes(sim: Greenfield, opts: Partial<WebhookOptions> = {}): GreenfieldRoute[] {
  const a = areaOf(sim)
  if (opts.retryDelaysMs) a.opts = { retryDelaysMs: opts.retryDelaysMs }
  const hookOf = (c: Call) => {
    const h = a.hooks.get(c.params.webhookId!)
    if (!h) throw problem(404, 'webhook-not-found', 'The webhook was not found')
    return h
  }
  const byHook = {
    kind: 'policy' as const,
    anyOf: [Policies.canModifyWebhooks],
    store: (c: Call) => a.hooks.get(c.params.webhookId!)?.storeId ?? null,
    notFound: { code: 'webhook-not-found', message: 'The webhook was not found' },
  }
  return [
    {
      method: 'GET',
      path: '/api/v1/stores/{storeId}/webhooks',
      auth: { kind: 'policy', anyOf: [Policies.canModifyWebhooks] },
      handle: (c) =>
        ok(
          [...a.hooks.values()]
            .filter((h) => h.storeId === c.params.storeId)
            .map((h) => webhookData(h, false)),
        ),
    },
    {
      method: 'POST',
      path: '/api/v1/stores/{storeId}/webhooks',
      auth: { kind: 'policy', anyOf: [Policies.canModifyWebhooks] },
      handle: (c) => {
        storeOf(c.sim, c.params.storeId!)
        const b = objectBody(c)
        if (str(b, 'url') === null) throw invalid('url', 'url is missing')
        const h: WebhookRecord = {
          id: c.sim.id(16),
          storeId: c.params.storeId!,
          enabled: true,
          automaticRedelivery: true,
          url: '',
          // BTCPay generates one when none is given and returns it once, on creation.
          secret: randomBytes(16).toString('base64url'),
          everything: true,
          specificEvents: [],
        }
        parse(b, h)
        a.hooks.set(h.id, h)
        return ok(webhookData(h, true))
      },
    },
    {
      method: 'GET',
      path: '/api/v1/webhooks/{webhookId}',
      auth: byHook,
      handle: (c) => ok(webhookData(hookOf(c), false)),
    },
    {
      method: 'PUT',
      path: '/api/v1/webhooks/{webhookId}',
      auth: byHook,
      handle: (c) => {
        const h = hookOf(c)
        parse(objectBody(c), h)
        return ok(webhookData(h, false))
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/webhooks/{webhookId}',
      auth: byHook,
      handle: (c) => {
        a.hooks.delete(hookOf(c).id)
        return ok(undefined)
      },
    },
    {
      method: 'GET',
      path: '/api/v1/webhooks/{webhookId}/deliveries',
      auth: byHook,
      handle: (c) => ok((a.deliveries.get(hookOf(c).id) ?? []).map(deliveryData)),
    },
    {
      method: 'GET',
      path: '/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}',
      auth: byHook,
      handle: (c) => {
        const d = (a.deliveries.get(hookOf(c).id) ?? []).find((x) => x.id === c.params.deliveryId)
        if (!d) throw problem(404, 'webhookdelivery-not-found', 'The delivery was not found')
        return ok(deliveryData(d))
      },
    },
    {
      method: 'GET',
      path: '/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}/request',
      auth: byHook,
      handle: (c) => {
        const d = (a.deliveries.get(hookOf(c).id) ?? []).find((x) => x.id === c.params.deliveryId)
        if (!d) throw problem(404, 'webhookdelivery-not-found', 'The delivery was not found')
        return ok(JSON.parse(d.body))
      },
    },
    {
      method: 'POST',
      path: '/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver',
      auth: byHook,
      handle: (c) => {
        const h = hookOf(c)
        const d = (a.deliveries.get(h.id) ?? []).find((x) => x.id === c.params.deliveryId)
        if (!d) throw problem(404, 'webhookdelivery-not-found', 'The delivery was not found')
        deliver(c.sim, h, d.event, a.opts.retryDelaysMs.length, d.id)
        return ok(a.deliveries.get(h.id)![0]!.id)
      },
    },
  ]
}

export function stopWebhooks(sim: Greenfield): void {
  const a = areaOf(sim)
  a.closed = true
  for (const t of a.timers) clearTimeout(t)
  a.timers.clear()
}
