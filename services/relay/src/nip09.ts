// NIP-09 deletion requests (kind 5): only the author's own events are deleted; the request is
// stored, and a deleted id (or an address up to the request's created_at) cannot be re-added.
// https://github.com/nostr-protocol/nips/blob/master/09.md
// One exception, from NIP-59: a gift wrap is signed by a throw-away key nobody keeps, so its
// recipient (the p tag) may delete it.
import { kindClass, type NostrEvent } from './nip01'
import { GIFT_WRAP_KIND } from './nip59'
import type { EventStore } from './store'

export const DELETION_KIND = 5

/** Applies a deletion request inside the caller's transaction. Returns the ids removed. */
export function applyDeletion(store: EventStore, del: NostrEvent): string[] {
  const ids: string[] = []
  const removed: string[] = []
  for (const t of del.tags) {
    if (t[0] === 'e' && t[1] && /^[0-9a-f]{64}$/.test(t[1])) ids.push(t[1])
    if (t[0] === 'a' && t[1]) {
      const m = /^(\d+):([0-9a-f]{64}):(.*)$/s.exec(t[1])
      if (!m) continue
      const kind = Number(m[1])
      const pubkey = m[2]!
      const d = m[3]!
      // Someone else's address: ignored.
      if (pubkey !== del.pubkey) continue
      const cls = kindClass(kind)
      if (cls !== 'addressable' && cls !== 'replaceable') continue
      const rows = store.db
        .prepare(
          'SELECT id FROM events WHERE kind = ? AND pubkey = ? AND d = ? AND created_at <= ?',
        )
        .all(kind, pubkey, cls === 'addressable' ? d : '', del.created_at) as { id: string }[]
      removed.push(
        ...store.deleteOwned(
          rows.map((r) => r.id),
          del.pubkey,
        ),
      )
      if (cls === 'addressable') store.markDeletedAddress(kind, pubkey, d, del.created_at)
    }
  }
  // Deleting a deletion request has no effect (NIP-09).
  const deletable = ids.filter((id) => {
    const row = store.db.prepare('SELECT kind FROM events WHERE id = ?').get(id) as
      { kind: number } | undefined
    return row?.kind !== DELETION_KIND
  })
  removed.push(...store.deleteOwned(deletable, del.pubkey))
  // Remember (id, author) so the author cannot re-add it; other authors' ids are unaffected.
  for (const id of deletable) store.markDeletedId(id, del.pubkey)
  for (const wrap of giftWrapsFor(store, deletable, del.pubkey)) {
    removed.push(...store.deleteOwned([wrap.id], wrap.pubkey))
    // Its throw-away author could publish it again: refused like any deleted id.
    store.markDeletedEvent(wrap.id, wrap.pubkey)
  }
  return removed
}

/** Gift wraps among `ids` whose p tag names `recipient`. */
function giftWrapsFor(
  store: EventStore,
  ids: readonly string[],
  recipient: string,
): { id: string; pubkey: string }[] {
  const out: { id: string; pubkey: string }[] = []
  for (const id of ids) {
    const row = store.db
      .prepare('SELECT raw FROM events WHERE id = ? AND kind = ?')
      .get(id, GIFT_WRAP_KIND) as { raw: string } | undefined
    if (!row) continue
    const wrap = JSON.parse(row.raw) as NostrEvent
    if (wrap.tags.some((t) => t[0] === 'p' && t[1] === recipient))
      out.push({ id: wrap.id, pubkey: wrap.pubkey })
  }
  return out
}
