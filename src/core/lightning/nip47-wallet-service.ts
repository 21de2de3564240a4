// NIP-47 Nostr Wallet Connect, the wallet service's side of the wire: the info event (13194),
// requests (23194) decrypted and checked, responses (23195) encrypted back to the app.
// Encryption: NIP-44 v2 (`["encryption", "nip44_v2"]` on the request). A request without that
// tag is a NIP-04 request from an older client, answered in NIP-04, as NIP-47 keeps for
// compatibility; the info event lists both, NIP-44 first.
// https://github.com/nostr-protocol/nips/blob/master/47.md
import * as nip04 from 'nostr-tools/nip04'
import * as nip44 from 'nostr-tools/nip44'
import { finalizeEvent, verifyEvent, type Event, type VerifiedEvent } from 'nostr-tools/pure'
import { NWC_METHODS, type NwcMethod } from '../../shared/api/wallet-service'

export const INFO_KIND = 13194
export const REQUEST_KIND = 23194
export const RESPONSE_KIND = 23195

export type NwcErrorCode =
  | 'RATE_LIMITED'
  | 'NOT_IMPLEMENTED'
  | 'INSUFFICIENT_BALANCE'
  | 'QUOTA_EXCEEDED'
  | 'RESTRICTED'
  | 'UNAUTHORIZED'
  | 'INTERNAL'
  | 'OTHER'
  | 'PAYMENT_FAILED'
  | 'NOT_FOUND'
  | 'UNSUPPORTED_ENCRYPTION'

/** An error a method answers with (NIP-47 “Error codes”). */
export class NwcError extends Error {
  constructor(
    readonly code: NwcErrorCode,
    message: string,
  ) {
    super(message)
  }
}

export type Encryption = 'nip44_v2' | 'nip04'
export const SUPPORTED_ENCRYPTION: readonly Encryption[] = ['nip44_v2', 'nip04']

/** A request's encryption: its `encryption` tag, or NIP-04 when there is none; null if unknown. */
export function requestEncryption(ev: Pick<Event, 'tags'>): Encryption | null {
  const tag = ev.tags.find((t) => t[0] === 'encryption')
  if (!tag) return 'nip04'
  const wanted = (tag[1] ?? '').split(/\s+/).filter(Boolean)
  return SUPPORTED_ENCRYPTION.find((e) => wanted.includes(e)) ?? null
}

/** A transaction as NIP-47 answers it (amounts in millisatoshis, times in unix seconds). */
export interface NwcTransaction {
  readonly type: 'incoming' | 'outgoing'
  readonly state?: 'pending' | 'settled' | 'expired' | 'failed'
  readonly invoice?: string
  readonly description?: string
  readonly description_hash?: string
  readonly preimage?: string
  readonly payment_hash: string
  readonly amount: number
  readonly fees_paid: number
  readonly created_at: number
  readonly expires_at?: number
  readonly settled_at?: number
  readonly metadata?: Record<string, unknown>
}

export interface NwcRequest {
  readonly method: string
  readonly params: Record<string, unknown>
}

export interface NwcResponse {
  readonly result_type: string
  readonly error: { readonly code: NwcErrorCode; readonly message: string } | null
  readonly result: unknown
}

/** The info event for one connection's service key: the methods it may call, and encryption. */
export function infoEvent(
  serviceSecretKey: Uint8Array,
  methods: readonly NwcMethod[],
  createdAt = Math.floor(Date.now() / 1000),
): VerifiedEvent {
  const ordered = NWC_METHODS.filter((m) => methods.includes(m))
  return finalizeEvent(
    {
      kind: INFO_KIND,
      created_at: createdAt,
      content: ordered.join(' '),
      tags: [['encryption', SUPPORTED_ENCRYPTION.join(' ')]],
    },
    serviceSecretKey,
  )
}

const MAX_CONTENT = 64 * 1024

export function decryptRequest(
  ev: Event,
  serviceSecretKey: Uint8Array,
  encryption: Encryption,
): NwcRequest {
  if (ev.content.length > MAX_CONTENT) throw new NwcError('OTHER', 'The request is too large.')
  let plain: string
  try {
    plain =
      encryption === 'nip44_v2'
        ? nip44.decrypt(ev.content, nip44.getConversationKey(serviceSecretKey, ev.pubkey))
        : nip04.decrypt(serviceSecretKey, ev.pubkey, ev.content)
  } catch {
    throw new NwcError('OTHER', `The request could not be decrypted with ${encryption}.`)
  }
  let body: unknown
  try {
    body = JSON.parse(plain)
  } catch {
    throw new NwcError('OTHER', 'The request is not JSON.')
  }
  const b = body as { method?: unknown; params?: unknown }
  if (typeof b?.method !== 'string' || b.method.length > 64) {
    throw new NwcError('OTHER', 'The request has no method.')
  }
  const params = b.params ?? {}
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new NwcError('OTHER', 'The request params must be an object.')
  }
  return { method: b.method, params: params as Record<string, unknown> }
}

