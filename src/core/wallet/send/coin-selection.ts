// Coin selection, after Bitcoin Core's wallet (src/wallet/coinselection.cpp):
//  1. branch and bound (Murch, "An Evaluation of Coin Selection Strategies", 2016): search for a
//     set of coins whose effective value lands within the cost of change above the target, so
//     the transaction needs no change output; among such sets keep the one with the least waste;
//  2. when no such set exists, a fallback that makes change: the cheaper (by waste) of the
//     smallest single coin that covers the target and largest-first accumulation.
// Effective value = value − the fee to spend the coin at the current fee rate; coins whose
// effective value is not positive are never picked by the search (they would cost more than they
// add). The caller has already removed frozen coins, or passes the owner's own pick.
import { feeFor } from './weights'

/** A coin the selection may spend. */
export interface SelectableCoin {
  /** "txid:vout" */
  readonly id: string
  readonly valueSat: number
  /** The weight this coin adds to the transaction once signed (weights.ts inputWeight). */
  readonly inputWeight: number
}

export interface SelectionParams {
  /** Sum of the payments' fees and amounts the inputs must cover, except the inputs' own fees. */
  readonly targetSat: number
  /** Fee rate of this transaction, sat per 1000 vB. */
  readonly feeRateSatPerKvb: number
  /**
   * The fee rate the wallet expects to pay in the long run (Core's -consolidatefeerate, 10 sat/vB):
   * spending a coin now at a lower rate than that saves money later, which is what waste measures.
   */
  readonly longTermFeeRateSatPerKvb: number
  /** Fee to add a change output now plus the fee to spend it later (Core's cost_of_change). */
  readonly costOfChangeSat: number
  /** Fee for the change output alone, at this transaction's rate. */
  readonly changeOutputFeeSat: number
  /** Change below this is not worth an output: it goes to the fee instead. */
  readonly minChangeSat: number
}

export interface Selection {
  readonly algorithm: 'bnb' | 'single-coin' | 'largest-first' | 'owner-picked'
  readonly coins: readonly SelectableCoin[]
  /** Sum of the coins' values. */
  readonly inputSat: number
  /** 0 when the transaction has no change output. */
  readonly changeSat: number
  readonly waste: number
}

/** Core's TOTAL_TRIES. */
const BNB_TOTAL_TRIES = 100_000

interface Pool {
  coin: SelectableCoin
  /** value − fee to spend at this rate */
  effective: number
  fee: number
  longTermFee: number
}

function pool(coins: readonly SelectableCoin[], p: SelectionParams): Pool[] {
  return coins.map((coin) => {
    const vbytes = Math.ceil(coin.inputWeight / 4)
    const fee = feeFor(p.feeRateSatPerKvb, vbytes)
    return {
      coin,
      fee,
      longTermFee: feeFor(p.longTermFeeRateSatPerKvb, vbytes),
      effective: coin.valueSat - fee,
    }
  })
}

/**
 * Branch and bound over effective values (Core's SelectCoinsBnB): returns the indices into `pool`
 * of the selection with the least waste whose effective value is in
 * [target, target + costOfChange], or undefined.
 */
