// The send side of the wallet domain (issue 11 items 4, 6, 7): prepare a payment, bump or CPFP,
// or import a PSBT → a review the owner reads → confirm by the review's id (sign, finalize,
// broadcast through the box's own node). Nothing is broadcast without a review. The wallet core
// spreads `walletSendApi` into `walletApi` (src/shared/api/wallet.ts).
import { z } from 'zod'
import { mutation, query } from './procedure'

/**
 * A send's steps, persisted (src/core/wallet/send/send-saga.ts):
 * draft → reviewed → signed (the signed PSBT is kept) → broadcast → seen;
 * or failed (the node refused it: the reason is kept), discarded (by the owner), expired (review
 * not confirmed in time).
 */
export type SendState =
  'draft' | 'reviewed' | 'signed' | 'broadcast' | 'seen' | 'failed' | 'discarded' | 'expired'

/** channel: funds a Lightning channel through LND's PSBT flow (LND checks it before it is sent). */
export type SendKind = 'send' | 'bump' | 'cpfp' | 'import' | 'channel'

export interface SendReviewInput {
  readonly outpoint: string
  readonly valueSat: number
  readonly address?: string
  readonly label?: string
}

export interface SendReviewOutput {
  readonly address?: string
  readonly amountSat: number
  /** The wallet's own change. */
  readonly change: boolean
  /** Paid to an address of this wallet that is not change (e.g. a payment to yourself). */
  readonly mine: boolean
}

export interface SendReview {
  readonly id: string
  readonly accountId: string
  readonly kind: SendKind
  readonly state: SendState
  readonly inputs: readonly SendReviewInput[]
  readonly outputs: readonly SendReviewOutput[]
  /** Sum of the outputs that are not change. */
  readonly amountSat: number
  readonly changeSat: number
  readonly feeSat: number
  readonly vsize: number
  /** feeSat / vsize. */
  readonly feeRateSatPerVb: number
  /** "about 10 minutes" … in words. */
  readonly eta: string
  /** How the coins were picked: bnb (no change), single-coin, largest-first, owner-picked, send-max. */
  readonly selection?: string
  /** RBF: the transaction this one replaces. */
  readonly replaces?: string
  /** CPFP: the unconfirmed parent it pays for, and the fee rate of parent and child together. */
  readonly parentTxid?: string
  readonly packageFeeRateSatPerVb?: number
  /** The fee rate is unusually high: confirming needs `confirmHighFee: true`. */
  readonly needsFeeConfirmation: boolean
  /** The box holds the keys (a seed account); otherwise sign the PSBT elsewhere. */
  readonly canSign: boolean
  /** Inputs that already carry a signature, of all inputs. */
  readonly signatures: { readonly have: number; readonly need: number }
  /** Replace-by-fee signalled (nSequence 0xfffffffd, BIP125). */
  readonly rbf: boolean
  /** Known once signed (and for segwit already at review). */
  readonly txid?: string
  /** The PSBT (BIP174, base64): unsigned at review, signed once signed. */
  readonly psbt: string
  readonly createdAt: string
  readonly expiresAt?: string
  /** Why it failed, in words (the node's refusal). */
  readonly failure?: string
}

export interface FeePresetView {
  readonly id: 'fastest' | 'normal' | 'slow' | 'economy'
  readonly label: string
  readonly satPerVb: number
  readonly estimated: boolean
  readonly eta: string
}

export interface FeeRatesView {
  readonly presets: readonly FeePresetView[]
  readonly minRelaySatPerVb: number
  /** Above this rate the review asks for an explicit confirmation. */
  readonly confirmAboveSatPerVb: number
  readonly note?: string
}

const AccountId = z.string().regex(/^[a-z0-9-]{1,64}$/, 'an account id')
const Txid = z.string().regex(/^[0-9a-f]{64}$/, 'a transaction id (64 hex characters)')
const ReviewId = z.string().regex(/^[0-9a-f]{32}$/, 'a review id')
/** sat/vB, up to 3 decimals (0.1 sat/vB is v31's minimum relay rate). */
const FeeRate = z.number().positive().max(100_000)
const Password = z.string().min(1).max(1024)

