// The eCash wallet domain: Cashu ecash held by the box itself (src/core/ecash), used by the shop
// to take and make payments. Proofs and the wallet seed never leave the engine: the renderer sees
// amounts, states, tokens it asked to send and invoices to pay — nothing it could lose or leak.
// NUTs: https://github.com/cashubtc/nuts (00 tokens, 04 mint, 05 melt, 07 checkstate, 08 change,
// 09 restore, 11 P2PK, 12 DLEQ, 13 deterministic secrets, 17 WebSocket, 20 locked quotes).
import { z } from 'zod'
import { mutation, query } from './procedure'

// ---- Edge validation -------------------------------------------------------------------------

/** An http(s) mint URL, without credentials, fragments or query strings. */
export const MintUrlSchema = z
  .string()
  .trim()
  .max(512)
  .refine((v) => {
    try {
      const u = new URL(v)
      return (
        (u.protocol === 'http:' || u.protocol === 'https:') &&
        !u.username &&
        !u.password &&
        !u.search &&
        !u.hash
      )
    } catch {
      return false
    }
  }, 'must be a mint address like https://mint.example.com')
  .transform((v) => v.replace(/\/+$/, ''))

/** A Cashu token (cashuA… V3 or cashuB… V4, optionally as a `cashu:` URI). */
export const CashuTokenSchema = z
  .string()
  .trim()
  .max(100_000, 'the token is too long')
  .transform((v) => v.replace(/^cashu:(?=cashu[AB])/i, '').replace(/\s+/g, ''))
  .refine(
    (v) => /^cashu[AB][A-Za-z0-9_\-+/=]{16,}$/.test(v),
    'is not a Cashu token (it should start with "cashuA" or "cashuB")',
  )

/** A BOLT11 Lightning invoice (optionally as a `lightning:` URI). */
export const Bolt11Schema = z
  .string()
  .trim()
  .max(8_000, 'the invoice is too long')
  .transform((v) => v.replace(/^lightning:/i, '').toLowerCase())
  .refine(
    (v) => /^ln(bc|tb|tbs|bcrt|sb)[0-9]*[munp]?1[02-9ac-hj-np-z]{50,}$/.test(v),
    'is not a Lightning invoice (it should start with "lnbc", "lntb" or "lnbcrt")',
  )

/** A compressed secp256k1 public key (66 hex) or an x-only/Nostr key (64 hex). */
export const P2PKPubkeySchema = z
  .string()
  .trim()
  .toLowerCase()
  .refine(
    (v) => /^(02|03)[0-9a-f]{64}$/.test(v) || /^[0-9a-f]{64}$/.test(v),
    'must be a public key: 66 hex characters starting with 02 or 03',
  )

/** Whole satoshis; ecash amounts are integers in the mint's unit (sat). */
const SatsSchema = z.number().int().min(1).max(2_100_000_000_000_000)

const MnemonicSchema = z
  .string()
  .trim()
  .toLowerCase()
  .transform((v) => v.split(/\s+/).join(' '))
  .refine((v) => [12, 15, 18, 21, 24].includes(v.split(' ').length), 'must be 12 or 24 words')

// ---- Outputs ---------------------------------------------------------------------------------

export type ProofStateName = 'unspent' | 'pending-send' | 'pending-melt' | 'spent'

export interface MintBalance {
  readonly mintUrl: string
  /** Spendable now. */
  readonly spendable: number
  /** Sent as tokens nobody has claimed yet, or paying an invoice right now. */
  readonly pending: number
  /** Received while the mint was unreachable; claimed when it answers again. */
  readonly unclaimed: number
}

