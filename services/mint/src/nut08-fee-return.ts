// NUT-08 Lightning fee return: overpaid fees are split into powers of two and imprinted, in
// order, into the blank outputs the wallet sent with the melt (stored before paying).
// https://github.com/cashubtc/nuts/blob/main/08.md

/** Powers of two summing to `amount`, ascending (900 → 4, 128, 256, 512). */
export function splitAmount(amount: number): number[] {
  const out: number[] = []
  let bit = 1
  let rest = amount
  while (rest > 0) {
    if (rest % 2 === 1) out.push(bit)
    rest = Math.floor(rest / 2)
    bit *= 2
  }
  return out
}

/** Number of blank outputs a wallet needs for `feeReserve`: max(ceil(log2(fee_reserve)), 1). */
export function blankOutputCount(feeReserve: number): number {
  if (feeReserve <= 0) return 0
  return Math.max(Math.ceil(Math.log2(feeReserve)), 1)
}

/** Amounts assigned to the first blanks; more change than blanks means the rest is not returned. */
export function changeAmounts(change: number, blanks: number): number[] {
  return splitAmount(change).slice(0, blanks)
}
