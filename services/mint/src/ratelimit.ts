// Rate limits per client IP and per operation (fixed windows). Small and composable: the HTTP
// layer asks `allow(ip, operation)` before doing any work.
import type { RateLimitConfig } from './config'

export class RateLimiter {
  private readonly counts = new Map<string, { windowStart: number; count: number }>()
  private lastSweep = Date.now()

  constructor(private readonly cfg: RateLimitConfig) {}

  private hit(key: string, limit: number, now: number): boolean {
    let e = this.counts.get(key)
    if (!e || now - e.windowStart >= this.cfg.windowMs) {
      e = { windowStart: now, count: 0 }
      this.counts.set(key, e)
    }
    e.count++
    return e.count <= limit
  }

  /** Milliseconds until the caller may retry, or 0 when the request is allowed. */
  allow(ip: string, operation: string, now = Date.now()): number {
    if (now - this.lastSweep > this.cfg.windowMs * 2) {
      for (const [k, v] of this.counts)
        if (now - v.windowStart >= this.cfg.windowMs) this.counts.delete(k)
      this.lastSweep = now
    }
    const okIp = this.hit(`ip:${ip}`, this.cfg.perIp, now)
    const opLimit = this.cfg.perOperation[operation]
    const okOp = opLimit === undefined || this.hit(`op:${ip}:${operation}`, opLimit, now)
    if (okIp && okOp) return 0
    const e = this.counts.get(`ip:${ip}`)!
    return Math.max(1, this.cfg.windowMs - (now - e.windowStart))
  }
}
