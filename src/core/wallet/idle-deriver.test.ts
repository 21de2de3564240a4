import { describe, expect, it } from 'vitest'
import { IdleDeriver } from './idle-deriver'

const turn = () => new Promise((r) => setImmediate(r))

describe('IdleDeriver', () => {
  it('derives every wanted index once, in order, a slice per turn of the event loop', async () => {
    const done: number[] = []
    const d = new IdleDeriver()
    d.want(3, 6, (i) => done.push(i))
    d.want(10, 12, (i) => done.push(100 + i))
    d.want(5, 5, () => done.push(-1)) // empty: nothing
    expect(done).toEqual([]) // nothing on the caller's turn
    for (let k = 0; k < 5 && done.length < 5; k++) await turn()
    expect(done).toEqual([3, 4, 5, 110, 111])
    d.stop()
  })

  it('gives the event loop back after about a millisecond', async () => {
    let n = 0
    const d = new IdleDeriver()
    d.want(0, 1e9, () => {
      const until = performance.now() + 0.3
      while (performance.now() < until) n++
    })
    await turn()
    const first = n
    expect(first).toBeGreaterThan(0)
    await turn()
    expect(n).toBeGreaterThan(first) // another slice on the next turn, not all at once
    d.stop()
    const stopped = n
    await turn()
    await turn()
    expect(n).toBe(stopped)
  })
})
