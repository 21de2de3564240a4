import { describe, expect, it } from 'vitest'
import { inputFee, tokenValueFor } from './nut02-fees'

// A keyset with every power of two up to 2^20 (amount → pubkey; pubkeys do not matter here).
const keys = Object.fromEntries([...Array(21).keys()].map((i) => [2 ** i, '02' + '00'.repeat(32)]))

describe('NUT-02 fees for tokens we send', () => {
  it('charges ceil(n × ppk / 1000) per spend', () => {
    expect(inputFee(0, 100)).toBe(0)
    expect(inputFee(1, 100)).toBe(1)
    expect(inputFee(10, 100)).toBe(1)
    expect(inputFee(11, 100)).toBe(2)
    expect(inputFee(3, 1000)).toBe(3)
  })

  it('is the amount itself when the keyset charges nothing', () => {
    expect(tokenValueFor(10, 0, keys)).toEqual({ value: 10, split: [8, 2] })
  })

  it('finds the smallest value the recipient nets exactly the amount from', () => {
    // 10 at 1 sat/proof: 12 = 8+4 (2 proofs, fee 2) nets 10; cashu-ts's includeFees gives 14.
    expect(tokenValueFor(10, 1000, keys)).toEqual({ value: 12, split: [8, 4] })
    for (const ppk of [1, 100, 250, 1000, 2000]) {
      for (let amount = 1; amount <= 300; amount++) {
        const { value, split } = tokenValueFor(amount, ppk, keys)
        expect(split.reduce((s, x) => s + x, 0)).toBe(value)
        expect(value - inputFee(split.length, ppk)).toBeGreaterThanOrEqual(amount)
        // Minimal: one sat less would not cover the fee of its own split.
        if (value > amount) {
          const smaller = tokenValueFor(value - 1, 0, keys).split.length
          expect(value - 1 - inputFee(smaller, ppk)).toBeLessThan(amount)
        }
      }
    }
  })
})