export interface EcashStatus {
  readonly ready: boolean
  /** Sum of spendable balances over all mints, in sats. */
  readonly total: number
  readonly balances: readonly MintBalance[]
  /** How many received tokens still wait to be claimed. */
  readonly unclaimedTokens: number
  /** The box's own mint, when it runs. */
  readonly ownMintUrl?: string
  /** Our P2PK public key: people lock tokens to it so only this box can claim them. */
  readonly receivePubkey?: string
  /** True once the user confirmed they wrote the recovery words down. */
  readonly seedBackedUp: boolean
}

export interface MintKeysetView {
  readonly id: string
  readonly unit: string
  readonly active: boolean
  /** Fee per input in parts per thousand of a sat (NUT-02). */
  readonly inputFeePpk: number
}

export interface EcashMintView {
  readonly url: string
  readonly name?: string
  readonly description?: string
  readonly version?: string
  /** The box's own mint. */
  readonly own: boolean
  /** Whether the last request to the mint worked. */
  readonly online: boolean
  readonly lastError?: string
  readonly keysets: readonly MintKeysetView[]
  readonly supports: {
    readonly websocket: boolean
    readonly lockedQuotes: boolean
    readonly restore: boolean
    readonly checkState: boolean
    readonly p2pk: boolean
    readonly dleq: boolean
  }
  readonly balance: MintBalance
}

export type MintQuoteStateName = 'unpaid' | 'paid' | 'issued' | 'expired'

export interface MintQuoteView {
  readonly quoteId: string
  readonly mintUrl: string
  readonly amount: number
  /** BOLT11 invoice to pay. */
  readonly invoice: string
  /** The invoice as a QR code (`data:image/svg+xml;base64,…`). */
  readonly qr: string
  readonly state: MintQuoteStateName
  /** Unix seconds; absent when the mint sets none. */
  readonly expiry?: number
  /** NUT-20: only this wallet's key can mint the paid quote. */
  readonly locked: boolean
}

export interface SendResult {
  readonly operationId: string
  readonly mintUrl: string
  readonly amount: number
  /** Swap fee the mint charged for splitting exact change (0 when none was needed). */
  readonly fee: number
  /** cashuB token. */
  readonly token: string
  /** QR code of the token (`data:image/svg+xml;base64,…`); absent when the token is too long. */
  readonly qr?: string
  /** Public key the token is locked to (NUT-11), if any. */
  readonly lockedTo?: string
}

export type ReceiveResult =
  | {
      readonly status: 'claimed'
      readonly operationId: string
      readonly mintUrl: string
      readonly amount: number
      readonly fee: number
    }
  | {
      /** The mint did not answer: the token is kept and claimed automatically later. */
      readonly status: 'stored-offline'
      readonly operationId: string
      readonly mintUrl: string
      readonly amount: number
      readonly reason: string
    }

export interface PendingTokenView {
  readonly operationId: string
  readonly mintUrl: string
  readonly amount: number
  readonly addedAt: string
  readonly lastAttemptAt?: string
  readonly lastError?: string
}

export interface RedeemResult {
  readonly claimed: number
  readonly claimedAmount: number
  readonly stillPending: number
  readonly failed: readonly { readonly operationId: string; readonly reason: string }[]
}

export interface MeltQuoteView {
  readonly quoteId: string
  readonly mintUrl: string
  /** What the invoice asks for. */
  readonly amount: number
  /** Most the Lightning fee can be; what is not used comes back as change (NUT-08). */
  readonly feeReserve: number
  /** Unix seconds. */
  readonly expiry?: number
  readonly invoice: string
}

export interface MeltResult {
  readonly operationId: string
  readonly state: 'paid' | 'pending'
  readonly amount: number
  /** Lightning + mint fees actually paid (known once paid). */
  readonly fee: number
  /** Returned as change. */
  readonly change: number
  readonly preimage?: string
}

export type HistoryKind = 'minted' | 'sent' | 'received' | 'melted' | 'restored'
export type HistoryState = 'pending' | 'unclaimed' | 'done' | 'failed'

