// The wallet's state on disk (node:sqlite, WAL, synchronous FULL): accounts (public descriptors
// only), every watched address with its last verified Electrum status and history, the wallet's
// raw transactions with their verification, the block headers those were checked against, the
// outputs other people's transactions spend into the wallet's (value and script, from the
// transactions electrs gave, checked against their ids: what a deposit's fee needs), BIP329
// labels, frozen coins and the handed-out address cursors. Each sync round is written in one SQL
// transaction, so a crash leaves the state before or after the round, never half of it; after a
// restart the stored statuses let the wallet fetch only what changed. No secret is stored here
// (the seed is sealed in its own file, see seed-sealing.ts).
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import type { DerivedAddress } from './account'
import type { HistoryItem } from './electrum-status'
import type { WalletAccount, WalletChain } from './types'

export interface StoredAddress {
  readonly account: string
  readonly derived: DerivedAddress
  status: string | null
  history: HistoryItem[]
}

export interface StoredTx {
  readonly account: string
  readonly txid: string
  readonly hex: string
  /** Block height; 0 while unconfirmed. */
  height: number
  blockHash: string | null
  /** Unix seconds. */
  blockTime: number | null
  verified: boolean
  readonly firstSeen: string
  /** live: in the account's history now; gone: it left (replaced, double-spent, evicted). */
  state: 'live' | 'gone'
  /** It was confirmed and verified once (a later orphaning is reported as a reorg). */
  everConfirmed: boolean
}

/** An output a transaction spends, as far as its fee needs: value and script (hex). */
export interface Prevout {
  readonly valueSat: number
  readonly script: string
}

export class WalletStore {
  private readonly db: DatabaseSync
  /** Prepared once, run many times: a sync writes thousands of rows, and parsing SQL cost more than the writes. */
  private readonly statements = new Map<string, StatementSync>()

