// NIP-42 authentication of clients to relays.
// https://github.com/nostr-protocol/nips/blob/master/42.md
import { randomBytes } from 'node:crypto'
import { firstTag, reason, type NostrEvent } from './nip01'

export const AUTH_KIND = 22242
/** How far an AUTH event's created_at may be from now (NIP-42 suggests ~10 minutes). */
const MAX_SKEW_SECONDS = 600

export const newChallenge = (): string => randomBytes(16).toString('hex')

/** Checks an AUTH event (its signature is checked by the caller). */
export function authProblem(
  ev: NostrEvent,
  challenge: string,
  isThisRelay: (url: string) => boolean,
  now: number,
): string | undefined {
  if (ev.kind !== AUTH_KIND) return reason('invalid', `AUTH event must be kind ${AUTH_KIND}`)
  if (Math.abs(ev.created_at - now) > MAX_SKEW_SECONDS)
    return reason('invalid', 'AUTH event created_at is too far from now')
  if (firstTag(ev, 'challenge') !== challenge) return reason('invalid', 'wrong AUTH challenge')
  const relay = firstTag(ev, 'relay')
  if (!relay || !isThisRelay(relay)) return reason('invalid', 'AUTH event is for another relay')
  return undefined
}

/** Normalises a relay URL for comparison: scheme-insensitive (ws/http), no trailing slash. */
export function normaliseRelayUrl(url: string): string | undefined {
  try {
    const u = new URL(url.trim())
    const host = u.hostname.toLowerCase()
    const secure = u.protocol === 'wss:' || u.protocol === 'https:'
    const port = u.port || (secure ? '443' : '80')
    return `${host}:${port}${u.pathname.replace(/\/+$/, '')}`
  } catch {
    return undefined
  }
}
