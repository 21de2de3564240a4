import { describe, expect, it } from 'vitest'
import { RateLimiter } from './ratelimit'
import { cacheKey, isCachedEndpoint } from './nut19-cache'

describe('rate limits per IP and per operation', () => {
  it('limits each IP overall and each operation separately, then resets with the window', () => {
    const r = new RateLimiter({ windowMs: 1000, perIp: 5, perOperation: { swap: 2 } })
    expect(r.allow('a', 'swap', 0)).toBe(0)
    expect(r.allow('a', 'swap', 1)).toBe(0)
    expect(r.allow('a', 'swap', 2)).toBeGreaterThan(0)
    expect(r.allow('a', 'keys', 3)).toBe(0)
    expect(r.allow('b', 'swap', 4)).toBe(0)
    expect(r.allow('a', 'keys', 5)).toBe(0)
    // 6th request of ip a in this window (any operation) is refused.
    expect(r.allow('a', 'keys', 6)).toBeGreaterThan(0)
    expect(r.allow('a', 'swap', 1001)).toBe(0)
  })
})

describe('NUT-19 cache keys', () => {
  it('depend on method, path and body, not on key order', () => {
    const a = cacheKey('POST', '/v1/swap', { inputs: [{ amount: 1, id: 'x' }], outputs: [] })
    const b = cacheKey('POST', '/v1/swap', { outputs: [], inputs: [{ id: 'x', amount: 1 }] })
    expect(a).toBe(b)
    expect(cacheKey('POST', '/v1/melt/bolt11', { outputs: [], inputs: [] })).not.toBe(
      cacheKey('POST', '/v1/swap', { outputs: [], inputs: [] }),
    )
    expect(cacheKey('POST', '/v1/swap', { inputs: [{ amount: 2 }] })).not.toBe(
      cacheKey('POST', '/v1/swap', { inputs: [{ amount: 1 }] }),
    )
    expect(isCachedEndpoint('POST', '/v1/swap')).toBe(true)
    expect(isCachedEndpoint('POST', '/v1/checkstate')).toBe(false)
  })
})
