// The on-chain wallet's domain types (issue 11), shared by the wallet core (accounts, sync,
// receive, history, coins, labels) and the send side (src/core/wallet/send: coin selection, PSBTs,
// fee bumping, broadcast). The plain-data types are declared once in the API contract
// (src/shared/api/wallet.ts) because the renderer shows them as they are; this file re-exports
// them and adds what only the engine uses.
import type { BIP32Interface } from 'bip32'
import type {
  WalletAccount,
  WalletAddress,
  WalletCoin,
  WalletTransaction,
} from '../../shared/api/wallet'

export type {
  AddressDerivation,
  BalancePoint,
  Bip329Record,
  KeyOrigin,
  Outpoint,
  WalletAccount,
  WalletAddress,
  WalletBalance,
  WalletChain,
  WalletCoin,
  WalletKeySource,
  WalletNetwork,
  WalletScriptKind,
  WalletTransaction,
  WalletTxInput,
  WalletTxOutput,
  WalletTxStatus,
} from '../../shared/api/wallet'

/**
 * What the send side (src/core/wallet/send) needs from the wallet core, and nothing more. The
 * wallet module (src/core/wallet/wallet-service.ts) implements it.
 */
export interface WalletForSend {
  account(accountId: string): WalletAccount
  /** Every coin of the account, frozen ones included (each says `frozen`). */
  coins(accountId: string): readonly WalletCoin[]
  /** A wallet transaction (with its raw hex), or undefined. */
  transaction(accountId: string, txid: string): WalletTransaction | undefined
  /** The next unused change address (chain 1); it is watched from now on. */
  nextChangeAddress(accountId: string): Promise<WalletAddress>
  /** The account's address for an output script (hex), or undefined: the ownership check. */
  addressForScript(accountId: string, scriptPubKey: string): WalletAddress | undefined
  /**
   * The BIP32 master key of a seed account, opened with the owner's password (throws
   * wallet.watch_only for a watch-only account, wallet.wrong_password). Keep it only as long as
   * signing takes.
   */
  masterKey(accountId: string, password: string): Promise<BIP32Interface>
  /** Tells the wallet a transaction was broadcast, so its coins and history update at once. */
  noteBroadcast(accountId: string, txHex: string): Promise<void>
}