export function responseEvent(
  serviceSecretKey: Uint8Array,
  request: Pick<Event, 'id' | 'pubkey'>,
  encryption: Encryption,
  response: NwcResponse,
): VerifiedEvent {
  const text = JSON.stringify(response)
  const content =
    encryption === 'nip44_v2'
      ? nip44.encrypt(text, nip44.getConversationKey(serviceSecretKey, request.pubkey))
      : nip04.encrypt(serviceSecretKey, request.pubkey, text)
  return finalizeEvent(
    {
      kind: RESPONSE_KIND,
      created_at: Math.floor(Date.now() / 1000),
      content,
      tags: [
        ['p', request.pubkey],
        ['e', request.id],
        ...(encryption === 'nip44_v2' ? [['encryption', 'nip44_v2']] : []),
      ],
    },
    serviceSecretKey,
  )
}

/** Whether a request event should be looked at at all: signed, the right kind, not expired. */
export function acceptableRequest(ev: Event, now = Math.floor(Date.now() / 1000)): boolean {
  if (ev.kind !== REQUEST_KIND) return false
  const exp = ev.tags.find((t) => t[0] === 'expiration')?.[1]
  if (exp !== undefined && Number(exp) < now) return false
  return verifyEvent(ev)
}

export const isNwcMethod = (m: string): m is NwcMethod =>
  (NWC_METHODS as readonly string[]).includes(m)

/** The nostr+walletconnect:// URI an app is given (NIP-47 “Nostr Wallet Connect URI”). */
export function connectionUri(o: {
  servicePubkey: string
  relays: readonly string[]
  clientSecretHex: string
  lud16?: string
}): string {
  const q = new URLSearchParams()
  for (const r of o.relays) q.append('relay', r)
  q.set('secret', o.clientSecretHex)
  if (o.lud16) q.set('lud16', o.lud16)
  return `nostr+walletconnect://${o.servicePubkey}?${q.toString()}`
}

// Params as NIP-47 defines them; anything else is refused with OTHER before the wallet is asked.
const int = (v: unknown, what: string, { min = 0 } = {}): number | undefined => {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new NwcError('OTHER', `${what} must be a whole number of at least ${min}.`)
  }
  return v
}
const str = (v: unknown, what: string, max = 8192): string | undefined => {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v.length > max) throw new NwcError('OTHER', `${what} is not valid.`)
  return v
}
const HEX64 = /^[0-9a-f]{64}$/

export function payInvoiceParams(p: Record<string, unknown>) {
  const invoice = str(p.invoice, 'invoice')
  if (!invoice) throw new NwcError('OTHER', 'pay_invoice needs an invoice.')
  return { invoice, amountMsat: int(p.amount, 'amount', { min: 1 }) }
}

export function makeInvoiceParams(p: Record<string, unknown>) {
  const amountMsat = int(p.amount, 'amount', { min: 1 })
  if (amountMsat === undefined) throw new NwcError('OTHER', 'make_invoice needs an amount.')
  const descriptionHash = str(p.description_hash, 'description_hash', 64)
  if (descriptionHash !== undefined && !HEX64.test(descriptionHash)) {
    throw new NwcError('OTHER', 'description_hash must be 64 hex characters.')
  }
  return {
    amountMsat,
    description: str(p.description, 'description', 639) ?? '',
    descriptionHash,
    expirySeconds: int(p.expiry, 'expiry', { min: 1 }),
  }
}

export function lookupInvoiceParams(p: Record<string, unknown>) {
  const paymentHash = str(p.payment_hash, 'payment_hash', 64)
  const invoice = str(p.invoice, 'invoice')
  if (paymentHash !== undefined && !HEX64.test(paymentHash)) {
    throw new NwcError('OTHER', 'payment_hash must be 64 hex characters.')
  }
  if (!paymentHash && !invoice) {
    throw new NwcError('OTHER', 'lookup_invoice needs a payment_hash or an invoice.')
  }
  return { paymentHash, invoice }
}

export function listTransactionsParams(p: Record<string, unknown>) {
  const type = p.type
  if (type !== undefined && type !== 'incoming' && type !== 'outgoing') {
    throw new NwcError('OTHER', 'type must be "incoming" or "outgoing".')
  }
  if (p.unpaid !== undefined && typeof p.unpaid !== 'boolean') {
    throw new NwcError('OTHER', 'unpaid must be true or false.')
  }
  return {
    from: int(p.from, 'from') ?? 0,
    until: int(p.until, 'until'),
    limit: Math.min(int(p.limit, 'limit', { min: 1 }) ?? 50, 500),
    offset: int(p.offset, 'offset') ?? 0,
    unpaid: p.unpaid === true,
    type: type as 'incoming' | 'outgoing' | undefined,
  }
}
