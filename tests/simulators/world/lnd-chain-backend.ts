// SIMULATOR support — test-only. What a simulated LND node needs from its chain backend (the
// role bitcoind + ZMQ play for a real LND): the tip, blocks by height, broadcast through the
// chain's own policy, a fee estimate, and a nudge when the tip or the mempool changes. The
// in-process world chain and a bitcoind JSON-RPC endpoint both fit behind it.
import type * as bitcoin from 'bitcoinjs-lib'

export interface BackendBlock {
  readonly height: number
  readonly hash: string
  readonly time: number
  readonly txs: readonly bitcoin.Transaction[]
}

export interface LndChainBackend {
  readonly network: bitcoin.Network
  tipHeight(): number
  block(height: number): BackendBlock | null
  /** Submits through the chain's mempool policy; throws with the chain's reason when refused. */
  broadcast(tx: bitcoin.Transaction): void
  /** Transactions waiting in the mempool (so a wallet sees unconfirmed deposits, as via ZMQ). */
  mempool(): readonly bitcoin.Transaction[]
  /** sat/vB for confirmation within `targetConf` blocks. */
  feeRate(targetConf: number): number
  /** Called on every block connected or disconnected and on every mempool change. */
  subscribe(onChange: () => void): () => void
}

/** LND's bitcoind fee estimator falls back to 25 sat/vB when estimatesmartfee has no answer. */
export const FALLBACK_FEE_SAT_PER_VB = 25

/** The parts of the world chain (chain.ts) an LND node reads, structurally. */
export interface WorldChainLike {
  tip(): { height: number; hash: string }
  blockAt(height: number):
    | {
        block: { timestamp: number; transactions?: bitcoin.Transaction[] }
        height: number
        hash: string
      }
    | undefined
  submit(tx: bitcoin.Transaction): string
  mempool(): readonly { tx: bitcoin.Transaction }[]
  estimateFee(targetBlocks: number): { feeRate: number } | undefined
  on(event: string, fn: (...args: unknown[]) => void): unknown
  off(event: string, fn: (...args: unknown[]) => void): unknown
}

/** The in-process world chain as an LND chain backend (what bitcoind + ZMQ are to LND). */
export function worldChainBackend(
  chain: WorldChainLike,
  network: bitcoin.Network,
): LndChainBackend {
  return {
    network,
    tipHeight: () => chain.tip().height,
    block: (height) => {
      const b = chain.blockAt(height)
      return b
        ? {
            height: b.height,
            hash: b.hash,
            time: b.block.timestamp,
            txs: b.block.transactions ?? [],
          }
        : null
    },
    broadcast: (tx) => void chain.submit(tx),
    mempool: () => chain.mempool().map((e) => e.tx),
    feeRate: (target) => chain.estimateFee(target)?.feeRate ?? FALLBACK_FEE_SAT_PER_VB,
    subscribe: (onChange) => {
      const fn = () => onChange()
      for (const e of ['block', 'disconnect', 'tx', 'removed']) chain.on(e, fn)
      return () => {
        for (const e of ['block', 'disconnect', 'tx', 'removed']) chain.off(e, fn)
      }
    },
  }
}
