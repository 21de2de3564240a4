// The wallet domain of the API: the box's own on-chain wallet (issue 11) on its own electrs.
// Accounts from output descriptors (BIP84 wpkh by default, BIP86 tr; watch-only from an xpub or a
// descriptor), receive with BIP21, history, coins with freezing, BIP329 labels. The BIP39 seed
// crosses this boundary only on the owner's explicit request with the password typed again.
// The data types here are the wallet's domain types (src/core/wallet/types.ts re-exports them):
// plain data, persisted as JSON by the engine and shown as is by the renderer.
//
// Amounts are whole satoshis as JS numbers (2.1e15 sat < 2^53, so they are exact).
import { z } from 'zod'
import { mutation, query } from './procedure'
import type { UserError } from '../errors'
import { walletSendApi } from './wallet-send'

/** The Bitcoin network of an account; an account never mixes networks. */
export type WalletNetwork = 'mainnet' | 'testnet' | 'signet' | 'regtest'

/**
 * The script type of an account, named after its output descriptor:
 * - wpkh: native SegWit v0, BIP84 (m/84'/coin'/account'), the default;
 * - tr: Taproot key path, BIP86 (m/86'/coin'/account').
 */
export type WalletScriptKind = 'wpkh' | 'tr'

/**
 * Where an account's keys live:
 * - seed: derived from the box's BIP39 seed (kept encrypted under the owner's password);
 * - watch-only: imported from an xpub/zpub or a descriptor; the box cannot sign for it (a PSBT is
 *   exported and signed elsewhere).
 */
export type WalletKeySource = 'seed' | 'watch-only'

/** BIP44 chain: 0 receive (external), 1 change (internal). */
export type WalletChain = 0 | 1

/** A txid:vout reference, as BIP329 writes outputs. */
export type Outpoint = `${string}:${number}`

/** A BIP32 key origin for PSBT fields (BIP174 PSBT_IN_BIP32_DERIVATION / PSBT_OUT_BIP32_DERIVATION). */
export interface KeyOrigin {
  /** The master key's fingerprint, 8 hex chars. */
  readonly masterFingerprint: string
  /** The full path from the master key, e.g. m/84'/1'/0'/0/5. */
  readonly path: string
}

/** How the wallet can spend (or recognise) one address. Enough to fill every PSBT key field. */
export interface AddressDerivation extends KeyOrigin {
  readonly kind: WalletScriptKind
  readonly chain: WalletChain
  readonly index: number
  /**
   * The public key at this path: 33-byte compressed, hex. For `wpkh` this is the key in
   * PSBT_IN_BIP32_DERIVATION; for `tr` its x-only form (bytes 1..33) is the internal key.
   */
  readonly pubkey: string
  /** `tr` only: the x-only internal key (32 bytes hex) — PSBT_IN_TAP_INTERNAL_KEY and the key of PSBT_IN_TAP_BIP32_DERIVATION (with no leaf hashes). */
  readonly tapInternalKey?: string
  /** The single-key descriptor of this address with its key origin, e.g. wpkh([fp/84'/1'/0']xpub…/0/5). */
  readonly descriptor: string
}

/** One derived address of an account. */
export interface WalletAddress {
  readonly accountId: string
  readonly address: string
  /** The output script, hex. */
  readonly scriptPubKey: string
  /** Electrum script hash: sha256(scriptPubKey) byte-reversed, hex. */
  readonly scriptHash: string
  readonly derivation: AddressDerivation
  /** It has at least one transaction (confirmed or in the mempool). */
  readonly used: boolean
  /** BIP329 label ("addr" record), when the owner gave one. */
  readonly label?: string
}

/** A coin (UTXO) of the wallet. */
export interface WalletCoin {
  readonly accountId: string
  readonly txid: string
  readonly vout: number
  readonly outpoint: Outpoint
  readonly valueSat: number
  readonly address: string
  readonly scriptPubKey: string
  readonly derivation: AddressDerivation
  /** Block height; 0 while in the mempool. */
  readonly height: number
  /** 0 while in the mempool. */
  readonly confirmations: number
  /** Its block's Merkle proof was checked against the block header (always false while unconfirmed). */
  readonly verified: boolean
  /** The transaction creating it is a coinbase (needs 100 confirmations to be spent). */
  readonly coinbase: boolean
  /** Frozen coins are never picked by coin selection (the owner's choice, persisted). */
  readonly frozen: boolean
  /** BIP329 label ("output" record), or the label of its transaction/address when it has none. */
  readonly label?: string
  /** When the wallet first saw it (ISO 8601): mempool arrival, or block time for old coins. */
  readonly firstSeen: string
}

/** One input or output of a wallet transaction as the owner sees it. */
export interface WalletTxInput {
  readonly txid: string
  readonly vout: number
  /** Known when the previous transaction was fetched (always for the wallet's own coins). */
  readonly valueSat?: number
  readonly address?: string
  /** The coin was the wallet's own (this account). */
  readonly mine: boolean
}
export interface WalletTxOutput {
  readonly vout: number
  readonly valueSat: number
  /** Undefined for scripts without an address (OP_RETURN). */
  readonly address?: string
  readonly scriptPubKey: string
  readonly mine: boolean
  /** For the wallet's own outputs: receive (0) or change (1). */
  readonly chain?: WalletChain
}

