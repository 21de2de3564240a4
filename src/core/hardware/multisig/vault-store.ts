// The vaults the box keeps and their spends, in <dataDir>/hardware/vaults.sqlite (node:sqlite,
// WAL, synchronous FULL: every step of a spend is on disk before the next one begins). Only public
// data: descriptors' keys, PSBTs and transactions; no private key is ever stored here.
import { mkdirSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { VaultSpendReview, VaultSpendState } from '../../../shared/api/hardware'
import type { SavedVault } from './vault-keys'

export interface SpendRow {
  id: string
  vault_id: string
  state: VaultSpendState
  psbt: string
  review_json: string
  coins_json: string
  txid: string | null
  raw_hex: string | null
  failure: string | null
  created_at: number
  updated_at: number
}

/** The review as stored at each step (the row's columns give the rest). */
export type StoredReview = Pick<
  VaultSpendReview,
  'inputSat' | 'outputs' | 'feeSat' | 'feeRate' | 'vsize' | 'offline' | 'coins'
>

export class VaultStore {
  private readonly db: DatabaseSync

  constructor(dataDir: string) {
    const dir = join(dataDir, 'hardware')
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    this.db = new DatabaseSync(join(dir, 'vaults.sqlite'))
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = FULL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS vaults (id TEXT PRIMARY KEY, json TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS spends (
        id TEXT PRIMARY KEY,
        vault_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('unsigned','signed','broadcasting','broadcast','seen','refused','discarded')),
        psbt TEXT NOT NULL,
        review_json TEXT NOT NULL,
        coins_json TEXT NOT NULL,
        txid TEXT,
        raw_hex TEXT,
        failure TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS spends_vault ON spends (vault_id, created_at);`)
  }

  vaults(): SavedVault[] {
    return (
      this.db.prepare('SELECT json FROM vaults ORDER BY created_at').all() as { json: string }[]
    ).map((r) => JSON.parse(r.json) as SavedVault)
  }

  /** Keeps a vault; the same vault again is a no-op (its id comes from its descriptor). */
  putVault(v: SavedVault): void {
    this.db
      .prepare('INSERT OR IGNORE INTO vaults (id, json, created_at) VALUES (?, ?, ?)')
      .run(v.id, JSON.stringify(v), v.createdAt)
  }

  spend(id: string): SpendRow | undefined {
    return this.db.prepare('SELECT * FROM spends WHERE id = ?').get(id) as SpendRow | undefined
  }

  spends(vaultId: string, limit = 50): SpendRow[] {
    return this.db
      .prepare('SELECT * FROM spends WHERE vault_id = ? ORDER BY created_at DESC LIMIT ?')
      .all(vaultId, limit) as unknown as SpendRow[]
  }

  /** Rows a restart or a chain change must look at. */
  unresolved(): SpendRow[] {
    return this.db
      .prepare(`SELECT * FROM spends WHERE state IN ('signed','broadcasting','broadcast')`)
      .all() as unknown as SpendRow[]
  }

  /** Coins a new spend must not pick: those of spends signed and not given up or refused. */
  heldCoins(vaultId: string): Set<string> {
    const rows = this.db
      .prepare(
        `SELECT coins_json FROM spends WHERE vault_id = ? AND state IN ('signed','broadcasting','broadcast')`,
      )
      .all(vaultId) as { coins_json: string }[]
    return new Set(rows.flatMap((r) => JSON.parse(r.coins_json) as string[]))
  }

  insertUnsigned(r: {
    vaultId: string
    psbt: string
    review: StoredReview
    coins: string[]
  }): string {
    const id = randomBytes(16).toString('hex')
    const now = Date.now()
    this.db
      .prepare(
        `INSERT INTO spends (id, vault_id, state, psbt, review_json, coins_json, created_at, updated_at)
         VALUES (?, ?, 'unsigned', ?, ?, ?, ?, ?)`,
      )
      .run(id, r.vaultId, r.psbt, JSON.stringify(r.review), JSON.stringify(r.coins), now, now)
    return id
  }

  /**
   * Moves a spend from one of `from` to `to`, setting the given columns, in one statement: true
   * when it moved (a spend another call already moved on stays where that call put it).
   */
  move(
    id: string,
    from: readonly VaultSpendState[],
    to: VaultSpendState,
    set: Partial<Pick<SpendRow, 'review_json' | 'txid' | 'raw_hex' | 'failure'>> = {},
  ): boolean {
    const cols = Object.keys(set) as (keyof typeof set)[]
    const res = this.db
      .prepare(
        `UPDATE spends SET state = ?, updated_at = ?${cols.map((c) => `, ${c} = ?`).join('')}
         WHERE id = ? AND state IN (${from.map(() => '?').join(',')})`,
      )
      .run(to, Date.now(), ...cols.map((c) => set[c] ?? null), id, ...from)
    return Number(res.changes) === 1
  }

  close(): void {
    this.db.close()
  }
}
