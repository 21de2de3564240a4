// The wallet's ledger: proofs, mints, NUT-13 counters and operations, in one SQLite file
// (node:sqlite, WAL, synchronous=FULL). Money moves only inside transactions whose proof-state
// changes are guarded by the state the proof must be in, so a crash or a double click can never
// spend a proof twice or lose it: an operation is written (with the outputs it will ask the mint
// to sign) before the mint is called, and reconciled on the next start (CDK's saga pattern).
//
// At rest, once the owner has a password, what makes a proof spendable is sealed under the box key
// (purpose 'ecash.store', src/core/secrets/box-key.ts), one AEAD per row with the row's key as
// associated data so sealed values cannot be moved between rows: a proof's C, DLEQ and witness
// (row key: its secret, which cannot be spent without C), and an operation's token and data (input
// secrets, blinded outputs; row key: its id). Amounts, states and mint URLs stay readable, so
// balances show while the box is locked; spending then says the box is locked. Rows written before
// the password are sealed on unlock (sealPlainRows); secure_delete and a WAL truncate keep the
// old plain pages off the disk.
import { DatabaseSync, type SQLInputValue } from 'node:sqlite'
import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import type { CounterRange, CounterSource, Proof, ProofLike } from '@cashu/cashu-ts'
import { Amount } from '@cashu/cashu-ts'
import { FlashError } from '../errors'
import { isSealed, type BoxKey } from '../secrets/box-key'

/** The box-key purpose of the wallet's sealed columns. */
export const ECASH_STORE_PURPOSE = 'ecash.store'

export type ProofState = 'unspent' | 'pending-send' | 'pending-melt' | 'spent'

export type OperationKind = 'mint' | 'send' | 'receive' | 'melt' | 'restore'

/**
 * Per-kind lifecycle (see wallet.ts):
 * - mint:    unpaid → minting → done | expired | failed
 * - send:    swapping → sent → claimed | failed
 * - receive: unclaimed → claiming → done | failed
 * - melt:    quoted → paying → done | failed
 * - restore: done
 */
export type OperationState =
  | 'unpaid'
  | 'minting'
  | 'expired'
  | 'swapping'
  | 'sent'
  | 'claimed'
  | 'unclaimed'
  | 'claiming'
  | 'quoted'
  | 'paying'
  | 'done'
  | 'failed'

export interface Operation {
  readonly id: string
  readonly kind: OperationKind
  readonly state: OperationState
  readonly mintUrl: string
  readonly amount: number
  readonly fee: number
  readonly quoteId?: string
  /** The token sent or received (bearer value: stays in the engine except a send's own result). */
  readonly token?: string
  readonly lockedTo?: string
  /** Kind-specific data: input secrets, serialized outputs, quote… (JSON). */
  readonly data: Record<string, unknown>
  readonly lastError?: string
  readonly attempts: number
  readonly lastAttemptAt?: string
  readonly createdAt: string
  readonly updatedAt: string
}

export interface StoredMint {
  readonly url: string
  readonly own: boolean
  readonly addedAt: string
  readonly info?: unknown
  readonly keychain?: unknown
  readonly online: boolean
  readonly lastError?: string
  readonly lastSeenAt?: string
}

export interface StoredProof {
  readonly secret: string
  readonly mintUrl: string
  readonly keysetId: string
  readonly amount: number
  readonly C: string
  readonly dleq?: Proof['dleq']
  readonly witness?: string
  readonly state: ProofState
  readonly opId?: string
}

export interface Balances {
  readonly mintUrl: string
  readonly spendable: number
  readonly pending: number
}

