// Flash Cards on disk: one SQLite file (<dataDir>/boltcard/cards.sqlite) with the cards (no
// keys, no UID: a card is found by a hash of its UID), their taps and the Boltcard app's one-time
// links (programming-links.ts). The card keys are in a sealed file beside it (card-keys.json).
// The counter check is one conditional UPDATE, so two taps with the same counter can never both
// pass.
import { DatabaseSync } from 'node:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { FlashCardState } from '../../shared/api/boltcard'
import { ProgrammingLinks } from './programming-links'

export interface CardRow {
  id: string
  name: string
  pull_payment_id: string
  state: FlashCardState
  uid_hash: string | null
  key_version: number | null
  last_counter: number
  per_tap_sat: number
  per_day_sat: number
  created_at: number
  programmed_at: number | null
  last_used_at: number | null
  last_declined: string | null
  /**
   * When the Boltcard app took the card's keys to wipe it (ms); null when no reset is waiting. The
   * box cannot see the app wipe the card, so the card stays programmed until the reset is
   * confirmed (the card answers with factory keys on the computer's reader, or the owner says so).
   */
  reset_pending_at: number | null
}

export type TapState = 'offered' | 'paying' | 'paid' | 'failed'

export interface TapRow {
  k1: string
  card_id: string
  counter: number
  max_sat: number
  state: TapState
  amount_sat: number | null
  payout_id: string | null
  payment_hash: string | null
  /** The terminal's invoice, once reserved (public: it is what BTCPay's payout pays). */
  bolt11: string | null
  /** The pull payment the tap is claimed on (the card's, when it was reserved). */
  pull_payment_id: string | null
  reason: string | null
  created_at: number
  expires_at: number
  /**
   * 1 while a paid tap's payout is not yet marked paid in BTCPay (the money has gone out; BTCPay
   * must still be told, tap-settlement.ts); 0 or null when there is nothing left to tell.
   */
  btcpay_untold: number | null
  /** Why BTCPay did not take the last "mark paid", in plain words. */
  btcpay_reason: string | null
}

