// SIMULATOR — test-only. Greenfield "Invoices" (swagger.template.invoices.json): create, get, list
// (status, textSearch, orderId, dates, skip/take), update metadata, archive, mark a status
// (`Settled`/`Invalid`, additionalStatus `Marked`), payment methods, and refunds as pull payments.
// Payment: a Lightning invoice is made on the store's LND (lnd-rest) for each invoice; when LND
// reports it SETTLED the invoice records the payment and is Settled (PaidLate after expiry); an
// on-chain address is derived from the store's xpub. Not modelled: on-chain payment detection
// (mark the invoice instead), exchange rates (fixed table, `rates` option), partial payments on LN.
import {
  decimal,
  fmt,
  invalid,
  objectBody,
  ok,
  problem,
  str,
  type Call,
  type Greenfield,
  type GreenfieldRoute,
} from './greenfield'
import type { LndInvoice } from './lnd-rest-client'
import {
  chainAddress,
  CHAIN,
  LN,
  lightningListeners,
  storeMethods,
  type SimOptions,
} from './payment-methods'
import { Policies } from './permissions'
import { createPullPayment, pullPaymentData } from './pull-payments'
import { storeOf } from './stores'
import { publish } from './webhooks'

export type InvoiceStatus = 'New' | 'Processing' | 'Expired' | 'Invalid' | 'Settled'

export interface InvoicePayment {
  readonly id: string
  readonly receivedDate: number
  readonly valueBtc: number
  readonly status: 'Settled' | 'Processing' | 'Invalid'
  readonly destination: string
}

export interface InvoiceMethod {
  readonly paymentMethodId: string
  readonly destination: string
  readonly paymentLink: string
  /** Invoice currency per BTC. */
  readonly rate: number
  readonly amountBtc: number
  /** LND's r_hash, hex (Lightning only). */
  readonly rHash: string | null
  readonly payments: InvoicePayment[]
}

export interface InvoiceRecord {
  readonly id: string
  readonly storeId: string
  readonly amount: number
  readonly currency: string
  readonly createdTime: number
  readonly expirationTime: number
  readonly monitoringExpiration: number
  status: InvoiceStatus
  additionalStatus: 'None' | 'PaidLate' | 'PaidPartial' | 'Marked' | 'Invalid' | 'PaidOver'
  archived: boolean
  metadata: Record<string, unknown>
  readonly checkout: Record<string, unknown>
  readonly searchTerms: string[]
  readonly methods: InvoiceMethod[]
}

export type InvoiceOptions = SimOptions

export const invoicesOf = (sim: Greenfield) =>
  sim.area('invoices', () => new Map<string, InvoiceRecord>())

export function invoiceOf(sim: Greenfield, id: string): InvoiceRecord {
  const i = invoicesOf(sim).get(id)
  if (!i) throw problem(404, 'invoice-not-found', 'The invoice was not found')
  return i
}

const paidBtc = (i: InvoiceRecord) =>
  i.methods.reduce(
    (s, m) =>
      s + m.payments.filter((p) => p.status !== 'Invalid').reduce((a, p) => a + p.valueBtc, 0),
    0,
  )

const dueBtc = (i: InvoiceRecord) => i.methods[0]?.amountBtc ?? 0

function manualMarks(i: InvoiceRecord): string[] {
  if (i.status === 'Settled') return i.additionalStatus === 'Marked' ? ['Invalid'] : ['Invalid']
  if (i.status === 'Invalid') return ['Settled']
  return ['Settled', 'Invalid']
}

export function invoiceData(sim: Greenfield, i: InvoiceRecord) {
  const paid = paidBtc(i)
  const per = i.methods[0] ? 1 / i.methods[0].rate : 0
  return {
    id: i.id,
    storeId: i.storeId,
    amount: fmt(i.amount, i.currency === 'SATS' ? 0 : 8),
    paidAmount: fmt(per ? paid / per : 0, 8),
    currency: i.currency,
    type: 'Standard',
    checkoutLink: `${sim.baseUrl}/i/${i.id}`,
    createdTime: i.createdTime,
    expirationTime: i.expirationTime,
    monitoringExpiration: i.monitoringExpiration,
    status: i.status,
    additionalStatus: i.additionalStatus,
    availableStatusesForManualMarking: manualMarks(i),
    archived: i.archived,
    metadata: i.metadata,
    checkout: i.checkout,
    receipt: { enabled: true, showQR: null, showPayments: null },
  }
}

