// A discovery round's next addresses, derived in the moments the wallet waits for electrs.
/**
 * Derives addresses ahead of need on the engine's thread, a little at a time (at most about a
 * millisecond per turn of the event loop, between other work): a discovery round's next range is
 * known from its statuses before its histories, transactions and proofs arrive, and deriving it
 * (about 0.1 ms of elliptic-curve work per address) fills the waits for electrs instead of
 * following them. Only what the next round needs is derived, so nothing is derived twice.
 */
export class IdleDeriver {
  private readonly ranges: { next: number; to: number; derive: (i: number) => void }[] = []
  private timer: NodeJS.Immediate | undefined

  want(from: number, to: number, derive: (i: number) => void): void {
    if (to > from) this.ranges.push({ next: from, to, derive })
    this.schedule()
  }

  stop(): void {
    if (this.timer) clearImmediate(this.timer)
    this.timer = undefined
    this.ranges.length = 0
  }

  private schedule(): void {
    if (this.timer || this.ranges.length === 0) return
    this.timer = setImmediate(() => {
      this.timer = undefined
      const until = performance.now() + 1
      while (this.ranges.length && performance.now() < until) {
        const r = this.ranges[0]!
        r.derive(r.next++)
        if (r.next >= r.to) this.ranges.shift()
      }
      this.schedule()
    })
  }
}
