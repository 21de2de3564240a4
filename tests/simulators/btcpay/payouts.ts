// SIMULATOR — test-only. Greenfield "Payouts" (swagger.template.pull-payments.json, the payout
// operations): claims on pull payments and store payouts; approve (with the current revision),
// cancel, mark paid / mark a state. States AwaitingApproval → AwaitingPayment → (InProgress) →
// Completed, or Cancelled. Paying an approved payout is the store's business (BTCPay's payout
// processors or a person); here it is marked. Events PayoutCreated/Approved/Updated go to webhooks.
import * as bitcoin from 'bitcoinjs-lib'
import { decodeBolt11 } from '../bolt11'
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
import { Policies } from './permissions'
import { pullPaymentOf, remaining, type PullPaymentRecord } from './pull-payments'
import { storeOf } from './stores'
import { publish } from './webhooks'

export type PayoutState =
  'AwaitingApproval' | 'AwaitingPayment' | 'InProgress' | 'Completed' | 'Cancelled'

export interface PayoutRecord {
  readonly id: string
  readonly storeId: string
  revision: number
  readonly pullPaymentId: string | null
  readonly date: number
  readonly destination: string
  readonly originalCurrency: string
  readonly originalAmount: number
  payoutAmount: number | null
  readonly payoutMethodId: string
  state: PayoutState
  paymentProof: Record<string, unknown> | null
  metadata: Record<string, unknown>
}

export const payoutsOf = (sim: Greenfield) =>
  sim.area('payouts', () => new Map<string, PayoutRecord>())

export const payoutData = (p: PayoutRecord) => ({
  id: p.id,
  revision: p.revision,
  pullPaymentId: p.pullPaymentId,
  date: p.date,
  destination: p.destination,
  originalCurrency: p.originalCurrency,
  originalAmount: fmt(p.originalAmount, p.originalCurrency === 'SATS' ? 0 : 8),
  payoutCurrency: 'BTC',
  payoutAmount: p.payoutAmount === null ? null : fmt(p.payoutAmount),
  payoutMethodId: p.payoutMethodId,
  paymentMethod: p.payoutMethodId,
  state: p.state,
  paymentProof: p.paymentProof,
  metadata: p.metadata,
})

/** The amount a destination itself names (a BOLT11 with an amount), in BTC; null if none. */
function checkDestination(sim: Greenfield, method: string, destination: string): number | null {
  if (method === 'BTC-LN') {
    const d = destination.replace(/^lightning:/i, '')
    if (/^ln(bc|tb|bcrt|tbs)[0-9]/i.test(d)) {
      try {
        const inv = decodeBolt11(d)
        if (inv.timestamp + inv.expirySeconds < sim.now())
          throw invalid('destination', 'The BOLT11 invoice expired')
        return inv.amountMsat === undefined ? null : Number(inv.amountMsat) / 1e11
      } catch (e) {
        if (e instanceof Error && e.message.includes('expired')) throw e
        throw invalid('destination', 'The destination is not a valid BOLT11 invoice')
      }
    }
    if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(d) || /^lnurl1[0-9a-z]+$/i.test(d)) return null
    throw invalid(
      'destination',
      'The destination is not a BOLT11 invoice, a Lightning address or an LNURL',
    )
  }
  if (method === 'BTC-CHAIN') {
    try {
      bitcoin.address.toOutputScript(
        destination.replace(/^bitcoin:/i, '').split('?')[0]!,
        sim.network,
      )
    } catch {
      throw invalid('destination', 'The destination is not a valid address for this network')
    }
    return null
  }
  throw invalid('payoutMethodId', 'Invalid payout method')
}

