// SQLite implementation of MintStore (node:sqlite, WAL). Every method runs in one
// BEGIN IMMEDIATE … COMMIT, so it is atomic even if two processes ever share the file.
import { DatabaseSync, type SQLInputValue } from 'node:sqlite'
import { ErrorCode, MintError } from '../errors'
import type {
  KeysetRow,
  Liability,
  MeltQuote,
  MeltSaga,
  MeltSettlement,
  MintQuote,
  MintQuoteSettlement,
  MintStore,
  ProofState,
  StoredProof,
  StoredSignature,
} from './store'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS keysets (
  id TEXT PRIMARY KEY, unit TEXT NOT NULL, active INTEGER NOT NULL,
  input_fee_ppk INTEGER NOT NULL, final_expiry INTEGER, derivation_index INTEGER NOT NULL,
  max_order INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS proofs (
  y TEXT PRIMARY KEY, keyset_id TEXT NOT NULL, amount INTEGER NOT NULL, secret TEXT NOT NULL,
  c TEXT NOT NULL, witness TEXT, state TEXT NOT NULL CHECK (state IN ('PENDING','SPENT')),
  operation TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS proofs_operation ON proofs(operation);
CREATE TABLE IF NOT EXISTS blind_signatures (
  b_ TEXT PRIMARY KEY, keyset_id TEXT NOT NULL, amount INTEGER, c_ TEXT, dleq_e TEXT,
  dleq_s TEXT, operation TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS blind_signatures_operation ON blind_signatures(operation);
CREATE TABLE IF NOT EXISTS mint_quotes (
  id TEXT PRIMARY KEY, method TEXT NOT NULL, unit TEXT NOT NULL, amount INTEGER NOT NULL,
  request TEXT NOT NULL, payment_hash TEXT NOT NULL UNIQUE, description TEXT, pubkey TEXT,
  state TEXT NOT NULL CHECK (state IN ('UNPAID','PAID','ISSUED')), expiry INTEGER NOT NULL,
  created_at INTEGER NOT NULL, paid_at INTEGER, issued_at INTEGER);
CREATE INDEX IF NOT EXISTS mint_quotes_state ON mint_quotes(state);
CREATE TABLE IF NOT EXISTS melt_quotes (
  id TEXT PRIMARY KEY, method TEXT NOT NULL, unit TEXT NOT NULL, request TEXT NOT NULL,
  payment_hash TEXT NOT NULL, amount INTEGER NOT NULL, fee_reserve INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('UNPAID','PENDING','PAID')), expiry INTEGER NOT NULL,
  created_at INTEGER NOT NULL, payment_preimage TEXT, fee_paid INTEGER, paid_at INTEGER);
CREATE UNIQUE INDEX IF NOT EXISTS melt_quotes_one_per_hash
  ON melt_quotes(payment_hash) WHERE state IN ('PENDING','PAID');
CREATE TABLE IF NOT EXISTS melt_sagas (
  quote_id TEXT PRIMARY KEY, step TEXT NOT NULL CHECK (step IN ('reserved','paying')),
  input_ys TEXT NOT NULL, input_amount INTEGER NOT NULL, input_fee INTEGER NOT NULL,
  outputs TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS response_cache (
  key TEXT PRIMARY KEY, body TEXT NOT NULL, expires_at INTEGER);
`

type Row = Record<string, SQLInputValue>

const num = (v: unknown): number => Number(v)
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

function keysetFrom(r: Row): KeysetRow {
  return {
    id: String(r.id),
    unit: String(r.unit),
    active: num(r.active) === 1,
    inputFeePpk: num(r.input_fee_ppk),
    finalExpiry: numOrNull(r.final_expiry),
    derivationIndex: num(r.derivation_index),
    maxOrder: num(r.max_order),
    createdAt: num(r.created_at),
  }
}

function mintQuoteFrom(r: Row): MintQuote {
  return {
    id: String(r.id),
    method: String(r.method),
    unit: String(r.unit),
    amount: num(r.amount),
    request: String(r.request),
    paymentHash: String(r.payment_hash),
    description: strOrNull(r.description),
    pubkey: strOrNull(r.pubkey),
    state: String(r.state) as MintQuote['state'],
    expiry: num(r.expiry),
    createdAt: num(r.created_at),
    paidAt: numOrNull(r.paid_at),
    issuedAt: numOrNull(r.issued_at),
    settledBy: strOrNull(r.settled_by) as MintQuoteSettlement | null,
  }
}

function meltQuoteFrom(r: Row): MeltQuote {
  return {
    id: String(r.id),
    method: String(r.method),
    unit: String(r.unit),
    request: String(r.request),
    paymentHash: String(r.payment_hash),
    amount: num(r.amount),
    feeReserve: num(r.fee_reserve),
    state: String(r.state) as MeltQuote['state'],
    expiry: num(r.expiry),
    createdAt: num(r.created_at),
    paymentPreimage: strOrNull(r.payment_preimage),
    feePaid: numOrNull(r.fee_paid),
    paidAt: numOrNull(r.paid_at),
    settlement: (strOrNull(r.settlement) ?? 'lightning') as MeltSettlement,
  }
}

function signatureFrom(r: Row): StoredSignature {
  return {
    B_: String(r.b_),
    keysetId: String(r.keyset_id),
    amount: num(r.amount),
    C_: String(r.c_),
    dleq:
      r.dleq_e !== null && r.dleq_e !== undefined
        ? { e: String(r.dleq_e), s: String(r.dleq_s) }
        : null,
  }
}

export class SqliteMintStore implements MintStore {
  private readonly db: DatabaseSync

  constructor(path: string) {
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = FULL')
    this.db.exec('PRAGMA busy_timeout = 5000')
    this.db.exec(SCHEMA)
    this.migrate()
  }

  /** Columns added after the first release: added in place, old rows keep their meaning. */
  private migrate() {
    const has = (table: string, column: string) =>
      this.all(`PRAGMA table_info(${table})`).some((r) => r.name === column)
    this.tx(() => {
      if (!has('mint_quotes', 'settled_by'))
        this.db.exec('ALTER TABLE mint_quotes ADD COLUMN settled_by TEXT')
      if (!has('melt_quotes', 'settlement'))
        this.db.exec(
          "ALTER TABLE melt_quotes ADD COLUMN settlement TEXT NOT NULL DEFAULT 'lightning'",
        )
    })
  }

  private tx<T>(fn: () => T): T {
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

  private all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.db.prepare(sql).all(...params) as Row[]
  }

  private get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.db.prepare(sql).get(...params) as Row | undefined
  }

  private run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.db.prepare(sql).run(...params).changes)
  }

  /** Claim each Y with `state`, or throw the spec's error for the first Y already claimed. */
  private claimProofs(inputs: readonly StoredProof[], state: 'PENDING' | 'SPENT', op: string) {
    const now = Date.now()
    for (const p of inputs) {
      const changed = this.run(
        `INSERT INTO proofs (y, keyset_id, amount, secret, c, witness, state, operation, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(y) DO NOTHING`,
        p.y,
        p.keysetId,
        p.amount,
        p.secret,
        p.C,
        p.witness,
        state,
        op,
        now,
      )
      if (changed === 0) {
        const existing = this.get('SELECT state FROM proofs WHERE y = ?', p.y)
        if (existing?.state === 'PENDING')
          throw new MintError(ErrorCode.ProofsPending, 'Token is pending.')
        throw new MintError(ErrorCode.ProofsAlreadySpent, 'Token already spent.')
      }
    }
  }

  /** Insert outputs (signed, or reserved blanks when C_ is null); throw 11003/11004 on reuse. */
  private claimOutputs(
    outputs: readonly {
      B_: string
      keysetId: string
      amount: number | null
      C_: string | null
      dleq: { e: string; s: string } | null
    }[],
    op: string,
  ) {
    const now = Date.now()
    for (const o of outputs) {
      const changed = this.run(
        `INSERT INTO blind_signatures (b_, keyset_id, amount, c_, dleq_e, dleq_s, operation, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(b_) DO NOTHING`,
        o.B_,
        o.keysetId,
        o.amount,
        o.C_,
        o.dleq?.e ?? null,
        o.dleq?.s ?? null,
        op,
        now,
      )
      if (changed === 0) {
        const existing = this.get('SELECT c_ FROM blind_signatures WHERE b_ = ?', o.B_)
        if (existing && existing.c_ === null)
          throw new MintError(ErrorCode.OutputsPending, 'Outputs are pending.')
        throw new MintError(
          ErrorCode.OutputsAlreadySigned,
          'Outputs have already been signed before.',
        )
      }
    }
  }

  async listKeysets(): Promise<KeysetRow[]> {
    return this.all('SELECT * FROM keysets ORDER BY created_at, id').map(keysetFrom)
  }

  async addKeyset(row: KeysetRow): Promise<void> {
    this.tx(() => {
      if (row.active) this.run('UPDATE keysets SET active = 0 WHERE unit = ?', row.unit)
      this.run(
        `INSERT INTO keysets (id, unit, active, input_fee_ppk, final_expiry, derivation_index, max_order, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET active = excluded.active`,
        row.id,
        row.unit,
        row.active ? 1 : 0,
        row.inputFeePpk,
        row.finalExpiry,
        row.derivationIndex,
        row.maxOrder,
        row.createdAt,
      )
    })
  }

  async proofStates(ys: readonly string[]) {
    const out = new Map<string, { state: ProofState; witness: string | null }>()
    const stmt = this.db.prepare('SELECT state, witness FROM proofs WHERE y = ?')
    for (const y of ys) {
      const r = stmt.get(y) as Row | undefined
      out.set(
        y,
        r
          ? { state: String(r.state) as ProofState, witness: strOrNull(r.witness) }
          : { state: 'UNSPENT', witness: null },
      )
    }
    return out
  }

  async swap(inputs: readonly StoredProof[], outputs: readonly StoredSignature[]): Promise<void> {
    this.tx(() => {
      const op = `swap:${outputs[0]?.B_ ?? inputs[0]?.y ?? ''}`
      this.claimProofs(inputs, 'SPENT', op)
      this.claimOutputs(outputs, op)
    })
  }

  async signaturesFor(B_s: readonly string[]) {
    const out = new Map<string, StoredSignature>()
    const stmt = this.db.prepare('SELECT * FROM blind_signatures WHERE b_ = ? AND c_ IS NOT NULL')
    for (const b of B_s) {
      const r = stmt.get(b) as Row | undefined
      if (r) out.set(b, signatureFrom(r))
    }
    return out
  }

  async addMintQuote(q: MintQuote): Promise<void> {
    this.run(
      `INSERT INTO mint_quotes (id, method, unit, amount, request, payment_hash, description, pubkey,
         state, expiry, created_at, paid_at, issued_at, settled_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      q.id,
      q.method,
      q.unit,
      q.amount,
      q.request,
      q.paymentHash,
      q.description,
      q.pubkey,
      q.state,
      q.expiry,
      q.createdAt,
      q.paidAt,
      q.issuedAt,
      q.settledBy ?? null,
    )
  }

  async mintQuote(id: string) {
    const r = this.get('SELECT * FROM mint_quotes WHERE id = ?', id)
    return r ? mintQuoteFrom(r) : undefined
  }

  async mintQuoteByPaymentHash(hash: string) {
    const r = this.get('SELECT * FROM mint_quotes WHERE payment_hash = ?', hash)
    return r ? mintQuoteFrom(r) : undefined
  }

  async markMintQuotePaid(
    id: string,
    at: number,
    settledBy?: MintQuoteSettlement,
  ): Promise<boolean> {
    return (
      this.run(
        "UPDATE mint_quotes SET state = 'PAID', paid_at = ?, settled_by = ? WHERE id = ? AND state = 'UNPAID'",
        at,
        settledBy ?? null,
        id,
      ) === 1
    )
  }

  async issueMintQuote(id: string, outputs: readonly StoredSignature[], at: number): Promise<void> {
    this.tx(() => {
      const r = this.get('SELECT state FROM mint_quotes WHERE id = ?', id)
      if (!r) throw new MintError(ErrorCode.QuoteNotPaid, 'Quote not found.')
      if (r.state === 'ISSUED')
        throw new MintError(ErrorCode.QuoteAlreadyIssued, 'Quote already issued.')
      if (r.state !== 'PAID') throw new MintError(ErrorCode.QuoteNotPaid, 'Quote not paid.')
      this.claimOutputs(outputs, `mint:${id}`)
      this.run("UPDATE mint_quotes SET state = 'ISSUED', issued_at = ? WHERE id = ?", at, id)
    })
  }

  async listMintQuotes(limit: number) {
    return this.all('SELECT * FROM mint_quotes ORDER BY created_at DESC LIMIT ?', limit).map(
      mintQuoteFrom,
    )
  }

  async unpaidMintQuotes(now: number) {
    return this.all(
      "SELECT * FROM mint_quotes WHERE state = 'UNPAID' AND expiry > ? ORDER BY created_at",
      now,
    ).map(mintQuoteFrom)
  }

  async addMeltQuote(q: MeltQuote): Promise<void> {
    this.run(
      `INSERT INTO melt_quotes (id, method, unit, request, payment_hash, amount, fee_reserve, state,
         expiry, created_at, payment_preimage, fee_paid, paid_at, settlement)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      q.id,
      q.method,
      q.unit,
      q.request,
      q.paymentHash,
      q.amount,
      q.feeReserve,
      q.state,
      q.expiry,
      q.createdAt,
      q.paymentPreimage,
      q.feePaid,
      q.paidAt,
      q.settlement ?? 'lightning',
    )
  }

  async meltQuote(id: string) {
    const r = this.get('SELECT * FROM melt_quotes WHERE id = ?', id)
    return r ? meltQuoteFrom(r) : undefined
  }

  async listMeltQuotes(limit: number) {
    return this.all('SELECT * FROM melt_quotes ORDER BY created_at DESC LIMIT ?', limit).map(
      meltQuoteFrom,
    )
  }

  async beginMelt(saga: MeltSaga, inputs: readonly StoredProof[]): Promise<void> {
    this.tx(() => {
      this.checkMeltable(saga.quoteId)
      const op = `melt:${saga.quoteId}`
      this.claimProofs(inputs, 'PENDING', op)
      this.claimOutputs(
        saga.outputs.map((o) => ({ B_: o.B_, keysetId: o.id, amount: null, C_: null, dleq: null })),
        op,
      )
      this.run("UPDATE melt_quotes SET state = 'PENDING' WHERE id = ?", saga.quoteId)
      this.run(
        `INSERT INTO melt_sagas (quote_id, step, input_ys, input_amount, input_fee, outputs, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        saga.quoteId,
        saga.step,
        JSON.stringify(saga.inputYs),
        saga.inputAmount,
        saga.inputFee,
        JSON.stringify(saga.outputs),
        saga.createdAt,
        saga.updatedAt,
      )
    })
  }

  /** The melt quote is UNPAID and no other melt of its payment hash is PENDING or PAID. */
  private checkMeltable(quoteId: string): string {
    const q = this.get('SELECT state, payment_hash FROM melt_quotes WHERE id = ?', quoteId)
    if (!q) throw new MintError(ErrorCode.QuoteNotPaid, 'Quote not found.')
    if (q.state === 'PENDING') throw new MintError(ErrorCode.QuotePending, 'Quote is pending.')
    if (q.state === 'PAID')
      throw new MintError(ErrorCode.InvoiceAlreadyPaid, 'Invoice already paid.')
    const other = this.get(
      "SELECT state FROM melt_quotes WHERE payment_hash = ? AND state IN ('PENDING','PAID') AND id != ?",
      String(q.payment_hash),
      quoteId,
    )
    if (other?.state === 'PAID')
      throw new MintError(ErrorCode.InvoiceAlreadyPaid, 'Invoice already paid.')
    if (other) throw new MintError(ErrorCode.QuotePending, 'A payment of this invoice is pending.')
    return String(q.payment_hash)
  }

  async meltAgainstMintQuote(args: {
    meltQuoteId: string
    mintQuoteId: string
    inputs: readonly StoredProof[]
    change: readonly StoredSignature[]
    preimage: string | null
    at: number
    nowSec: number
  }): Promise<void> {
    this.tx(() => {
      const hash = this.checkMeltable(args.meltQuoteId)
      const mq = this.get(
        'SELECT state, expiry, payment_hash FROM mint_quotes WHERE id = ?',
        args.mintQuoteId,
      )
      if (!mq || String(mq.payment_hash) !== hash)
        throw new MintError(ErrorCode.QuoteNotPaid, 'The invoice’s mint quote is not found.')
      if (mq.state !== 'UNPAID')
        throw new MintError(ErrorCode.InvoiceAlreadyPaid, 'Invoice already paid.')
      if (num(mq.expiry) <= args.nowSec)
        throw new MintError(ErrorCode.QuoteExpired, 'The invoice has expired.')
      const op = `melt:${args.meltQuoteId}`
      this.claimProofs(args.inputs, 'SPENT', op)
      this.claimOutputs(args.change, op)
      this.run(
        "UPDATE melt_quotes SET state = 'PAID', payment_preimage = ?, fee_paid = 0, paid_at = ? WHERE id = ?",
        args.preimage,
        args.at,
        args.meltQuoteId,
      )
      this.run(
        "UPDATE mint_quotes SET state = 'PAID', paid_at = ?, settled_by = 'melt' WHERE id = ? AND state = 'UNPAID'",
        args.nowSec,
        args.mintQuoteId,
      )
    })
  }

  async markMeltPaying(quoteId: string, at: number): Promise<void> {
    this.run(
      "UPDATE melt_sagas SET step = 'paying', updated_at = ? WHERE quote_id = ?",
      at,
      quoteId,
    )
  }

  async settleMelt(
    quoteId: string,
    result: { preimage: string | null; feePaid: number; change: readonly StoredSignature[] },
    at: number,
  ): Promise<void> {
    this.tx(() => {
      const op = `melt:${quoteId}`
      this.run("UPDATE proofs SET state = 'SPENT' WHERE operation = ? AND state = 'PENDING'", op)
      for (const c of result.change) {
        this.run(
          'UPDATE blind_signatures SET amount = ?, c_ = ?, dleq_e = ?, dleq_s = ? WHERE b_ = ? AND operation = ? AND c_ IS NULL',
          c.amount,
          c.C_,
          c.dleq?.e ?? null,
          c.dleq?.s ?? null,
          c.B_,
          op,
        )
      }
      this.run('DELETE FROM blind_signatures WHERE operation = ? AND c_ IS NULL', op)
      this.run(
        "UPDATE melt_quotes SET state = 'PAID', payment_preimage = ?, fee_paid = ?, paid_at = ? WHERE id = ?",
        result.preimage,
        result.feePaid,
        at,
        quoteId,
      )
      this.run('DELETE FROM melt_sagas WHERE quote_id = ?', quoteId)
    })
  }

  async releaseMelt(quoteId: string): Promise<void> {
    this.tx(() => {
      const op = `melt:${quoteId}`
      this.run("DELETE FROM proofs WHERE operation = ? AND state = 'PENDING'", op)
      this.run('DELETE FROM blind_signatures WHERE operation = ? AND c_ IS NULL', op)
      this.run(
        "UPDATE melt_quotes SET state = 'UNPAID' WHERE id = ? AND state = 'PENDING'",
        quoteId,
      )
      this.run('DELETE FROM melt_sagas WHERE quote_id = ?', quoteId)
    })
  }

  async meltSagas(): Promise<MeltSaga[]> {
    return this.all('SELECT * FROM melt_sagas ORDER BY created_at').map((r) => ({
      quoteId: String(r.quote_id),
      step: String(r.step) as MeltSaga['step'],
      inputYs: JSON.parse(String(r.input_ys)) as string[],
      inputAmount: num(r.input_amount),
      inputFee: num(r.input_fee),
      outputs: JSON.parse(String(r.outputs)) as MeltSaga['outputs'],
      createdAt: num(r.created_at),
      updatedAt: num(r.updated_at),
    }))
  }

  async meltChange(quoteId: string): Promise<StoredSignature[]> {
    // Blanks are inserted in the wallet's order, so rowid order is that order.
    return this.all(
      'SELECT * FROM blind_signatures WHERE operation = ? AND c_ IS NOT NULL ORDER BY rowid',
      `melt:${quoteId}`,
    ).map(signatureFrom)
  }

  async cachedResponse(key: string, now: number) {
    // Expired entries are purged now and then on the caller's clock (the one `expiresAt` was set
    // on), never the wall clock: a test clock or a skewed one must not purge live entries.
    if (Math.random() < 0.01) this.run('DELETE FROM response_cache WHERE expires_at <= ?', now)
    const r = this.get(
      'SELECT body FROM response_cache WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)',
      key,
      now,
    )
    return r ? String(r.body) : undefined
  }

  async cacheResponse(key: string, body: string, expiresAt: number | null): Promise<void> {
    this.run(
      'INSERT INTO response_cache (key, body, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING',
      key,
      body,
      expiresAt,
    )
  }

  async liabilities(): Promise<Liability[]> {
    const rows = this.all(
      `SELECT k.id, k.unit, k.active,
         COALESCE((SELECT SUM(amount) FROM blind_signatures b WHERE b.keyset_id = k.id AND b.c_ IS NOT NULL), 0) AS issued,
         COALESCE((SELECT SUM(amount) FROM proofs p WHERE p.keyset_id = k.id AND p.state = 'SPENT'), 0) AS redeemed
       FROM keysets k ORDER BY k.created_at`,
    )
    return rows.map((r) => ({
      keysetId: String(r.id),
      unit: String(r.unit),
      active: num(r.active) === 1,
      issued: num(r.issued),
      redeemed: num(r.redeemed),
      outstanding: num(r.issued) - num(r.redeemed),
    }))
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close()
  }
}
