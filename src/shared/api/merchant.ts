// The merchant domain: BTCPay set up by the box (its Greenfield API), the shop's sales and
// invoices, the point of sale, refunds and payouts through BTCPay's pull payments, a sale paid
// with the box's eCash, and rewards ("N% of every settled invoice back to the customer").
import { z } from 'zod'
import type { UserError } from '../errors'
import { mutation, query } from './procedure'

export const SETUP_STEP_IDS = [
  'admin',
  'store',
  'apiKey',
  'lightning',
  'onchain',
  'webhook',
  'pointOfSale',
] as const
export type MerchantSetupStepId = (typeof SETUP_STEP_IDS)[number]

export interface MerchantSetupStep {
  readonly id: MerchantSetupStepId
  readonly title: string
  readonly state: 'todo' | 'running' | 'done' | 'failed'
}

/**
 * How a reward reaches the customer:
 * - `claim`: a pull payment the customer claims (its QR on the receipt);
 * - `card`: a top-up of the customer's Flash Card (the sale names the card);
 * - `nostr`: eCash from the box's eCash wallet, sent to the customer's npub as a NIP-17 message;
 * - `auto`: the card or the npub the sale names, else the claim QR.
 */
export type RewardDelivery = 'auto' | 'claim' | 'card' | 'nostr'
export type RewardMethod = 'claim' | 'card' | 'nostr'

export interface RewardRule {
  readonly enabled: boolean
  /** Percent of each settled invoice given back, 0–50. */
  readonly percent: number
  readonly delivery: RewardDelivery
}

export interface MerchantStatus {
  readonly steps: readonly MerchantSetupStep[]
  readonly running: boolean
  /** Every step done. */
  readonly ready: boolean
  /** BTCPay's own web page (for "Open BTCPay"). */
  readonly btcpayUrl: string
  readonly shop?: { readonly name: string; readonly currency: string }
  readonly pos?: { readonly url: string; readonly qr?: string }
  readonly rewards: RewardRule
  readonly webhooks: { readonly received: number; readonly refused: number }
  readonly problem?: UserError
}

export type MerchantInvoiceStatus = 'New' | 'Processing' | 'Expired' | 'Invalid' | 'Settled'

/** pending: on its way (or waiting to be retried after a crash); issued: delivered; failed: see reason. */
export type RewardState = 'pending' | 'issued' | 'failed'

export interface MerchantReward {
  readonly amount: string
  readonly currency: string
  readonly state: RewardState
  readonly method: RewardMethod
  /** The card's name or the customer's npub. */
  readonly to?: string
  /** In sat, for the card and eCash deliveries. */
  readonly amountSat?: number
  /** Why it failed, in plain words. */
  readonly reason?: string
  readonly claimLink?: string
  readonly qr?: string
}

export interface MerchantInvoice {
  readonly id: string
  readonly status: MerchantInvoiceStatus
  readonly additionalStatus: string
  readonly amount: string
  readonly currency: string
  readonly createdAt: string
  readonly settledAt?: string
  readonly orderId?: string
  readonly description?: string
  readonly checkoutLink: string
  readonly reward?: MerchantReward
}

export interface SalesBucket {
  /** ISO start of the hour (today) or the day (week). */
  readonly start: string
  readonly total: number
  readonly count: number
}

export interface MerchantSales {
  readonly currency: string
  readonly today: readonly SalesBucket[]
  readonly week: readonly SalesBucket[]
  readonly todayTotal: number
  readonly weekTotal: number
}

export interface MerchantPullPayment {
  readonly id: string
  readonly name: string
  readonly amount: string
  readonly currency: string
  readonly link: string
  readonly qr?: string
  readonly archived: boolean
}

export interface MerchantPayout {
  readonly id: string
  readonly pullPaymentId: string | null
  readonly amount: string
  readonly currency: string
  readonly destination: string
  readonly method: string
  readonly state: 'AwaitingApproval' | 'AwaitingPayment' | 'InProgress' | 'Completed' | 'Cancelled'
  readonly revision: number
}

export interface RewardLedgerEntry {
  readonly invoiceId: string
  readonly invoiceAmount: string
  readonly currency: string
  readonly percent: number
  readonly rewardAmount: string
  readonly rewardSat?: number
  readonly state: RewardState
  readonly method: RewardMethod
  /** The card id or the customer's npub. */
  readonly to?: string
  /** The step a pending delivery is at (e.g. "minting", "sending", "messaging"). */
  readonly step?: string
  /** The claim pull payment, the card's new pull payment, or the NIP-17 message id. */
  readonly reference?: string
  readonly pullPaymentId?: string
  readonly reason?: string
  /**
   * eCash rewards: how the eCash was paid for — `lightning` (the box's node paid its mint), or
   * `internal` (mint and node are the box's own: the mint settled its quote inside the box).
   */
  readonly fundedBy?: 'lightning' | 'internal'
  readonly createdAt: string
}

