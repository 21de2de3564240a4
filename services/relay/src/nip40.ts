// NIP-40 expiration: refused if already expired, never served once expired, purged periodically.
// https://github.com/nostr-protocol/nips/blob/master/40.md
import type { NostrEvent } from './nip01'

export function expirationOf(ev: Pick<NostrEvent, 'tags'>): number | undefined {
  for (const t of ev.tags)
    if (t[0] === 'expiration' && t[1] !== undefined && /^\d{1,12}$/.test(t[1])) return Number(t[1])
  return undefined
}

export function isExpired(ev: Pick<NostrEvent, 'tags'>, now: number): boolean {
  const exp = expirationOf(ev)
  return exp !== undefined && exp <= now
}