/**
 * - unconfirmed: in the mempool;
 * - confirming: in a block whose Merkle proof has not been checked yet (not counted as confirmed);
 * - confirmed: in a block, Merkle proof checked against the header;
 * - replaced: left the mempool or was orphaned and a conflicting transaction spent its inputs
 *   (kept in history so the owner sees what happened; its amounts no longer count).
 */
export type WalletTxStatus = 'unconfirmed' | 'confirming' | 'confirmed' | 'replaced'

export interface WalletTransaction {
  readonly accountId: string
  readonly txid: string
  readonly status: WalletTxStatus
  /** Block height; 0 in the mempool (Electrum's -1 "unconfirmed parent" is also reported as 0). */
  readonly height: number
  readonly confirmations: number
  readonly blockHash?: string
  /** Block time, ISO 8601. */
  readonly blockTime?: string
  /** When the wallet first saw it, ISO 8601. */
  readonly firstSeen: string
  /** Sum of the wallet's outputs in it. */
  readonly receivedSat: number
  /** Sum of the wallet's coins it spends. */
  readonly sentSat: number
  /** receivedSat − sentSat: positive for a deposit, negative for a payment (fee included). */
  readonly netSat: number
  /**
   * Known when every input's value is known: always for the wallet's own payments; for deposits
   * (the fee the sender paid) once the wallet has fetched the transactions their inputs spend.
   */
  readonly feeSat?: number
  readonly vsize: number
  /** sat/vB, when the fee is known. */
  readonly feeRate?: number
  /** It signals replaceability (BIP125) — relevant for fee bumping. */
  readonly rbf: boolean
  readonly inputs: readonly WalletTxInput[]
  readonly outputs: readonly WalletTxOutput[]
  /** BIP329 "tx" label. */
  readonly label?: string
  /** Raw transaction, hex (the send side needs it for CPFP/RBF and PSBT non_witness_utxo). */
  readonly hex: string
}

/** One account: a pair of ranged descriptors (receive /0/*, change /1/*). */
export interface WalletAccount {
  readonly id: string
  readonly name: string
  readonly network: WalletNetwork
  readonly kind: WalletScriptKind
  readonly source: WalletKeySource
  /** BIP44 account number for seed accounts; for watch-only ones the number in the path, if any. */
  readonly account?: number
  /** Public ranged descriptors with key origin and checksum (never a private key). */
  readonly receiveDescriptor: string
  readonly changeDescriptor: string
  /** The account-level extended public key (xpub/tpub form) and its origin. */
  readonly xpub: string
  readonly origin: KeyOrigin
  /** Unused addresses watched beyond the last used one on each chain (BIP44 gap limit). */
  readonly gapLimit: number
  readonly createdAt: string
}

export interface WalletBalance {
  /** Confirmed and Merkle-verified. */
  readonly confirmedSat: number
  /** In the mempool or waiting for its Merkle proof (received minus spent). */
  readonly unconfirmedSat: number
  /** Confirmed coins the owner froze (included in confirmedSat). */
  readonly frozenSat: number
}

/** A BIP329 label record (https://github.com/bitcoin/bips/blob/master/bip-0329.mediawiki). */
export interface Bip329Record {
  readonly type: 'tx' | 'addr' | 'pubkey' | 'input' | 'output' | 'xpub'
  readonly ref: string
  readonly label?: string
  readonly origin?: string
  /** Only for `output` records. */
  readonly spendable?: boolean
}

/** Where the wallet's view of the chain comes from. */
export type WalletConnection =
  'disabled' | 'connecting' | 'indexing' | 'syncing' | 'ready' | 'offline'

export interface WalletStatus {
  readonly connection: WalletConnection
  /** The seed exists (encrypted under the owner's password). */
  readonly seed: { readonly stored: boolean; readonly hasPassphrase: boolean }
  readonly accounts: readonly WalletAccountView[]
  /** electrs' tip, when connected. */
  readonly tipHeight?: number
  /** The last complete sync, ISO 8601. */
  readonly syncedAt?: string
  readonly problem?: UserError
  /** What the owner must know about (reorgs, refused proofs), newest first, at most 20. */
  readonly notices: readonly WalletNotice[]
}

export interface WalletNotice {
  readonly at: string
  readonly accountId: string
  readonly txid: string
  readonly kind: 'unconfirmed' | 'replaced' | 'bad_proof'
  readonly message: string
}

export interface WalletAccountView extends WalletAccount {
  readonly balance: WalletBalance
}

export interface ReceiveAddress {
  readonly address: string
  readonly index: number
  /** bitcoin:ADDRESS?amount=…&label=… (BIP21). */
  readonly uri: string
  /** The URI as a QR code: an SVG data URL (the address in upper case, for a denser code). */
  readonly qr: string
  readonly label?: string
}

/** One point of the balance chart: the balance after each transaction (confirmed or not). */
export interface BalancePoint {
  /** Unix seconds (block time, or first seen for unconfirmed). */
  readonly t: number
  readonly balanceSat: number
}