  private prepare(sql: string): StatementSync {
    let st = this.statements.get(sql)
    if (!st) {
      st = this.db.prepare(sql)
      this.statements.set(sql, st)
    }
    return st
  }

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL')
    // Sync rounds (a cache electrs can give again) commit with NORMAL: atomic, and a power cut
    // can only lose the last rounds, which the next start fetches again because the stored
    // statuses are older. What the owner typed (labels, frozen coins, accounts, handed-out
    // addresses) is written with FULL (`durable`), fsync'd before the call returns.
    this.db.exec('PRAGMA synchronous = NORMAL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, pos INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS addresses (
        account TEXT NOT NULL, chain INTEGER NOT NULL, idx INTEGER NOT NULL,
        derived TEXT NOT NULL, status TEXT, history TEXT NOT NULL,
        PRIMARY KEY (account, chain, idx));
      CREATE TABLE IF NOT EXISTS txs (
        account TEXT NOT NULL, txid TEXT NOT NULL, hex TEXT NOT NULL, height INTEGER NOT NULL,
        block_hash TEXT, block_time INTEGER, verified INTEGER NOT NULL, first_seen TEXT NOT NULL,
        state TEXT NOT NULL, ever_confirmed INTEGER NOT NULL,
        PRIMARY KEY (account, txid));
      CREATE TABLE IF NOT EXISTS headers (height INTEGER PRIMARY KEY, hex TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS prevouts (txid TEXT NOT NULL, vout INTEGER NOT NULL,
        value INTEGER NOT NULL, script TEXT NOT NULL, PRIMARY KEY (txid, vout));
      CREATE TABLE IF NOT EXISTS labels (
        account TEXT NOT NULL, type TEXT NOT NULL, ref TEXT NOT NULL, label TEXT NOT NULL,
        PRIMARY KEY (account, type, ref));
      CREATE TABLE IF NOT EXISTS frozen (account TEXT NOT NULL, outpoint TEXT NOT NULL,
        PRIMARY KEY (account, outpoint));
      CREATE TABLE IF NOT EXISTS cursors (account TEXT NOT NULL, chain INTEGER NOT NULL,
        handed INTEGER NOT NULL, PRIMARY KEY (account, chain));
    `)
  }

  close(): void {
    this.db.close()
  }

  /** Runs `fn` fsync'd before returning (the owner's own edits). */
  durable<T>(fn: () => T): T {
    this.db.exec('PRAGMA synchronous = FULL')
    try {
      return this.transaction(fn)
    } finally {
      this.db.exec('PRAGMA synchronous = NORMAL')
    }
  }

  /** Runs `fn` in one SQL transaction (all of it is written, or none). */
  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE')
    try {
      const out = fn()
      this.db.exec('COMMIT')
      return out
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
  }

  // --- accounts -------------------------------------------------------------------------------
  accounts(): WalletAccount[] {
    return this.prepare('SELECT json FROM accounts ORDER BY pos')
      .all()
      .map((r) => JSON.parse(r.json as string) as WalletAccount)
  }
  putAccount(a: WalletAccount): void {
    const pos = (this.prepare('SELECT COUNT(*) AS n FROM accounts').get()!.n as number) ?? 0
    this.prepare(
      'INSERT INTO accounts (id, pos, json) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET json = excluded.json',
    ).run(a.id, pos, JSON.stringify(a))
  }

  // --- addresses ------------------------------------------------------------------------------
  addresses(account: string): StoredAddress[] {
    return this.prepare(
      'SELECT derived, status, history FROM addresses WHERE account = ? ORDER BY chain, idx',
    )
      .all(account)
      .map((r) => ({
        account,
        derived: JSON.parse(r.derived as string) as DerivedAddress,
        status: (r.status as string | null) ?? null,
        history: JSON.parse(r.history as string) as HistoryItem[],
      }))
  }
  putAddress(a: StoredAddress): void {
    this.prepare(
      `INSERT INTO addresses (account, chain, idx, derived, status, history) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(account, chain, idx) DO UPDATE SET status = excluded.status, history = excluded.history`,
    ).run(
      a.account,
      a.derived.derivation.chain,
      a.derived.derivation.index,
      JSON.stringify(a.derived),
      a.status,
      JSON.stringify(a.history),
    )
  }

  // --- transactions ---------------------------------------------------------------------------
  txs(account: string): StoredTx[] {
    return this.prepare('SELECT * FROM txs WHERE account = ?')
      .all(account)
      .map((r) => ({
        account,
        txid: r.txid as string,
        hex: r.hex as string,
        height: r.height as number,
        blockHash: (r.block_hash as string | null) ?? null,
        blockTime: (r.block_time as number | null) ?? null,
        verified: r.verified === 1,
        firstSeen: r.first_seen as string,
        state: r.state as 'live' | 'gone',
        everConfirmed: r.ever_confirmed === 1,
      }))
  }
  putTx(t: StoredTx): void {
    this.prepare(
      `INSERT INTO txs (account, txid, hex, height, block_hash, block_time, verified, first_seen, state, ever_confirmed)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(account, txid) DO UPDATE SET height = excluded.height, block_hash = excluded.block_hash,
           block_time = excluded.block_time, verified = excluded.verified, state = excluded.state,
           ever_confirmed = excluded.ever_confirmed`,
    ).run(
      t.account,
      t.txid,
      t.hex,
      t.height,
      t.blockHash,
      t.blockTime,
      t.verified ? 1 : 0,
      t.firstSeen,
      t.state,
      t.everConfirmed ? 1 : 0,
    )
  }

  // --- headers --------------------------------------------------------------------------------
  headers(): Map<number, string> {
    return new Map(
      this.prepare('SELECT height, hex FROM headers')
        .all()
        .map((r) => [r.height as number, r.hex as string]),
    )
  }
  putHeader(height: number, hex: string): void {
    this.prepare(
      'INSERT INTO headers (height, hex) VALUES (?, ?) ON CONFLICT(height) DO UPDATE SET hex = excluded.hex',
    ).run(height, hex)
  }
  deleteHeader(height: number): void {
    this.prepare('DELETE FROM headers WHERE height = ?').run(height)
  }

  // --- prevouts: the outputs other people's transactions spent into the wallet's (for fees) ---
  prevouts(): Map<string, Prevout> {
    return new Map(
      this.prepare('SELECT txid, vout, value, script FROM prevouts')
        .all()
        .map((r) => [
          `${r.txid as string}:${r.vout as number}`,
          { valueSat: r.value as number, script: r.script as string },
        ]),
    )
  }
  putPrevout(txid: string, vout: number, p: Prevout): void {
    this.prepare(
      'INSERT OR IGNORE INTO prevouts (txid, vout, value, script) VALUES (?, ?, ?, ?)',
    ).run(txid, vout, p.valueSat, p.script)
  }

  // --- labels, frozen, cursors ----------------------------------------------------------------
  labels(account: string): Map<string, string> {
    return new Map(
      this.prepare('SELECT type, ref, label FROM labels WHERE account = ?')
        .all(account)
        .map((r) => [`${r.type as string}:${r.ref as string}`, r.label as string]),
    )
  }
  setLabel(account: string, type: string, ref: string, label: string): void {
    if (label === '')
      this.prepare('DELETE FROM labels WHERE account = ? AND type = ? AND ref = ?').run(
        account,
        type,
        ref,
      )
    else
      this.prepare(
        'INSERT INTO labels (account, type, ref, label) VALUES (?, ?, ?, ?) ON CONFLICT(account, type, ref) DO UPDATE SET label = excluded.label',
      ).run(account, type, ref, label)
  }
  frozen(account: string): Set<string> {
    return new Set(
      this.prepare('SELECT outpoint FROM frozen WHERE account = ?')
        .all(account)
        .map((r) => r.outpoint as string),
    )
  }
  setFrozen(account: string, outpoint: string, frozen: boolean): void {
    if (frozen)
      this.prepare('INSERT OR IGNORE INTO frozen (account, outpoint) VALUES (?, ?)').run(
        account,
        outpoint,
      )
    else
      this.prepare('DELETE FROM frozen WHERE account = ? AND outpoint = ?').run(account, outpoint)
  }
  cursors(account: string): [number, number] {
    const out: [number, number] = [-1, -1]
    for (const r of this.prepare('SELECT chain, handed FROM cursors WHERE account = ?').all(
      account,
    ))
      out[r.chain as WalletChain] = r.handed as number
    return out
  }
  setCursor(account: string, chain: WalletChain, handed: number): void {
    this.prepare(
      'INSERT INTO cursors (account, chain, handed) VALUES (?, ?, ?) ON CONFLICT(account, chain) DO UPDATE SET handed = excluded.handed',
    ).run(account, chain, handed)
  }
}
