// Internal settlement of the shop's own invoices (INTERNAL-SETTLEMENT design, "The box's
// settlement hook"). On a box whose mint and BTCPay share one LND, the mint cannot pay a BTCPay
// invoice over Lightning (LND refuses to pay its own node). No sats need to move: the mint's
// reserves and the shop's takings sit in the same LND wallet. So the mint asks the box, and the
// box settles the sale by bookkeeping, as a saga keyed by the Lightning payment hash:
//
//   resolve the hash to an open invoice of the box's own store (amount checked)
//   → record `marking` (fsync'd) → Greenfield markInvoiceStatus {"status":"Settled"}
//   → record `paid` (fsync'd) → answer PAID with LND's preimage for that invoice, whose Lightning
//   invoice is cancelled in LND (nobody can pay the settled sale a second time).
//
// A repeat answers from the record and never marks twice. A crash between `marking` and the
// answer is settled from BTCPay's own record on the next /pay, /status or start: Settled and
// Marked → paid; still New → marked again; anything else → failed, with the reason.
// The answer `NOT_INTERNAL` (nothing done, nothing recorded) means the hash is no invoice of
// the box's store; `/status` then says UNKNOWN, and the mint releases the customer's proofs.
import { DatabaseSync } from 'node:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { FlashError } from '../errors'
import type { Logger } from '../log'
import { keepPreparedStatements } from '../sqlite-statements'

export type SettlementAnswer =
  | { readonly state: 'PAID'; readonly preimage: string | null }
  | { readonly state: 'PENDING' }
  | { readonly state: 'FAILED'; readonly reason: string }
  | { readonly state: 'NOT_INTERNAL' }

export type SettlementStatus = SettlementAnswer | { readonly state: 'UNKNOWN' }

export interface SettlementRequest {
  readonly paymentHash: string
  readonly bolt11: string
  readonly amountMsat: number
  /** The mint's melt quote (kept for the owner's record). */
  readonly meltQuote: string
}

/** An open invoice of the box's store whose Lightning invoice has the payment hash. */
export interface OwnInvoice {
  readonly invoiceId: string
  /** The Lightning invoice's amount (what the payer must pay). */
  readonly amountMsat: number
}

export interface InvoiceState {
  /** BTCPay's status: New, Processing, Settled, Expired, Invalid. */
  readonly status: string
  readonly additionalStatus: string
}

/** What the saga needs of BTCPay (Greenfield) and of the box's LND. */
export interface OwnInvoices {
  /** The store's invoice whose Lightning invoice has this hash, or undefined when none. */
  find(paymentHash: string): Promise<OwnInvoice | undefined>
  state(invoiceId: string): Promise<InvoiceState>
  /** Greenfield markInvoiceStatus {"status":"Settled"}. */
  markSettled(invoiceId: string): Promise<void>
  /** LND's preimage of the invoice (lookupinvoice r_preimage), or null when LND cannot tell. */
  preimage(paymentHash: string): Promise<string | null>
  /**
   * Cancels the sale's Lightning invoice in LND (invoicesrpc CancelInvoice; idempotent), so the
   * sale settled inside the box cannot be paid a second time over Lightning.
   */
  closeLightning(paymentHash: string): Promise<void>
}

type Step = 'marking' | 'paid' | 'failed'

interface Row {
  payment_hash: string
  invoice_id: string | null
  amount_msat: number
  melt_quote: string
  bolt11: string
  state: Step
  reason: string | null
  created_at: number
  updated_at: number
}

