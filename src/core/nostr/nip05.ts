// NIP-05: the box answers `GET /.well-known/nostr.json?name=<local-part>` for the shop's names,
// and checks other people's `name@domain` against their public key.
// https://github.com/nostr-protocol/nips/blob/master/05.md
import { NIP05_REGEX } from 'nostr-tools/nip05'
import { FlashError } from '../errors'

export interface Nip05HttpResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

const NAME = /^[a-z0-9._-]+$/
const HEX64 = /^[0-9a-f]{64}$/

/**
 * The response for `/.well-known/nostr.json?name=…`. `names` maps local parts to hex pubkeys;
 * `relays` (optional) lists where each pubkey can be found. Without `name`, every name is
 * listed (they are the business's public identities). CORS is open as the NIP requires.
 */
export function nip05Response(
  names: Readonly<Record<string, string>>,
  query: string | null | undefined,
  relays?: Readonly<Record<string, readonly string[]>>,
): Nip05HttpResponse {
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'access-control-allow-origin': '*',
    'cache-control': 'max-age=300',
  }
  const valid = Object.entries(names).filter(([n, pk]) => NAME.test(n) && HEX64.test(pk))
  let selected: [string, string][]
  if (query === null || query === undefined || query === '') {
    selected = valid
  } else {
    const wanted = query.trim().toLowerCase()
    if (!NAME.test(wanted) || wanted.length > 64) {
      return {
        status: 400,
        headers,
        body: JSON.stringify({ error: 'name may contain only a-z, 0-9, ".", "-" and "_"' }),
      }
    }
    selected = valid.filter(([n]) => n === wanted)
  }
  const body: { names: Record<string, string>; relays?: Record<string, string[]> } = {
    names: Object.fromEntries(selected),
  }
  if (relays) {
    const out: Record<string, string[]> = {}
    for (const [, pk] of selected) if (relays[pk]?.length) out[pk] = [...relays[pk]!]
    if (Object.keys(out).length) body.relays = out
  }
  return { status: 200, headers, body: JSON.stringify(body) }
}

/** Splits `name@domain` (or a bare `domain`, meaning `_@domain`). */
export function parseNip05(address: string): { name: string; domain: string } {
  const m = address.trim().match(NIP05_REGEX)
  if (!m) {
    throw new FlashError(
      'nostr.bad_nip05',
      `"${address.slice(0, 80)}" is not a Nostr address.`,
      'Write it like name@example.com.',
    )
  }
  return { name: (m[1] ?? '_').toLowerCase(), domain: m[2]!.toLowerCase() }
}

export type Fetch = (url: string, init: RequestInit) => Promise<Response>

/** Resolves `name@domain` to a pubkey (and relay hints); null when the domain does not list it. */
export async function resolveNip05(
  address: string,
  opts: { fetch?: Fetch; timeoutMs?: number; scheme?: 'https' | 'http' } = {},
): Promise<{ pubkey: string; relays: string[] } | null> {
  const { name, domain } = parseNip05(address)
  const doFetch = opts.fetch ?? ((u: string, i: RequestInit) => fetch(u, i))
  const url = `${opts.scheme ?? 'https'}://${domain}/.well-known/nostr.json?name=${encodeURIComponent(name)}`
  let res: Response
  try {
    // NIP-05: fetchers MUST ignore redirects.
    res = await doFetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 8000),
      headers: { accept: 'application/json' },
    })
  } catch (err) {
    throw new FlashError(
      'nostr.nip05_unreachable',
      `Could not reach ${domain} to check the address.`,
      'Check the internet connection and the spelling of the address, then try again.',
      { cause: err },
    )
  }
  if (res.status !== 200) return null
  let json: unknown
  try {
    json = JSON.parse((await res.text()).slice(0, 1_000_000))
  } catch {
    return null
  }
  const names = (json as { names?: unknown })?.names
  if (!names || typeof names !== 'object') return null
  const pubkey = (names as Record<string, unknown>)[name]
  if (typeof pubkey !== 'string' || !HEX64.test(pubkey)) return null
  const relaysField = (json as { relays?: Record<string, unknown> }).relays?.[pubkey]
  const relays = Array.isArray(relaysField)
    ? relaysField.filter((r): r is string => typeof r === 'string' && /^wss?:\/\//.test(r))
    : []
  return { pubkey, relays }
}

/** Checks that `address` lists `pubkey` (hex). */
export async function verifyNip05(
  address: string,
  pubkey: string,
  opts: { fetch?: Fetch; timeoutMs?: number; scheme?: 'https' | 'http' } = {},
): Promise<{ valid: boolean; reason?: string }> {
  const found = await resolveNip05(address, opts)
  if (!found) return { valid: false, reason: `${address} is not listed by its domain.` }
  if (found.pubkey !== pubkey) {
    return { valid: false, reason: `${address} belongs to a different key.` }
  }
  return { valid: true }
}
