// A channel opening funded from this wallet through LND's PSBT flow, as a saga that survives a
// crash at any step (the shape of send-saga.ts; the steps are in lightning-moves.ts):
//
//   requested  LND waits for a PSBT for its pending channel id (OpenChannel with a psbt_shim and
//              no_publish); the send's review exists, its coins are held while it is valid.
//   verified   LND checked the unsigned PSBT (FundingStateStep psbt_verify): it pays LND's funding
//              address exactly the channel's capacity.
//   signed     the box signed it; the signed PSBT and raw transaction are written here (and the
//              send becomes `signed`, its coins held) BEFORE LND is shown them.
//   finalized  LND accepted the signed PSBT (psbt_finalize): it now has the peer's signature for
//              the refund path and holds the funding transaction, which it does not publish.
//   published  the box's node has the funding transaction (the same txid whatever happens).
//   cancelled  nothing was published: LND's flow was cancelled or LND no longer knows it; the send
//              is discarded, so its coins are free again.
//
// Every step is written with synchronous=FULL before the next begins. After a crash (or whenever
// the wallet or LND come back) `LightningMoves.reconcile()` looks at LND and the chain:
//  - requested/verified: nothing was signed; the flow is cancelled at LND and here.
//  - signed: if LND lists a pending (or open) channel with this txid, it finalized before the
//    crash → finalized; else the stored PSBT is offered to LND again; if LND refuses it (its flow
//    is gone), cancelled — the signed transaction is kept here but never published, since no
//    refund path exists for it.
//  - finalized: the stored raw transaction is broadcast (idempotent) → published.
// So a crash never funds twice (one txid per opening, and a cancelled one is never published),
// never loses the signed funding transaction LND waits for, and holds coins only until LND
// answers.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync } from 'node:sqlite'

export type ChannelFundingState =
  'requested' | 'verified' | 'signed' | 'finalized' | 'published' | 'cancelled'

export interface ChannelFundingRow {
  /** The send review's id (send-saga.ts): one opening per review. */
  review_id: string
  account_id: string
  /** LND's pending channel id (hex). */
  pending_id: string
  peer: string
  capacity_sat: number
  state: ChannelFundingState
  txid: string | null
  signed_psbt: string | null
  raw_hex: string | null
  /** Why it was cancelled, in words. */
  reason: string | null
  created_at: number
  updated_at: number
}

export class ChannelFundingStore {
  private readonly db: DatabaseSync

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec('PRAGMA synchronous = FULL')
    this.db.exec(`CREATE TABLE IF NOT EXISTS channel_fundings (
      review_id TEXT PRIMARY KEY,
      account_id TEXT NOT NULL,
      pending_id TEXT NOT NULL UNIQUE,
      peer TEXT NOT NULL,
      capacity_sat INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('requested','verified','signed','finalized','published','cancelled')),
      txid TEXT,
      signed_psbt TEXT,
      raw_hex TEXT,
      reason TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`)
  }

  get(reviewId: string): ChannelFundingRow | undefined {
    return this.db.prepare('SELECT * FROM channel_fundings WHERE review_id = ?').get(reviewId) as
      ChannelFundingRow | undefined
  }

  requested(r: {
    reviewId: string
    accountId: string
    pendingId: string
    peer: string
    capacitySat: number
  }): void {
    const now = Date.now()
    this.db
      .prepare(
        `INSERT INTO channel_fundings (review_id, account_id, pending_id, peer, capacity_sat, state,
           created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'requested', ?, ?)`,
      )
      .run(r.reviewId, r.accountId, r.pendingId, r.peer, r.capacitySat, now, now)
  }

  verified(reviewId: string, txid: string): boolean {
    return this.move(reviewId, ['requested'], 'verified', { txid })
  }

  /** The signed funding, kept before LND sees it. */
  signed(reviewId: string, signedPsbt: string, rawHex: string, txid: string): boolean {
    return this.move(reviewId, ['verified'], 'signed', {
      signed_psbt: signedPsbt,
      raw_hex: rawHex,
      txid,
    })
  }

  finalized(reviewId: string): boolean {
    return this.move(reviewId, ['signed'], 'finalized', {})
  }

  published(reviewId: string): boolean {
    return this.move(reviewId, ['finalized'], 'published', {})
  }

  /** Never from finalized or published: LND holds that transaction and the box must publish it. */
  cancelled(reviewId: string, reason: string): boolean {
    return this.move(reviewId, ['requested', 'verified', 'signed'], 'cancelled', { reason })
  }

  /** Openings a restart must look at. */
  unresolved(): ChannelFundingRow[] {
    return this.db
      .prepare(
        `SELECT * FROM channel_fundings WHERE state IN ('requested','verified','signed','finalized')
         ORDER BY created_at`,
      )
      .all() as unknown as ChannelFundingRow[]
  }

  private move(
    reviewId: string,
    from: ChannelFundingState[],
    to: ChannelFundingState,
    set: Partial<Pick<ChannelFundingRow, 'txid' | 'signed_psbt' | 'raw_hex' | 'reason'>>,
  ): boolean {
    const cols = Object.keys(set) as (keyof typeof set)[]
    const res = this.db
      .prepare(
        `UPDATE channel_fundings SET state = ?, updated_at = ?${cols.map((c) => `, ${c} = ?`).join('')}
         WHERE review_id = ? AND state IN (${from.map(() => '?').join(',')})`,
      )
      .run(to, Date.now(), ...cols.map((c) => set[c] ?? null), reviewId, ...from)
    return Number(res.changes) === 1
  }

  close(): void {
    this.db.close()
  }
}
