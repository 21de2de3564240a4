// The mint domain of the API: the box's own Cashu mint (services/mint), run embedded by
// src/core/mint/mint-module.ts, and administered from the Mint admin page. The operator sees
// keysets, fees, outstanding liabilities, recent quotes, the Lightning backend and the limits.
// Quote ids are bearer secrets of the wallets that asked for them: the API shows only a prefix.
import { z } from 'zod'
import { mutation, query } from './procedure'
import type { UserError } from '../errors'
import type { ServiceProcessView } from './service-process'

export interface MintKeysetView {
  readonly id: string
  readonly unit: string
  readonly active: boolean
  /** Fee per input, parts per thousand. */
  readonly inputFeePpk: number
  /** Unix seconds, or null when the keyset never expires. */
  readonly finalExpiry: number | null
  readonly createdAt: string
  /** eCash signed with this keyset minus eCash redeemed from it (what the mint owes). */
  readonly issued: number
  readonly redeemed: number
  readonly outstanding: number
}

export const MintLimitsSchema = z.object({
  mintMinAmount: z.number().int().min(1).max(2_100_000_000_000_000),
  mintMaxAmount: z.number().int().min(1).max(2_100_000_000_000_000),
  meltMinAmount: z.number().int().min(1).max(2_100_000_000_000_000),
  meltMaxAmount: z.number().int().min(1).max(2_100_000_000_000_000),
  mintingDisabled: z.boolean(),
  meltingDisabled: z.boolean(),
  maxInputs: z.number().int().min(1).max(10_000),
  maxOutputs: z.number().int().min(1).max(10_000),
  /** Requests per client IP in each window, all operations together. */
  rateLimitPerIp: z.number().int().min(1).max(1_000_000),
  rateLimitWindowMs: z.number().int().min(100).max(3_600_000),
})
export type MintLimits = z.infer<typeof MintLimitsSchema>

export interface MintBackendView {
  readonly name: string
  readonly ok: boolean
  /** What the backend reports, in plain words. */
  readonly detail: string
}

export interface MintStatus {
  readonly running: boolean
  /** Where wallets reach the mint, e.g. http://127.0.0.1:3338. */
  readonly url?: string
  readonly name: string
  readonly unit: string
  readonly network: string
  readonly backend?: MintBackendView
  readonly keysets: readonly MintKeysetView[]
  /** Sum of outstanding over all keysets of the unit. */
  readonly outstandingTotal: number
  readonly limits?: MintLimits
  /** Melts waiting for Lightning to say what happened. */
  readonly pendingMelts: number
  readonly problem?: UserError
  /** The mint's own process (it never runs inside the engine): pid, restarts, last exit. */
  readonly process?: ServiceProcessView
}

export interface MintQuoteView {
  readonly kind: 'mint' | 'melt'
  /** First 8 characters of the quote id (the full id is the wallet's secret). */
  readonly idPrefix: string
  readonly amount: number
  readonly unit: string
  readonly state: string
  readonly createdAt: string
  readonly expiresAt: string
  /** Melts: the routing fee reserve and the fee actually paid. */
  readonly feeReserve?: number
  readonly feePaid?: number | null
  /** Mint quotes: whether minting needs the wallet's signature (NUT-20). */
  readonly locked?: boolean
}

export const mintApi = {
  status: query<MintStatus>()(z.object({})),
  quotes: query<readonly MintQuoteView[]>()(
    z.object({
      kind: z.enum(['mint', 'melt', 'all']).default('all'),
      limit: z.number().int().min(1).max(500).default(50),
    }),
  ),
  /** New active keyset (old ones stay redeemable); optionally with a new input fee. */
  rotateKeyset: mutation<MintKeysetView>()(
    z.object({ inputFeePpk: z.number().int().min(0).max(100_000) }),
  ),
  /** Change limits; saved and applied at once. */
  setLimits: mutation<MintLimits>()(MintLimitsSchema.partial()),
}

export type MintEvent =
  | { topic: 'mint'; type: 'status'; status: MintStatus }
  | { topic: 'mint'; type: 'quote'; quote: MintQuoteView }
