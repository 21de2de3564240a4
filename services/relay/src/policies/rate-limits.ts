// Per-connection, per-pubkey and per-IP rate limits for writes and queries (token buckets).
import type { RelayPolicy } from '../config'
import { reason } from '../nip01'
import { TokenBuckets } from './token-bucket'
import type { EventPolicy, QueryPolicy } from './types'

export function eventRateLimits(cfg: RelayPolicy['rateLimits']): EventPolicy[] {
  const out: EventPolicy[] = []
  const { eventsPerConnection: c, eventsPerPubkey: p, eventsPerIp: i } = cfg
  if (c) {
    const b = new TokenBuckets(c)
    out.push((_ev, conn) =>
      b.take(String(conn.id))
        ? undefined
        : reason('rate-limited', 'slow down: too many events from this connection'),
    )
  }
  if (p) {
    const b = new TokenBuckets(p)
    out.push((ev) =>
      b.take(ev.pubkey)
        ? undefined
        : reason('rate-limited', 'slow down: too many events from this key'),
    )
  }
  if (i) {
    const b = new TokenBuckets(i)
    out.push((_ev, conn) =>
      b.take(conn.ip)
        ? undefined
        : reason('rate-limited', 'slow down: too many events from your address'),
    )
  }
  return out
}

export function queryRateLimits(cfg: RelayPolicy['rateLimits']): QueryPolicy[] {
  const out: QueryPolicy[] = []
  const { queriesPerConnection: c, queriesPerIp: i } = cfg
  if (c) {
    const b = new TokenBuckets(c)
    out.push((_f, conn) =>
      b.take(String(conn.id)) ? undefined : reason('rate-limited', 'slow down: too many queries'),
    )
  }
  if (i) {
    const b = new TokenBuckets(i)
    out.push((_f, conn) =>
      b.take(conn.ip)
        ? undefined
        : reason('rate-limited', 'slow down: too many queries from your address'),
    )
  }
  return out
}
