// `<name>.local` on the shop's network (RFC 6762 multicast DNS), so phones open
// https://<name>.local without a DNS server: the box answers A/AAAA questions for its name with
// the LAN address the front door listens on, only on the interface the owner picked, and
// announces itself once when it starts (RFC 6762 §8.3). Packets and sockets are multicast-dns's.
import makeMdns from 'multicast-dns'
import { isIP } from 'node:net'
import type { Logger } from '../log'

export interface MdnsAnnouncerOptions {
  /** Without `.local`. */
  readonly name: string
  /** The LAN address (IPv4 or IPv6) the name stands for; also the interface answered on. */
  readonly address: string
  /** UDP port; 5353 except in tests. */
  readonly port?: number
  /** Multicast group; 224.0.0.251 except in tests. */
  readonly group?: string
  readonly ttlSeconds?: number
  readonly log?: Logger
}

export interface MdnsAnnouncer {
  readonly host: string
  close(): Promise<void>
}

interface Question {
  name: string
  type: string
}

export async function announceLanName(opts: MdnsAnnouncerOptions): Promise<MdnsAnnouncer> {
  const host = `${opts.name}.local`
  const v6 = isIP(opts.address) === 6
  const record = {
    name: host,
    type: v6 ? ('AAAA' as const) : ('A' as const),
    ttl: opts.ttlSeconds ?? 120,
    // The cache-flush bit: this box is the only owner of the name (RFC 6762 §10.2).
    flush: true,
    data: opts.address,
  }
  const mdns = makeMdns({
    interface: opts.address,
    // Bound to the wildcard: a socket bound to the interface's own address receives no multicast
    // on Linux (multicast-dns binds to `interface` unless told otherwise).
    bind: v6 ? '::' : '0.0.0.0',
    port: opts.port ?? 5353,
    ...(opts.group ? { ip: opts.group } : {}),
    ...(v6 ? { type: 'udp6' as const } : {}),
    reuseAddr: true,
    loopback: true,
  })
  await new Promise<void>((resolve, reject) => {
    mdns.once('ready', () => resolve())
    mdns.once('error', reject)
  })
  mdns.on('error', (err: Error) => opts.log?.warn('mDNS', { error: err.message }))
  mdns.on('warning', (err: Error) => opts.log?.warn('mDNS', { error: err.message }))
  mdns.on('query', (query: { questions: Question[] }) => {
    const asked = query.questions.some(
      (q) => q.name.toLowerCase() === host && (q.type === record.type || q.type === 'ANY'),
    )
    if (asked) mdns.respond({ answers: [record] })
  })
  mdns.respond({ answers: [record] })
  opts.log?.info(`announcing ${host} on the LAN`, { address: opts.address })
  return {
    host,
    close: () => new Promise<void>((resolve) => mdns.destroy(() => resolve())),
  }
}

/** Asks the LAN for `<host>` once (what a phone does); the first answer's address, or undefined. */
export async function resolveLanName(
  host: string,
  opts: { interface?: string; port?: number; group?: string; timeoutMs?: number } = {},
): Promise<string | undefined> {
  const mdns = makeMdns({
    ...(opts.interface ? { interface: opts.interface, bind: '0.0.0.0' } : {}),
    port: opts.port ?? 5353,
    ...(opts.group ? { ip: opts.group } : {}),
    reuseAddr: true,
    loopback: true,
  })
  try {
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), opts.timeoutMs ?? 3000)
      mdns.on('response', (res: { answers: { name: string; type: string; data: unknown }[] }) => {
        const a = res.answers.find(
          (r) => r.name.toLowerCase() === host && (r.type === 'A' || r.type === 'AAAA'),
        )
        if (a && typeof a.data === 'string') {
          clearTimeout(timer)
          resolve(a.data)
        }
      })
      const ask = () => mdns.query({ questions: [{ name: host, type: 'A' }] })
      mdns.once('ready', ask)
    })
  } finally {
    await new Promise<void>((r) => mdns.destroy(() => r()))
  }
}
