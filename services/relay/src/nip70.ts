// NIP-70 protected events: an event with a ["-"] tag is only accepted from its authenticated author.
// https://github.com/nostr-protocol/nips/blob/master/70.md
// A NIP-18 repost (kind 6, or 16 for other kinds) carries the reposted event in its content; one
// that carries a protected event would publish it past its author, so it is refused too.
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

export const REPOST_KINDS: readonly number[] = [6, 16]

export function repostProblem(ev: NostrEvent): string | undefined {
  if (!REPOST_KINDS.includes(ev.kind) || !ev.content.trim().startsWith('{')) return undefined
  let embedded: unknown
  try {
    embedded = JSON.parse(ev.content)
  } catch {
    return undefined
  }
  const e = embedded as Partial<NostrEvent> | null
  if (!e || !Array.isArray(e.tags)) return undefined
  const protectedEmbed = e.tags.some((t) => Array.isArray(t) && t.length === 1 && t[0] === '-')
  // The author may repost their own protected event: that is publishing it themselves.
  if (protectedEmbed && e.pubkey !== ev.pubkey)
    return reason(
      'blocked',
      'this repost carries a protected event that only its author may publish',
    )
  return undefined
}
