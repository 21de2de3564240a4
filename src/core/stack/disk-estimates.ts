// How much disk the chosen settings need. One table, in GB (10^9 bytes), rounded up.
// Sources and reasoning:
// - mainnet blocks: 802 GB of blocks/*.dat in July 2026 (romanz/electrs doc/usage.md), growing
//   ~1.85 MB per block (same log) ≈ 97 GB a year; we ask for the size at the end of 2026 plus a
//   year of growth, so a box set up today does not fill up within the year.
// - chainstate (UTXO set): ~12 GB on mainnet; a few GB on the test networks.
// - txindex: ~60 GB on mainnet (an entry per transaction).
// - electrs: its doc/upgrading.md asks for 120 GB free to reindex mainnet and treats < 60 GB as
//   too little; we reserve 80 GB.
// - testnet4 and signet: tens of GB; figures rounded up generously from public node sizes in 2026.
// - BTCPay (PostgreSQL + NBXplorer) and LND: small; fixed reserves.
// Revisit these numbers with each release (they only grow).
import type { Settings } from '../../shared/settings'
import type { BitcoinNetwork } from './spec'

const GB = 1_000_000_000
const MiB = 1024 * 1024

interface ChainSize {
  /** Full block files, including a year of growth. */
  readonly blocksGB: number
  readonly chainstateGB: number
  readonly txindexGB: number
  readonly electrsGB: number
}

export const chainSizes: Readonly<Record<BitcoinNetwork, ChainSize>> = {
  mainnet: { blocksGB: 930, chainstateGB: 15, txindexGB: 60, electrsGB: 80 },
  testnet4: { blocksGB: 60, chainstateGB: 3, txindexGB: 5, electrsGB: 10 },
  signet: { blocksGB: 40, chainstateGB: 2, txindexGB: 4, electrsGB: 8 },
  // regtest: a private test chain that only grows when someone mines on it; a year of a test shop
  // (a few thousand mostly empty blocks) stays well under these.
  regtest: { blocksGB: 0.5, chainstateGB: 0.1, txindexGB: 0.1, electrsGB: 0.2 },
}

export const serviceReservesGB = { lnd: 2, btcpay: 10, relay: 5, mint: 1, logs: 5 } as const

/** On regtest the services hold test data only: a tenth of the reserves above. */
export const regtestReservesGB = { lnd: 0.2, btcpay: 1, relay: 0.5, mint: 0.1, logs: 0.5 } as const

export interface DiskEstimate {
  readonly totalBytes: number
  /** Per part, in bytes, for the wizard's breakdown. */
  readonly parts: Readonly<Record<string, number>>
}

export function estimateDisk(settings: Settings): DiskEstimate {
  const size = chainSizes[settings.network]
  const parts: Record<string, number> = {}
  if (settings.prune.enabled) {
    // Pruned: bitcoind keeps at most targetMiB of blocks (plus undo data within that target).
    // A target larger than the whole chain (regtest) keeps the whole chain, no more.
    parts.bitcoind =
      Math.min(settings.prune.targetMiB * MiB, size.blocksGB * GB) + size.chainstateGB * GB
  } else {
    parts.bitcoind = (size.blocksGB + size.chainstateGB) * GB
    if (settings.txindex) parts.txindex = size.txindexGB * GB
  }
  const s = settings.services
  const reserve = settings.network === 'regtest' ? regtestReservesGB : serviceReservesGB
  if (s.electrs) parts.electrs = size.electrsGB * GB
  if (s.lnd) parts.lnd = reserve.lnd * GB
  if (s.btcpay) parts.btcpay = reserve.btcpay * GB
  if (s.relay) parts.relay = reserve.relay * GB
  if (s.mint) parts.mint = reserve.mint * GB
  parts.logs = reserve.logs * GB
  const totalBytes = Object.values(parts).reduce((a, b) => a + b, 0)
  return { totalBytes, parts }
}

/** Bytes of disk the settings need (see the table above). */
export function estimateDiskBytes(settings: Settings): number {
  return estimateDisk(settings).totalBytes
}

/** "931 GB": how people and disk vendors count. */
export function formatGB(bytes: number): string {
  const gb = bytes / GB
  return `${gb >= 10 ? Math.ceil(gb) : Math.ceil(gb * 10) / 10} GB`
}
