// SIMULATOR — test-only. Greenfield "Pull payments" (swagger.template.pull-payments.json): a store
// offers an amount that anyone holding the pull payment's id claims by asking for payouts
// (POST /api/v1/pull-payments/{id}/payouts, no authentication, as BTCPay). Archiving stops
// claims. The `viewLink` is the page customers open (served bare by the simulator).
import {
  decimal,
  fmt,
  invalid,
  missingPermission,
  objectBody,
  ok,
  problem,
  str,
  type Call,
  type Greenfield,
  type GreenfieldRoute,
} from './greenfield'
import { allows, Policies } from './permissions'
import { claim, payoutData, payoutsOf, type PayoutRecord } from './payouts'
import { storeOf } from './stores'

export interface PullPaymentRecord {
  readonly id: string
  readonly storeId: string
  name: string
  description: string | null
  readonly amount: number
  readonly currency: string
  readonly BOLT11Expiration: number
  readonly autoApproveClaims: boolean
  readonly payoutMethods: readonly string[]
  readonly startsAt: number | null
  readonly expiresAt: number | null
  archived: boolean
  readonly created: number
}

export const pullPaymentsOf = (sim: Greenfield) =>
  sim.area('pull-payments', () => new Map<string, PullPaymentRecord>())

export function pullPaymentOf(sim: Greenfield, id: string): PullPaymentRecord {
  const p = pullPaymentsOf(sim).get(id)
  if (!p) throw problem(404, 'pullpayment-not-found', 'The pull payment was not found')
  return p
}

/** What is left to claim, in the pull payment's currency (cancelled payouts give back). */
export function remaining(sim: Greenfield, pp: PullPaymentRecord): number {
  let used = 0
  for (const p of payoutsOf(sim).values())
    if (p.pullPaymentId === pp.id && p.state !== 'Cancelled') used += p.originalAmount
  return Math.max(0, pp.amount - used)
}

export function pullPaymentData(sim: Greenfield, p: PullPaymentRecord) {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    currency: p.currency,
    amount: fmt(p.amount, p.currency === 'SATS' ? 0 : 8),
    BOLT11Expiration: String(p.BOLT11Expiration),
    autoApproveClaims: p.autoApproveClaims,
    archived: p.archived,
    viewLink: `${sim.baseUrl}/pull-payments/${p.id}`,
    startsAt: p.startsAt,
    expiresAt: p.expiresAt,
  }
}

export function createPullPayment(
  sim: Greenfield,
  storeId: string,
  o: {
    name: string | null
    description: string | null
    amount: number
    currency: string
    payoutMethods?: readonly string[] | null
    autoApproveClaims?: boolean
    BOLT11Expiration?: number
    startsAt?: number | null
    expiresAt?: number | null
  },
): PullPaymentRecord {
  if (!(o.amount > 0)) throw invalid('amount', 'The amount should more than 0')
  sim.btcPer(o.currency) // an unknown currency is refused
  const pp: PullPaymentRecord = {
    id: sim.id(16),
    storeId,
    name: o.name ?? '',
    description: o.description,
    amount: o.amount,
    currency: o.currency,
    BOLT11Expiration: o.BOLT11Expiration ?? 30,
    autoApproveClaims: o.autoApproveClaims ?? false,
    payoutMethods: o.payoutMethods ?? ['BTC-LN', 'BTC-CHAIN'],
    startsAt: o.startsAt ?? null,
    expiresAt: o.expiresAt ?? null,
    archived: false,
    created: sim.now(),
  }
  pullPaymentsOf(sim).set(pp.id, pp)
  return pp
}

function create(c: Call) {
  const storeId = c.params.storeId!
  storeOf(c.sim, storeId)
  const b = objectBody(c)
  const amount = decimal(b, 'amount', true)!
  const currency = (str(b, 'currency', true) ?? 'BTC').toUpperCase()
  const methods = b.payoutMethods ?? b.paymentMethods
  if (
    methods !== undefined &&
    methods !== null &&
    (!Array.isArray(methods) || methods.some((m) => typeof m !== 'string'))
  )
    throw invalid('payoutMethods', 'payoutMethods should be a list of payout method ids')
  const auto = b.autoApproveClaims === true
  // Auto-approved claims need the full right, not only "non-approved" pull payments.
  if (auto && !allows(c.who!, Policies.canCreatePullPayments, storeId))
    throw missingPermission(Policies.canCreatePullPayments)
  const pp = createPullPayment(c.sim, storeId, {
    name: str(b, 'name'),
    description: str(b, 'description'),
    amount,
    currency,
    payoutMethods: (methods as string[] | undefined)?.map((m) => m.toUpperCase()) ?? null,
    autoApproveClaims: auto,
    BOLT11Expiration: decimal(b, 'BOLT11Expiration') ?? 30,
    startsAt: decimal(b, 'startsAt'),
    expiresAt: decimal(b, 'expiresAt'),
  })
  return ok(pullPaymentData(c.sim, pp))
}

