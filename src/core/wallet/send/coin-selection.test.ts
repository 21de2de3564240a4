// Branch and bound against Bitcoin Core's own known-outcome vectors
// (src/wallet/test/coinselector_tests.cpp, bnb_search_test, fee rate 0 so effective value = value),
// then the fallback and the plan built on it.
import { describe, expect, it } from 'vitest'
import { branchAndBound, selectCoins, type SelectionParams } from './coin-selection'

const CENT = 1_000_000
const coins = (values: number[]) => values.map((v) => ({ effective: v, fee: 0, longTermFee: 0 }))
const picked = (values: number[], target: number, cost: number) => {
  const r = branchAndBound(coins(values), target, cost)
  return r ? r.indices.map((i) => values[i]!).sort((a, b) => b - a) : undefined
}

/** Core's make_hard_case: a pool where the only exact match takes every other coin. */
function hardCase(n: number): { values: number[]; target: number } {
  const values: number[] = []
  let target = 0
  for (let i = 0; i < n; i++) {
    target += 2 ** (n + i)
    values.push(2 ** (n + i), 2 ** (n + i) + 2 ** (n - 1 - i))
  }
  return { values, target }
}

describe('branch and bound (Core vectors)', () => {
  const pool = [1 * CENT, 2 * CENT, 3 * CENT, 4 * CENT]
  it('empty pool: nothing', () => {
    expect(picked([], 1 * CENT, 0.5 * CENT)).toBeUndefined()
  })
  it('known outcomes over 1, 2, 3, 4 cent', () => {
    expect(picked(pool, 1 * CENT, 0.5 * CENT)).toEqual([1 * CENT])
    expect(picked(pool, 2 * CENT, 0.5 * CENT)).toEqual([2 * CENT])
    expect(picked(pool, 5 * CENT, 0.5 * CENT)).toEqual([3 * CENT, 2 * CENT])
    expect(picked(pool, 11 * CENT, 0.5 * CENT)).toBeUndefined()
    // cost of change greater than the difference between target and the coins: no change needed
    expect(picked(pool, 0.9 * CENT, 0.5 * CENT)).toEqual([1 * CENT])
    // and smaller: not an exact-enough match
    expect(picked(pool, 0.9 * CENT, 0)).toBeUndefined()
  })
  it('10 cent from 1..5 cent, and 0.25 cent impossible', () => {
    const five = [...pool, 5 * CENT]
    expect(picked(five, 10 * CENT, 0.5 * CENT)).toEqual([4, 3, 2, 1].map((x) => x * CENT))
    expect(picked(five, 10 * CENT, 5000)!.reduce((s, v) => s + v, 0)).toBe(10 * CENT)
    expect(picked(five, 0.25 * CENT, 0.5 * CENT)).toBeUndefined()
  })
  it('gives up after 100,000 tries on a hard case, and solves a smaller one', () => {
    const hard = hardCase(17)
    expect(picked(hard.values, hard.target, 0)).toBeUndefined()
    const easier = hardCase(14)
    expect(picked(easier.values, easier.target, 0)!.reduce((s, v) => s + v, 0)).toBe(easier.target)
  })
  it('same-value early bailout: 30 cent from 7,7,7,7,2 among 50,000 coins of 5', () => {
    const values = [7, 7, 7, 7, 2].map((x) => x * CENT)
    for (let i = 0; i < 50_000; i++) values.push(5 * CENT)
    expect(picked(values, 30 * CENT, 5000)).toEqual([7, 7, 7, 7, 2].map((x) => x * CENT))
  })
  it('never finds 1 cent in a pool of 5..20 cent with 2 cent cost of change', () => {
    const values = Array.from({ length: 16 }, (_, i) => (i + 5) * CENT)
    expect(picked(values, 1 * CENT, 2 * CENT)).toBeUndefined()
  })
  it('prefers less waste: at a fee rate above the long-term rate, fewer inputs win', () => {
    // Two ways to hit 3: {3} or {2, 1}. Each input costs 100 now and 50 later.
    const r = branchAndBound(
      [3, 2, 1].map((v) => ({ effective: v * CENT, fee: 100, longTermFee: 50 })),
      3 * CENT,
      1000,
    )
    expect(r!.indices).toEqual([0])
    expect(r!.waste).toBe(50)
    // Below the long-term rate, spending more inputs now is cheaper: {2, 1} wins.
    const low = branchAndBound(
      [3, 2, 1].map((v) => ({ effective: v * CENT, fee: 50, longTermFee: 100 })),
      3 * CENT,
      1000,
    )
    expect(low!.indices.sort()).toEqual([1, 2])
  })
})

describe('selectCoins: fallback with change', () => {
  const params = (target: number): SelectionParams => ({
    targetSat: target,
    feeRateSatPerKvb: 2000,
    longTermFeeRateSatPerKvb: 10_000,
    costOfChangeSat: 62 + 680,
    changeOutputFeeSat: 62,
    minChangeSat: 294,
  })
  const wpkh = (id: string, v: number) => ({ id, valueSat: v, inputWeight: 271 })
  it('an exact match spends without change (bnb)', () => {
    // 68 vB input at 2 sat/vB = 136 sat fee; 100,136 → exactly 100,000 effective
    const s = selectCoins(
      [wpkh('a', 50_000), wpkh('b', 100_136), wpkh('c', 300_000)],
      params(100_000),
    )
    expect(s).toMatchObject({ algorithm: 'bnb', changeSat: 0 })
    expect(s!.coins.map((c) => c.id)).toEqual(['b'])
  })
  it('no exact match: the smallest covering coin, with change', () => {
    const s = selectCoins(
      [wpkh('a', 50_000), wpkh('b', 120_000), wpkh('c', 300_000)],
      params(100_000),
    )
    expect(s!.coins.map((c) => c.id)).toEqual(['b'])
    expect(s!.changeSat).toBe(120_000 - 136 - 100_000 - 62)
  })
  it('no single coin covers it: largest first', () => {
    const s = selectCoins(
      [wpkh('a', 50_000), wpkh('b', 60_000), wpkh('c', 70_000)],
      params(100_000),
    )
    expect(s!.algorithm).toBe('largest-first')
    expect(s!.coins.map((c) => c.id)).toEqual(['c', 'b'])
  })
  it('not enough: undefined', () => {
    expect(selectCoins([wpkh('a', 50_000)], params(100_000))).toBeUndefined()
  })
  it('a leftover below the change minimum goes to the fee instead of an output', () => {
    const s = selectCoins([wpkh('a', 100_136 + 5000)], params(100_000))
    // 5000 over: beyond the cost of change (742) so not bnb; change 5000 − 62 ≥ 294 → change
    expect(s!.changeSat).toBe(5000 - 62)
    const t = selectCoins([wpkh('a', 100_136 + 800)], params(100_000))
    expect(t!.changeSat).toBe(800 - 62)
    const u = selectCoins([wpkh('a', 100_136 + 300)], params(100_000))
    expect(u).toMatchObject({ algorithm: 'bnb', changeSat: 0 })
  })
})