function methodData(i: InvoiceRecord, m: InvoiceMethod) {
  const paid = m.payments.filter((p) => p.status !== 'Invalid').reduce((a, p) => a + p.valueBtc, 0)
  return {
    paymentMethodId: m.paymentMethodId,
    currency: 'BTC',
    destination: m.destination,
    paymentLink: m.paymentLink,
    rate: fmt(m.rate, 8),
    paymentMethodPaid: fmt(paid),
    totalPaid: fmt(paidBtc(i)),
    due: fmt(Math.max(0, m.amountBtc - paidBtc(i))),
    amount: fmt(m.amountBtc),
    paymentMethodFee: '0',
    payments: m.payments.map((p) => ({
      id: p.id,
      receivedDate: p.receivedDate,
      value: fmt(p.valueBtc),
      fee: '0',
      status: p.status,
      destination: p.destination,
    })),
    activated: true,
    additionalData: {},
  }
}

function invoiceEvent(i: InvoiceRecord, type: string, extra: Record<string, unknown> = {}) {
  return { type, storeId: i.storeId, invoiceId: i.id, metadata: i.metadata, ...extra }
}

async function create(c: Call, opts: InvoiceOptions) {
  const sim = c.sim
  const storeId = c.params.storeId!
  const store = storeOf(sim, storeId)
  const b = objectBody(c)
  const currency = (str(b, 'currency') ?? store.defaultCurrency).toUpperCase()
  const amount = decimal(b, 'amount')
  if (amount === null)
    throw invalid('amount', 'Top-up invoices (no amount) are not modelled by the simulator')
  if (amount <= 0) throw invalid('amount', 'amount should be more than 0')
  const metadata = (b.metadata ?? {}) as Record<string, unknown>
  if (typeof metadata !== 'object' || Array.isArray(metadata))
    throw invalid('metadata', 'metadata should be an object')
  const checkout = (b.checkout ?? {}) as Record<string, unknown>
  const expirationMinutes =
    typeof checkout.expirationMinutes === 'number'
      ? checkout.expirationMinutes
      : store.invoiceExpiration / 60
  const methods = storeMethods(sim, storeId)
  const wanted = Array.isArray(checkout.paymentMethods)
    ? (checkout.paymentMethods as string[]).map((s) => s.toUpperCase())
    : null
  const enabled = [...methods].filter(([id, m]) => m.enabled && (!wanted || wanted.includes(id)))
  if (enabled.length === 0)
    throw problem(400, 'no-payment-method-available', 'No payment method available for this store')
  const per = c.sim.btcPer(currency)
  const amountBtc = Math.round(amount * per * 1e8) / 1e8
  const id = sim.id(16)
  const now = sim.now()
  const inv: InvoiceRecord = {
    id,
    storeId,
    amount,
    currency,
    createdTime: now,
    expirationTime: now + Math.round(expirationMinutes * 60),
    monitoringExpiration: now + Math.round(expirationMinutes * 60) + store.monitoringExpiration,
    status: 'New',
    additionalStatus: 'None',
    archived: false,
    metadata,
    checkout: { speedPolicy: store.speedPolicy, expirationMinutes, ...checkout },
    searchTerms: Array.isArray(b.additionalSearchTerms)
      ? (b.additionalSearchTerms as string[])
      : [],
    methods: [],
  }
  const rate = 1 / per
  for (const [pmId, m] of enabled) {
    if (m.kind === 'ln') {
      const msat = Math.round(amountBtc * 1e11)
      const memo =
        typeof metadata.itemDesc === 'string'
          ? metadata.itemDesc
          : `Paid to ${store.name} (Order ID: ${metadata.orderId ?? ''})`
      let added: { r_hash: string; payment_request: string }
      try {
        added = await m.client.call('POST', '/v1/invoices', {
          value_msat: String(msat),
          memo,
          expiry: String(Math.round(expirationMinutes * 60)),
          private: false,
        })
      } catch (e) {
        sim.log(`BTCPAY SIMULATOR LND AddInvoice failed: ${(e as Error).message}`)
        throw problem(
          400,
          'lightning-unavailable',
          `Lightning is not reachable: ${(e as Error).message}`,
        )
      }
      inv.methods.push({
        paymentMethodId: pmId,
        destination: added.payment_request,
        paymentLink: `lightning:${added.payment_request}`,
        rate,
        amountBtc,
        rHash: Buffer.from(added.r_hash, 'base64').toString('hex'),
        payments: [],
      })
    } else {
      const address = chainAddress(m, opts.network, m.nextIndex++)
      inv.methods.push({
        paymentMethodId: pmId,
        destination: address,
        paymentLink: `bitcoin:${address}?amount=${fmt(amountBtc)}`,
        rate,
        amountBtc,
        rHash: null,
        payments: [],
      })
    }
  }
  invoicesOf(sim).set(id, inv)
  publish(sim, storeId, invoiceEvent(inv, 'InvoiceCreated'))
  return ok(invoiceData(sim, inv))
}

