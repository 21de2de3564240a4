// LNURL-pay for the box's Lightning address: LUD-16 (`name@domain` → /.well-known/lnurlp/name),
// LUD-06 (the pay request and its callback, the invoice committing to the metadata by its
// description hash) and LUD-12 (a comment from the payer). NIP-57 zaps ride on the same callback
// (src/core/lightning/nip57-zaps.ts).
// https://github.com/lnurl/luds/blob/luds/06.md, …/16.md, …/12.md
import { createHash } from 'node:crypto'
import { DatabaseSync } from 'node:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

/** LUD-12: the longest comment the box accepts with a payment. */
export const COMMENT_ALLOWED = 255

export interface LnurlHttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** A refusal the payer's wallet shows (LUD-06 `{"status":"ERROR","reason":…}`). */
export class LnurlError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly reason: string,
  ) {
    super(reason)
  }
}

export const lnurlHeaders = {
  'content-type': 'application/json; charset=utf-8',
  // Wallets running in browsers fetch this cross-origin (LUD-01 recommends open CORS).
  'access-control-allow-origin': '*',
  'cache-control': 'no-store',
}

export function lnurlJson(body: unknown, status = 200): LnurlHttpResponse {
  return { status, headers: lnurlHeaders, body: JSON.stringify(body) }
}

export function lnurlErrorResponse(err: LnurlError): LnurlHttpResponse {
  return lnurlJson({ status: 'ERROR', reason: err.reason }, err.httpStatus)
}

/** LUD-06 metadata: what the payer's wallet shows, and what the invoice's hash commits to. */
export function metadataOf(address: string): string {
  return JSON.stringify([
    ['text/plain', `Payment to ${address}`],
    ['text/identifier', address],
  ])
}

export const sha256Hex = (text: string): string =>
  createHash('sha256').update(text, 'utf8').digest('hex')

export interface PayRequestInput {
  readonly callback: string
  readonly address: string
  readonly minSendableSat: number
  readonly maxSendableSat: number
  /** NIP-57: the key that signs zap receipts (none yet: zaps are not offered). */
  readonly zapperPubkey: string | undefined
}

/** The LUD-06 payRequest answer (with LUD-12's commentAllowed and NIP-57's fields). */
export function payRequest(p: PayRequestInput) {
  return {
    tag: 'payRequest',
    callback: p.callback,
    minSendable: p.minSendableSat * 1000,
    maxSendable: p.maxSendableSat * 1000,
    metadata: metadataOf(p.address),
    commentAllowed: COMMENT_ALLOWED,
    ...(p.zapperPubkey ? { allowsNostr: true, nostrPubkey: p.zapperPubkey } : {}),
  }
}

export interface CallbackParams {
  readonly amountMsat: number
  readonly comment?: string
  /** NIP-57: the zap request (kind 9734) as sent, URI-decoded. */
  readonly nostr?: string
}

/** Checks the callback's query (LUD-06: the amount in range; LUD-12: the comment's length). */
export function parseCallback(
  q: URLSearchParams,
  limits: { minSendableSat: number; maxSendableSat: number },
): CallbackParams {
  const raw = q.get('amount')
  if (raw === null || !/^\d{1,16}$/.test(raw)) {
    throw new LnurlError(400, 'The amount (in millisatoshis) is missing or not a whole number.')
  }
  const amountMsat = Number(raw)
  const min = limits.minSendableSat * 1000
  const max = limits.maxSendableSat * 1000
  if (amountMsat < min || amountMsat > max) {
    throw new LnurlError(
      400,
      `The amount must be between ${limits.minSendableSat} and ${limits.maxSendableSat} sat.`,
    )
  }
  const comment = q.get('comment') ?? undefined
  if (comment !== undefined && [...comment].length > COMMENT_ALLOWED) {
    throw new LnurlError(400, `The comment is longer than ${COMMENT_ALLOWED} characters.`)
  }
  const nostr = q.get('nostr') ?? undefined
  if (nostr !== undefined && nostr.length > 16_384) {
    throw new LnurlError(400, 'The zap request is too large.')
  }
  return {
    amountMsat,
    ...(comment ? { comment } : {}),
    ...(nostr !== undefined ? { nostr } : {}),
  }
}

export interface AddressInvoiceRow {
  readonly hash: string
  readonly amount_msat: number
  readonly comment: string | null
  readonly zap_request: string | null
  readonly receipt_at: number | null
  readonly attempts: number
  readonly created_at: number
}

/**
 * Invoices made for the Lightning address: the payer's comment, and the zap request whose
 * receipt must be published once the invoice settles (kept until it is, so a restart between
 * the settle and the publish still publishes it).
 */
export class LightningAddressStore {
  private readonly db: DatabaseSync

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    this.db = new DatabaseSync(path)
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec(`CREATE TABLE IF NOT EXISTS address_invoices (
      hash TEXT PRIMARY KEY,
      amount_msat INTEGER NOT NULL,
      comment TEXT,
      zap_request TEXT,
      receipt_at INTEGER,
      attempts INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL
    )`)
  }

  add(r: { hash: string; amountMsat: number; comment?: string; zapRequest?: string }): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO address_invoices (hash, amount_msat, comment, zap_request,
           created_at) VALUES (?, ?, ?, ?, ?)`,
      )
      .run(r.hash, r.amountMsat, r.comment ?? null, r.zapRequest ?? null, Date.now())
  }

  get(hash: string): AddressInvoiceRow | undefined {
    return this.db.prepare('SELECT * FROM address_invoices WHERE hash = ?').get(hash) as
      AddressInvoiceRow | undefined
  }

  /** Zaps whose receipt is not published yet, newer than `since`. */
  pendingZaps(since: number): AddressInvoiceRow[] {
    return this.db
      .prepare(
        `SELECT * FROM address_invoices WHERE zap_request IS NOT NULL AND receipt_at IS NULL
           AND created_at >= ? ORDER BY created_at`,
      )
      .all(since) as unknown as AddressInvoiceRow[]
  }

  receiptPublished(hash: string): void {
    this.db
      .prepare('UPDATE address_invoices SET receipt_at = ? WHERE hash = ?')
      .run(Date.now(), hash)
  }

  attempted(hash: string): void {
    this.db.prepare('UPDATE address_invoices SET attempts = attempts + 1 WHERE hash = ?').run(hash)
  }

  close(): void {
    this.db.close()
  }
}
