import { describe, expect, it } from 'vitest'
import { noCrashes, recordCrash, recordRestart, settle, type CrashPolicy } from './crash-policy'

const policy: CrashPolicy = {
  baseDelayMs: 1000,
  maxDelayMs: 8000,
  maxCrashes: 6,
  windowMs: 600_000,
  stableAfterMs: 60_000,
}

describe('crash policy', () => {
  it('backs off exponentially, capped', () => {
    let rec = noCrashes
    const delays: number[] = []
    for (let i = 0; i < 5; i++) {
      const now = 1_000_000 + i * 100
      rec = recordCrash(rec, now, policy)
      delays.push(rec.nextRestartAt! - now)
      rec = recordRestart(rec)
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000])
    expect(rec.restarts).toBe(5)
  })

  it('declares a crash loop after N crashes in the window, and not for old crashes', () => {
    let rec = noCrashes
    for (let i = 0; i < 6; i++) rec = recordCrash(rec, i * 1000, policy)
    expect(rec.crashLoop).toBe(true)
    expect(rec.nextRestartAt).toBeUndefined()

    let spread = noCrashes
    for (let i = 0; i < 6; i++) spread = recordCrash(spread, i * 200_000, policy)
    expect(spread.crashLoop).toBe(false)
    expect(spread.crashes.length).toBeLessThan(6)
  })

  it('forgives past crashes after a stable stretch', () => {
    const rec = recordRestart(recordCrash(recordCrash(noCrashes, 0, policy), 10, policy))
    expect(settle(rec, 5_000, 30_000, policy).crashes).toHaveLength(2)
    const settled = settle(rec, 5_000, 70_000, policy)
    expect(settled.crashes).toHaveLength(0)
    expect(settled.restarts).toBe(1)
    expect(recordCrash(settled, 80_000, policy).nextRestartAt).toBe(81_000)
  })
})
