// The box's own record of the shop (SQLite): invoices as BTCPay last told the box (webhooks and
// list refreshes), the webhook deliveries already handled (idempotency by BTCPay's original
// delivery id), rewards (one row per invoice: the pull payment that pays it back), and eCash
// payments of invoices (a saga: reviewed → sending → paid | failed).
import { DatabaseSync } from 'node:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { keepPreparedStatements } from '../sqlite-statements'

export interface InvoiceRow {
  id: string
  status: string
  additional_status: string
  amount: string
  currency: string
  created_at: number
  settled_at: number | null
  order_id: string | null
  description: string | null
  checkout_link: string
  /** The customer the sale names for its reward (metadata `flashboxRewardTo`), if any. */
  reward_to?: string | null
}

export type RewardMethod = 'claim' | 'card' | 'nostr'

/**
 * One reward per invoice, and the saga that delivers it. `step` is where a pending delivery is:
 * each step is written before the call that moves money, and its result right after, so a crash
 * or a second webhook continues from the record instead of starting again (reward-deliveries.ts).
 */
export interface RewardRow {
  invoice_id: string
  invoice_amount: string
  currency: string
  percent: number
  reward_amount: string
  state: 'pending' | 'issued' | 'failed'
  /** Claim: the reward's pull payment; card: the card's new pull payment. */
  pull_payment_id: string | null
  claim_link: string | null
  created_at: number
  method: RewardMethod
  /** card: the Flash Card id; nostr: the customer's public key (hex). */
  target: string | null
  /** The reward in sat (card and eCash deliveries). */
  reward_sat: number | null
  step: string | null
  /** nostr: the eCash wallet's mint quote and its send operation (the token stays sealed there). */
  quote_id: string | null
  ecash_op: string | null
  /** The delivered thing: pull payment id, or the NIP-17 message id. */
  reference: string | null
  reason: string | null
  updated_at: number | null
  /** nostr: how the reward's eCash was paid for — over Lightning, or settled inside the box. */
  funded_by: 'lightning' | 'internal' | null
}

export type RewardProgress = Partial<
  Pick<
    RewardRow,
    | 'state'
    | 'step'
    | 'quote_id'
    | 'ecash_op'
    | 'reference'
    | 'reason'
    | 'reward_sat'
    | 'pull_payment_id'
    | 'claim_link'
    | 'method'
    | 'target'
    | 'funded_by'
  >
>

export interface EcashPayRow {
  review_id: string
  invoice_id: string
  amount_sat: number
  fee_reserve_sat: number
  state: 'reviewed' | 'sending' | 'paid' | 'failed'
  fee_sat: number | null
  created_at: number
  updated_at: number
}

