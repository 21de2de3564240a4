// Request signing between the box and its own mint for internal settlement (no sats move between
// them: both use the box's one LND). Contract: INTERNAL-SETTLEMENT design, "Shared key and request
// signing". Both directions use it: the mint signs its calls to the box's settlement hook, the box
// signs its calls to the mint's admin route. Key K is 32 bytes that only the box and its mint hold.
import { createHmac, timingSafeEqual } from 'node:crypto'

export const TIMESTAMP_HEADER = 'x-flashbox-timestamp'
export const SIGNATURE_HEADER = 'x-flashbox-signature'
/** How far a request's timestamp may be from the verifier's clock, either way. */
export const MAX_CLOCK_SKEW_SEC = 120

// A type alias (not an interface) so it is assignable to a plain header record.
export type SettlementRequestHeaders = {
  'x-flashbox-timestamp': string
  'x-flashbox-signature': string
}

/** Node's IncomingHttpHeaders, a plain record, or a fetch Headers. */
export type HeaderSource = Headers | Readonly<Record<string, string | string[] | undefined>>

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/** hex HMAC-SHA256(K, `${ts}\n${METHOD}\n${path}\n${body}`); `path` is the URL pathname only. */
function signature(
  key: Uint8Array,
  ts: string,
  method: string,
  path: string,
  body: string,
): Buffer {
  return createHmac('sha256', key)
    .update(`${ts}\n${method.toUpperCase()}\n${path}\n${body}`)
    .digest()
}

export function signSettlementRequest(
  key: Uint8Array,
  method: string,
  path: string,
  body: string,
  nowSec: number = nowSeconds(),
): SettlementRequestHeaders {
  const ts = String(Math.floor(nowSec))
  return {
    [TIMESTAMP_HEADER]: ts,
    [SIGNATURE_HEADER]: signature(key, ts, method, path, body).toString('hex'),
  }
}

/** Header lookup that accepts Node's IncomingHttpHeaders, a plain record or a fetch Headers. */
function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') {
    return (headers as Headers).get(name) ?? undefined
  }
  const record = headers as Readonly<Record<string, string | string[] | undefined>>
  const key = Object.keys(record).find((k) => k.toLowerCase() === name)
  const value = key === undefined ? undefined : record[key]
  return Array.isArray(value) ? undefined : value
}

export function verifySettlementRequest(
  key: Uint8Array,
  method: string,
  path: string,
  body: string,
  headers: HeaderSource,
  nowSec: number = nowSeconds(),
): boolean {
  if (key.length === 0) return false
  const ts = header(headers, TIMESTAMP_HEADER)
  const sig = header(headers, SIGNATURE_HEADER)
  if (ts === undefined || sig === undefined) return false
  if (!/^\d{1,15}$/.test(ts)) return false
  if (Math.abs(Math.floor(nowSec) - Number(ts)) > MAX_CLOCK_SKEW_SEC) return false
  if (!/^[0-9a-f]{64}$/i.test(sig)) return false
  const expected = signature(key, ts, method, path, body)
  return timingSafeEqual(expected, Buffer.from(sig, 'hex'))
}
