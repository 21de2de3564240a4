// Circular rebalancing through ln-service, as rebalance-lnd and bos do it: the box pays its own
// invoice over a route that leaves by one channel and comes back by another, so sats move from the
// first channel's side to the second's and only the routing fees leave the node.
//
//   route: QueryRoutes to the box itself, outgoing_chan_id = the channel to empty, last_hop_pubkey
//          = the peer of the channel to fill, fee limit = the budget (getRouteToDestination)
//   run:   own invoice → route again with its payment secret → check the fee against the limit →
//          persist the attempt (`sending`) → SendToRouteV2 (payViaRoutes) → `succeeded` | `failed`
//
// Every attempt is a row in SQLite before anything is sent (when, who asked, which band rule, the
// route, the fee), and a row still `sending` after a restart is settled from LND's own record of
// the payment (getPayment by hash), as the payment saga does.
import { DatabaseSync } from 'node:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import type {
  RebalanceAttemptView,
  RebalanceHopView,
  RebalanceResult,
} from '../../shared/api/liquidity'
import { lndError } from '../clients/lnd'
import { FlashError } from '../errors'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
type Lnd = Lightning.AuthenticatedLnd
type LnRoute = Lightning.GetRouteToDestinationResult['route'] & {}

interface Row {
  id: number
  at: number
  trigger: 'owner' | 'schedule'
  reason: string
  out_channel: string
  in_channel: string
  amount_sat: number
  max_fee_sat: number
  fee_sat: number | null
  hops: string
  hash: string | null
  result: RebalanceResult
  detail: string | null
}

