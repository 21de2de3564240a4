// Paying an invoice, as a saga that survives a restart of LND or of the box at any step.
//
//   decode → check (expired, network, amount, limit) → persist the attempt (state `sending`,
//   keyed by payment hash) → SendPaymentV2 → `succeeded` | `failed`
//
// LND itself refuses a second HTLC set for a payment hash that is in flight or paid (its control
// tower), and the box never sends a hash again while its own row says `sending` or `succeeded`.
// On every reconnect, rows still `sending` are looked up in LND by hash (TrackPaymentV2): LND's
// answer is the final state. A row LND has never heard of was never sent, so it is `failed`
// ("not sent") and may be tried again. Nothing here holds a preimage longer than a call: rows keep
// only whether it paid.
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import type { PaymentFailure, PaymentView } from '../../shared/api/lightning'
import { FlashError } from '../errors'
import type { Logger } from '../log'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

export type PaymentState = 'sending' | 'succeeded' | 'failed'

interface Row {
  hash: string
  request: string
  amount_sat: number
  fee_limit_sat: number
  state: PaymentState
  failure: string | null
  fee_sat: number | null
  destination: string
  description: string
  created_at: number
  updated_at: number
}

type NewRow = Omit<Row, 'state' | 'failure' | 'fee_sat' | 'created_at' | 'updated_at'>

/** The parameters of both INSERTs (`begin`, `settledInside`), in their column order. */
const insertParams = (r: NewRow, now: number) =>
  [
    r.hash,
    r.request,
    r.amount_sat,
    r.fee_limit_sat,
    r.destination,
    r.description,
    now,
    now,
  ] as const

/**
 * The saga's rows, in one WAL database opened twice, each connection with the durability its
 * writes need, set once (one fsync per payment, shared by the payments that start together):
 * - `durable` (synchronous=FULL) writes only `begin`, which must be on disk before anything is
 *   sent: the attempts queued in one turn of the event loop are written in ONE transaction
 *   (group commit), and each caller hears back only after its fsync.
 * - `db` (synchronous=NORMAL) writes `finish` and reads. In WAL mode that loses nothing when the
 *   process crashes (the WAL write is done; only the fsync is skipped); an OS crash or power cut
 *   can roll back the last finishes, and then the row is `sending` again, which reconcile()
 *   settles from LND's own record on the next start — the same path as a crash between send and
 *   result. Both connections append to the same WAL file, so the next `begin` fsyncs every earlier
 *   finish too.
 */