export function routes(): GreenfieldRoute[] {
  const byPp = (anyOf: string[]) => ({
    kind: 'policy' as const,
    anyOf,
    store: (c: Call) => pullPaymentsOf(c.sim).get(c.params.pullPaymentId!)?.storeId ?? null,
    notFound: { code: 'pullpayment-not-found', message: 'The pull payment was not found' },
  })
  return [
    {
      method: 'GET',
      path: '/api/v1/stores/{storeId}/pull-payments',
      auth: {
        kind: 'policy',
        anyOf: [Policies.canViewPullPayments, Policies.canManagePullPayments],
      },
      handle: (c) => {
        const includeArchived = c.query.get('includeArchived') === 'true'
        return ok(
          [...pullPaymentsOf(c.sim).values()]
            .filter((p) => p.storeId === c.params.storeId && (includeArchived || !p.archived))
            .sort((a, b) => b.created - a.created)
            .map((p) => pullPaymentData(c.sim, p)),
        )
      },
    },
    {
      method: 'POST',
      path: '/api/v1/stores/{storeId}/pull-payments',
      auth: {
        kind: 'policy',
        anyOf: [Policies.canCreatePullPayments, Policies.canCreateNonApprovedPullPayments],
      },
      handle: create,
    },
    {
      method: 'GET',
      path: '/api/v1/pull-payments/{pullPaymentId}',
      auth: { kind: 'none' },
      handle: (c) => ok(pullPaymentData(c.sim, pullPaymentOf(c.sim, c.params.pullPaymentId!))),
    },
    {
      method: 'DELETE',
      path: '/api/v1/pull-payments/{pullPaymentId}',
      auth: byPp([Policies.canArchivePullPayments]),
      handle: (c) => {
        const pp = pullPaymentOf(c.sim, c.params.pullPaymentId!)
        pp.archived = true
        // Archiving cancels what was not paid yet, as BTCPay.
        for (const p of payoutsOf(c.sim).values())
          if (
            p.pullPaymentId === pp.id &&
            (p.state === 'AwaitingApproval' || p.state === 'AwaitingPayment')
          )
            p.state = 'Cancelled'
        return ok(undefined)
      },
    },
    {
      method: 'GET',
      path: '/api/v1/pull-payments/{pullPaymentId}/payouts',
      auth: { kind: 'none' },
      handle: (c) => {
        const pp = pullPaymentOf(c.sim, c.params.pullPaymentId!)
        const includeCancelled = c.query.get('includeCancelled') === 'true'
        return ok(
          [...payoutsOf(c.sim).values()]
            .filter(
              (p: PayoutRecord) =>
                p.pullPaymentId === pp.id && (includeCancelled || p.state !== 'Cancelled'),
            )
            .map(payoutData),
        )
      },
    },
    {
      method: 'GET',
      path: '/api/v1/pull-payments/{pullPaymentId}/payouts/{payoutId}',
      auth: { kind: 'none' },
      handle: (c) => {
        const p = payoutsOf(c.sim).get(c.params.payoutId!)
        if (!p || p.pullPaymentId !== c.params.pullPaymentId)
          throw problem(404, 'payout-not-found', 'The payout was not found')
        return ok(payoutData(p))
      },
    },
    {
      method: 'POST',
      path: '/api/v1/pull-payments/{pullPaymentId}/payouts',
      auth: { kind: 'none' },
      handle: (c) => {
        const pp = pullPaymentOf(c.sim, c.params.pullPaymentId!)
        return ok(payoutData(claim(c.sim, pp, objectBody(c))))
      },
    },
    {
      method: 'GET',
      path: '/pull-payments/{pullPaymentId}',
      auth: { kind: 'none' },
      handle: (c) => {
        const pp = pullPaymentOf(c.sim, c.params.pullPaymentId!)
        return {
          status: 200,
          html: `<!doctype html><title>${pp.name}</title><p>${fmt(remaining(c.sim, pp))} ${pp.currency} to claim</p>`,
        }
      },
    },
  ]
}
