// The status of a script hash as the Electrum protocol defines it
// (https://electrum-protocol.readthedocs.io/en/latest/protocol-basics.html#status): the SHA-256
// of the concatenation of `tx_hash:height:` for every history item — confirmed ones in block
// order, then the mempool ones — as hex; null when there is no history. The wallet computes it
// from the history it fetched and keeps it: when the server's status for a script hash equals the
// stored one, the history is known to be unchanged without asking for it (a restart costs one
// subscription per script hash, in batches, and one history call per changed status).
import { hash } from 'node:crypto'

export interface HistoryItem {
  readonly tx_hash: string
  /** Block height; 0 in the mempool, -1 in the mempool with an unconfirmed parent. */
  readonly height: number
}

export function electrumStatus(history: readonly HistoryItem[]): string | null {
  if (history.length === 0) return null
  const text = history.map((h) => `${h.tx_hash}:${h.height}:`).join('')
  return hash('sha256', text, 'hex')
}
