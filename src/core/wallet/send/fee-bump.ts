// Fee bumping for the wallet's own unconfirmed transactions.
//
// RBF (BIP125 as Bitcoin Core v31 applies it, src/policy/rbf.cpp): the replacement must pay
//  - rule 3: at least the fees of everything it evicts (the original and its descendants),
//  - rule 4: plus the incremental relay fee (0.1 sat/vB) for its own size,
//  - and improve the mempool's feerate diagram (cluster mempool, ImprovesFeerateDiagram): here,
//    a fee rate above every chunk the original sits in, which is sufficient for the diagram of a
//    replacement that takes the original's place.
// CPFP: a child spending the wallet's coin in the parent pays for the parent and its unconfirmed
// ancestors, so the whole package reaches the chosen rate (miners select by ancestor package).
import { feeFor } from './weights'

/** What the node says about the transaction being replaced (getmempoolentry + getmempoolcluster). */
export interface ReplacedTx {
  readonly feeSat: number
  readonly vsize: number
  /** Fees and size of the original with all its mempool descendants (BIP125 rule 3). */
  readonly descendantFeeSat: number
  readonly descendantVsize: number
  /** The highest chunk fee rate (sat/kvB) among the chunks that hold evicted transactions. */
  readonly maxChunkRateSatPerKvb: number
}

/** v31's -incrementalrelayfee default: 0.1 sat/vB. */
export const INCREMENTAL_RELAY_SAT_PER_KVB = 100

/** The least fee a replacement of `newVsize` vB must pay. */
export function replacementMinimumFee(
  old: ReplacedTx,
  newVsize: number,
  incrementalSatPerKvb = INCREMENTAL_RELAY_SAT_PER_KVB,
): number {
  const rules34 = old.descendantFeeSat + feeFor(incrementalSatPerKvb, newVsize)
  // Strictly above the best evicted chunk's rate.
  const diagram = Math.floor((old.maxChunkRateSatPerKvb * newVsize) / 1000) + 1
  return Math.max(rules34, diagram)
}

/** sat/kvB of fee over vsize. */
export const rateOf = (feeSat: number, vsize: number): number => (feeSat * 1000) / vsize

export interface PackageInfo {
  /** Fees and size of the parent with its unconfirmed ancestors (getmempoolentry fees.ancestor, ancestorsize). */
  readonly ancestorFeeSat: number
  readonly ancestorVsize: number
}

/** The child's fee so that parent(s) and child together pay `satPerKvb`. */
export function cpfpChildFee(pkg: PackageInfo, childVsize: number, satPerKvb: number): number {
  const packageFee = feeFor(satPerKvb, pkg.ancestorVsize + childVsize)
  return Math.max(packageFee - pkg.ancestorFeeSat, feeFor(satPerKvb, childVsize))
}
