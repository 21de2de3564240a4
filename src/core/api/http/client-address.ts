// Which client a request comes from, for the login throttle and the log. Directly connected, it is
// the socket's peer. Behind a reverse proxy every request arrives from the proxy, so keying on the
// peer would let one attacker's wrong guesses lock the owner out too: when — and only when — the
// peer is a proxy the operator named as trusted, the client is taken from X-Forwarded-For, read
// from the right and skipping trusted proxies (the left part is whatever the client claimed).
import { isIP } from 'node:net'

/** `::ffff:1.2.3.4` → `1.2.3.4`; lower case. */
export function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase()
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a
}

/** Trusted proxy addresses from a comma-separated list (FLASHBOX_TRUSTED_PROXIES). */
export function parseTrustedProxies(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((a) => normalizeAddress(a))
    .filter((a) => isIP(a) !== 0)
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