export interface EcashPayReview {
  readonly reviewId: string
  readonly invoiceId: string
  readonly amountSat: number
  readonly feeReserveSat: number
  readonly totalSat: number
  readonly expiresAt?: string
  /**
   * The box's mint and the shop share the box's one Lightning node: the mint settles the sale
   * inside the box (no Lightning payment, fee 0).
   */
  readonly insideBox?: boolean
}

export interface EcashPayResult {
  readonly invoiceId: string
  readonly state: 'paid' | 'pending'
  readonly feeSat: number
}

export interface BtcpayLogin {
  readonly url: string
  readonly email: string
  readonly password: string
  /** Why the box cannot open BTCPay already logged in. */
  readonly note: string
}

const Amount = z
  .string()
  .trim()
  .regex(/^\d{1,12}(\.\d{1,8})?$/, 'Type an amount like 12.50.')
const Currency = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z]{3,4}$/, 'Type a currency code like EUR, USD or SATS.')
const Id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/)
const FlashCardId = z.string().regex(/^[0-9a-f]{16}$/, 'Pick a Flash Card from the list.')
const Npub = z
  .string()
  .trim()
  .regex(/^npub1[02-9ac-hj-np-z]{58}$/, 'Type the customer’s npub (it starts with npub1).')
/** Who gets a sale's reward: a Flash Card of the shop, or a Nostr public key. */
const RewardTo = z.union([
  z.object({ card: FlashCardId }).strict(),
  z.object({ npub: Npub }).strict(),
])
const RewardDeliverySchema = z.enum(['auto', 'claim', 'card', 'nostr'])

export const merchantApi = {
  status: query<MerchantStatus>()(z.object({})),
  /** Runs (or continues) the set-up; progress comes as `merchant/setup` events. */
  setup: mutation<MerchantStatus>()(
    z.object({
      shopName: z.string().trim().min(1, 'Type the shop’s name.').max(50),
      currency: Currency,
    }),
  ),
  invoices: query<readonly MerchantInvoice[]>()(
    z.object({
      search: z.string().max(100).optional(),
      status: z.enum(['New', 'Processing', 'Expired', 'Invalid', 'Settled']).optional(),
    }),
  ),
  sales: query<MerchantSales>()(z.object({})),
  createInvoice: mutation<MerchantInvoice & { readonly bolt11?: string; readonly qr?: string }>()(
    z.object({
      amount: Amount,
      currency: Currency.optional(),
      description: z.string().max(200).optional(),
      /** The customer's card or npub, for the reward (kept in the invoice's metadata). */
      rewardTo: RewardTo.optional(),
    }),
  ),
  refund: mutation<MerchantPullPayment>()(
    z.object({ invoiceId: Id, variant: z.enum(['RateThen', 'Fiat']).default('Fiat') }),
  ),
  pullPayments: query<readonly MerchantPullPayment[]>()(z.object({})),
  payouts: query<readonly MerchantPayout[]>()(z.object({})),
  approvePayout: mutation<MerchantPayout>()(
    z.object({ payoutId: Id, revision: z.number().int().min(0) }),
  ),
  markPayoutPaid: mutation<MerchantPayout>()(z.object({ payoutId: Id })),
  /** A payout of the store to a fresh address of the box's on-chain wallet. */
  payoutToWallet: mutation<MerchantPayout>()(
    z.object({ amountSat: z.number().int().min(546).max(2_100_000_000_000_000) }),
  ),
  setRewardRule: mutation<RewardRule>()(
    z.object({
      enabled: z.boolean(),
      percent: z.number().min(0).max(50),
      delivery: RewardDeliverySchema.default('auto'),
    }),
  ),
  /**
   * Runs a failed (or stuck) reward's delivery again from where it stopped; `to` (a card or an
   * npub) sends it there instead, when it has not started to move money yet.
   */
  retryReward: mutation<RewardLedgerEntry>()(
    z.object({
      invoiceId: Id,
      to: z.union([RewardTo, z.object({ claim: z.literal(true) }).strict()]).optional(),
    }),
  ),
  rewardLedger: query<readonly RewardLedgerEntry[]>()(z.object({})),
  rewardLedgerCsv: query<string>()(z.object({})),
  /** BTCPay's admin e-mail and password, after the owner's password. */
  btcpayLogin: mutation<BtcpayLogin>()(z.object({ password: z.string().min(1).max(1024) })),
  ecashPayReview: mutation<EcashPayReview>()(z.object({ invoiceId: Id })),
  ecashPayConfirm: mutation<EcashPayResult>()(z.object({ reviewId: z.string().min(1).max(256) })),
}

export type MerchantEvent =
  | {
      readonly topic: 'merchant'
      readonly type: 'setup'
      readonly steps: readonly MerchantSetupStep[]
    }
  | { readonly topic: 'merchant'; readonly type: 'invoice'; readonly invoice: MerchantInvoice }
  | { readonly topic: 'merchant'; readonly type: 'reward'; readonly entry: RewardLedgerEntry }