export class RebalanceLog {
  private readonly db: DatabaseSync

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = FULL')
    this.db.exec(`CREATE TABLE IF NOT EXISTS rebalance_attempts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at INTEGER NOT NULL,
      trigger TEXT NOT NULL CHECK (trigger IN ('owner','schedule')),
      reason TEXT NOT NULL,
      out_channel TEXT NOT NULL,
      in_channel TEXT NOT NULL,
      amount_sat INTEGER NOT NULL,
      max_fee_sat INTEGER NOT NULL,
      fee_sat INTEGER,
      hops TEXT NOT NULL,
      hash TEXT,
      result TEXT NOT NULL CHECK (result IN ('sending','succeeded','failed','refused')),
      detail TEXT
    )`)
  }

  add(r: Omit<Row, 'id'>): number {
    const res = this.db
      .prepare(
        `INSERT INTO rebalance_attempts (at, trigger, reason, out_channel, in_channel, amount_sat,
           max_fee_sat, fee_sat, hops, hash, result, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.at,
        r.trigger,
        r.reason,
        r.out_channel,
        r.in_channel,
        r.amount_sat,
        r.max_fee_sat,
        r.fee_sat,
        r.hops,
        r.hash,
        r.result,
        r.detail,
      )
    return Number(res.lastInsertRowid)
  }

  finish(id: number, result: 'succeeded' | 'failed', fee: number | null, detail: string | null) {
    this.db
      .prepare(
        `UPDATE rebalance_attempts SET result = ?, fee_sat = ?, detail = ?
         WHERE id = ? AND result = 'sending'`,
      )
      .run(result, fee, detail, id)
  }

  get(id: number): Row | undefined {
    return this.db.prepare('SELECT * FROM rebalance_attempts WHERE id = ?').get(id) as
      Row | undefined
  }

  unresolved(): Row[] {
    return this.db
      .prepare("SELECT * FROM rebalance_attempts WHERE result = 'sending'")
      .all() as unknown as Row[]
  }

  list(limit = 500): Row[] {
    return this.db
      .prepare('SELECT * FROM rebalance_attempts ORDER BY at DESC, id DESC LIMIT ?')
      .all(limit) as unknown as Row[]
  }

  close(): void {
    this.db.close()
  }
}

export function attemptView(r: Row): RebalanceAttemptView {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    trigger: r.trigger,
    reason: r.reason,
    outChannel: r.out_channel,
    inChannel: r.in_channel,
    amountSat: r.amount_sat,
    maxFeeSat: r.max_fee_sat,
    ...(r.fee_sat !== null ? { feeSat: r.fee_sat } : {}),
    hops: JSON.parse(r.hops) as RebalanceHopView[],
    result: r.result,
    ...(r.detail ? { detail: r.detail } : {}),
  }
}

export function hopsOf(route: LnRoute): RebalanceHopView[] {
  return route.hops.map((h) => ({
    channel: h.channel,
    publicKey: h.public_key,
    feeSat: Math.ceil(Number(h.fee_mtokens) / 1000),
  }))
}

/** The route's fee rounded up: what the budget must cover. */
export const routeFeeSat = (route: LnRoute) => Math.ceil(Number(route.fee_mtokens) / 1000)

export interface CircularRequest {
  readonly selfPublicKey: string
  readonly outChannel: string
  /** The peer at the other end of the channel the sats come back by. */
  readonly inPeer: string
  readonly inChannel: string
  readonly amountSat: number
  readonly maxFeeSat: number
}

const NO_ROUTE = /unable to find a path|no.?route|not.?found/i

/**
 * A route out by `outChannel` and back from `inPeer`, within `maxFeeSat`, or null when LND finds
 * none. The last hop must arrive over `inChannel` (with several channels to the same peer, LND may
 * pick another: then there is no route for this pair).
 */
export async function findCircularRoute(
  lnd: Lnd,
  req: CircularRequest,
  payment?: { id: string; secret: string },
): Promise<LnRoute | null> {
  let route: LnRoute | undefined
  try {
    const res = await ln.getRouteToDestination({
      lnd,
      destination: req.selfPublicKey,
      tokens: req.amountSat,
      outgoing_channel: req.outChannel,
      incoming_peer: req.inPeer,
      max_fee: req.maxFeeSat,
      ...(payment ? { payment: payment.secret, total_mtokens: `${req.amountSat * 1000}` } : {}),
    })
    route = res.route
  } catch (err) {
    const e = lndError('getRouteToDestination', err)
    if (NO_ROUTE.test(JSON.stringify(err)) || NO_ROUTE.test(e.message)) return null
    throw e
  }
  if (!route) return null
  const last = route.hops[route.hops.length - 1]
  const first = route.hops[0]
  if (!first || !last || first.channel !== req.outChannel || last.channel !== req.inChannel)
    return null
  return route
}

export type CircularOutcome =
  | { readonly result: 'succeeded'; readonly feeSat: number; readonly route: LnRoute }
  | { readonly result: 'failed'; readonly detail: string; readonly route: LnRoute }
  | { readonly result: 'refused'; readonly detail: string; readonly route?: LnRoute }

/**
 * Moves `amountSat` from `outChannel` to `inChannel` along a circular route within `maxFeeSat`.
 * `record` is called with the route before anything is sent (the attempt row), and returns its id.
 */
export async function rebalanceCircular(
  lnd: Lnd,
  req: CircularRequest,
  hooks: {
    readonly beforeSend: (route: LnRoute, hash: string) => number
    readonly afterSend: (id: number, outcome: CircularOutcome) => void
  },
): Promise<CircularOutcome> {
  const invoice = await guard(
    'createInvoice',
    ln.createInvoice({
      lnd,
      tokens: req.amountSat,
      description: `Flash Box rebalance ${req.outChannel} → ${req.inChannel}`,
      expires_at: new Date(Date.now() + 10 * 60_000).toISOString(),
    }),
  )
  if (!invoice.payment)
    throw new FlashError(
      'lightning.rebalance_no_secret',
      'The Lightning node made an invoice without a payment secret, so the rebalance cannot be sent.',
      'Update the Lightning node; every LND since 0.11 adds one.',
    )
  const route = await findCircularRoute(lnd, req, { id: invoice.id, secret: invoice.payment })
  if (!route)
    return {
      result: 'refused',
      detail: `No route back to your node within the fee limit of ${req.maxFeeSat} sat.`,
    }
  if (routeFeeSat(route) > req.maxFeeSat)
    return {
      result: 'refused',
      detail: `The route costs ${routeFeeSat(route)} sat, over the fee limit of ${req.maxFeeSat} sat.`,
      route,
    }
  const id = hooks.beforeSend(route, invoice.id)
  let outcome: CircularOutcome
  try {
    const paid = await ln.payViaRoutes({ lnd, id: invoice.id, routes: [route] })
    outcome = { result: 'succeeded', feeSat: Math.ceil(Number(paid.fee_mtokens) / 1000), route }
  } catch (err) {
    outcome = { result: 'failed', detail: payFailureText(err), route }
  }
  hooks.afterSend(id, outcome)
  return outcome
}

/** The final state of an attempt LND knows by hash (after a restart), or null while in flight. */
export async function settledAttempt(
  lnd: Lnd,
  hash: string,
): Promise<{ result: 'succeeded'; feeSat: number } | { result: 'failed'; detail: string } | null> {
  try {
    const p = await ln.getPayment({ lnd, id: hash })
    if (p.is_confirmed)
      return {
        result: 'succeeded',
        feeSat: Math.ceil(Number(p.payment?.fee_mtokens ?? 0) / 1000),
      }
    if (p.is_failed) return { result: 'failed', detail: 'The node reported the attempt failed.' }
    return null
  } catch (err) {
    const text = JSON.stringify(err)
    if (/SentPaymentNotFound|not.?found|isn't initiated/i.test(text))
      return { result: 'failed', detail: 'Never sent: the node has no record of it.' }
    throw lndError('getPayment', err)
  }
}

function payFailureText(err: unknown): string {
  const text = JSON.stringify(err) ?? String(err)
  if (/TemporaryChannelFailure|temporary/i.test(text))
    return 'A channel on the route did not have enough balance at that moment.'
  if (/FeeInsufficient/i.test(text)) return 'A node on the route asked for a higher fee.'
  if (/UnknownNextPeer|unknown.next.peer/i.test(text))
    return 'A node on the route is offline or closed that channel.'
  if (/UnknownPaymentHash|IncorrectPaymentDetails|payment details/i.test(text))
    return 'Your own node refused the rebalance payment (invoice expired or already paid).'
  return 'The rebalance payment failed on its route.'
}

async function guard<T>(what: string, call: Promise<T>): Promise<T> {
  try {
    return await call
  } catch (err) {
    throw lndError(what, err)
  }
}
