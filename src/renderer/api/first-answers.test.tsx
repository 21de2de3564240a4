import { describe, expect, it, vi } from 'vitest'
import { askEarly, firstAnswer } from './first-answers'

describe('early answers for the first screen', () => {
  it('hands the early answer to `uses` consumers, then asks again', async () => {
    const early = vi.fn(() => Promise.resolve('early'))
    const later = vi.fn(() => Promise.resolve('later'))
    askEarly('k1', early, 2)
    expect(await firstAnswer('k1', later)).toBe('early')
    expect(await firstAnswer('k1', later)).toBe('early')
    expect(await firstAnswer('k1', later)).toBe('later')
    expect(early).toHaveBeenCalledTimes(1)
    expect(later).toHaveBeenCalledTimes(1)
  })

  it('never hands out a failed early answer (e.g. before logging in)', async () => {
    askEarly('k2', () => Promise.reject(new Error('401')))
    await Promise.resolve()
    await new Promise((r) => setTimeout(r, 0))
    expect(await firstAnswer('k2', () => Promise.resolve('after login'))).toBe('after login')
  })

  it('does not hand out a stale answer', async () => {
    vi.useFakeTimers()
    try {
      askEarly('k3', () => Promise.resolve('old'))
      vi.advanceTimersByTime(5000)
      expect(await firstAnswer('k3', () => Promise.resolve('new'))).toBe('new')
    } finally {
      vi.useRealTimers()
    }
  })

  it('without an early ask, just loads', async () => {
    expect(await firstAnswer('none', () => Promise.resolve(7))).toBe(7)
  })
})
