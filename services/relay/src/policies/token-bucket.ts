// Token buckets keyed by connection, pubkey or IP. Idle buckets are swept so keys don't pile up.
import type { Bucket } from '../config'

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()
  private lastSweep = Date.now()

  constructor(
    private readonly spec: Bucket,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string): boolean {
    const t = this.now()
    const perMs = this.spec.perMinute / 60_000
    let b = this.buckets.get(key)
    if (!b) {
      b = { tokens: this.spec.burst, at: t }
      this.buckets.set(key, b)
    } else {
      b.tokens = Math.min(this.spec.burst, b.tokens + (t - b.at) * perMs)
      b.at = t
    }
    if (t - this.lastSweep > 60_000) this.sweep(t, perMs)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  private sweep(t: number, perMs: number): void {
    this.lastSweep = t
    for (const [k, b] of this.buckets)
      if (b.tokens + (t - b.at) * perMs >= this.spec.burst) this.buckets.delete(k)
  }
}