/** The saga's record (SQLite, synchronous=FULL: each step is on disk before the next). */
export class SettlementStore {
  private readonly db: DatabaseSync

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    this.db = keepPreparedStatements(new DatabaseSync(path))
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = FULL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS settlements (
        payment_hash TEXT PRIMARY KEY, invoice_id TEXT, amount_msat INTEGER NOT NULL,
        melt_quote TEXT NOT NULL, bolt11 TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('marking','paid','failed')),
        reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS lightning_invoices (
        payment_hash TEXT PRIMARY KEY, invoice_id TEXT NOT NULL, amount_msat INTEGER NOT NULL);
    `)
  }

  close(): void {
    this.db.close()
  }

  get(hash: string): Row | undefined {
    return this.db.prepare('SELECT * FROM settlements WHERE payment_hash = ?').get(hash) as
      Row | undefined
  }

  /** The first record of a hash; false when it already has one (the caller reads that one). */
  begin(r: Omit<Row, 'created_at' | 'updated_at'>): boolean {
    const now = Date.now()
    return (
      this.db
        .prepare(
          `INSERT OR IGNORE INTO settlements (payment_hash, invoice_id, amount_msat, melt_quote,
             bolt11, state, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          r.payment_hash,
          r.invoice_id,
          r.amount_msat,
          r.melt_quote,
          r.bolt11,
          r.state,
          r.reason,
          now,
          now,
        ).changes === 1
    )
  }

  /** marking → paid | failed (only from marking: a recorded outcome never changes). */
  finish(hash: string, state: 'paid' | 'failed', reason: string | null = null): void {
    this.db
      .prepare(
        "UPDATE settlements SET state = ?, reason = ?, updated_at = ? WHERE payment_hash = ? AND state = 'marking'",
      )
      .run(state, reason, Date.now(), hash)
  }

  /** What a sale settled inside the box was paid (msat), or undefined. */
  paidFor(invoiceId: string): number | undefined {
    const r = this.db
      .prepare(
        "SELECT amount_msat FROM settlements WHERE invoice_id = ? AND state = 'paid' LIMIT 1",
      )
      .get(invoiceId) as { amount_msat: number } | undefined
    return r?.amount_msat
  }

  marking(): Row[] {
    return this.db
      .prepare("SELECT * FROM settlements WHERE state = 'marking'")
      .all() as unknown as Row[]
  }

  /** A BTCPay invoice's Lightning payment hash, as the box learnt it. */
  rememberInvoice(hash: string, invoiceId: string, amountMsat: number): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO lightning_invoices (payment_hash, invoice_id, amount_msat) VALUES (?, ?, ?)',
      )
      .run(hash, invoiceId, amountMsat)
  }

  knownInvoice(hash: string): OwnInvoice | undefined {
    const r = this.db
      .prepare('SELECT invoice_id, amount_msat FROM lightning_invoices WHERE payment_hash = ?')
      .get(hash) as { invoice_id: string; amount_msat: number } | undefined
    return r ? { invoiceId: r.invoice_id, amountMsat: r.amount_msat } : undefined
  }

  /** True when the box already knows this BTCPay invoice's Lightning hash. */
  hasInvoice(invoiceId: string): boolean {
    return (
      this.db
        .prepare('SELECT 1 FROM lightning_invoices WHERE invoice_id = ? LIMIT 1')
        .get(invoiceId) !== undefined
    )
  }
}

/** BTCPay answered a Greenfield call with a refusal (4xx), in words; it will not do it. */
export class BtcpayRefusal extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

const words = (err: unknown): string =>
  err instanceof BtcpayRefusal || err instanceof FlashError
    ? err.message
    : 'BTCPay could not mark the sale paid.'

const refused = (err: unknown): boolean => err instanceof BtcpayRefusal

export class InternalSettlement {
  /** One settlement at a time per payment hash (a repeat waits for the first). */
  private readonly inFlight = new Map<string, Promise<SettlementAnswer>>()

  constructor(
    private readonly store: SettlementStore,
    private readonly invoices: () => OwnInvoices,
    private readonly log: Logger,
  ) {}

  /** POST /pay: settle the store's invoice for this hash once; a repeat answers the record. */
  pay(req: SettlementRequest): Promise<SettlementAnswer> {
    return this.once(req.paymentHash, () => this.payNow(req))
  }

  /** POST /status: the recorded outcome (a settlement a crash interrupted is continued first). */
  async status(paymentHash: string): Promise<SettlementStatus> {
    if (!this.store.get(paymentHash)) return { state: 'UNKNOWN' }
    return this.once(paymentHash, () => this.continueRecorded(paymentHash))
  }

  /** At start (and unlock): every settlement a crash left at `marking` is finished. */
  async recover(): Promise<void> {
    for (const r of this.store.marking())
      await this.once(r.payment_hash, () => this.continueRecorded(r.payment_hash)).catch(
        (err: unknown) =>
          this.log.warn('internal settlement not finished yet', {
            paymentHash: r.payment_hash,
            error: String(err),
          }),
      )
  }

  private once(hash: string, run: () => Promise<SettlementAnswer>): Promise<SettlementAnswer> {
    const before = this.inFlight.get(hash)
    if (before) return before.catch(() => undefined).then(() => this.once(hash, run))
    const p = run().finally(() => {
      if (this.inFlight.get(hash) === p) this.inFlight.delete(hash)
    })
    this.inFlight.set(hash, p)
    return p
  }