function make(
  sim: Greenfield,
  storeId: string,
  pp: PullPaymentRecord | null,
  b: Record<string, unknown>,
  approved: boolean,
): PayoutRecord {
  const method = (str(b, 'payoutMethodId') ?? str(b, 'paymentMethod') ?? 'BTC-LN').toUpperCase()
  if (pp && !pp.payoutMethods.includes(method))
    throw invalid('payoutMethodId', 'This payout method is not available for the pull payment')
  const destination = str(b, 'destination', true)!
  const named = checkDestination(sim, method, destination)
  const currency = pp?.currency ?? 'BTC'
  let amount = decimal(b, 'amount')
  if (amount === null && named !== null) amount = named / sim.btcPer(currency)
  if (pp) {
    if (pp.archived)
      throw problem(400, 'archived', 'You cannot claim a payout from an archived pull payment')
    if (pp.expiresAt !== null && pp.expiresAt < sim.now())
      throw problem(400, 'expired', 'This pull payment is expired')
    const left = remaining(sim, pp)
    amount ??= left
    if (amount > left + 1e-12)
      throw invalid(
        'amount',
        `Amount is over the limit of the pull payment (${fmt(left)} ${currency} left)`,
      )
  }
  if (amount === null || !(amount > 0)) throw invalid('amount', 'The amount should be more than 0')
  if (named !== null && Math.abs(named - amount * sim.btcPer(currency)) > 1e-9)
    throw invalid('amount', 'The amount of the BOLT11 invoice is not the amount claimed')
  for (const p of payoutsOf(sim).values())
    if (p.destination === destination && p.state !== 'Cancelled' && p.state !== 'Completed')
      throw problem(
        400,
        'duplicate-destination',
        'This destination is already claimed by another payout',
      )
  const p: PayoutRecord = {
    id: sim.id(16),
    storeId,
    revision: 0,
    pullPaymentId: pp?.id ?? null,
    date: sim.now(),
    destination,
    originalCurrency: currency,
    originalAmount: amount,
    payoutAmount: approved ? amount * sim.btcPer(currency) : null,
    payoutMethodId: method,
    state: approved ? 'AwaitingPayment' : 'AwaitingApproval',
    paymentProof: null,
    metadata: (b.metadata as Record<string, unknown> | undefined) ?? {},
  }
  payoutsOf(sim).set(p.id, p)
  publish(sim, storeId, {
    type: 'PayoutCreated',
    payoutId: p.id,
    pullPaymentId: p.pullPaymentId,
    payoutState: p.state,
  })
  return p
}

/** A claim on a pull payment (anyone with its id). */
export function claim(
  sim: Greenfield,
  pp: PullPaymentRecord,
  b: Record<string, unknown>,
): PayoutRecord {
  return make(sim, pp.storeId, pp, b, pp.autoApproveClaims)
}

function payoutOf(c: Call): PayoutRecord {
  const p = payoutsOf(c.sim).get(c.params.payoutId!)
  if (!p || (c.params.storeId && p.storeId !== c.params.storeId))
    throw problem(404, 'payout-not-found', 'The payout was not found')
  return p
}

function update(sim: Greenfield, p: PayoutRecord, state: PayoutState) {
  p.state = state
  p.revision++
  publish(sim, p.storeId, {
    type: state === 'AwaitingPayment' ? 'PayoutApproved' : 'PayoutUpdated',
    payoutId: p.id,
    pullPaymentId: p.pullPaymentId,
    payoutState: state,
  })
}

