// NIP-70 protected events: an event with a ["-"] tag is only accepted from its authenticated author.
// https://github.com/nostr-protocol/nips/blob/master/70.md
import { reason, type NostrEvent } from './nip01'

export const isProtected = (ev: NostrEvent): boolean =>
  ev.tags.some((t) => t.length === 1 && t[0] === '-')

export function protectedProblem(ev: NostrEvent, authed: ReadonlySet<string>): string | undefined {
  if (!isProtected(ev)) return undefined
  if (authed.size === 0)
    return reason('auth-required', 'this event may only be published by its author')
  if (!authed.has(ev.pubkey))
    return reason('restricted', 'this event may only be published by its author')
  return undefined
}
