// How an operation reads in the wallet's history (states and amounts only; never a token or key).
import type { HistoryEntry } from '../../../shared/api/ecash'
import type { Operation } from '../store'

export function toHistory(op: Operation): HistoryEntry {
  const kind: HistoryEntry['kind'] =
    op.kind === 'mint'
      ? 'minted'
      : op.kind === 'send'
        ? 'sent'
        : op.kind === 'receive'
          ? 'received'
          : op.kind === 'melt'
            ? 'melted'
            : 'restored'
  let state: HistoryEntry['state']
  let note: string | undefined
  switch (op.state) {
    case 'unpaid':
      state = 'pending'
      note = 'waiting for the invoice to be paid'
      break
    case 'minting':
      state = 'pending'
      note = 'invoice paid, minting'
      break
    case 'swapping':
      state = 'pending'
      note = 'preparing the token'
      break
    case 'sent':
      state = 'pending'
      note = 'waiting for the recipient to claim it'
      break
    case 'claimed':
      state = 'done'
      note = 'claimed by the recipient'
      break
    case 'unclaimed':
      state = 'unclaimed'
      note = 'not yet claimed: the mint did not answer; retried automatically'
      break
    case 'claiming':
      // Claimed the moment the mint confirms; until then it is not ours to spend.
      state = 'unclaimed'
      note = 'not yet claimed: waiting for the mint to confirm'
      break
    case 'paying':
      state = 'pending'
      note = 'paying the invoice'
      break
    case 'expired':
      state = 'failed'
      note = 'the invoice expired unpaid'
      break
    case 'failed':
      state = 'failed'
      note = op.lastError
      break
    default:
      state = 'done'
  }
  return {
    id: op.id,
    kind,
    state,
    mintUrl: op.mintUrl,
    amount: op.amount,
    fee: op.fee,
    createdAt: op.createdAt,
    updatedAt: op.updatedAt,
    ...(note ? { note } : {}),
    ...(op.lockedTo ? { lockedTo: op.lockedTo } : {}),
  }
}

/** A stored token's last error as the user may read it. */
export function publicReason(reason: string): string {
  return /answer|fetch|network|ECONN|timed? ?out/i.test(reason) ? 'the mint did not answer' : reason
}