export function routes(): GreenfieldRoute[] {
  const byPayout = (anyOf: string[]) => ({
    kind: 'policy' as const,
    anyOf,
    store: (c: Call) => payoutsOf(c.sim).get(c.params.payoutId!)?.storeId ?? null,
    notFound: { code: 'payout-not-found', message: 'The payout was not found' },
  })
  const approve = (c: Call) => {
    const p = payoutOf(c)
    const b = objectBody(c)
    const revision = decimal(b, 'revision', true)!
    if (p.state !== 'AwaitingApproval')
      throw problem(400, 'invalid-state', 'The payout is not awaiting approval')
    if (revision !== p.revision)
      throw problem(400, 'old-revision', 'The revision number is too old')
    p.payoutAmount = p.originalAmount * c.sim.btcPer(p.originalCurrency)
    update(c.sim, p, 'AwaitingPayment')
    return ok(payoutData(p))
  }
  const cancel = (c: Call) => {
    const p = payoutOf(c)
    if (p.state === 'Completed')
      throw problem(400, 'invalid-state', 'A completed payout cannot be cancelled')
    update(c.sim, p, 'Cancelled')
    return ok(undefined)
  }
  const markPaid = (c: Call) => {
    const p = payoutOf(c)
    if (p.state !== 'AwaitingPayment' && p.state !== 'InProgress')
      throw problem(400, 'invalid-state', 'The payout is not awaiting payment')
    update(c.sim, p, 'Completed')
    return ok(undefined)
  }
  const mark = (c: Call) => {
    const p = payoutOf(c)
    const b = objectBody(c)
    const state = str(b, 'state', true) as PayoutState
    if (!['AwaitingPayment', 'InProgress', 'Completed'].includes(state))
      throw invalid('state', 'Invalid state')
    if (p.state === 'Cancelled' || p.state === 'AwaitingApproval')
      throw problem(400, 'invalid-state', 'The payout cannot be marked')
    if (b.paymentProof && typeof b.paymentProof === 'object')
      p.paymentProof = b.paymentProof as Record<string, unknown>
    update(c.sim, p, state)
    return ok(undefined)
  }
  const routesFor = (
    prefix: string,
    auth: (anyOf: string[]) => GreenfieldRoute['auth'],
  ): GreenfieldRoute[] => [
    {
      method: 'GET',
      path: `${prefix}/{payoutId}`,
      auth: auth([Policies.canViewPayouts, Policies.canManagePullPayments]),
      handle: (c) => ok(payoutData(payoutOf(c))),
    },
    {
      method: 'POST',
      path: `${prefix}/{payoutId}`,
      auth: auth([Policies.canManagePullPayments]),
      handle: approve,
    },
    {
      method: 'DELETE',
      path: `${prefix}/{payoutId}`,
      auth: auth([Policies.canManagePullPayments]),
      handle: cancel,
    },
    {
      method: 'POST',
      path: `${prefix}/{payoutId}/mark-paid`,
      auth: auth([Policies.canManagePullPayments]),
      handle: markPaid,
    },
    {
      method: 'POST',
      path: `${prefix}/{payoutId}/mark`,
      auth: auth([Policies.canManagePullPayments]),
      handle: mark,
    },
  ]
  return [
    {
      method: 'GET',
      path: '/api/v1/stores/{storeId}/payouts',
      auth: { kind: 'policy', anyOf: [Policies.canViewPayouts, Policies.canManagePullPayments] },
      handle: (c) => {
        const includeCancelled = c.query.get('includeCancelled') === 'true'
        return ok(
          [...payoutsOf(c.sim).values()]
            .filter(
              (p) =>
                p.storeId === c.params.storeId && (includeCancelled || p.state !== 'Cancelled'),
            )
            .sort((a, b) => b.date - a.date)
            .map(payoutData),
        )
      },
    },
    {
      method: 'POST',
      path: '/api/v1/stores/{storeId}/payouts',
      auth: {
        kind: 'policy',
        anyOf: [Policies.canCreatePullPayments, Policies.canCreateNonApprovedPullPayments],
      },
      handle: (c) => {
        const storeId = c.params.storeId!
        storeOf(c.sim, storeId)
        const b = objectBody(c)
        const ppId = str(b, 'pullPaymentId')
        const pp = ppId ? pullPaymentOf(c.sim, ppId) : null
        if (pp && pp.storeId !== storeId)
          throw problem(404, 'pullpayment-not-found', 'The pull payment was not found')
        const approved = b.approved === true
        return ok(payoutData(make(c.sim, storeId, pp, b, approved)))
      },
    },
    ...routesFor('/api/v1/stores/{storeId}/payouts', (anyOf) => ({ kind: 'policy', anyOf })),
    ...routesFor('/api/v1/payouts', byPayout),
  ]
}
