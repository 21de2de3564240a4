// An on-chain send as a saga that survives a crash at any step (CDK's wallet sagas; the same
// shape as src/core/lightning/payment-saga.ts):
//
//   draft → reviewed (review + unsigned PSBT persisted) → signed (signed PSBT and raw tx
//   persisted BEFORE anything is sent) → broadcast → seen (the wallet sees it in the mempool or a
//   block); or failed (the node refused: the reason in words), discarded, expired.
//
// Every step is written with synchronous=FULL before the next begins. A crash between signing
// and broadcast leaves a `signed` row: the owner broadcasts exactly that transaction later (same
// txid, so never a second payment) or discards it. Coins in `reviewed` (until the review expires)
// and `signed` rows are held back from new coin selection, so two sends never spend one coin.
import { DatabaseSync } from 'node:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { SendKind, SendReview, SendState } from '../../../shared/api/wallet-send'

export interface SendRow {
  id: string
  account_id: string
  kind: SendKind
  state: SendState
  review_json: string
  psbt: string
  coins_json: string
  txid: string | null
  raw_hex: string | null
  replaces: string | null
  failure: string | null
  created_at: number
  updated_at: number
  expires_at: number
}

/** How long a review stays valid: fee rates and coins move; an old review is prepared again. */
export const REVIEW_TTL_MS = 30 * 60_000

export class SendStore {
  private readonly db: DatabaseSync

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = FULL')
    this.db.exec(`CREATE TABLE IF NOT EXISTS sends (
      id TEXT PRIMARY KEY,
      account_id TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('send','bump','cpfp','import','channel')),
      state TEXT NOT NULL CHECK (state IN ('draft','reviewed','signed','broadcast','seen','failed','discarded','expired')),
      review_json TEXT NOT NULL,
      psbt TEXT NOT NULL,
      coins_json TEXT NOT NULL,
      txid TEXT,
      raw_hex TEXT,
      replaces TEXT,
      failure TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`)
    this.db.exec('CREATE INDEX IF NOT EXISTS sends_account ON sends (account_id, created_at)')
  }

  get(id: string): SendRow | undefined {
    return this.db.prepare('SELECT * FROM sends WHERE id = ?').get(id) as SendRow | undefined
  }

  /** A new draft: what was asked, before the review is complete. */
  draft(r: { accountId: string; kind: SendKind; coins: string[]; replaces?: string }): string {
    const id = randomBytes(16).toString('hex')
    const now = Date.now()
    this.db
      .prepare(
        `INSERT INTO sends (id, account_id, kind, state, review_json, psbt, coins_json, replaces,
           created_at, updated_at, expires_at)
         VALUES (?, ?, ?, 'draft', '{}', '', ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        r.accountId,
        r.kind,
        JSON.stringify(r.coins),
        r.replaces ?? null,
        now,
        now,
        now + REVIEW_TTL_MS,
      )
    return id
  }

  /** The review is complete and shown to the owner. */
  reviewed(id: string, review: SendReview, psbt: string, txid: string | undefined): void {
    this.move(id, ['draft', 'reviewed'], 'reviewed', {
      review_json: JSON.stringify(review),
      psbt,
      txid: txid ?? null,
    })
  }

  /** Signed and finalized: written before the broadcast is attempted. */
  signed(id: string, psbt: string, rawHex: string, txid: string): boolean {
    return this.move(id, ['reviewed'], 'signed', { psbt, raw_hex: rawHex, txid })
  }

  broadcast(id: string): boolean {
    return this.move(id, ['signed', 'failed'], 'broadcast', { failure: null })
  }

  seen(id: string): boolean {
    return this.move(id, ['signed', 'broadcast'], 'seen', {})
  }

  failed(id: string, failure: string): boolean {
    return this.move(id, ['signed'], 'failed', { failure })
  }

  discard(id: string): boolean {
    return this.move(id, ['draft', 'reviewed', 'signed', 'failed'], 'discarded', {})
  }

  expire(id: string): boolean {
    return this.move(id, ['draft', 'reviewed'], 'expired', {})
  }

  /** Replaces the PSBT of a reviewed send (signatures merged from an external signer). */
  updatePsbt(id: string, psbt: string): boolean {
    const res = this.db
      .prepare(`UPDATE sends SET psbt = ?, updated_at = ? WHERE id = ? AND state = 'reviewed'`)
      .run(psbt, Date.now(), id)
    return Number(res.changes) === 1
  }

  private move(
    id: string,
    from: SendState[],
    to: SendState,
    set: Partial<Pick<SendRow, 'review_json' | 'psbt' | 'txid' | 'raw_hex' | 'failure'>>,
  ): boolean {
    const cols = Object.keys(set)
    const res = this.db
      .prepare(
        `UPDATE sends SET state = ?, updated_at = ?${cols.map((c) => `, ${c} = ?`).join('')}
         WHERE id = ? AND state IN (${from.map(() => '?').join(',')})`,
      )
      .run(to, Date.now(), ...cols.map((c) => set[c as keyof typeof set] ?? null), id, ...from)
    return Number(res.changes) === 1
  }

  /** Coins that new sends must not pick: held by live reviews and by signed, unsent ones. */
  heldCoins(accountId: string, now = Date.now()): Set<string> {
    const rows = this.db
      .prepare(
        `SELECT coins_json FROM sends WHERE account_id = ? AND
           ((state IN ('draft','reviewed') AND expires_at > ?) OR state = 'signed')`,
      )
      .all(accountId, now) as unknown as { coins_json: string }[]
    return new Set(rows.flatMap((r) => JSON.parse(r.coins_json) as string[]))
  }

  list(accountId: string, limit = 200): SendRow[] {
    return this.db
      .prepare('SELECT * FROM sends WHERE account_id = ? ORDER BY created_at DESC LIMIT ?')
      .all(accountId, limit) as unknown as SendRow[]
  }

  /** Rows a restart must look at: signed (maybe sent before the crash) and broadcast (not yet seen). */
  unresolved(): SendRow[] {
    return this.db
      .prepare(`SELECT * FROM sends WHERE state IN ('signed','broadcast')`)
      .all() as unknown as SendRow[]
  }

  findByTxid(accountId: string, txid: string): SendRow | undefined {
    return this.db
      .prepare(
        `SELECT * FROM sends WHERE account_id = ? AND txid = ? AND state IN ('reviewed','signed','broadcast','seen')
         ORDER BY created_at DESC LIMIT 1`,
      )
      .get(accountId, txid) as SendRow | undefined
  }

  close(): void {
    this.db.close()
  }
}
