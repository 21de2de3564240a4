import { describe, expect, it } from 'vitest'
import { blankOutputCount, changeAmounts, splitAmount } from './nut08-fee-return'

describe('NUT-08 fee return', () => {
  it('splits 900 into 4, 128, 256, 512 (the spec example)', () => {
    expect(splitAmount(900)).toEqual([4, 128, 256, 512])
    expect(splitAmount(0)).toEqual([])
  })

  it('asks for max(ceil(log2(fee_reserve)), 1) blank outputs', () => {
    expect(blankOutputCount(1000)).toBe(10)
    expect(blankOutputCount(1)).toBe(1)
    expect(blankOutputCount(0)).toBe(0)
  })

  it('never assigns more amounts than blanks', () => {
    expect(changeAmounts(7, 2)).toEqual([1, 2])
    expect(changeAmounts(7, 10)).toEqual([1, 2, 4])
  })
})