/** LND reported an invoice: settle the Greenfield invoice that owns it. */
function onLightning(sim: Greenfield, storeId: string, lnd: LndInvoice): void {
  if (lnd.state !== 'SETTLED') return
  const hash = Buffer.from(lnd.r_hash, 'base64').toString('hex')
  for (const i of invoicesOf(sim).values()) {
    if (i.storeId !== storeId) continue
    const m = i.methods.find((x) => x.rHash === hash)
    if (!m) continue
    if (m.payments.length > 0) return // already recorded (LND repeats updates on resubscribe)
    const valueBtc = Number(lnd.amt_paid_msat ?? lnd.value_msat) / 1e11
    const payment: InvoicePayment = {
      id: hash,
      receivedDate: sim.now(),
      valueBtc,
      status: 'Settled',
      destination: m.destination,
    }
    m.payments.push(payment)
    const late = i.status === 'Expired'
    publish(
      sim,
      storeId,
      invoiceEvent(i, 'InvoiceReceivedPayment', {
        afterExpiration: late,
        paymentMethodId: m.paymentMethodId,
        payment: {
          id: payment.id,
          receivedDate: payment.receivedDate,
          value: fmt(valueBtc),
          fee: '0',
          status: 'Settled',
          destination: payment.destination,
        },
      }),
    )
    publish(
      sim,
      storeId,
      invoiceEvent(i, 'InvoicePaymentSettled', {
        afterExpiration: late,
        paymentMethodId: m.paymentMethodId,
      }),
    )
    if (i.status === 'New' || i.status === 'Expired') {
      const paid = paidBtc(i)
      if (paid + 1e-12 >= dueBtc(i)) {
        i.status = 'Settled'
        i.additionalStatus = late ? 'PaidLate' : paid > dueBtc(i) + 1e-12 ? 'PaidOver' : 'None'
        sim.log(`BTCPAY SIMULATOR invoice ${i.id} settled over Lightning`)
        publish(
          sim,
          storeId,
          invoiceEvent(i, 'InvoiceSettled', {
            manuallyMarked: false,
            overPaid: i.additionalStatus === 'PaidOver',
          }),
        )
      } else {
        i.additionalStatus = 'PaidPartial'
      }
    }
    return
  }
}

/** Expires unpaid invoices whose time is up (called by the simulator's clock). */
export function expireInvoices(sim: Greenfield): void {
  const now = sim.now()
  for (const i of invoicesOf(sim).values()) {
    if (i.status === 'New' && now >= i.expirationTime) {
      i.status = 'Expired'
      publish(
        sim,
        i.storeId,
        invoiceEvent(i, 'InvoiceExpired', {
          partiallyPaid: paidBtc(i) > 0,
          paidAfterExpiration: false,
        }),
      )
    }
  }
}

function list(c: Call) {
  const q = c.query
  const statuses = q.getAll('status')
  const orderIds = q.getAll('orderId')
  const text = q.get('textSearch')?.toLowerCase() ?? null
  const start = q.get('startDate') ? Number(q.get('startDate')) : null
  const end = q.get('endDate') ? Number(q.get('endDate')) : null
  const includeArchived = q.get('includeArchived') === 'true'
  const skip = Number(q.get('skip') ?? 0) || 0
  const take = q.get('take') ? Number(q.get('take')) : null
  const rows = [...invoicesOf(c.sim).values()]
    .filter((i) => i.storeId === c.params.storeId)
    .filter((i) => includeArchived || !i.archived)
    .filter((i) => statuses.length === 0 || statuses.includes(i.status))
    .filter((i) => orderIds.length === 0 || orderIds.includes(String(i.metadata.orderId ?? '')))
    .filter((i) => start === null || i.createdTime >= start)
    .filter((i) => end === null || i.createdTime <= end)
    .filter(
      (i) =>
        !text ||
        i.id.toLowerCase().includes(text) ||
        JSON.stringify(i.metadata).toLowerCase().includes(text) ||
        i.searchTerms.some((t) => t.toLowerCase().includes(text)),
    )
    .sort((a, b) => b.createdTime - a.createdTime)
  return ok(
    rows.slice(skip, take === null ? undefined : skip + take).map((i) => invoiceData(c.sim, i)),
  )
}

