// NIP-59 gift wraps (kind 1059) are served only to the authenticated recipient (its p tag).
// https://github.com/nostr-protocol/nips/blob/master/59.md
import type { NostrEvent } from './nip01'

export const GIFT_WRAP_KIND = 1059

export function giftWrapVisible(ev: NostrEvent, authed: ReadonlySet<string>): boolean {
  if (ev.kind !== GIFT_WRAP_KIND) return true
  return ev.tags.some((t) => t[0] === 'p' && t[1] !== undefined && authed.has(t[1]))
}

/** True when a filter explicitly asks for gift wraps (the client expects to AUTH for them). */
export const asksForGiftWraps = (kinds: readonly number[] | undefined): boolean =>
  kinds?.includes(GIFT_WRAP_KIND) ?? false