export class CardStore {
  private readonly db: DatabaseSync
  /** The Boltcard app's one-time links (programming-links.ts), in the same file. */
  readonly links: ProgrammingLinks

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = FULL')
    this.db.exec(`CREATE TABLE IF NOT EXISTS cards (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      pull_payment_id TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('issued','programmed','frozen','reset')),
      uid_hash TEXT UNIQUE,
      key_version INTEGER,
      last_counter INTEGER NOT NULL DEFAULT -1,
      per_tap_sat INTEGER NOT NULL,
      per_day_sat INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      programmed_at INTEGER,
      last_used_at INTEGER,
      last_declined TEXT
    )`)
    const cardColumns = this.db.prepare('PRAGMA table_info(cards)').all() as { name: string }[]
    if (!cardColumns.some((c) => c.name === 'reset_pending_at'))
      this.db.exec('ALTER TABLE cards ADD COLUMN reset_pending_at INTEGER')
    this.db.exec(`CREATE TABLE IF NOT EXISTS taps (
      k1 TEXT PRIMARY KEY,
      card_id TEXT NOT NULL,
      counter INTEGER NOT NULL,
      max_sat INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('offered','paying','paid','failed')),
      amount_sat INTEGER,
      payout_id TEXT,
      payment_hash TEXT,
      reason TEXT,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`)
    const columns = this.db.prepare('PRAGMA table_info(taps)').all() as { name: string }[]
    for (const [column, type] of [
      ['bolt11', 'TEXT'],
      ['pull_payment_id', 'TEXT'],
      ['btcpay_untold', 'INTEGER'],
      ['btcpay_reason', 'TEXT'],
    ] as const)
      if (!columns.some((c) => c.name === column))
        this.db.exec(`ALTER TABLE taps ADD COLUMN ${column} ${type}`)
    this.links = new ProgrammingLinks(this.db)
  }

  private readonly queues = new Map<string, Promise<unknown>>()

  /**
   * Runs `fn` after every earlier serialized call for the same card has ended (a tap's booking,
   * a top-up): one at a time per card.
   */
  async serialized<T>(cardId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.queues.get(cardId) ?? Promise.resolve()
    const run = before.then(fn, fn)
    const tail = run.catch(() => undefined)
    this.queues.set(cardId, tail)
    try {
      return await run
    } finally {
      if (this.queues.get(cardId) === tail) this.queues.delete(cardId)
    }
  }

  close(): void {
    this.db.close()
  }

  create(
    c: Pick<CardRow, 'id' | 'name' | 'pull_payment_id' | 'per_tap_sat' | 'per_day_sat'>,
  ): void {
    this.db
      .prepare(
        `INSERT INTO cards (id, name, pull_payment_id, state, per_tap_sat, per_day_sat, created_at)
         VALUES (?, ?, ?, 'issued', ?, ?, ?)`,
      )
      .run(c.id, c.name, c.pull_payment_id, c.per_tap_sat, c.per_day_sat, Date.now())
  }

  get(id: string): CardRow | undefined {
    return this.db.prepare('SELECT * FROM cards WHERE id = ?').get(id) as CardRow | undefined
  }

  byUidHash(h: string): CardRow | undefined {
    return this.db.prepare('SELECT * FROM cards WHERE uid_hash = ?').get(h) as CardRow | undefined
  }

  list(): CardRow[] {
    return this.db
      .prepare('SELECT * FROM cards ORDER BY created_at DESC')
      .all() as unknown as CardRow[]
  }

  /** The card now carries its keys: a new card on it starts counting from the card's counter 0. */
  programmed(id: string, uidHash: string, keyVersion: number): void {
    this.db
      .prepare(
        `UPDATE cards SET state = 'programmed', uid_hash = ?, key_version = ?, last_counter = -1,
           programmed_at = ? WHERE id = ?`,
      )
      .run(uidHash, keyVersion, Date.now(), id)
  }

  setState(id: string, state: FlashCardState): void {
    this.db.prepare('UPDATE cards SET state = ? WHERE id = ?').run(state, id)
  }

  /** After a reset the card is blank: it no longer answers to its UID here. */
  wiped(id: string): void {
    this.db
      .prepare(
        `UPDATE cards SET state = 'reset', uid_hash = NULL, reset_pending_at = NULL WHERE id = ?`,
      )
      .run(id)
  }

  /** The Boltcard app took the keys to reset the card; not confirmed yet. */
  resetPending(id: string, at: number): void {
    this.db.prepare('UPDATE cards SET reset_pending_at = ? WHERE id = ?').run(at, id)
  }

  /** The card proved it still has its keys: the reset waiting did not happen. */
  resetNotDone(id: string): void {
    this.db.prepare('UPDATE cards SET reset_pending_at = NULL WHERE id = ?').run(id)
  }

  setLimits(id: string, perTapSat: number, perDaySat: number): void {
    this.db
      .prepare('UPDATE cards SET per_tap_sat = ?, per_day_sat = ? WHERE id = ?')
      .run(perTapSat, perDaySat, id)
  }

  setPullPayment(id: string, pullPaymentId: string): void {
    this.db.prepare('UPDATE cards SET pull_payment_id = ? WHERE id = ?').run(pullPaymentId, id)
  }

  declined(id: string, reason: string): void {
    this.db.prepare('UPDATE cards SET last_declined = ? WHERE id = ?').run(reason, id)
  }

  /**
   * Accepts a tap's counter only when it is above every counter seen before (Boltcard SPEC:
   * "must only accept an increasing counter value"). False: replayed or cloned.
   */
  advanceCounter(id: string, counter: number): boolean {
    const r = this.db
      .prepare(
        `UPDATE cards SET last_counter = ?, last_used_at = ? WHERE id = ? AND last_counter < ?`,
      )
      .run(counter, Date.now(), id, counter)
    return Number(r.changes) === 1
  }

  offer(t: Pick<TapRow, 'k1' | 'card_id' | 'counter' | 'max_sat' | 'expires_at'>): void {
    this.db
      .prepare(
        `INSERT INTO taps (k1, card_id, counter, max_sat, state, created_at, expires_at)
         VALUES (?, ?, ?, ?, 'offered', ?, ?)`,
      )
      .run(t.k1, t.card_id, t.counter, t.max_sat, Date.now(), t.expires_at)
  }

  /** Takes an offered tap for paying, once: undefined when unknown, used or expired. */
  take(k1: string): TapRow | undefined {
    const r = this.db
      .prepare(
        `UPDATE taps SET state = 'paying' WHERE k1 = ? AND state = 'offered' AND expires_at > ?`,
      )
      .run(k1, Date.now())
    if (Number(r.changes) !== 1) return undefined
    return this.db.prepare('SELECT * FROM taps WHERE k1 = ?').get(k1) as unknown as TapRow
  }

  tap(k1: string): TapRow | undefined {
    return this.db.prepare('SELECT * FROM taps WHERE k1 = ?').get(k1) as TapRow | undefined
  }

  /**
   * Books a taken tap's amount and invoice, in one statement with the card's per-tap limit and
   * its day limit (every tap paying or paid since `since`): false when it does not fit.
   */
  reserve(k1: string, amountSat: number, bolt11: string, since: number): boolean {
    const r = this.db
      .prepare(
        `UPDATE taps SET amount_sat = :amount, bolt11 = :bolt11,
           pull_payment_id = (SELECT pull_payment_id FROM cards WHERE cards.id = taps.card_id)
         WHERE k1 = :k1 AND state = 'paying' AND amount_sat IS NULL
           AND :amount <= (SELECT per_tap_sat FROM cards WHERE cards.id = taps.card_id)
           AND :amount + (SELECT COALESCE(SUM(t.amount_sat), 0) FROM taps t
                          WHERE t.card_id = taps.card_id AND t.state IN ('paying','paid')
                            AND t.amount_sat IS NOT NULL AND t.created_at >= :since)
               <= (SELECT per_day_sat FROM cards WHERE cards.id = taps.card_id)`,
      )
      .run({ amount: amountSat, bolt11, k1, since })
    return Number(r.changes) === 1
  }

  /** The tap's payout is booked in BTCPay. */
  claimed(k1: string, payoutId: string): void {
    this.db.prepare('UPDATE taps SET payout_id = ? WHERE k1 = ?').run(payoutId, k1)
  }

  /** The tap's payment is about to be handed to the payment saga. */
  sending(k1: string, paymentHash: string): void {
    this.db.prepare('UPDATE taps SET payment_hash = ? WHERE k1 = ?').run(paymentHash, k1)
  }

  finish(k1: string, state: 'paid' | 'failed', reason: string | null = null): void {
    this.db.prepare('UPDATE taps SET state = ?, reason = ? WHERE k1 = ?').run(state, reason, k1)
  }

  /**
   * The tap's payment went out and BTCPay must now be told (its payout marked paid): one
   * statement, so from here the tap is paid for good and only the telling is left.
   */
  paidUntold(k1: string): void {
    this.db
      .prepare(
        `UPDATE taps SET state = 'paid', reason = NULL, btcpay_untold = 1, btcpay_reason = NULL
         WHERE k1 = ?`,
      )
      .run(k1)
  }

  /** BTCPay took the payout as paid. */
  told(k1: string): void {
    this.db.prepare('UPDATE taps SET btcpay_untold = 0, btcpay_reason = NULL WHERE k1 = ?').run(k1)
  }

  /** BTCPay did not take it (yet): why, for the owner. */
  notTold(k1: string, reason: string): void {
    this.db.prepare('UPDATE taps SET btcpay_reason = ? WHERE k1 = ?').run(reason, k1)
  }

  /** Paid taps whose payout BTCPay has not been told about yet, oldest first; of one card or all. */
  untold(cardId?: string): TapRow[] {
    const rows = cardId
      ? this.db
          .prepare(
            `SELECT * FROM taps WHERE state = 'paid' AND btcpay_untold = 1 AND card_id = ?
             ORDER BY created_at`,
          )
          .all(cardId)
      : this.db
          .prepare(
            `SELECT * FROM taps WHERE state = 'paid' AND btcpay_untold = 1 ORDER BY created_at`,
          )
          .all()
    return rows as unknown as TapRow[]
  }

  /** Paid or being paid by the card's taps since `since` (ms). */
  spentSince(cardId: string, since: number): number {
    const r = this.db
      .prepare(
        `SELECT COALESCE(SUM(amount_sat), 0) AS s FROM taps
         WHERE card_id = ? AND state IN ('paying','paid') AND amount_sat IS NOT NULL AND created_at >= ?`,
      )
      .get(cardId, since) as { s: number }
    return Number(r.s)
  }

  /** Taps left `paying` by a crash or a payment still in flight (tap-settlement.ts). */
  unfinished(): TapRow[] {
    return this.db.prepare(`SELECT * FROM taps WHERE state = 'paying'`).all() as unknown as TapRow[]
  }
}
