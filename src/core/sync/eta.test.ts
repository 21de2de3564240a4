import { describe, expect, it } from 'vitest'
import { EtaEstimator } from './eta'

const MIN = 60_000

describe('EtaEstimator', () => {
  it('gives no estimate from a single sample or a too-short window', () => {
    const eta = new EtaEstimator({ minSpanMs: 30_000 })
    expect(eta.etaSeconds()).toBeUndefined()
    eta.add({ at: 0, progress: 0.1, blocks: 100 })
    expect(eta.etaSeconds()).toBeUndefined()
    eta.add({ at: 10_000, progress: 0.2, blocks: 200 })
    expect(eta.etaSeconds()).toBeUndefined()
  })

  it('extrapolates the progress rate over the window', () => {
    const eta = new EtaEstimator({ minSpanMs: 30_000 })
    eta.add({ at: 0, progress: 0.1, blocks: 100 })
    eta.add({ at: MIN, progress: 0.2, blocks: 200 })
    // 0.1 per minute, 0.8 left → 8 minutes
    expect(eta.etaSeconds()).toBe(480)
    eta.add({ at: 2 * MIN, progress: 0.4, blocks: 300 })
    // (0.4 − 0.1) / 2 min = 0.15 per minute, 0.6 left → 4 minutes
    expect(eta.etaSeconds()).toBe(240)
  })

  it('forgets samples older than the window, so the estimate follows the current speed', () => {
    const eta = new EtaEstimator({ windowMs: 5 * MIN, minSpanMs: MIN })
    // Slow start: 0.01 per minute for 10 minutes…
    for (let m = 0; m <= 10; m++) eta.add({ at: m * MIN, progress: 0.01 * m, blocks: m })
    // …then fast: 0.05 per minute.
    for (let m = 11; m <= 16; m++)
      eta.add({ at: m * MIN, progress: 0.1 + 0.05 * (m - 10), blocks: m })
    // Window holds minutes 11..16 (the oldest kept is at most 5 minutes older than the newest).
    const last = 0.1 + 0.05 * 6
    const expected = Math.round((1 - last) / (0.05 / 60))
    expect(eta.etaSeconds()).toBe(expected)
  })

  it('starts over when progress goes backwards (restart, reindex)', () => {
    const eta = new EtaEstimator({ minSpanMs: 30_000 })
    eta.add({ at: 0, progress: 0.5, blocks: 500 })
    eta.add({ at: MIN, progress: 0.6, blocks: 600 })
    expect(eta.etaSeconds()).toBe(240)
    eta.add({ at: 2 * MIN, progress: 0.05, blocks: 50 })
    expect(eta.etaSeconds()).toBeUndefined()
    eta.add({ at: 3 * MIN, progress: 0.15, blocks: 150 })
    expect(eta.etaSeconds()).toBe(510)
  })

  it('keeps its window when verificationprogress dips between blocks (bitcoind estimates it against the clock)', () => {
    const eta = new EtaEstimator({ minSpanMs: 30_000 })
    eta.add({ at: 0, progress: 0.5, blocks: 500 })
    eta.add({ at: MIN, progress: 0.6, blocks: 600 })
    expect(eta.etaSeconds()).toBe(240)
    // No block arrived between two polls: same height, progress a hair lower.
    eta.add({ at: MIN + 5_000, progress: 0.5999, blocks: 600 })
    expect(eta.etaSeconds()).toBeGreaterThan(0)
    eta.add({ at: 2 * MIN, progress: 0.7, blocks: 700 })
    // The window still starts at the first sample: (0.7 − 0.5) / 2 min, 0.3 left → 3 minutes.
    expect(eta.etaSeconds()).toBe(180)
  })

  it('gives no estimate while progress stands still, and 0 at the tip', () => {
    const eta = new EtaEstimator({ minSpanMs: 30_000 })
    eta.add({ at: 0, progress: 0.3, blocks: 300 })
    eta.add({ at: MIN, progress: 0.3, blocks: 300 })
    expect(eta.etaSeconds()).toBeUndefined()
    eta.add({ at: 2 * MIN, progress: 1, blocks: 1000 })
    expect(eta.etaSeconds()).toBe(0)
  })

  it('ignores a repeated timestamp and bounds the number of samples', () => {
    const eta = new EtaEstimator({ minSpanMs: 0, maxSamples: 3, windowMs: 1e9 })
    eta.add({ at: 0, progress: 0.1, blocks: 1 })
    eta.add({ at: 0, progress: 0.2, blocks: 2 })
    eta.add({ at: 1000, progress: 0.2, blocks: 2 })
    for (let i = 2; i < 10; i++) eta.add({ at: i * 1000, progress: 0.1 * i, blocks: i })
    // Only the last 3 samples (7, 8, 9 s) remain: 0.1 per second, 0.1 left.
    expect(eta.etaSeconds()).toBe(1)
  })
})
