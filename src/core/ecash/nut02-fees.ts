// NUT-02 input fees: a spend of n proofs from a keyset costs ceil(n × input_fee_ppk / 1000).
// A token we send should let the recipient net exactly the amount we meant: its value must
// cover the fee the recipient pays to swap it, and no more than needed.
import { splitAmount, type Keys } from '@cashu/cashu-ts'

export function inputFee(proofCount: number, feePpk: number): number {
  return Math.ceil((proofCount * feePpk) / 1000)
}

/**
 * The smallest token value whose default split, swapped by the recipient, nets `amount`.
 * (cashu-ts's `includeFees` adds fee proofs on top of the split, which can overshoot.)
 */
export function tokenValueFor(
  amount: number,
  feePpk: number,
  keys: Keys,
): { value: number; split: number[] } {
  const split = (v: number) => splitAmount(v, keys).map((a) => a.toNumber())
  if (feePpk <= 0) return { value: amount, split: split(amount) }
  // Each extra proof costs at most ceil(feePpk/1000) sats, so the answer is close above.
  for (let value = amount; value <= amount + 64 * Math.ceil(feePpk / 1000) + 64; value++) {
    const s = split(value)
    if (value - inputFee(s.length, feePpk) >= amount) return { value, split: s }
  }
  throw new Error(`no token value covers the fees for ${amount} at ${feePpk} ppk`)
}