export interface HistoryEntry {
  readonly id: string
  readonly kind: HistoryKind
  readonly state: HistoryState
  readonly mintUrl: string
  readonly amount: number
  readonly fee: number
  readonly createdAt: string
  readonly updatedAt: string
  /** Plain words: "waiting for the invoice to be paid", "claimed by the recipient", … */
  readonly note?: string
  readonly lockedTo?: string
}

export interface RestoreResult {
  readonly restored: number
  readonly mints: readonly {
    readonly mintUrl: string
    readonly amount: number
    readonly error?: string
  }[]
}

export interface SeedBackup {
  readonly words: readonly string[]
}

// ---- Procedures ------------------------------------------------------------------------------

export const ecashApi = {
  status: query<EcashStatus>()(z.object({})),
  mints: query<readonly EcashMintView[]>()(z.object({})),
  addMint: mutation<EcashMintView>()(z.object({ url: MintUrlSchema })),
  /** Refused while the mint still holds a balance or pending operations. */
  removeMint: mutation<void>()(z.object({ url: MintUrlSchema })),
  /** Asks the mint for a Lightning invoice; the wallet mints the ecash as soon as it is paid. */
  mintQuote: mutation<MintQuoteView>()(
    z.object({ amount: SatsSchema, mintUrl: MintUrlSchema.optional() }),
  ),
  /** Looks at the quote now (and mints when paid). */
  checkMintQuote: mutation<MintQuoteView>()(z.object({ quoteId: z.string().min(1).max(256) })),
  send: mutation<SendResult>()(
    z.object({
      amount: SatsSchema,
      mintUrl: MintUrlSchema.optional(),
      p2pkPubkey: P2PKPubkeySchema.optional(),
      memo: z.string().max(200).optional(),
    }),
  ),
  /** Claims a token; when its mint is unreachable the token is stored and claimed later. */
  receive: mutation<ReceiveResult>()(z.object({ token: CashuTokenSchema })),
  /** Takes back a sent token nobody has claimed yet (the wallet claims it itself). */
  reclaim: mutation<ReceiveResult>()(z.object({ operationId: z.string().min(1).max(64) })),
  pendingTokens: query<readonly PendingTokenView[]>()(z.object({})),
  /** Try now to claim stored tokens (all, or one). */
  redeemPending: mutation<RedeemResult>()(
    z.object({ operationId: z.string().min(1).max(64).optional() }),
  ),
  meltQuote: mutation<MeltQuoteView>()(
    z.object({ invoice: Bolt11Schema, mintUrl: MintUrlSchema.optional() }),
  ),
  melt: mutation<MeltResult>()(z.object({ quoteId: z.string().min(1).max(256) })),
  history: query<readonly HistoryEntry[]>()(
    z.object({
      mintUrl: MintUrlSchema.optional(),
      limit: z.number().int().min(1).max(1000).default(100),
    }),
  ),
  /** Shows the recovery words. `confirm` is the user ticking "I understand anyone with these words can take the money". */
  /** Once the box has an owner password, showing the words needs it typed again. */
  backupSeed: mutation<SeedBackup>()(
    z.object({ confirm: z.literal(true), password: z.string().max(1024).optional() }),
  ),
  /** Replaces an empty wallet's seed with `mnemonic` and recovers its ecash from the mints (NUT-09/13). */
  restore: mutation<RestoreResult>()(
    z.object({
      mnemonic: MnemonicSchema,
      mintUrls: z.array(MintUrlSchema).max(20).optional(),
    }),
  ),
}

export type EcashEvent =
  | {
      topic: 'ecash'
      type: 'balance'
      total: number
      balances: readonly MintBalance[]
    }
  | { topic: 'ecash'; type: 'quote-paid'; quoteId: string; mintUrl: string; amount: number }
  | { topic: 'ecash'; type: 'token-claimed'; operationId: string; mintUrl: string; amount: number }
  | { topic: 'ecash'; type: 'history'; entry: HistoryEntry }
