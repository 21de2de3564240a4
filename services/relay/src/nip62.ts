// NIP-62 request to vanish (kind 62): delete everything of that pubkey up to the request's
// created_at (and gift wraps addressed to it), and refuse re-adds of such events.
// https://github.com/nostr-protocol/nips/blob/master/62.md
import type { NostrEvent } from './nip01'
import type { EventStore } from './store'

export const VANISH_KIND = 62

export function vanishTargetsThisRelay(
  ev: NostrEvent,
  isThisRelay: (url: string) => boolean,
): boolean {
  return ev.tags.some(
    (t) => t[0] === 'relay' && t[1] !== undefined && (t[1] === 'ALL_RELAYS' || isThisRelay(t[1])),
  )
}

/** Applies a vanish request inside the caller's transaction; returns how many events were removed. */
export function applyVanish(store: EventStore, ev: NostrEvent): number {
  let n = store.deleteWhere('pubkey = ? AND created_at <= ? AND kind != 62', [
    ev.pubkey,
    ev.created_at,
  ])
  n += store.deleteWhere(
    `kind = 1059 AND created_at <= ? AND seq IN (SELECT seq FROM tags WHERE name = 'p' AND value = ?)`,
    [ev.created_at, ev.pubkey],
  )
  store.markVanished(ev.pubkey, ev.created_at)
  return n
}
