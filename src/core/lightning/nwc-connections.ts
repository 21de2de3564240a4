// The owner's Nostr Wallet Connect connections (NIP-47), one per app: its keys' public halves,
// the methods it may call, its budget, and the money it reserved and spent. SQLite, so a budget
// survives a crash: a payment first RESERVES its amount plus fee limit (checked against the budget
// in one transaction), then is SETTLED at what it really cost or RELEASED when it failed or was
// never sent. A reservation left over by a crash is settled or released from the payment saga's
// own record (src/core/lightning/payment-saga.ts) on the next start.
// https://github.com/nostr-protocol/nips/blob/master/47.md
import { DatabaseSync } from 'node:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { BudgetPeriod, NwcMethod } from '../../shared/api/wallet-service'

export interface ConnectionRow {
  readonly id: string
  readonly name: string
  readonly service_pubkey: string
  readonly client_pubkey: string
  readonly methods: string
  readonly budget_sat: number | null
  readonly budget_period: BudgetPeriod
  readonly relays: string
  readonly created_at: number
  readonly revoked_at: number | null
  readonly last_used_at: number | null
  readonly box_relay: string | null
}

export interface Connection {
  readonly id: string
  readonly name: string
  readonly servicePubkey: string
  readonly clientPubkey: string
  readonly methods: readonly NwcMethod[]
  /** null: no budget (only the box's per-payment limit applies). */
  readonly budgetSat: number | null
  readonly budgetPeriod: BudgetPeriod
  readonly relays: readonly string[]
  /**
   * Which of `relays` is the box's own relay, as the app was given it: the box's address can
   * change later (Settings → Reachability), and the service must still reach it as its own.
   * Null: no box relay in the connection, or made before this was kept and not recognised since.
   */
  readonly boxRelay: string | null
  readonly createdAt: number
  readonly revokedAt: number | null
  readonly lastUsedAt: number | null
}

const toConnection = (r: ConnectionRow): Connection => ({
  id: r.id,
  name: r.name,
  servicePubkey: r.service_pubkey,
  clientPubkey: r.client_pubkey,
  methods: r.methods.split(' ').filter(Boolean) as NwcMethod[],
  budgetSat: r.budget_sat,
  budgetPeriod: r.budget_period,
  relays: JSON.parse(r.relays) as string[],
  boxRelay: r.box_relay ?? null,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
})

/**
 * Start of the budget window that holds `now` (UTC calendar: the day, the ISO week from Monday,
 * the month; `total` never renews).
 */
export function budgetWindowStart(period: BudgetPeriod, now: number): number {
  const d = new Date(now)
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
  switch (period) {
    case 'daily':
      return day
    case 'weekly':
      return day - ((d.getUTCDay() + 6) % 7) * 86_400_000
    case 'monthly':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    case 'total':
      return 0
  }
}

/** When the window that holds `now` ends (null: never). */
export function budgetWindowEnd(period: BudgetPeriod, now: number): number | null {
  const start = budgetWindowStart(period, now)
  const d = new Date(start)
  switch (period) {
    case 'daily':
      return start + 86_400_000
    case 'weekly':
      return start + 7 * 86_400_000
    case 'monthly':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
    case 'total':
      return null
  }
}

export type ReserveResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'quota'; readonly remainingSat: number }
  | { readonly ok: false; readonly reason: 'duplicate' }