/** The seed shown once more, after the owner typed the password again. */
export interface WalletSeedReveal {
  readonly words: readonly string[]
  readonly hasPassphrase: boolean
}

const Password = z.string().min(1).max(1024)
const AccountId = z.string().regex(/^[a-z0-9-]{1,64}$/, 'an account id')
const Txid = z.string().regex(/^[0-9a-f]{64}$/, 'a transaction id (64 hex characters)')
const Label = z.string().max(255)
const OutpointSchema = z
  .string()
  .regex(/^[0-9a-f]{64}:[0-9]{1,6}$/, 'a coin reference (txid:vout)')
  .transform((s) => s as Outpoint)
export const GapLimitSchema = z.number().int().min(1).max(1000)

/** Something that changed in the wallet (the renderer refetches what it shows). */
export type WalletEvent =
  | { topic: 'wallet'; type: 'status'; status: WalletStatus }
  /** A transaction appeared, confirmed, or changed status. */
  | { topic: 'wallet'; type: 'transaction'; accountId: string; transaction: WalletTransaction }
  /**
   * A reorg: a transaction that was confirmed went back to unconfirmed (its block was orphaned),
   * or disappeared (double-spent). The owner is told in words.
   */
  | {
      topic: 'wallet'
      type: 'reorg'
      accountId: string
      txid: string
      outcome: 'unconfirmed' | 'replaced'
      message: string
    }
  | { topic: 'wallet'; type: 'coins'; accountId: string }

export const walletApi = {
  status: query<WalletStatus>()(z.object({})),
  /** Makes the box's BIP39 seed (12 or 24 words, optional passphrase) and its first account. */
  createSeed: mutation<WalletStatus>()(
    z.object({
      password: Password,
      words: z.union([z.literal(12), z.literal(24)]).default(12),
      passphrase: z.string().max(1024).optional(),
      kind: z.enum(['wpkh', 'tr']).default('wpkh'),
    }),
  ),
  /** Restores the seed from words the owner typed. */
  restoreSeed: mutation<WalletStatus>()(
    z.object({
      password: Password,
      mnemonic: z.string().trim().min(1).max(1024),
      passphrase: z.string().max(1024).optional(),
      kind: z.enum(['wpkh', 'tr']).default('wpkh'),
    }),
  ),
  /** Shows the seed words again; needs the owner's password. */
  revealSeed: mutation<WalletSeedReveal>()(z.object({ password: Password })),
  /** A further account from the seed (the next BIP44 account number for that kind). */
  addAccount: mutation<WalletAccountView>()(
    z.object({
      password: Password,
      kind: z.enum(['wpkh', 'tr']),
      name: z.string().trim().min(1).max(64).optional(),
    }),
  ),
  /** A watch-only account from an xpub/tpub/zpub/vpub or a descriptor. */
  importWatchOnly: mutation<WalletAccountView>()(
    z.object({
      name: z.string().trim().min(1).max(64),
      /** xpub/zpub/… or an output descriptor (wpkh(…) or tr(…)). */
      source: z.string().trim().min(1).max(4096),
    }),
  ),
  setGapLimit: mutation<WalletAccountView>()(
    z.object({ accountId: AccountId, gapLimit: GapLimitSchema }),
  ),
  /** The next unused receive address (it is not handed out again until used or the gap allows). */
  receive: mutation<ReceiveAddress>()(
    z.object({
      accountId: AccountId,
      amountSat: z.number().int().min(1).max(2_100_000_000_000_000).optional(),
      label: Label.optional(),
    }),
  ),
  addresses: query<readonly WalletAddress[]>()(
    z.object({ accountId: AccountId, chain: z.union([z.literal(0), z.literal(1)]).optional() }),
  ),
  history: query<readonly WalletTransaction[]>()(
    z.object({ accountId: AccountId, search: z.string().max(256).optional() }),
  ),
  /** The history as CSV text (date, txid, amount, fee, confirmations, label). */
  historyCsv: query<string>()(z.object({ accountId: AccountId })),
  balanceHistory: query<readonly BalancePoint[]>()(z.object({ accountId: AccountId })),
  coins: query<readonly WalletCoin[]>()(z.object({ accountId: AccountId })),
  setFrozen: mutation<WalletCoin>()(
    z.object({ accountId: AccountId, outpoint: OutpointSchema, frozen: z.boolean() }),
  ),
  /** Sets (or with an empty label removes) a BIP329 label. */
  setLabel: mutation<null>()(
    z.object({
      accountId: AccountId,
      type: z.enum(['tx', 'addr', 'output']),
      ref: z.string().min(1).max(128),
      label: Label,
    }),
  ),
  /** BIP329 JSON Lines for the account. */
  exportLabels: query<string>()(z.object({ accountId: AccountId })),
  importLabels: mutation<{ readonly imported: number; readonly skipped: number }>()(
    z.object({ accountId: AccountId, jsonl: z.string().max(10_000_000) }),
  ),
  ...walletSendApi,
}

export const WalletTxidSchema = Txid
