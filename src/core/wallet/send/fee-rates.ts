// Fee rate presets from the box's Electrum server (blockchain.estimatefee, which electrs answers
// from bitcoind's estimatesmartfee; BTC per kvB, -1 when the node has no estimate yet) and the
// node's minimum relay rate (blockchain.relayfee). Times are said in words, never in fiat.

/** What the presets need from the Electrum client (src/core/clients/electrum.ts has both). */
export interface FeeEstimator {
  /** BTC per 1000 vB, or -1 when there is no estimate. */
  estimateFee(blocks: number): Promise<number>
  /** BTC per 1000 vB. */
  relayFee(): Promise<number>
}

export interface FeePreset {
  readonly id: 'fastest' | 'normal' | 'slow' | 'economy'
  readonly label: string
  readonly targetBlocks: number
  readonly satPerKvb: number
  /** False when the node had no estimate and the rate is the fallback. */
  readonly estimated: boolean
  readonly eta: string
}

export interface FeeRates {
  readonly presets: readonly FeePreset[]
  readonly minRelaySatPerKvb: number
  /** Said on the form when the node has no estimate yet (a new or quiet chain). */
  readonly note?: string
}

const PRESETS = [
  { id: 'fastest', label: 'Fastest', targetBlocks: 1 },
  { id: 'normal', label: 'Normal', targetBlocks: 6 },
  { id: 'slow', label: 'Slow', targetBlocks: 24 },
  { id: 'economy', label: 'Economy', targetBlocks: 144 },
] as const

export const btcPerKvbToSatPerKvb = (btc: number): number => Math.round(btc * 1e8)

/** "about 10 minutes", "about 1 hour", "about a day" for a number of blocks (10 minutes each). */
export function etaWords(blocks: number): string {
  const minutes = Math.max(1, blocks) * 10
  if (minutes < 60) return `about ${minutes} minutes`
  const hours = Math.round(minutes / 60)
  if (hours < 24) return hours === 1 ? 'about 1 hour' : `about ${hours} hours`
  const days = Math.round(hours / 24)
  return days === 1 ? 'about a day' : `about ${days} days`
}

export async function feeRates(estimator: FeeEstimator): Promise<FeeRates> {
  const minRelay = Math.max(1, btcPerKvbToSatPerKvb(await estimator.relayFee()))
  const estimates = await Promise.all(PRESETS.map((p) => estimator.estimateFee(p.targetBlocks)))
  let missing = false
  let floor = minRelay
  // Walk from the slowest preset up so a faster preset never costs less than a slower one.
  const presets: FeePreset[] = []
  for (let i = PRESETS.length - 1; i >= 0; i--) {
    const p = PRESETS[i]!
    const btc = estimates[i]!
    const estimated = btc > 0
    if (!estimated) missing = true
    const rate = Math.max(floor, estimated ? btcPerKvbToSatPerKvb(btc) : minRelay)
    floor = rate
    presets.unshift({ ...p, satPerKvb: rate, estimated, eta: etaWords(p.targetBlocks) })
  }
  return {
    presets,
    minRelaySatPerKvb: minRelay,
    note: missing
      ? 'Your node has not seen enough blocks to estimate fees yet; the presets without an estimate use its minimum relay rate.'
      : undefined,
  }
}

/** Words for a custom rate: the time of the slowest preset it still beats. */
export function etaForRate(satPerKvb: number, rates: FeeRates): string {
  const estimated = rates.presets.filter((p) => p.estimated)
  for (const p of estimated) {
    if (satPerKvb >= p.satPerKvb) return etaWords(p.targetBlocks)
  }
  if (estimated.length === 0) return 'unknown: your node has no fee estimates yet'
  return 'more than a day, perhaps never if fees stay high'
}

/**
 * The same estimates read from bitcoind directly (estimatesmartfee, getnetworkinfo's relayfee),
 * for when electrs is not running: electrs answers blockchain.estimatefee from exactly this call.
 */
export function nodeFeeEstimator(node: {
  estimateSmartFee(blocks: number): Promise<{ feerate?: number }>
  getNetworkInfo(): Promise<{ relayfee: number }>
}): FeeEstimator {
  return {
    estimateFee: async (blocks) => (await node.estimateSmartFee(blocks)).feerate ?? -1,
    relayFee: async () => (await node.getNetworkInfo()).relayfee,
  }
}