const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mints (
  url TEXT PRIMARY KEY,
  own INTEGER NOT NULL DEFAULT 0,
  added_at TEXT NOT NULL,
  info_json TEXT,
  keychain_json TEXT,
  online INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  last_seen_at TEXT
);
CREATE TABLE IF NOT EXISTS proofs (
  secret TEXT PRIMARY KEY,
  mint_url TEXT NOT NULL,
  keyset_id TEXT NOT NULL,
  amount INTEGER NOT NULL CHECK (amount > 0),
  c TEXT NOT NULL,
  dleq_json TEXT,
  witness TEXT,
  state TEXT NOT NULL CHECK (state IN ('unspent', 'pending-send', 'pending-melt', 'spent')),
  op_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS proofs_mint_state ON proofs (mint_url, state);
CREATE INDEX IF NOT EXISTS proofs_op ON proofs (op_id);
CREATE TABLE IF NOT EXISTS counters (keyset_id TEXT PRIMARY KEY, next INTEGER NOT NULL CHECK (next >= 0));
CREATE TABLE IF NOT EXISTS operations (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('mint', 'send', 'receive', 'melt', 'restore')),
  state TEXT NOT NULL,
  mint_url TEXT NOT NULL,
  amount INTEGER NOT NULL,
  fee INTEGER NOT NULL DEFAULT 0,
  quote_id TEXT,
  token TEXT,
  locked_to TEXT,
  data_json TEXT NOT NULL DEFAULT '{}',
  last_error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_attempt_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS operations_state ON operations (kind, state);
CREATE UNIQUE INDEX IF NOT EXISTS operations_quote ON operations (kind, mint_url, quote_id)
  WHERE quote_id IS NOT NULL;
`

type Row = Record<string, SQLInputValue>

const now = () => new Date().toISOString()
const str = (v: SQLInputValue | undefined): string | undefined =>
  v === null || v === undefined ? undefined : String(v)
const num = (v: SQLInputValue | undefined): number => Number(v ?? 0)

export class EcashStore {
  readonly path: string
  private readonly db: DatabaseSync
  private depth = 0
  private readonly stopWatchingUnlock: () => void

  constructor(
    dir: string,
    /** Seals the spendable columns once the owner has a password (see the top of this file). */
    private readonly box?: BoxKey,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    this.path = join(dir, 'wallet.sqlite')
    const fresh = !existsSync(this.path)
    this.db = new DatabaseSync(this.path)
    if (fresh) chmodSync(this.path, 0o600)
    this.db.exec('PRAGMA journal_mode = WAL')
    // Money: every commit reaches the disk before we tell anyone it happened.
    this.db.exec('PRAGMA synchronous = FULL')
    this.db.exec('PRAGMA busy_timeout = 5000')
    this.db.exec('PRAGMA foreign_keys = ON')
    // Freed and overwritten content is zeroed: a row sealed in place leaves no plain copy behind.
    this.db.exec('PRAGMA secure_delete = ON')
    this.db.exec(SCHEMA)
    const v = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as
      Row | undefined
    if (!v) {
      this.db
        .prepare('INSERT INTO meta (key, value) VALUES (?, ?)')
        .run('schema', String(SCHEMA_VERSION))
    } else if (Number(v.value) > SCHEMA_VERSION) {
      throw new FlashError(
        'ecash.store_newer',
        'The eCash wallet was written by a newer version of Flash Box.',
        'Update Flash Box to open this wallet; nothing has been changed.',
      )
    }
    const unwatch = box?.onUnlock(() => void this.sealPlainRows())
    this.stopWatchingUnlock = () => void unwatch?.()
  }

  close(): void {
    this.stopWatchingUnlock()
    if (this.db.isOpen) this.db.close()
  }

  // ---- sealed columns -------------------------------------------------------------------------

  /** Whether new values are sealed (the owner has a password); throws box.locked while locked. */
  private sealing(): boolean {
    if (!this.box || this.box.state === 'none') return false
    this.box.requireUnlocked()
    return true
  }

  private seal(table: string, rowId: string, value: string): string
  private seal(table: string, rowId: string, value: string | null): string | null
  private seal(table: string, rowId: string, value: string | null): string | null {
    if (value === null || isSealed(value) || !this.sealing()) return value
    return this.box!.seal(ECASH_STORE_PURPOSE, value, `${table}:${rowId}`)
  }

  private opener(table: string, rowId: string) {
    return (value: SQLInputValue | undefined): string | undefined => {
      const v = str(value)
      if (v === undefined || !isSealed(v)) return v // written before the owner had a password
      if (!this.box) throw new Error('eCash store: a sealed value but no box key')
      return this.box.open(ECASH_STORE_PURPOSE, v, `${table}:${rowId}`).toString('utf8')
    }
  }

  private toStoredProof(r: Row): StoredProof {
    return toStoredProof(r, this.opener('proofs', String(r.secret)))
  }

  private toOperation(r: Row): Operation {
    return toOperation(r, this.opener('operations', String(r.id)))
  }

  /**
   * Seals every row written before the owner had a password (run on unlock). Returns how many
   * rows it sealed; the WAL is then truncated so no plain page stays in it.
   */
  sealPlainRows(): number {
    if (!this.box?.unlocked || !this.db.isOpen) return 0
    const plain = (col: string) => `(${col} IS NOT NULL AND ${col} NOT LIKE 'fbx1.%')`
    const sealOrNull = (table: string, id: string, v: SQLInputValue | undefined) =>
      v === null || v === undefined ? null : this.seal(table, id, String(v))
    let n = 0
    this.transaction(() => {
      const proofs = this.db
        .prepare(
          `SELECT secret, c, dleq_json, witness FROM proofs
           WHERE ${plain('c')} OR ${plain('dleq_json')} OR ${plain('witness')}`,
        )
        .all() as Row[]
      const up = this.db.prepare(
        'UPDATE proofs SET c = ?, dleq_json = ?, witness = ? WHERE secret = ?',
      )
      for (const r of proofs) {
        const id = String(r.secret)
        up.run(
          sealOrNull('proofs', id, r.c),
          sealOrNull('proofs', id, r.dleq_json),
          sealOrNull('proofs', id, r.witness),
          id,
        )
        n++
      }
      const ops = this.db
        .prepare(
          `SELECT id, token, data_json FROM operations WHERE ${plain('token')} OR ${plain('data_json')}`,
        )
        .all() as Row[]
      const upOp = this.db.prepare('UPDATE operations SET token = ?, data_json = ? WHERE id = ?')
      for (const r of ops) {
        const id = String(r.id)
        upOp.run(
          sealOrNull('operations', id, r.token),
          sealOrNull('operations', id, r.data_json),
          id,
        )
        n++
      }
    })
    if (n) this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    return n
  }

  /** Runs `fn` in one IMMEDIATE transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    if (this.depth > 0) return fn()
    this.db.exec('BEGIN IMMEDIATE')
    this.depth++
    try {
      const out = fn()
      this.db.exec('COMMIT')
      return out
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    } finally {
      this.depth--
    }
  }

  // ---- meta -----------------------------------------------------------------------------------

  getMeta(key: string): string | undefined {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined
    return str(r?.value)
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value)
  }

  // ---- mints ----------------------------------------------------------------------------------

  addMint(url: string, own = false): StoredMint {
    this.db
      .prepare(
        `INSERT INTO mints (url, own, added_at) VALUES (?, ?, ?)
         ON CONFLICT (url) DO UPDATE SET own = MAX(own, excluded.own)`,
      )
      .run(url, own ? 1 : 0, now())
    return this.getMint(url)!
  }

  getMint(url: string): StoredMint | undefined {
    const r = this.db.prepare('SELECT * FROM mints WHERE url = ?').get(url) as Row | undefined
    return r ? toMint(r) : undefined
  }

  listMints(): StoredMint[] {
    return (
      this.db.prepare('SELECT * FROM mints ORDER BY own DESC, added_at ASC').all() as Row[]
    ).map(toMint)
  }

  removeMint(url: string): void {
    this.db.prepare('DELETE FROM mints WHERE url = ?').run(url)
  }

  /** Caches what the mint told us last, so the wallet works (and verifies DLEQ) offline. */
  saveMintCache(url: string, info: unknown, keychain: unknown): void {
    this.db
      .prepare(
        'UPDATE mints SET info_json = ?, keychain_json = ?, online = 1, last_error = NULL, last_seen_at = ? WHERE url = ?',
      )
      .run(JSON.stringify(info), JSON.stringify(keychain), now(), url)
  }

  setMintOnline(url: string, online: boolean, error?: string): void {
    if (online) {
      this.db
        .prepare('UPDATE mints SET online = 1, last_error = NULL, last_seen_at = ? WHERE url = ?')
        .run(now(), url)
    } else {
      this.db
        .prepare('UPDATE mints SET online = 0, last_error = ? WHERE url = ?')
        .run(error ?? null, url)
    }
  }

  // ---- proofs ---------------------------------------------------------------------------------

  /** Stores new proofs; a proof we already hold keeps its row (its state never goes backwards). */
  insertProofs(mintUrl: string, proofs: readonly Proof[], state: ProofState, opId?: string): void {
    if (!proofs.length) return
    const stmt = this.db.prepare(
      `INSERT INTO proofs (secret, mint_url, keyset_id, amount, c, dleq_json, witness, state, op_id, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (secret) DO NOTHING`,
    )
    const t = now()
    this.transaction(() => {
      for (const p of proofs) {
        const amount = Amount.from(p.amount).toNumber()
        stmt.run(
          p.secret,
          mintUrl,
          p.id,
          amount,
          this.seal('proofs', p.secret, p.C),
          this.seal('proofs', p.secret, p.dleq ? JSON.stringify(p.dleq) : null),
          this.seal(
            'proofs',
            p.secret,
            p.witness === undefined
              ? null
              : typeof p.witness === 'string'
                ? p.witness
                : JSON.stringify(p.witness),
          ),
          state,
          opId ?? null,
          t,
          t,
        )
      }
    })
  }

  /**
   * Moves proofs from one state to another, all or none: a proof not in `from` (already
   * spent, or taken by another operation) aborts the whole transition.
   */
  moveProofs(
    secrets: readonly string[],
    from: ProofState | readonly ProofState[],
    to: ProofState,
    opId?: string | null,
  ): void {
    if (!secrets.length) return
    const fromList = Array.isArray(from) ? from : [from as ProofState]
    this.transaction(() => {
      const stmt = this.db.prepare(
        `UPDATE proofs SET state = ?, op_id = COALESCE(?, op_id), updated_at = ?
         WHERE secret = ? AND state IN (${fromList.map(() => '?').join(', ')})`,
      )
      const t = now()
      for (const s of secrets) {
        const r = stmt.run(to, opId ?? null, t, s, ...fromList)
        if (Number(r.changes) !== 1) {
          throw new FlashError(
            'ecash.proof_busy',
            'Some of this money is already being used by another payment.',
            'Wait a moment for the other payment to finish, then try again.',
          )
        }
      }
    })
  }

  listProofs(mintUrl: string, state: ProofState): StoredProof[] {
    return (
      this.db
        .prepare('SELECT * FROM proofs WHERE mint_url = ? AND state = ? ORDER BY amount ASC')
        .all(mintUrl, state) as Row[]
    ).map((r) => this.toStoredProof(r))
  }

  proofsBySecrets(secrets: readonly string[]): StoredProof[] {
    const stmt = this.db.prepare('SELECT * FROM proofs WHERE secret = ?')
    return secrets
      .map((s) => stmt.get(s) as Row | undefined)
      .filter((r): r is Row => !!r)
      .map((r) => this.toStoredProof(r))
  }

  proofsByOp(opId: string, state?: ProofState): StoredProof[] {
    const rows = state
      ? this.db.prepare('SELECT * FROM proofs WHERE op_id = ? AND state = ?').all(opId, state)
      : this.db.prepare('SELECT * FROM proofs WHERE op_id = ?').all(opId)
    return (rows as Row[]).map((r) => this.toStoredProof(r))
  }

  balances(): Balances[] {
    const rows = this.db
      .prepare(
        `SELECT m.url AS mint_url,
           COALESCE(SUM(CASE WHEN p.state = 'unspent' THEN p.amount END), 0) AS spendable,
           COALESCE(SUM(CASE WHEN p.state IN ('pending-send', 'pending-melt') THEN p.amount END), 0) AS pending
         FROM mints m LEFT JOIN proofs p ON p.mint_url = m.url
         GROUP BY m.url ORDER BY m.own DESC, m.added_at ASC`,
      )
      .all() as Row[]
    return rows.map((r) => ({
      mintUrl: String(r.mint_url),
      spendable: num(r.spendable),
      pending: num(r.pending),
    }))
  }

  // ---- operations -----------------------------------------------------------------------------

  createOperation(op: {
    kind: OperationKind
    state: OperationState
    mintUrl: string
    amount: number
    fee?: number
    quoteId?: string
    token?: string
    lockedTo?: string
    data?: Record<string, unknown>
  }): Operation {
    const id = randomUUID()
    const t = now()
    this.db
      .prepare(
        `INSERT INTO operations (id, kind, state, mint_url, amount, fee, quote_id, token, locked_to, data_json, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        op.kind,
        op.state,
        op.mintUrl,
        op.amount,
        op.fee ?? 0,
        op.quoteId ?? null,
        this.seal('operations', id, op.token ?? null),
        op.lockedTo ?? null,
        this.seal('operations', id, JSON.stringify(op.data ?? {})),
        t,
        t,
      )
    return this.getOperation(id)!
  }

  /**
   * Updates an operation; with `expect`, only when it is still in that state (returns false
   * otherwise), so two reconcilers never both finish the same operation.
   */
  updateOperation(
    id: string,
    patch: {
      state?: OperationState
      amount?: number
      fee?: number
      token?: string
      data?: Record<string, unknown>
      lastError?: string | null
      attempted?: boolean
    },
    expect?: OperationState | readonly OperationState[],
  ): boolean {
    const sets: string[] = ['updated_at = ?']
    const args: SQLInputValue[] = [now()]
    if (patch.state !== undefined) {
      sets.push('state = ?')
      args.push(patch.state)
    }
    if (patch.amount !== undefined) {
      sets.push('amount = ?')
      args.push(patch.amount)
    }
    if (patch.fee !== undefined) {
      sets.push('fee = ?')
      args.push(patch.fee)
    }
    if (patch.token !== undefined) {
      sets.push('token = ?')
      args.push(this.seal('operations', id, patch.token))
    }
    if (patch.data !== undefined) {
      sets.push('data_json = ?')
      args.push(this.seal('operations', id, JSON.stringify(patch.data)))
    }
    if (patch.lastError !== undefined) {
      sets.push('last_error = ?')
      args.push(patch.lastError)
    }
    if (patch.attempted) {
      sets.push('attempts = attempts + 1', 'last_attempt_at = ?')
      args.push(now())
    }
    let where = 'id = ?'
    args.push(id)
    if (expect !== undefined) {
      const list = Array.isArray(expect) ? expect : [expect as OperationState]
      where += ` AND state IN (${list.map(() => '?').join(', ')})`
      args.push(...list)
    }
    const r = this.db
      .prepare(`UPDATE operations SET ${sets.join(', ')} WHERE ${where}`)
      .run(...args)
    return Number(r.changes) === 1
  }

  getOperation(id: string): Operation | undefined {
    const r = this.db.prepare('SELECT * FROM operations WHERE id = ?').get(id) as Row | undefined
    return r ? this.toOperation(r) : undefined
  }

  findOperationByQuote(kind: OperationKind, quoteId: string): Operation | undefined {
    const r = this.db
      .prepare('SELECT * FROM operations WHERE kind = ? AND quote_id = ? ORDER BY created_at DESC')
      .get(kind, quoteId) as Row | undefined
    return r ? this.toOperation(r) : undefined
  }

  listOperations(
    filter: {
      kind?: OperationKind
      states?: readonly OperationState[]
      mintUrl?: string
      limit?: number
    } = {},
  ): Operation[] {
    const where: string[] = []
    const args: SQLInputValue[] = []
    if (filter.kind) {
      where.push('kind = ?')
      args.push(filter.kind)
    }
    if (filter.mintUrl) {
      where.push('mint_url = ?')
      args.push(filter.mintUrl)
    }
    if (filter.states?.length) {
      where.push(`state IN (${filter.states.map(() => '?').join(', ')})`)
      args.push(...filter.states)
    }
    const sql =
      'SELECT * FROM operations' +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY created_at DESC, rowid DESC' +
      (filter.limit ? ` LIMIT ${Math.floor(filter.limit)}` : '')
    return (this.db.prepare(sql).all(...args) as Row[]).map((r) => this.toOperation(r))
  }

  // ---- NUT-13 counters ------------------------------------------------------------------------

  /** A CounterSource whose every reservation is one committed transaction (never reused after a crash). */
  counterSource(): CounterSource {
    const get = (keysetId: string): number => {
      const r = this.db.prepare('SELECT next FROM counters WHERE keyset_id = ?').get(keysetId) as
        Row | undefined
      return num(r?.next)
    }
    const set = (keysetId: string, next: number) =>
      this.db
        .prepare(
          'INSERT INTO counters (keyset_id, next) VALUES (?, ?) ON CONFLICT (keyset_id) DO UPDATE SET next = excluded.next',
        )
        .run(keysetId, next)
    return {
      reserve: async (keysetId: string, n: number): Promise<CounterRange> =>
        this.transaction(() => {
          const start = get(keysetId)
          if (n > 0) set(keysetId, start + n)
          return { start, count: Math.max(0, n) }
        }),
      reserveAt: async (keysetId: string, start: number, count: number): Promise<CounterRange> =>
        this.transaction(() => {
          const next = get(keysetId)
          if (start < next) {
            throw new Error(
              `counter ${start} for keyset ${keysetId} was already used (next ${next})`,
            )
          }
          set(keysetId, start + count)
          return { start, count }
        }),
      advanceToAtLeast: async (keysetId: string, minNext: number): Promise<void> => {
        this.transaction(() => {
          if (get(keysetId) < minNext) set(keysetId, minNext)
        })
      },
      snapshot: async () =>
        Object.fromEntries(
          (this.db.prepare('SELECT keyset_id, next FROM counters').all() as Row[]).map((r) => [
            String(r.keyset_id),
            num(r.next),
          ]),
        ),
      setNext: async (keysetId: string, next: number) => {
        set(keysetId, next)
      },
    }
  }

  /** Forget every proof, counter and operation (restore onto a fresh seed). Mints stay. */
  wipeWallet(): void {
    this.transaction(() => {
      this.db.exec('DELETE FROM proofs; DELETE FROM counters; DELETE FROM operations;')
    })
  }

  hasAnyProofsOrOperations(): boolean {
    const p = this.db.prepare("SELECT 1 FROM proofs WHERE state <> 'spent' LIMIT 1").get()
    const o = this.db
      .prepare(
        "SELECT 1 FROM operations WHERE state IN ('minting', 'swapping', 'sent', 'unclaimed', 'claiming', 'paying') LIMIT 1",
      )
      .get()
    return !!p || !!o
  }
}

