// How long until bitcoind has caught up, from how fast it progressed recently. bitcoind's
// verificationprogress is weighted by transactions (GuessVerificationProgress), so it tracks the
// real remaining work better than block counts do: early blocks are nearly empty and fly by.
// The rate comes from a moving window of samples; no estimate until the window is wide enough
// to measure, and the window restarts when the block count goes backwards (a reindex, or another
// node behind the same address). verificationprogress alone may dip: bitcoind estimates it against
// the wall clock, so it falls slightly between two polls with no new block; that is no restart.

export interface ProgressSample {
  /** ms since epoch */
  readonly at: number
  /** 0..1 */
  readonly progress: number
  readonly blocks: number
}

export interface EtaOptions {
  /** Samples older than this (relative to the newest) leave the window. */
  readonly windowMs?: number
  /** The window must span at least this long before an estimate is given. */
  readonly minSpanMs?: number
  /** Upper bound on kept samples. */
  readonly maxSamples?: number
}

export class EtaEstimator {
  private samples: ProgressSample[] = []
  private readonly windowMs: number
  private readonly minSpanMs: number
  private readonly maxSamples: number

  constructor(opts: EtaOptions = {}) {
    this.windowMs = opts.windowMs ?? 10 * 60_000
    this.minSpanMs = opts.minSpanMs ?? 30_000
    this.maxSamples = opts.maxSamples ?? 600
  }

  add(sample: ProgressSample): void {
    const last = this.samples[this.samples.length - 1]
    if (last) {
      // bitcoind reindexes: the old rate says nothing about the new run.
      if (sample.blocks < last.blocks) this.samples = []
      // Same instant twice (or a clock step back): keep the window as it is.
      else if (sample.at <= last.at) return
    }
    this.samples.push(sample)
    const cutoff = sample.at - this.windowMs
    while (this.samples.length > 2 && this.samples[0]!.at < cutoff) this.samples.shift()
    if (this.samples.length > this.maxSamples)
      this.samples.splice(0, this.samples.length - this.maxSamples)
  }

  reset(): void {
    this.samples = []
  }

  /** Seconds until progress reaches 1, or undefined while not measurable. */
  etaSeconds(): number | undefined {
    const n = this.samples.length
    if (n < 2) return undefined
    const first = this.samples[0]!
    const last = this.samples[n - 1]!
    if (last.progress >= 1) return 0
    const spanMs = last.at - first.at
    if (spanMs < this.minSpanMs) return undefined
    const rate = (last.progress - first.progress) / spanMs // progress per ms
    if (!(rate > 0)) return undefined
    const eta = (1 - last.progress) / rate / 1000
    return Number.isFinite(eta) ? Math.round(eta) : undefined
  }
}
