import { describe, expect, it } from 'vitest'
import { TokenBuckets } from './token-bucket'

describe('token buckets', () => {
  it('allows a burst, then refills at the configured rate, per key', () => {
    let t = 0
    const b = new TokenBuckets({ perMinute: 60, burst: 3 }, () => t)
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false])
    expect(b.take('b')).toBe(true)
    t += 999
    expect(b.take('a')).toBe(false)
    t += 1
    expect(b.take('a')).toBe(true)
    t += 60_000
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false])
  })
})
