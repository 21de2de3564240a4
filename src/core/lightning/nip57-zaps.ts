// NIP-57 zaps on the box's Lightning address: the zap request (kind 9734) a payer's client sends
// to the LNURL callback is checked as Appendix D says, the invoice commits to it by its
// description hash, and once the invoice settles the box publishes the zap receipt (kind 9735),
// signed by its zapper key, to its own relay and the relays the request names.
// https://github.com/nostr-protocol/nips/blob/master/57.md
import { finalizeEvent, verifyEvent, type Event, type VerifiedEvent } from 'nostr-tools/pure'
import { LnurlError } from './lud06-lnurl-pay'

export const ZAP_REQUEST_KIND = 9734
export const ZAP_RECEIPT_KIND = 9735

const HEX64 = /^[0-9a-f]{64}$/
// kind:pubkey:d-tag (NIP-01 addressable event coordinate)
const COORDINATE = /^\d{1,5}:[0-9a-f]{64}:.{0,256}$/s
const MAX_RELAYS = 10

export interface ZapRequest {
  readonly event: Event
  readonly recipient: string
  readonly relays: readonly string[]
}

const bad = (why: string) => new LnurlError(400, `Invalid zap request: ${why}.`)

/** NIP-57 Appendix D: the checks on a zap request before an invoice is made for it. */
export function validateZapRequest(json: string, amountMsat: number): ZapRequest {
  let ev: Event
  try {
    ev = JSON.parse(json) as Event
  } catch {
    throw bad('it is not JSON')
  }
  if (!ev || typeof ev !== 'object' || ev.kind !== ZAP_REQUEST_KIND) {
    throw bad(`it must be a kind ${ZAP_REQUEST_KIND} event`)
  }
  if (!Array.isArray(ev.tags) || ev.tags.length === 0) throw bad('it has no tags')
  if (!ev.tags.every((t) => Array.isArray(t) && t.every((x) => typeof x === 'string'))) {
    throw bad('its tags are malformed')
  }
  // 1. a valid signature
  let valid: boolean
  try {
    valid = verifyEvent({ ...ev })
  } catch {
    valid = false
  }
  if (!valid) throw bad('its signature does not verify')
  const all = (name: string) => ev.tags.filter((t) => t[0] === name)
  // 3. exactly one p tag
  const p = all('p')
  if (p.length !== 1 || !HEX64.test(p[0]![1] ?? ''))
    throw bad('it must name exactly one recipient (p tag)')
  // 4. zero or one e tag
  const e = all('e')
  if (e.length > 1 || (e.length === 1 && !HEX64.test(e[0]![1] ?? ''))) {
    throw bad('it may name at most one event (e tag)')
  }
  // 5. the relays to publish the receipt to
  const relays = (all('relays')[0] ?? []).slice(1).filter((r) => /^wss?:\/\/\S+$/.test(r))
  if (relays.length === 0) throw bad('it has no relays tag')
  // 6. an amount tag, when present, equals the amount asked for
  const amount = all('amount')
  if (amount.length > 1) throw bad('it has more than one amount tag')
  if (amount.length === 1 && amount[0]![1] !== String(amountMsat)) {
    throw bad('its amount tag does not match the amount')
  }
  // 7. an a tag, when present, is a valid event coordinate
  const a = all('a')
  if (a.length > 1 || (a.length === 1 && !COORDINATE.test(a[0]![1] ?? ''))) {
    throw bad('its a tag is not an event coordinate')
  }
  // 8. zero or one P tag
  if (all('P').length > 1) throw bad('it has more than one P tag')
  return { event: ev, recipient: p[0]![1]!, relays: [...new Set(relays)].slice(0, MAX_RELAYS) }
}

/** The zap receipt for a settled zap invoice (NIP-57 Appendix E). */
export function zapReceipt(
  zapperSecretKey: Uint8Array,
  o: {
    readonly zapRequestJson: string
    readonly bolt11: string
    readonly paidAt: number
    readonly preimage?: string
  },
): VerifiedEvent {
  const req = JSON.parse(o.zapRequestJson) as Event
  const tag = (name: string) => req.tags.find((t) => t[0] === name)
  const tags: string[][] = [['p', tag('p')![1]!]]
  const e = tag('e')
  if (e) tags.push(['e', e[1]!])
  const a = tag('a')
  if (a) tags.push(['a', a[1]!])
  const k = tag('k')
  if (k?.[1]) tags.push(['k', k[1]])
  tags.push(['P', req.pubkey])
  tags.push(['bolt11', o.bolt11])
  tags.push(['description', o.zapRequestJson])
  if (o.preimage) tags.push(['preimage', o.preimage])
  return finalizeEvent(
    { kind: ZAP_RECEIPT_KIND, created_at: o.paidAt, content: '', tags },
    zapperSecretKey,
  )
}
