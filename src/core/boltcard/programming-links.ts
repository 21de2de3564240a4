// One-time links for the Boltcard NFC Programmer app (Boltcard docs/DEEPLINK.md):
// `boltcard://program|reset?url=<box>/boltcard/keys/<token>`. The app POSTs the card's UID (program)
// or its current lnurlw URL (reset) to that URL and gets the card's K0–K4 back.
//
// The token is the only thing that guards the keys, so the box keeps only its SHA-256: the link
// itself exists in the QR and deep link shown to the owner, nowhere on disk and in no log. Links
// are rows of the cards' SQLite file, so they survive a restart of the box. Taking a link is one
// conditional UPDATE: two requests at once can never both get the keys. A link is released again
// only when the box refused before any key left it (not this card, BTCPay unreachable, …).
import { createHash } from 'node:crypto'
import type { DatabaseSync } from 'node:sqlite'

export type LinkAction = 'program' | 'reset'

export interface ProgrammingLinkRow {
  token_hash: string
  card_id: string
  action: LinkAction
  created_at: number
  expires_at: number
  used_at: number | null
}

export type LinkClaim =
  | { readonly ok: true; readonly link: ProgrammingLinkRow }
  | { readonly ok: false; readonly why: 'unknown' | 'used' | 'expired'; readonly at?: number }

/** Rows older than this past their expiry are dropped (a day: long enough to explain a refusal). */
const KEEP_AFTER_EXPIRY_MS = 86_400_000

export const linkTokenHash = (token: string): string =>
  createHash('sha256').update(`flashbox.boltcard.link:${token}`).digest('hex')

export class ProgrammingLinks {
  constructor(private readonly db: DatabaseSync) {
    db.exec(`CREATE TABLE IF NOT EXISTS programming_links (
      token_hash TEXT PRIMARY KEY,
      card_id TEXT NOT NULL,
      action TEXT NOT NULL CHECK (action IN ('program','reset')),
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      used_at INTEGER
    )`)
  }

  /**
   * Records a new link for the card. An earlier unused link of the same card and action stops
   * working: only the newest QR on the owner's screen opens the card's keys.
   */
  add(tokenHash: string, cardId: string, action: LinkAction, now: number, ttlMs: number): void {
    this.db.exec('BEGIN IMMEDIATE')
    try {
      this.db
        .prepare(
          `UPDATE programming_links SET expires_at = ?
           WHERE card_id = ? AND action = ? AND used_at IS NULL AND expires_at > ?`,
        )
        .run(now, cardId, action, now)
      this.db
        .prepare('DELETE FROM programming_links WHERE expires_at < ?')
        .run(now - KEEP_AFTER_EXPIRY_MS)
      this.db
        .prepare(
          `INSERT INTO programming_links (token_hash, card_id, action, created_at, expires_at)
           VALUES (?, ?, ?, ?, ?)`,
        )
        .run(tokenHash, cardId, action, now, now + ttlMs)
      this.db.exec('COMMIT')
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
  }

  /** Takes the link for one keys request: ok once, then `used`; `expired` after its time. */
  claim(tokenHash: string, now: number): LinkClaim {
    const r = this.db
      .prepare(
        `UPDATE programming_links SET used_at = ?
         WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
      )
      .run(now, tokenHash, now)
    const row = this.db
      .prepare('SELECT * FROM programming_links WHERE token_hash = ?')
      .get(tokenHash) as ProgrammingLinkRow | undefined
    if (Number(r.changes) === 1 && row) return { ok: true, link: row }
    if (!row) return { ok: false, why: 'unknown' }
    if (row.used_at !== null) return { ok: false, why: 'used', at: row.used_at }
    return { ok: false, why: 'expired', at: row.expires_at }
  }

  /** Gives a claimed link back: the box refused before any key was sent. */
  release(tokenHash: string): void {
    this.db
      .prepare('UPDATE programming_links SET used_at = NULL WHERE token_hash = ?')
      .run(tokenHash)
  }
}