export class PaymentStore {
  private readonly db: DatabaseSync
  private readonly durable: DatabaseSync
  private readonly st: {
    get: StatementSync
    begin: StatementSync
    finish: StatementSync
    settledInside: StatementSync
    unresolved: StatementSync
    list: StatementSync
  }
  private queued: {
    row: NewRow
    resolve: (started: boolean) => void
    reject: (err: unknown) => void
  }[] = []
  private closed = false

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = NORMAL')
    this.db.exec(`CREATE TABLE IF NOT EXISTS payments (
      hash TEXT PRIMARY KEY,
      request TEXT NOT NULL,
      amount_sat INTEGER NOT NULL,
      fee_limit_sat INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('sending','succeeded','failed')),
      failure TEXT,
      fee_sat INTEGER,
      destination TEXT NOT NULL,
      description TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`)
    this.durable = new DatabaseSync(path)
    this.durable.exec('PRAGMA synchronous = FULL')
    this.st = {
      get: this.db.prepare('SELECT * FROM payments WHERE hash = ?'),
      begin: this.durable.prepare(
        `INSERT INTO payments (hash, request, amount_sat, fee_limit_sat, state, failure, fee_sat,
           destination, description, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'sending', NULL, NULL, ?, ?, ?, ?)
         ON CONFLICT(hash) DO UPDATE SET state = 'sending', failure = NULL, fee_sat = NULL,
           amount_sat = excluded.amount_sat, fee_limit_sat = excluded.fee_limit_sat,
           updated_at = excluded.updated_at
         WHERE payments.state = 'failed'`,
      ),
      finish: this.db.prepare(
        `UPDATE payments SET state = ?, fee_sat = ?, failure = ?, updated_at = ?
         WHERE hash = ? AND state = 'sending'`,
      ),
      settledInside: this.db.prepare(
        `INSERT INTO payments (hash, request, amount_sat, fee_limit_sat, state, failure, fee_sat,
           destination, description, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'succeeded', NULL, 0, ?, ?, ?, ?)
         ON CONFLICT(hash) DO UPDATE SET state = 'succeeded', failure = NULL, fee_sat = 0,
           description = excluded.description, updated_at = excluded.updated_at
         WHERE payments.state = 'failed'`,
      ),
      unresolved: this.db.prepare("SELECT * FROM payments WHERE state = 'sending'"),
      list: this.db.prepare('SELECT * FROM payments ORDER BY created_at DESC LIMIT ?'),
    }
  }

  get(hash: string): Row | undefined {
    return this.st.get.get(hash) as Row | undefined
  }

  /**
   * Records the attempt before anything is sent; resolves once it is on disk. Resolves false when
   * the hash is already being sent or is paid (then nothing may be sent again).
   */
  begin(r: NewRow): Promise<boolean> {
    if (this.closed) return Promise.reject(stopping())
    return new Promise((resolve, reject) => {
      this.queued.push({ row: r, resolve, reject })
      if (this.queued.length === 1) setImmediate(() => this.commitQueued())
    })
  }

  /** Writes every queued attempt in one transaction, fsync'd (`durable`) before answering. */
  private commitQueued(): void {
    const batch = this.queued
    this.queued = []
    if (batch.length === 0 || this.closed) return
    const started: boolean[] = []
    try {
      this.durable.exec('BEGIN IMMEDIATE')
      try {
        const now = Date.now()
        for (const { row: r } of batch) {
          const res = this.st.begin.run(...insertParams(r, now))
          started.push(Number(res.changes) === 1)
        }
        this.durable.exec('COMMIT')
      } catch (err) {
        this.durable.exec('ROLLBACK')
        throw err
      }
    } catch (err) {
      for (const b of batch) b.reject(err)
      return
    }
    batch.forEach((b, i) => b.resolve(started[i]!))
  }

  finish(hash: string, state: 'succeeded' | 'failed', detail: { fee?: number; failure?: string }) {
    this.st.finish.run(state, detail.fee ?? null, detail.failure ?? null, Date.now(), hash)
  }

  /**
   * An invoice of the box's own node settled inside the box (its mint's quote or its shop's sale:
   * no Lightning payment, fee 0), for the payment history; paying it again is then "already
   * paid". Not a saga step — the mint or the merchant saga holds the settlement itself — so it is
   * written on the NORMAL connection. An earlier failed attempt at the same invoice becomes this
   * settlement; returns the row.
   */
  recordSettledInside(r: NewRow): Row {
    this.st.settledInside.run(...insertParams(r, Date.now()))
    return this.get(r.hash)!
  }

  unresolved(): Row[] {
    return this.st.unresolved.all() as unknown as Row[]
  }

  list(limit = 500): Row[] {
    return this.st.list.all(limit) as unknown as Row[]
  }

  /** Attempts still queued were never recorded nor sent: their callers hear "stopping". */
  close(): void {
    this.closed = true
    const batch = this.queued
    this.queued = []
    for (const b of batch) b.reject(stopping())
    this.durable.close()
    this.db.close()
  }
}

function stopping(): FlashError {
  return new FlashError(
    'lightning.stopping',
    'Flash Box is stopping; the payment was not sent.',
    'Start Flash Box again and pay from the Lightning page.',
  )
}

export function paymentView(r: Row): PaymentView {
  return {
    id: r.hash,
    amountSat: r.amount_sat,
    feeSat: r.fee_sat ?? undefined,
    feeLimitSat: r.fee_limit_sat,
    state: r.state === 'sending' ? 'pending' : r.state,
    failure: (r.failure as PaymentFailure | null) ?? undefined,
    destination: r.destination,
    description: r.description,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  }
}

