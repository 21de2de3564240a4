// NIP-01: the event shape, kinds' storage classes, filters and their matching.
// https://github.com/nostr-protocol/nips/blob/master/01.md
export interface NostrEvent {
  id: string
  pubkey: string
  created_at: number
  kind: number
  tags: string[][]
  content: string
  sig: string
}

export interface Filter {
  ids?: string[]
  authors?: string[]
  kinds?: number[]
  since?: number
  until?: number
  limit?: number
  /** Single-letter tag queries: `#e` → tags.e */
  tags?: Record<string, string[]>
  /** NIP-50 is not supported; kept out of the type on purpose. */
}

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/

export type KindClass = 'regular' | 'replaceable' | 'ephemeral' | 'addressable'

export function kindClass(kind: number): KindClass {
  if (kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000)) return 'replaceable'
  if (kind >= 20000 && kind < 30000) return 'ephemeral'
  if (kind >= 30000 && kind < 40000) return 'addressable'
  return 'regular'
}

/** The `d` tag value of an addressable event ('' when absent, as NIP-01 says). */
export function dTag(ev: Pick<NostrEvent, 'tags'>): string {
  for (const t of ev.tags) if (t[0] === 'd') return t[1] ?? ''
  return ''
}

export function firstTag(ev: Pick<NostrEvent, 'tags'>, name: string): string | undefined {
  for (const t of ev.tags) if (t[0] === name && typeof t[1] === 'string') return t[1]
  return undefined
}

/** Checks the shape of an event (not its id or signature). Returns a reason or undefined. */
export function eventShapeProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'event must be an object'
  const e = v as Record<string, unknown>
  if (typeof e.id !== 'string' || !HEX64.test(e.id)) return 'id must be 64 lowercase hex characters'
  if (typeof e.pubkey !== 'string' || !HEX64.test(e.pubkey))
    return 'pubkey must be 64 lowercase hex characters'
  if (typeof e.sig !== 'string' || !HEX128.test(e.sig))
    return 'sig must be 128 lowercase hex characters'
  if (typeof e.kind !== 'number' || !Number.isInteger(e.kind) || e.kind < 0 || e.kind > 65535)
    return 'kind must be an integer between 0 and 65535'
  if (
    typeof e.created_at !== 'number' ||
    !Number.isInteger(e.created_at) ||
    e.created_at < 0 ||
    e.created_at > 0xffffffff
  )
    return 'created_at must be a unix timestamp in seconds'
  if (typeof e.content !== 'string') return 'content must be a string'
  if (!Array.isArray(e.tags)) return 'tags must be an array'
  for (const t of e.tags) {
    if (!Array.isArray(t) || t.length === 0) return 'each tag must be a non-empty array'
    for (const s of t) if (typeof s !== 'string') return 'tag elements must be strings'
  }
  return undefined
}

/**
 * Parses a REQ/COUNT filter object. Returns the filter or a reason it is invalid.
 * Unknown keys are ignored (forward compatibility), wrong types are errors.
 */
export function parseFilter(v: unknown): Filter | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'filter must be an object'
  const out: Filter = {}
  for (const [key, val] of Object.entries(v as Record<string, unknown>)) {
    switch (key) {
      case 'ids':
      case 'authors': {
        if (!Array.isArray(val) || !val.every((x) => typeof x === 'string' && HEX64.test(x)))
          return `${key} must be an array of 64-character lowercase hex strings`
        out[key] = val as string[]
        break
      }
      case 'kinds': {
        if (
          !Array.isArray(val) ||
          !val.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 65535)
        )
          return 'kinds must be an array of integers'
        out.kinds = val as number[]
        break
      }
      case 'since':
      case 'until':
      case 'limit': {
        if (typeof val !== 'number' || !Number.isInteger(val) || val < 0)
          return `${key} must be a non-negative integer`
        out[key] = val
        break
      }
      default: {
        if (key.length === 2 && key[0] === '#' && /[a-zA-Z]/.test(key[1]!)) {
          if (!Array.isArray(val) || !val.every((x) => typeof x === 'string'))
            return `${key} must be an array of strings`
          out.tags ??= {}
          out.tags[key[1]!] = val as string[]
        }
        // Other keys (search, …) are not supported and ignored.
      }
    }
  }
  return out
}

/** The reference matcher: does `ev` satisfy `f`? (limit is not a matching condition.) */
export function matchFilter(f: Filter, ev: NostrEvent): boolean {
  if (f.ids && !f.ids.includes(ev.id)) return false
  if (f.authors && !f.authors.includes(ev.pubkey)) return false
  if (f.kinds && !f.kinds.includes(ev.kind)) return false
  if (f.since !== undefined && ev.created_at < f.since) return false
  if (f.until !== undefined && ev.created_at > f.until) return false
  if (f.tags) {
    for (const [name, values] of Object.entries(f.tags)) {
      if (!ev.tags.some((t) => t[0] === name && t[1] !== undefined && values.includes(t[1])))
        return false
    }
  }
  return true
}

/** NIP-01 ordering: newest first; ties broken by lowest id. */
export function compareEvents(a: NostrEvent, b: NostrEvent): number {
  if (a.created_at !== b.created_at) return b.created_at - a.created_at
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** Is `candidate` newer than `stored` under the replaceable rules (ties: lowest id wins)? */
export function replaces(
  candidate: NostrEvent,
  stored: { created_at: number; id: string },
): boolean {
  if (candidate.created_at !== stored.created_at) return candidate.created_at > stored.created_at
  return candidate.id < stored.id
}

/** Machine-readable prefixes for OK and CLOSED messages (NIP-01). */
export type ReasonPrefix =
  | 'duplicate'
  | 'pow'
  | 'blocked'
  | 'rate-limited'
  | 'invalid'
  | 'restricted'
  | 'mute'
  | 'error'
  | 'auth-required'

export const reason = (prefix: ReasonPrefix, text: string): string => `${prefix}: ${text}`