export function toProof(p: StoredProof): Proof {
  return {
    id: p.keysetId,
    amount: Amount.from(p.amount),
    secret: p.secret,
    C: p.C,
    ...(p.dleq ? { dleq: p.dleq } : {}),
  }
}

export function proofAmount(proofs: readonly ProofLike[]): number {
  return proofs.reduce((s, p) => s + Amount.from(p.amount).toNumber(), 0)
}

function toMint(r: Row): StoredMint {
  return {
    url: String(r.url),
    own: num(r.own) === 1,
    addedAt: String(r.added_at),
    info: r.info_json ? JSON.parse(String(r.info_json)) : undefined,
    keychain: r.keychain_json ? JSON.parse(String(r.keychain_json)) : undefined,
    online: num(r.online) === 1,
    lastError: str(r.last_error),
    lastSeenAt: str(r.last_seen_at),
  }
}

type Opener = (v: SQLInputValue | undefined) => string | undefined

function toStoredProof(r: Row, open: Opener): StoredProof {
  const dleq = open(r.dleq_json)
  return {
    secret: String(r.secret),
    mintUrl: String(r.mint_url),
    keysetId: String(r.keyset_id),
    amount: num(r.amount),
    C: String(open(r.c)),
    dleq: dleq ? JSON.parse(dleq) : undefined,
    witness: open(r.witness),
    state: String(r.state) as ProofState,
    opId: str(r.op_id),
  }
}

function toOperation(r: Row, open: Opener): Operation {
  return {
    id: String(r.id),
    kind: String(r.kind) as OperationKind,
    state: String(r.state) as OperationState,
    mintUrl: String(r.mint_url),
    amount: num(r.amount),
    fee: num(r.fee),
    quoteId: str(r.quote_id),
    token: open(r.token),
    lockedTo: str(r.locked_to),
    data: JSON.parse(open(r.data_json) ?? '{}') as Record<string, unknown>,
    lastError: str(r.last_error),
    attempts: num(r.attempts),
    lastAttemptAt: str(r.last_attempt_at),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  }
}