  private async payNow(req: SettlementRequest): Promise<SettlementAnswer> {
    if (this.store.get(req.paymentHash)) return this.continueRecorded(req.paymentHash)
    const own = this.invoices()
    const inv = await own.find(req.paymentHash)
    if (!inv) return { state: 'NOT_INTERNAL' }
    const record = (state: Step, reason: string | null) =>
      this.store.begin({
        payment_hash: req.paymentHash,
        invoice_id: inv.invoiceId,
        amount_msat: req.amountMsat,
        melt_quote: req.meltQuote,
        bolt11: req.bolt11,
        state,
        reason,
      })
    if (req.amountMsat !== inv.amountMsat) {
      const reason = `The amount (${req.amountMsat} msat) is not the sale’s (${inv.amountMsat} msat).`
      record('failed', reason)
      this.log.warn('internal settlement refused: amount mismatch', {
        invoiceId: inv.invoiceId,
        amountMsat: req.amountMsat,
        invoiceMsat: inv.amountMsat,
      })
      return this.answerOf(req.paymentHash)
    }
    const st = await own.state(inv.invoiceId)
    if (st.status !== 'New') {
      record('failed', notOpen(st))
      return this.answerOf(req.paymentHash)
    }
    // Written (and fsync'd) before BTCPay hears of it: a crash from here on is continued from
    // BTCPay's own record, never started again.
    record('marking', null)
    this.log.info('settling a sale inside the box', {
      invoiceId: inv.invoiceId,
      meltQuote: req.meltQuote,
      amountMsat: req.amountMsat,
    })
    return this.mark(req.paymentHash, inv.invoiceId)
  }

  /** Calls Greenfield for a `marking` row and records the outcome. */
  private async mark(hash: string, invoiceId: string): Promise<SettlementAnswer> {
    const own = this.invoices()
    try {
      await own.markSettled(invoiceId)
      this.store.finish(hash, 'paid')
    } catch (err) {
      // BTCPay may have done it before the answer was lost, or refused: its record decides.
      let st: InvoiceState
      try {
        st = await own.state(invoiceId)
      } catch {
        this.log.warn('internal settlement waits for BTCPay', { invoiceId, error: String(err) })
        return { state: 'PENDING' }
      }
      if (st.status === 'Settled' && st.additionalStatus === 'Marked')
        this.store.finish(hash, 'paid')
      else if (st.status === 'New' && !refused(err)) return { state: 'PENDING' }
      else this.store.finish(hash, 'failed', st.status === 'New' ? words(err) : notOpen(st))
    }
    return this.answerOf(hash)
  }

  /** A recorded hash: its outcome, or (still `marking`) the step continued from BTCPay's record. */
  private async continueRecorded(hash: string): Promise<SettlementAnswer> {
    const row = this.store.get(hash)!
    if (row.state !== 'marking' || !row.invoice_id) return this.answerOf(hash)
    let st: InvoiceState
    try {
      st = await this.invoices().state(row.invoice_id)
    } catch {
      return { state: 'PENDING' }
    }
    if (st.status === 'Settled' && st.additionalStatus === 'Marked') {
      this.store.finish(hash, 'paid')
      return this.answerOf(hash)
    }
    if (st.status === 'New') return this.mark(hash, row.invoice_id)
    this.store.finish(hash, 'failed', notOpen(st))
    return this.answerOf(hash)
  }

  private async answerOf(hash: string): Promise<SettlementAnswer> {
    const row = this.store.get(hash)!
    if (row.state === 'failed')
      return { state: 'FAILED', reason: row.reason ?? 'The sale could not be settled.' }
    if (row.state === 'marking') return { state: 'PENDING' }
    const own = this.invoices()
    const preimage = await own.preimage(hash).catch((err: unknown) => {
      this.log.warn('preimage not read from LND', { error: String(err) })
      return null
    })
    // Every answer closes it again (idempotent), so a crash before the first close is mended.
    await own.closeLightning(hash).catch((err: unknown) =>
      this.log.warn('the settled sale’s Lightning invoice is still open in LND', {
        invoiceId: row.invoice_id,
        error: String(err),
      }),
    )
    return { state: 'PAID', preimage }
  }
}

function notOpen(st: InvoiceState): string {
  if (st.status === 'Settled') return 'This sale was already paid.'
  if (st.status === 'Expired') return 'This sale’s invoice expired.'
  if (st.status === 'Invalid') return 'This sale was cancelled in BTCPay.'
  if (st.status === 'Processing') return 'This sale is already being paid.'
  return `This sale is not waiting for payment (${st.status}).`
}