/** ln-service's `failed` event → the plain reason the owner sees. */
export function failureOf(e: {
  is_insufficient_balance?: boolean
  is_invalid_payment?: boolean
  is_pathfinding_timeout?: boolean
  is_route_not_found?: boolean
  is_canceled?: boolean
}): PaymentFailure {
  if (e.is_insufficient_balance) return 'not_enough_outbound'
  if (e.is_route_not_found) return 'no_route'
  if (e.is_invalid_payment) return 'rejected_by_recipient'
  if (e.is_pathfinding_timeout) return 'timeout'
  if (e.is_canceled) return 'canceled'
  return 'error'
}

export const failureWords: Record<PaymentFailure, string> = {
  no_route: 'No route to the recipient was found.',
  not_enough_outbound:
    'Your channels do not have enough outgoing balance to send this amount (with fees).',
  rejected_by_recipient:
    'The recipient’s node refused the payment: the invoice may have expired, been paid already, or have the wrong amount.',
  timeout: 'Finding a route took too long.',
  canceled: 'The payment was canceled.',
  expired: 'The invoice expired before it was paid.',
  already_paid: 'This invoice was already paid.',
  not_sent: 'The payment was never sent (Flash Box or the Lightning node stopped first).',
  error: 'The Lightning node could not make the payment.',
}

export interface PayInput {
  readonly request: string
  readonly hash: string
  readonly amountSat: number
  /** Only for invoices without an amount. */
  readonly amountForAmountless?: number
  readonly feeLimitSat: number
  readonly destination: string
  readonly description: string
}

export interface PaymentSagaDeps {
  readonly store: PaymentStore
  readonly lnd: () => Lightning.AuthenticatedLnd
  readonly log: Logger
  readonly onUpdate: (view: PaymentView) => void
  /** MPP: LND may split the payment into up to this many parts. */
  readonly maxParts?: number
}

export function alreadyPaid(): FlashError {
  return new FlashError(
    'lightning.already_paid',
    failureWords.already_paid,
    'Nothing was sent. Look it up in the Lightning history.',
  )
}

/**
 * Sends one payment and resolves with its final (or, after `waitMs`, still pending) view.
 * Hashes this process is sending are in `active` so reconcile() leaves them alone.
 */
export class PaymentSaga {
  private readonly active = new Set<string>()
  /** Callers waiting for an outcome; on close() they get the state as persisted. */
  private readonly waiting = new Map<string, { stop: () => void }>()
  private closed = false

  constructor(private readonly deps: PaymentSagaDeps) {}

  /**
   * The engine stops: stop listening, answer every waiting caller with what is persisted (rows
   * still `sending` are reconciled from LND on the next start). Call before closing the store.
   */
  close(): void {
    this.closed = true
    for (const w of this.waiting.values()) w.stop()
    this.waiting.clear()
  }

  alreadyPaid(hash: string): boolean {
    return !this.closed && this.deps.store.get(hash)?.state === 'succeeded'
  }

