// Who may talk to the headless server. The Host header must name this server (a DNS-rebinding
// page carries its own host name and is refused), and a state-changing request's Origin must be
// this server's own origin (a cross-site page cannot act with the owner's cookie).
import { isIP } from 'node:net'

export interface OriginPolicy {
  /** The address the server listens on, e.g. '127.0.0.1', '0.0.0.0', '::'. */
  readonly bindHost: string
  readonly port: number
  /** Extra host names (optionally `name:port`) a reverse proxy presents, e.g. 'box.example.com'. */
  readonly allowedHosts: readonly string[]
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1'])

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)
}

const isWildcard = (h: string) => h === '0.0.0.0' || h === '::' || h === ''

/** Split `name:port` / `[v6]:port`; undefined when malformed. */
export function parseHostHeader(value: string): { name: string; port?: number } | undefined {
  const v = value.trim().toLowerCase()
  if (!v || v.length > 255) return undefined
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::(\d{1,5}))?$/.exec(v)
  if (!m) return undefined
  const name = m[1] ?? m[2]!
  const port = m[3] !== undefined ? Number(m[3]) : undefined
  if (port !== undefined && (port < 1 || port > 65535)) return undefined
  return port === undefined ? { name } : { name, port }
}

export function hostAllowed(hostHeader: string | undefined, policy: OriginPolicy): boolean {
  if (!hostHeader) return false
  const h = parseHostHeader(hostHeader)
  if (!h) return false
  for (const a of policy.allowedHosts) {
    const want = a.toLowerCase()
    if (want === h.name || (h.port !== undefined && want === `${h.name}:${h.port}`)) return true
  }
  if (h.port !== policy.port) return false
  if (isLoopbackHost(h.name)) return true
  const bind = policy.bindHost.toLowerCase()
  if (h.name === bind) return true
  // Bound to every interface: any IP literal names this machine; a DNS name must be listed.
  return isWildcard(bind) && isIP(h.name) !== 0
}

/** The Origin header names the same host the request was sent to (which hostAllowed checked). */
export function sameOrigin(
  originHeader: string | undefined,
  hostHeader: string | undefined,
): boolean {
  if (!originHeader || !hostHeader || originHeader === 'null') return false
  let u: URL
  try {
    u = new URL(originHeader)
  } catch {
    return false
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false
  const defaultPort = u.protocol === 'https:' ? '443' : '80'
  const originHost = u.port && u.port !== defaultPort ? `${u.hostname}:${u.port}` : u.hostname
  const want = parseHostHeader(hostHeader)
  if (!want) return false
  const wantHost =
    want.port !== undefined && String(want.port) !== defaultPort
      ? `${want.name.includes(':') ? `[${want.name}]` : want.name}:${want.port}`
      : want.name.includes(':')
        ? `[${want.name}]`
        : want.name
  return originHost.toLowerCase() === wantHost
}
