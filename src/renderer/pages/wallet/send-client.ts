// The send side's procedures as the renderer calls them. The wallet page passes `api.wallet`
// (walletApi spreads walletSendApi); tests pass a fake. Kept as a prop so these panels do not
// depend on where the wallet domain sits in the contract.
import type { ClientOf } from '../../../shared/api/procedure'
import type { walletSendApi } from '../../../shared/api/wallet-send'

export type WalletSendClient = ClientOf<{ send: typeof walletSendApi }>['send']

/** "bcrt1qxy…k3f9" for long addresses and ids. */
export function shortId(s: string, head = 10, tail = 6): string {
  return s.length > head + tail + 1 ? `${s.slice(0, head)}…${s.slice(-tail)}` : s
}

/** How old a coin is, in words, from its confirmations. */
export function coinAge(confirmations: number): string {
  if (confirmations === 0) return 'unconfirmed'
  const minutes = confirmations * 10
  if (minutes < 120) return `${confirmations} confirmation${confirmations === 1 ? '' : 's'}`
  const hours = Math.round(minutes / 60)
  if (hours < 48) return `about ${hours} hours old`
  return `about ${Math.round(hours / 24)} days old`
}