function mark(c: Call) {
  const i = invoiceOf(c.sim, c.params.invoiceId!)
  const status = str(objectBody(c), 'status', true)!
  if (status !== 'Settled' && status !== 'Invalid')
    throw invalid('status', 'Status can only be marked to Settled or Invalid')
  if (!manualMarks(i).includes(status))
    throw problem(400, 'invoice-state-unchanged', `The invoice cannot be marked ${status}`)
  i.status = status
  i.additionalStatus = 'Marked'
  publish(
    c.sim,
    i.storeId,
    status === 'Settled'
      ? invoiceEvent(i, 'InvoiceSettled', { manuallyMarked: true, overPaid: false })
      : invoiceEvent(i, 'InvoiceInvalid', { manuallyMarked: true }),
  )
  return ok(invoiceData(c.sim, i))
}

function refund(c: Call) {
  const i = invoiceOf(c.sim, c.params.invoiceId!)
  if (i.status !== 'Settled' && i.status !== 'Invalid')
    throw problem(422, 'non-refundable', 'Cannot refund this invoice')
  const b = objectBody(c)
  const variant = str(b, 'refundVariant', true)!
  const payoutMethodId = (str(b, 'payoutMethodId') ?? str(b, 'paymentMethod') ?? LN).toUpperCase()
  const m = i.methods.find((x) => x.paymentMethodId === payoutMethodId) ?? i.methods[0]!
  const paid = paidBtc(i) || m.amountBtc
  let amount: number
  let currency: string
  switch (variant) {
    case 'RateThen':
      amount = paid
      currency = 'BTC'
      break
    case 'CurrentRate':
      amount = paid * m.rate * c.sim.btcPer(i.currency)
      currency = 'BTC'
      break
    case 'Fiat':
      amount = i.amount
      currency = i.currency
      break
    case 'Custom': {
      amount = decimal(b, 'customAmount', true)!
      currency = (str(b, 'customCurrency', true) ?? 'BTC').toUpperCase()
      break
    }
    case 'OverpaidAmount':
      if (i.additionalStatus !== 'PaidOver')
        throw invalid('refundVariant', 'The invoice was not overpaid')
      amount = paid - m.amountBtc
      currency = 'BTC'
      break
    default:
      throw invalid('refundVariant', 'Invalid refund variant')
  }
  const pct = decimal(b, 'subtractPercentage') ?? 0
  if (pct < 0 || pct > 100)
    throw invalid('subtractPercentage', 'Percentage must be a numeric value between 0 and 100')
  amount = amount * (1 - pct / 100)
  const pp = createPullPayment(c.sim, i.storeId, {
    name: str(b, 'name') ?? `Refund ${i.id}`,
    description: str(b, 'description'),
    amount,
    currency,
    payoutMethods: [payoutMethodId],
    autoApproveClaims: true,
  })
  return ok(pullPaymentData(c.sim, pp))
}