export const walletSendApi = {
  feeRates: query<FeeRatesView>()(z.object({})),
  /** Builds a payment and returns its review; nothing is signed or sent. */
  prepareSend: mutation<SendReview>()(
    z.object({
      accountId: AccountId,
      recipients: z
        .array(
          z.object({
            address: z.string().trim().min(1).max(128),
            /** Ignored for the send-max recipient. */
            amountSat: z.number().int().min(0).max(2_100_000_000_000_000).optional(),
            max: z.boolean().optional(),
          }),
        )
        .min(1)
        .max(100),
      feeRateSatPerVb: FeeRate,
      /** Coin control: spend exactly these coins (txid:vout). */
      coins: z
        .array(z.string().regex(/^[0-9a-f]{64}:[0-9]{1,6}$/, 'a coin reference (txid:vout)'))
        .max(500)
        .optional(),
    }),
  ),
  /** A replacement paying a higher fee (RBF) for one of the wallet's own unconfirmed sends. */
  prepareBump: mutation<SendReview>()(
    z.object({ accountId: AccountId, txid: Txid, feeRateSatPerVb: FeeRate }),
  ),
  /** A child paying for an unconfirmed parent (CPFP) from the wallet's coins in it. */
  prepareCpfp: mutation<SendReview>()(
    z.object({ accountId: AccountId, txid: Txid, feeRateSatPerVb: FeeRate }),
  ),
  /** Signs (seed accounts, with the owner's password), finalizes and broadcasts a reviewed send. */
  confirmSend: mutation<SendReview>()(
    z.object({
      reviewId: ReviewId,
      password: Password.optional(),
      confirmHighFee: z.boolean().optional(),
    }),
  ),
  /** Broadcasts a send that was signed but not sent (after a crash or while the node was away). */
  broadcastSigned: mutation<SendReview>()(z.object({ reviewId: ReviewId })),
  /** Drops a send that was not broadcast; its coins are free again. */
  discardSend: mutation<SendReview>()(z.object({ reviewId: ReviewId })),
  /** A PSBT (base64, hex, or a .psbt file's bytes as base64; BIP174 or BIP370) → its review. */
  importPsbt: mutation<SendReview>()(
    z.object({ accountId: AccountId, psbt: z.string().trim().min(1).max(5_000_000) }),
  ),
  /** Sends the owner has not finished or that are still unconfirmed, newest first. */
  sends: query<readonly SendReview[]>()(z.object({ accountId: AccountId })),
  /** Moves coins to LND's on-chain wallet: a review of a payment to a fresh LND address. */
  prepareToLightning: mutation<SendReview>()(
    z.object({
      accountId: AccountId,
      amountSat: z.number().int().min(1).max(2_100_000_000_000_000).optional(),
      max: z.boolean().optional(),
      feeRateSatPerVb: FeeRate,
    }),
  ),
  /** Moves coins from LND's on-chain wallet to this wallet (LND signs and sends). */
  fromLightning: mutation<{ readonly txid: string; readonly address: string }>()(
    z.object({
      accountId: AccountId,
      amountSat: z.number().int().min(1).max(2_100_000_000_000_000).optional(),
      all: z.boolean().optional(),
      feeRateSatPerVb: FeeRate,
    }),
  ),
  /** Opens a channel funded from this wallet (LND's PSBT flow): the review of the funding payment. */
  prepareChannelFunding: mutation<SendReview>()(
    z.object({
      accountId: AccountId,
      /** The peer's node URI (pubkey@host:port) or public key when already connected. */
      peer: z.string().trim().min(66).max(300),
      capacitySat: z.number().int().min(20_000).max(2_100_000_000_000_000),
      feeRateSatPerVb: FeeRate,
    }),
  ),
  /** Signs the funding, lets LND check it and take the peer's signatures, then broadcasts it. */
  confirmChannelFunding: mutation<SendReview>()(
    z.object({
      reviewId: ReviewId,
      password: Password.optional(),
      confirmHighFee: z.boolean().optional(),
    }),
  ),
  send: query<SendReview>()(z.object({ reviewId: ReviewId })),
}