export class MerchantStore {
  private readonly db: DatabaseSync

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    this.db = keepPreparedStatements(new DatabaseSync(path))
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = NORMAL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS invoices (
        id TEXT PRIMARY KEY, status TEXT NOT NULL, additional_status TEXT NOT NULL,
        amount TEXT NOT NULL, currency TEXT NOT NULL, created_at INTEGER NOT NULL,
        settled_at INTEGER, order_id TEXT, description TEXT, checkout_link TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS invoices_created ON invoices(created_at);
      CREATE TABLE IF NOT EXISTS deliveries (
        original_id TEXT PRIMARY KEY, type TEXT NOT NULL, invoice_id TEXT, received_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS refused (
        at INTEGER NOT NULL, reason TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS rewards (
        invoice_id TEXT PRIMARY KEY, invoice_amount TEXT NOT NULL, currency TEXT NOT NULL,
        percent REAL NOT NULL, reward_amount TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending','issued','failed')),
        pull_payment_id TEXT, claim_link TEXT, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS ecash_payments (
        review_id TEXT PRIMARY KEY, invoice_id TEXT NOT NULL, amount_sat INTEGER NOT NULL,
        fee_reserve_sat INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('reviewed','sending','paid','failed')),
        fee_sat INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
    `)
    // Reward deliveries (card, eCash over NIP-17) came later: older databases gain the columns.
    const have = new Set(
      (this.db.prepare('PRAGMA table_info(rewards)').all() as { name: string }[]).map(
        (c) => c.name,
      ),
    )
    const columns: [string, string][] = [
      ['method', "TEXT NOT NULL DEFAULT 'claim'"],
      ['target', 'TEXT'],
      ['reward_sat', 'INTEGER'],
      ['step', 'TEXT'],
      ['quote_id', 'TEXT'],
      ['ecash_op', 'TEXT'],
      ['reference', 'TEXT'],
      ['reason', 'TEXT'],
      ['updated_at', 'INTEGER'],
      ['funded_by', 'TEXT'],
    ]
    for (const [name, type] of columns)
      if (!have.has(name)) this.db.exec(`ALTER TABLE rewards ADD COLUMN ${name} ${type}`)
    const invoiceColumns = (
      this.db.prepare('PRAGMA table_info(invoices)').all() as { name: string }[]
    ).map((c) => c.name)
    if (!invoiceColumns.includes('reward_to'))
      this.db.exec('ALTER TABLE invoices ADD COLUMN reward_to TEXT')
  }

  close(): void {
    this.db.close()
  }

  /** True the first time a delivery (by its original id) is seen; false for a repeat. */
  firstDelivery(originalId: string, type: string, invoiceId: string | null): boolean {
    const r = this.db
      .prepare(
        'INSERT OR IGNORE INTO deliveries (original_id, type, invoice_id, received_at) VALUES (?, ?, ?, ?)',
      )
      .run(originalId, type, invoiceId, Date.now())
    return r.changes === 1
  }

  deliveryCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM deliveries').get() as { n: number }).n
  }

  noteRefused(reason: string): void {
    this.db.prepare('INSERT INTO refused (at, reason) VALUES (?, ?)').run(Date.now(), reason)
  }

  refusedCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM refused').get() as { n: number }).n
  }

  upsertInvoice(r: InvoiceRow): void {
    this.db
      .prepare(
        `INSERT INTO invoices (id, status, additional_status, amount, currency, created_at, settled_at,
           order_id, description, checkout_link, reward_to)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status,
           additional_status = excluded.additional_status,
           settled_at = COALESCE(invoices.settled_at, excluded.settled_at),
           reward_to = COALESCE(excluded.reward_to, invoices.reward_to)`,
      )
      .run(
        r.id,
        r.status,
        r.additional_status,
        r.amount,
        r.currency,
        r.created_at,
        r.settled_at,
        r.order_id,
        r.description,
        r.checkout_link,
        r.reward_to ?? null,
      )
  }

  invoice(id: string): InvoiceRow | undefined {
    return this.db.prepare('SELECT * FROM invoices WHERE id = ?').get(id) as InvoiceRow | undefined
  }

  invoices(search?: string, status?: string, limit = 500): InvoiceRow[] {
    const like = search ? `%${search.toLowerCase()}%` : null
    return this.db
      .prepare(
        `SELECT * FROM invoices WHERE (? IS NULL OR status = ?)
           AND (? IS NULL OR lower(id) LIKE ? OR lower(COALESCE(order_id,'')) LIKE ?
                OR lower(COALESCE(description,'')) LIKE ? OR amount LIKE ?)
         ORDER BY created_at DESC LIMIT ?`,
      )
      .all(
        status ?? null,
        status ?? null,
        like,
        like,
        like,
        like,
        like,
        limit,
      ) as unknown as InvoiceRow[]
  }

  settledSince(since: number): InvoiceRow[] {
    return this.db
      .prepare(
        "SELECT * FROM invoices WHERE status = 'Settled' AND COALESCE(settled_at, created_at) >= ?",
      )
      .all(since) as unknown as InvoiceRow[]
  }

  /** Records the reward as pending; false when the invoice already has one (idempotent). */
  beginReward(
    r: Pick<
      RewardRow,
      'invoice_id' | 'invoice_amount' | 'currency' | 'percent' | 'reward_amount' | 'method'
    > & { target?: string | null },
  ): boolean {
    const now = Date.now()
    const res = this.db
      .prepare(
        `INSERT OR IGNORE INTO rewards (invoice_id, invoice_amount, currency, percent, reward_amount,
           state, created_at, method, target, updated_at)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
      )
      .run(
        r.invoice_id,
        r.invoice_amount,
        r.currency,
        r.percent,
        r.reward_amount,
        now,
        r.method,
        r.target ?? null,
        now,
      )
    return res.changes === 1
  }

  /** Records a step of the reward's delivery (synchronous: it is on disk when this returns). */
  rewardProgress(invoiceId: string, patch: RewardProgress): void {
    const keys = Object.keys(patch) as (keyof RewardProgress)[]
    if (!keys.length) return
    this.db
      .prepare(
        `UPDATE rewards SET ${keys.map((k) => `${k} = ?`).join(', ')}, updated_at = ? WHERE invoice_id = ?`,
      )
      .run(...keys.map((k) => patch[k] ?? null), Date.now(), invoiceId)
  }

  finishReward(
    invoiceId: string,
    state: 'issued' | 'failed',
    pullPaymentId: string | null,
    link: string | null,
  ): void {
    this.rewardProgress(invoiceId, {
      state,
      pull_payment_id: pullPaymentId,
      claim_link: link,
      step: null,
      reason: null,
    })
  }

  reward(invoiceId: string): RewardRow | undefined {
    return this.db.prepare('SELECT * FROM rewards WHERE invoice_id = ?').get(invoiceId) as
      RewardRow | undefined
  }

  rewards(state?: RewardRow['state']): RewardRow[] {
    return this.db
      .prepare('SELECT * FROM rewards WHERE (? IS NULL OR state = ?) ORDER BY created_at DESC')
      .all(state ?? null, state ?? null) as unknown as RewardRow[]
  }

  beginEcashPay(
    r: Pick<EcashPayRow, 'review_id' | 'invoice_id' | 'amount_sat' | 'fee_reserve_sat'>,
  ): void {
    const now = Date.now()
    this.db
      .prepare(
        `INSERT OR REPLACE INTO ecash_payments (review_id, invoice_id, amount_sat, fee_reserve_sat, state, fee_sat, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'reviewed', NULL, ?, ?)`,
      )
      .run(r.review_id, r.invoice_id, r.amount_sat, r.fee_reserve_sat, now, now)
  }

  ecashPay(reviewId: string): EcashPayRow | undefined {
    return this.db.prepare('SELECT * FROM ecash_payments WHERE review_id = ?').get(reviewId) as
      EcashPayRow | undefined
  }

  /** reviewed → sending, once: false when another call already took it. */
  claimEcashPay(reviewId: string): boolean {
    return (
      this.db
        .prepare(
          "UPDATE ecash_payments SET state = 'sending', updated_at = ? WHERE review_id = ? AND state = 'reviewed'",
        )
        .run(Date.now(), reviewId).changes === 1
    )
  }

  finishEcashPay(
    reviewId: string,
    state: 'paid' | 'failed' | 'sending',
    feeSat: number | null,
  ): void {
    this.db
      .prepare(
        'UPDATE ecash_payments SET state = ?, fee_sat = ?, updated_at = ? WHERE review_id = ?',
      )
      .run(state, feeSat, Date.now(), reviewId)
  }

  ecashSending(): EcashPayRow[] {
    return this.db
      .prepare("SELECT * FROM ecash_payments WHERE state = 'sending'")
      .all() as unknown as EcashPayRow[]
  }
}