export function routes(sim: Greenfield, opts: InvoiceOptions): GreenfieldRoute[] {
  lightningListeners(sim).push((storeId, inv) => onLightning(sim, storeId, inv))
  const byInvoice = (c: Call) => invoicesOf(c.sim).get(c.params.invoiceId!)?.storeId ?? null
  const notFound = { code: 'invoice-not-found', message: 'The invoice was not found' }
  const onInvoice = (anyOf: string[]) => ({
    kind: 'policy' as const,
    anyOf,
    store: byInvoice,
    notFound,
  })
  return [
    {
      method: 'GET',
      path: '/api/v1/stores/{storeId}/invoices',
      auth: { kind: 'policy', anyOf: [Policies.canViewInvoices] },
      handle: list,
    },
    {
      method: 'POST',
      path: '/api/v1/stores/{storeId}/invoices',
      auth: { kind: 'policy', anyOf: [Policies.canCreateInvoice] },
      handle: (c) => create(c, opts),
    },
    {
      method: 'GET',
      path: '/api/v1/stores/{storeId}/invoices/{invoiceId}',
      auth: { kind: 'policy', anyOf: [Policies.canViewInvoices] },
      handle: (c) => ok(invoiceData(c.sim, invoiceOf(c.sim, c.params.invoiceId!))),
    },
    {
      method: 'GET',
      path: '/api/v1/invoices/{invoiceId}',
      auth: onInvoice([Policies.canViewInvoices]),
      handle: (c) => ok(invoiceData(c.sim, invoiceOf(c.sim, c.params.invoiceId!))),
    },
    {
      method: 'PUT',
      path: '/api/v1/invoices/{invoiceId}',
      auth: onInvoice([Policies.canModifyInvoices]),
      handle: (c) => {
        const i = invoiceOf(c.sim, c.params.invoiceId!)
        const md = objectBody(c).metadata
        if (typeof md !== 'object' || md === null || Array.isArray(md))
          throw invalid('metadata', 'metadata should be an object')
        i.metadata = md as Record<string, unknown>
        return ok(invoiceData(c.sim, i))
      },
    },
    {
      method: 'DELETE',
      path: '/api/v1/invoices/{invoiceId}',
      auth: onInvoice([Policies.canModifyInvoices]),
      handle: (c) => {
        invoiceOf(c.sim, c.params.invoiceId!).archived = true
        return ok(undefined)
      },
    },
    {
      method: 'POST',
      path: '/api/v1/invoices/{invoiceId}/unarchive',
      auth: onInvoice([Policies.canModifyInvoices]),
      handle: (c) => {
        const i = invoiceOf(c.sim, c.params.invoiceId!)
        i.archived = false
        return ok(invoiceData(c.sim, i))
      },
    },
    {
      // BTCPay's swagger: GET /api/v1/stores/{storeId}/invoices/{invoiceId}/payment-methods, the
      // route of every 2.x; the box calls this one.
      method: 'GET',
      path: '/api/v1/stores/{storeId}/invoices/{invoiceId}/payment-methods',
      auth: { kind: 'policy', anyOf: [Policies.canViewInvoices] },
      handle: (c) => {
        const i = invoiceOf(c.sim, c.params.invoiceId!)
        if (i.storeId !== c.params.storeId)
          throw problem(404, 'invoice-not-found', 'The invoice was not found')
        return ok(i.methods.map((m) => methodData(i, m)))
      },
    },
    {
      // The store-less twin, added in BTCPay 2.4.0 (btcpayserver#7313, GreenfieldInvoiceController
      // has both routes); real in the pinned 2.4.2, so it stays.
      method: 'GET',
      path: '/api/v1/invoices/{invoiceId}/payment-methods',
      auth: onInvoice([Policies.canViewInvoices]),
      handle: (c) => {
        const i = invoiceOf(c.sim, c.params.invoiceId!)
        return ok(i.methods.map((m) => methodData(i, m)))
      },
    },
    {
      method: 'POST',
      path: '/api/v1/invoices/{invoiceId}/status',
      auth: onInvoice([Policies.canModifyInvoices]),
      handle: mark,
    },
    {
      // BTCPay's swagger: markInvoiceStatus, POST /api/v1/stores/{storeId}/invoices/{invoiceId}/status
      // (btcpay.store.canmodifyinvoices on that store).
      method: 'POST',
      path: '/api/v1/stores/{storeId}/invoices/{invoiceId}/status',
      auth: { kind: 'policy', anyOf: [Policies.canModifyInvoices] },
      handle: (c) => {
        if (invoiceOf(c.sim, c.params.invoiceId!).storeId !== c.params.storeId)
          throw problem(404, 'invoice-not-found', 'The invoice was not found')
        return mark(c)
      },
    },
    {
      method: 'POST',
      path: '/api/v1/invoices/{invoiceId}/refund',
      auth: onInvoice([Policies.canCreatePullPayments]),
      handle: refund,
    },
    // The checkout page, public as in BTCPay (the simulator's is a bare page with the BOLT11).
    {
      method: 'GET',
      path: '/i/{invoiceId}',
      auth: { kind: 'none' },
      handle: (c) => {
        const i = invoiceOf(c.sim, c.params.invoiceId!)
        const ln =
          i.methods.find((m) => m.paymentMethodId === LN) ??
          i.methods.find((m) => m.paymentMethodId === CHAIN)
        return {
          status: 200,
          html: `<!doctype html><title>Invoice ${i.id}</title><p data-status="${i.status}">${i.status}</p><code>${ln?.destination ?? ''}</code>`,
        }
      },
    },
  ]
}
