// Which client a request comes from, for per-client limits (the relay's and the mint's rate limits,
// the engine's login throttle and log). Directly connected, the socket's peer. Behind the box's
// front door every request arrives from the proxy, so per-address limits would throttle every
// customer together (and one attacker's wrong guesses would lock the owner out too): when — and
// only when — the peer is a proxy the operator named as trusted, the client is the right-most
// X-Forwarded-For entry that is not itself a trusted proxy (the left part is whatever the client
// claimed). In services/shared, bundled into each service's image; the engine imports it from
// here too (src/core/api/http/server.ts).
import { isIP } from 'node:net'

/** `::ffff:1.2.3.4` → `1.2.3.4`; lower case. */
export function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase()
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a
}

/** The trusted proxies' addresses, normalized; entries that are not IP addresses are dropped. */
export function trustedProxySet(list: readonly string[] | undefined): ReadonlySet<string> {
  return new Set((list ?? []).map(normalizeAddress).filter((a) => isIP(a) !== 0))
}

export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: ReadonlySet<string>,
): string {
  const direct = peer ? normalizeAddress(peer) : 'unknown'
  if (!trustedProxies.has(direct) || forwardedFor === undefined) return direct
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((h) => normalizeAddress(h))
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!
    if (isIP(hop) === 0) return direct // garbage in the chain: do not guess
    if (!trustedProxies.has(hop)) return hop
  }
  return direct
}