  async pay(input: PayInput, waitMs = 60_000): Promise<PaymentView> {
    if (this.closed) throw stopping()
    const { store } = this.deps
    const existing = store.get(input.hash)
    if (existing?.state === 'succeeded') throw alreadyPaid()
    if (existing?.state === 'sending') return paymentView(existing)
    if (
      !(await store.begin({
        hash: input.hash,
        request: input.request,
        amount_sat: input.amountSat,
        fee_limit_sat: input.feeLimitSat,
        destination: input.destination,
        description: input.description,
      }))
    ) {
      const row = store.get(input.hash)
      if (row?.state === 'succeeded') throw alreadyPaid()
      return paymentView(row!)
    }
    if (this.closed) {
      // Stopped while the attempt was being written: it was never sent.
      store.finish(input.hash, 'failed', { failure: 'not_sent' })
      throw stopping()
    }
    this.active.add(input.hash)
    let sub: ReturnType<typeof ln.subscribeToPayViaRequest> | undefined
    const done = new Promise<PaymentView>((resolve) => {
      this.waiting.set(input.hash, {
        stop: () => {
          sub?.removeAllListeners()
          this.active.delete(input.hash)
          resolve(paymentView(store.get(input.hash)!))
        },
      })
      const finish = (
        state: 'succeeded' | 'failed',
        detail: { fee?: number; failure?: string },
      ) => {
        if (this.closed) return
        store.finish(input.hash, state, detail)
        this.active.delete(input.hash)
        const view = paymentView(store.get(input.hash)!)
        this.deps.onUpdate(view)
        resolve(view)
      }
      try {
        sub = ln.subscribeToPayViaRequest({
          lnd: this.deps.lnd(),
          request: input.request,
          max_fee: input.feeLimitSat,
          max_paths: this.deps.maxParts ?? 4,
          pathfinding_timeout: 60_000,
          ...(input.amountForAmountless ? { tokens: input.amountForAmountless } : {}),
        })
      } catch (err) {
        finish('failed', { failure: 'not_sent' })
        this.deps.log.warn('payment could not be sent', { error: (err as Error).message })
        return
      }
      const s = sub
      s.on('confirmed', (e: { fee: number }) => {
        s.removeAllListeners()
        finish('succeeded', { fee: e.fee })
      })
      s.on('failed', (e: Parameters<typeof failureOf>[0]) => {
        s.removeAllListeners()
        finish('failed', { failure: failureOf(e) })
      })
      s.on('error', (err: unknown) => {
        s.removeAllListeners()
        if (this.closed) return
        const text = JSON.stringify(err)
        if (/already paid/i.test(text)) return finish('succeeded', {})
        if (/in transition|in flight/i.test(text)) {
          // LND already has this payment in flight: follow it rather than send again.
          this.active.delete(input.hash)
          void this.reconcile().then(() => resolve(paymentView(store.get(input.hash)!)))
          return
        }
        // The connection dropped: LND may or may not have the payment. Leave the row `sending`;
        // reconcile() asks LND by hash once it answers again.
        this.active.delete(input.hash)
        this.deps.log.warn('payment connection lost; will ask LND for the outcome', {
          hash: input.hash,
        })
        resolve(paymentView(store.get(input.hash)!))
      })
    })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<PaymentView>((resolve) => {
      timer = setTimeout(() => resolve(paymentView(store.get(input.hash)!)), waitMs)
    })
    try {
      return await Promise.race([done, timeout])
    } finally {
      clearTimeout(timer)
      this.waiting.delete(input.hash)
    }
  }

  /** Asks LND for the outcome of every attempt still `sending` that this process is not sending. */
  async reconcile(): Promise<PaymentView[]> {
    const { store } = this.deps
    const changed: PaymentView[] = []
    for (const row of store.unresolved()) {
      if (this.closed) break
      if (this.active.has(row.hash)) continue
      let p: Lightning.GetPaymentResult
      try {
        p = await ln.getPayment({ lnd: this.deps.lnd(), id: row.hash })
      } catch (err) {
        if (Array.isArray(err) && err[1] === 'SentPaymentNotFound') {
          store.finish(row.hash, 'failed', { failure: 'not_sent' })
        } else {
          throw err
        }
        const view = paymentView(store.get(row.hash)!)
        changed.push(view)
        this.deps.onUpdate(view)
        continue
      }
      if (p.is_confirmed) {
        store.finish(row.hash, 'succeeded', { fee: p.payment?.fee })
      } else if (p.is_failed) {
        store.finish(row.hash, 'failed', { failure: p.failed ? failureOf(p.failed) : 'error' })
      } else {
        continue // still in flight in LND: ask again next time
      }
      const view = paymentView(store.get(row.hash)!)
      changed.push(view)
      this.deps.onUpdate(view)
    }
    return changed
  }
}