export function branchAndBound(
  effective: readonly { effective: number; fee: number; longTermFee: number }[],
  target: number,
  costOfChange: number,
): { indices: number[]; waste: number } | undefined {
  const order = effective
    .map((u, i) => ({ ...u, i }))
    .filter((u) => u.effective > 0)
    .sort((a, b) => b.effective - a.effective)
  let available = order.reduce((s, u) => s + u.effective, 0)
  if (available < target) return undefined

  let value = 0
  let waste = 0
  const selection: number[] = []
  let best: number[] = []
  let bestWaste = Number.MAX_SAFE_INTEGER
  const spendingNowIsDearer = order.length > 0 && order[0]!.fee - order[0]!.longTermFee > 0

  let index = 0
  for (let tries = 0; tries < BNB_TOTAL_TRIES; tries++, index++) {
    let backtrack = false
    if (
      value + available < target ||
      value > target + costOfChange ||
      (waste > bestWaste && spendingNowIsDearer)
    ) {
      backtrack = true
    } else if (value >= target) {
      // A solution: its waste includes the excess, which goes to the fee.
      const total = waste + (value - target)
      if (total <= bestWaste) {
        best = [...selection]
        bestWaste = total
      }
      backtrack = true
    }

    if (backtrack) {
      if (selection.length === 0) break
      // Put back the coins skipped after the last included one, then try without that one.
      for (index--; index > selection.at(-1)!; index--) available += order[index]!.effective
      const u = order[index]!
      value -= u.effective
      waste -= u.fee - u.longTermFee
      selection.pop()
    } else {
      const u = order[index]!
      available -= u.effective
      const prev = order[index - 1]
      // Skip a coin equal to the previous one that was just left out: same branch as before.
      if (
        selection.length === 0 ||
        index - 1 === selection.at(-1) ||
        u.effective !== prev!.effective ||
        u.fee !== prev!.fee
      ) {
        selection.push(index)
        value += u.effective
        waste += u.fee - u.longTermFee
      }
    }
  }
  if (best.length === 0) return undefined
  return { indices: best.map((k) => order[k]!.i), waste: bestWaste }
}

function withChange(
  picked: Pool[],
  p: SelectionParams,
  algorithm: Selection['algorithm'],
): Selection | undefined {
  const effective = picked.reduce((s, u) => s + u.effective, 0)
  const inputSat = picked.reduce((s, u) => s + u.coin.valueSat, 0)
  const inputWaste = picked.reduce((s, u) => s + u.fee - u.longTermFee, 0)
  if (effective < p.targetSat) return undefined
  const change = effective - p.targetSat - p.changeOutputFeeSat
  if (change >= p.minChangeSat) {
    return {
      algorithm,
      coins: picked.map((u) => u.coin),
      inputSat,
      changeSat: change,
      waste: inputWaste + p.costOfChangeSat,
    }
  }
  // The leftover is too small for an output of its own: it is added to the fee.
  return {
    algorithm,
    coins: picked.map((u) => u.coin),
    inputSat,
    changeSat: 0,
    waste: inputWaste + (effective - p.targetSat),
  }
}

/**
 * Picks coins for a payment. Returns undefined when the coins cannot cover the target at this
 * fee rate (the caller says so in words).
 */
export function selectCoins(
  coins: readonly SelectableCoin[],
  p: SelectionParams,
): Selection | undefined {
  const all = pool(coins, p)
  const bnb = branchAndBound(all, p.targetSat, p.costOfChangeSat)
  if (bnb) {
    const picked = bnb.indices.map((i) => all[i]!)
    return {
      algorithm: 'bnb',
      coins: picked.map((u) => u.coin),
      inputSat: picked.reduce((s, u) => s + u.coin.valueSat, 0),
      changeSat: 0,
      waste: bnb.waste,
    }
  }
  const useful = all.filter((u) => u.effective > 0)
  const candidates: Selection[] = []
  // The smallest single coin that pays the target and a change output.
  const single = useful
    .filter((u) => u.effective >= p.targetSat + p.changeOutputFeeSat + p.minChangeSat)
    .sort((a, b) => a.effective - b.effective)[0]
  if (single) {
    const s = withChange([single], p, 'single-coin')
    if (s) candidates.push(s)
  }
  // Largest first until the target (and change, if any) is covered.
  const largest: Pool[] = []
  let sum = 0
  for (const u of [...useful].sort((a, b) => b.effective - a.effective)) {
    largest.push(u)
    sum += u.effective
    if (sum >= p.targetSat + p.changeOutputFeeSat + p.minChangeSat) break
  }
  const lf = withChange(largest, p, 'largest-first')
  if (lf) candidates.push(lf)
  candidates.sort((a, b) => a.waste - b.waste || a.coins.length - b.coins.length)
  return candidates[0]
}

/**
 * Spends exactly the given coins (the owner's pick, or send-max): change only when the leftover is
 * worth an output. Undefined when they do not cover the target.
 */
export function spendExactly(
  coins: readonly SelectableCoin[],
  p: SelectionParams,
): Selection | undefined {
  const picked = pool(coins, p)
  return withChange(picked, p, 'owner-picked')
}
