// Which reverse proxies the service believes X-Forwarded-For from (the box's front door). In a
// container on Docker's bridge, the front door (Caddy on the host's network) reaches the
// service through the published port, so the service sees the bridge's gateway, not 127.0.0.1:
// the word `gateway` names that address, read from this container's routing table
// (/proc/net/route), so nothing outside has to know which subnet Docker picked. Anything else
// is a comma-separated list of IP addresses. Shared by the relay and the mint (services/shared:
// bundled into each service's image; it imports nothing from src/).
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'

/** The IPv4 default gateway in /proc/net/route's format (little-endian hex), or undefined. */
export function defaultGateway(routeTable: string): string | undefined {
  for (const line of routeTable.split('\n').slice(1)) {
    const [, destination, gateway, flags] = line.trim().split(/\s+/)
    // RTF_UP (1) | RTF_GATEWAY (2), destination 0.0.0.0
    if (destination !== '00000000' || !gateway || !/^[0-9A-Fa-f]{8}$/.test(gateway)) continue
    if ((parseInt(flags ?? '0', 16) & 3) !== 3) continue
    const n = parseInt(gateway, 16)
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.')
  }
  return undefined
}

export function resolveTrustedProxies(
  spec: string | undefined,
  readRoutes: () => string = () => readFileSync('/proc/net/route', 'utf8'),
): string[] {
  const out: string[] = []
  for (const item of (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (item === 'gateway') {
      const gw = defaultGateway(readRoutes())
      if (!gw) throw new Error('trusted proxy "gateway": this container has no default route')
      out.push(gw)
    } else if (isIP(item)) out.push(item)
    else throw new Error(`trusted proxy ${JSON.stringify(item)} is not an IP address or "gateway"`)
  }
  return out
}
