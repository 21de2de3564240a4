// Online guessing is throttled per client address: after `max` failures inside `windowMs` the
// next attempt is refused with 429 and Retry-After until the oldest failure ages out.
export interface ThrottleOptions {
  readonly max: number
  readonly windowMs: number
  /** Bound on remembered addresses, so a flood of sources cannot grow memory without end. */
  readonly maxTracked: number
  readonly now?: () => number
}

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>()
  private readonly now: () => number

  constructor(private readonly opts: ThrottleOptions) {
    this.now = opts.now ?? Date.now
  }

  /** Seconds to wait, or 0 when this address may try now. */
  retryAfter(ip: string): number {
    const list = this.recent(ip)
    if (list.length < this.opts.max) return 0
    const oldest = list[list.length - this.opts.max]!
    return Math.max(1, Math.ceil((oldest + this.opts.windowMs - this.now()) / 1000))
  }

  fail(ip: string): void {
    const list = this.recent(ip)
    list.push(this.now())
    this.failures.delete(ip)
    this.failures.set(ip, list)
    while (this.failures.size > this.opts.maxTracked) {
      const first = this.failures.keys().next().value
      if (first === undefined) break
      this.failures.delete(first)
    }
  }

  succeed(ip: string): void {
    this.failures.delete(ip)
  }

  private recent(ip: string): number[] {
    const since = this.now() - this.opts.windowMs
    const list = (this.failures.get(ip) ?? []).filter((t) => t > since)
    if (list.length) this.failures.set(ip, list)
    else this.failures.delete(ip)
    return list
  }
}
