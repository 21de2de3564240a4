// NIP-98 HTTP auth, as NIP-86 uses it: `Authorization: Nostr <base64 kind-27235 event>` with
// `u` = the request URL, `method`, and (required by NIP-86) `payload` = sha256 of the body.
// https://github.com/nostr-protocol/nips/blob/master/98.md
import { createHash } from 'node:crypto'
import { eventShapeProblem, firstTag, type NostrEvent } from './nip01'

export const HTTP_AUTH_KIND = 27235
const MAX_SKEW_SECONDS = 60

export type HttpAuthResult = { ok: true; pubkey: string } | { ok: false; why: string }

export function checkHttpAuth(opts: {
  header: string | undefined
  method: string
  body: Buffer
  isThisUrl: (u: string) => boolean
  verify: (ev: NostrEvent) => boolean
  now: number
}): HttpAuthResult {
  const m = /^Nostr\s+([A-Za-z0-9+/=_-]+)$/.exec(opts.header?.trim() ?? '')
  if (!m) return { ok: false, why: 'missing Authorization: Nostr <event>' }
  let ev: unknown
  try {
    ev = JSON.parse(Buffer.from(m[1]!, 'base64').toString('utf8'))
  } catch {
    return { ok: false, why: 'Authorization is not base64 JSON' }
  }
  const shape = eventShapeProblem(ev)
  if (shape) return { ok: false, why: shape }
  const e = ev as NostrEvent
  if (e.kind !== HTTP_AUTH_KIND) return { ok: false, why: `kind must be ${HTTP_AUTH_KIND}` }
  if (Math.abs(e.created_at - opts.now) > MAX_SKEW_SECONDS)
    return { ok: false, why: 'created_at is not recent' }
  const u = firstTag(e, 'u')
  if (!u || !opts.isThisUrl(u)) return { ok: false, why: 'u tag does not name this relay' }
  if ((firstTag(e, 'method') ?? '').toUpperCase() !== opts.method.toUpperCase())
    return { ok: false, why: 'method tag does not match' }
  const payload = firstTag(e, 'payload')
  if (payload !== createHash('sha256').update(opts.body).digest('hex'))
    return { ok: false, why: 'payload tag does not match the body' }
  if (!opts.verify(e)) return { ok: false, why: 'bad signature' }
  return { ok: true, pubkey: e.pubkey }
}