export class NwcConnectionStore {
  private readonly db: DatabaseSync

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = FULL')
    this.db.exec(`CREATE TABLE IF NOT EXISTS connections (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      service_pubkey TEXT NOT NULL UNIQUE,
      client_pubkey TEXT NOT NULL UNIQUE,
      methods TEXT NOT NULL,
      budget_sat INTEGER,
      budget_period TEXT NOT NULL CHECK (budget_period IN ('daily','weekly','monthly','total')),
      relays TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      revoked_at INTEGER,
      last_used_at INTEGER,
      box_relay TEXT
    )`)
    // A store made before box_relay was kept gets the column (its rows start at NULL).
    const columns = this.db.prepare('PRAGMA table_info(connections)').all() as { name: string }[]
    if (!columns.some((c) => c.name === 'box_relay'))
      this.db.exec('ALTER TABLE connections ADD COLUMN box_relay TEXT')
    this.db.exec(`CREATE TABLE IF NOT EXISTS reservations (
      connection_id TEXT NOT NULL REFERENCES connections(id),
      hash TEXT NOT NULL,
      reserved_sat INTEGER NOT NULL,
      spent_sat INTEGER,
      state TEXT NOT NULL CHECK (state IN ('reserved','settled','released')),
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (connection_id, hash)
    )`)
    // Invoices a connection made: lookup_invoice and list_transactions show an app only its own.
    this.db.exec(`CREATE TABLE IF NOT EXISTS invoices (
      connection_id TEXT NOT NULL REFERENCES connections(id),
      hash TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (connection_id, hash)
    )`)
    // Request events already taken: a relay that delivers one again (or after a restart) does
    // not run it twice.
    this.db.exec(`CREATE TABLE IF NOT EXISTS requests (
      event_id TEXT PRIMARY KEY,
      received_at INTEGER NOT NULL
    )`)
  }

  create(c: Omit<Connection, 'revokedAt' | 'lastUsedAt'>): Connection {
    this.db
      .prepare(
        `INSERT INTO connections (id, name, service_pubkey, client_pubkey, methods, budget_sat,
           budget_period, relays, created_at, box_relay) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        c.id,
        c.name,
        c.servicePubkey,
        c.clientPubkey,
        c.methods.join(' '),
        c.budgetSat,
        c.budgetPeriod,
        JSON.stringify(c.relays),
        c.createdAt,
        c.boxRelay,
      )
    return this.get(c.id)!
  }

  /** Records which relay of a connection made before box_relay was kept is the box's own. */
  setBoxRelay(id: string, url: string): void {
    this.db
      .prepare('UPDATE connections SET box_relay = ? WHERE id = ? AND box_relay IS NULL')
      .run(url, id)
  }

  get(id: string): Connection | undefined {
    const r = this.db.prepare('SELECT * FROM connections WHERE id = ?').get(id) as
      ConnectionRow | undefined
    return r ? toConnection(r) : undefined
  }

  byServicePubkey(pubkey: string): Connection | undefined {
    const r = this.db.prepare('SELECT * FROM connections WHERE service_pubkey = ?').get(pubkey) as
      ConnectionRow | undefined
    return r ? toConnection(r) : undefined
  }

  list(): Connection[] {
    return (
      this.db
        .prepare('SELECT * FROM connections ORDER BY created_at DESC')
        .all() as unknown as ConnectionRow[]
    ).map(toConnection)
  }

  revoke(id: string, now = Date.now()): boolean {
    const r = this.db
      .prepare('UPDATE connections SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(now, id)
    return Number(r.changes) === 1
  }

  touch(id: string, now = Date.now()): void {
    this.db.prepare('UPDATE connections SET last_used_at = ? WHERE id = ?').run(now, id)
  }

  /** Marks a request event as taken; false when it was taken before. */
  takeRequest(eventId: string, now = Date.now()): boolean {
    const r = this.db
      .prepare('INSERT OR IGNORE INTO requests (event_id, received_at) VALUES (?, ?)')
      .run(eventId, now)
    return Number(r.changes) === 1
  }

  /** Forgets request ids older than `before` (a relay does not hold ephemeral requests that long). */
  pruneRequests(before: number): void {
    this.db.prepare('DELETE FROM requests WHERE received_at < ?').run(before)
  }

  /** Reserved plus settled in the connection's current window. */
  usedSat(c: Connection, now = Date.now()): number {
    const since = budgetWindowStart(c.budgetPeriod, now)
    const row = this.db
      .prepare(
        `SELECT COALESCE(SUM(CASE state WHEN 'reserved' THEN reserved_sat
                                        WHEN 'settled' THEN spent_sat ELSE 0 END), 0) AS used
         FROM reservations WHERE connection_id = ? AND created_at >= ?`,
      )
      .get(c.id, since) as { used: number }
    return Number(row.used)
  }

  /**
   * Reserves `sat` (amount plus fee limit) for a payment hash, in one transaction with the
   * budget check, so two requests at once cannot both slip under the budget.
   */
  reserve(c: Connection, hash: string, sat: number, now = Date.now()): ReserveResult {
    this.db.exec('BEGIN IMMEDIATE')
    try {
      const existing = this.db
        .prepare('SELECT state FROM reservations WHERE connection_id = ? AND hash = ?')
        .get(c.id, hash) as { state: string } | undefined
      if (existing && existing.state !== 'released') {
        this.db.exec('ROLLBACK')
        return { ok: false, reason: 'duplicate' }
      }
      if (c.budgetSat !== null) {
        const used = this.usedSat(c, now)
        if (used + sat > c.budgetSat) {
          this.db.exec('ROLLBACK')
          return { ok: false, reason: 'quota', remainingSat: Math.max(0, c.budgetSat - used) }
        }
      }
      this.db
        .prepare(
          `INSERT INTO reservations (connection_id, hash, reserved_sat, spent_sat, state,
             created_at, updated_at) VALUES (?, ?, ?, NULL, 'reserved', ?, ?)
           ON CONFLICT(connection_id, hash) DO UPDATE SET reserved_sat = excluded.reserved_sat,
             spent_sat = NULL, state = 'reserved', created_at = excluded.created_at,
             updated_at = excluded.updated_at`,
        )
        .run(c.id, hash, sat, now, now)
      this.db.exec('COMMIT')
      return { ok: true }
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
  }

  settle(connectionId: string, hash: string, spentSat: number, now = Date.now()): void {
    this.db
      .prepare(
        `UPDATE reservations SET state = 'settled', spent_sat = ?, updated_at = ?
         WHERE connection_id = ? AND hash = ? AND state = 'reserved'`,
      )
      .run(spentSat, now, connectionId, hash)
  }

  release(connectionId: string, hash: string, now = Date.now()): void {
    this.db
      .prepare(
        `UPDATE reservations SET state = 'released', updated_at = ?
         WHERE connection_id = ? AND hash = ? AND state = 'reserved'`,
      )
      .run(now, connectionId, hash)
  }

  unsettled(): { connection_id: string; hash: string }[] {
    return this.db
      .prepare("SELECT connection_id, hash FROM reservations WHERE state = 'reserved'")
      .all() as unknown as { connection_id: string; hash: string }[]
  }

  recordInvoice(connectionId: string, hash: string, now = Date.now()): void {
    this.db
      .prepare('INSERT OR IGNORE INTO invoices (connection_id, hash, created_at) VALUES (?, ?, ?)')
      .run(connectionId, hash, now)
  }

  /** The connection's own transactions (invoices it made, payments it sent), newest first. */
  transactions(
    connectionId: string,
  ): { hash: string; type: 'incoming' | 'outgoing'; created_at: number }[] {
    return this.db
      .prepare(
        `SELECT hash, 'incoming' AS type, created_at FROM invoices WHERE connection_id = ?
         UNION ALL
         SELECT hash, 'outgoing' AS type, created_at FROM reservations
           WHERE connection_id = ? AND state != 'released'
         ORDER BY created_at DESC`,
      )
      .all(connectionId, connectionId) as unknown as {
      hash: string
      type: 'incoming' | 'outgoing'
      created_at: number
    }[]
  }

  ownsInvoice(connectionId: string, hash: string): boolean {
    return (
      this.db
        .prepare('SELECT 1 FROM invoices WHERE connection_id = ? AND hash = ?')
        .get(connectionId, hash) !== undefined
    )
  }

  ownsPayment(connectionId: string, hash: string): boolean {
    return (
      this.db
        .prepare(
          "SELECT 1 FROM reservations WHERE connection_id = ? AND hash = ? AND state != 'released'",
        )
        .get(connectionId, hash) !== undefined
    )
  }

  close(): void {
    this.db.close()
  }
}
