// The walletService domain of the API: the box's LND served to other apps and to the public.
//   - Nostr Wallet Connect (NIP-47): one connection per app, each with its own keys, allowed
//     methods, a budget per day/week/month, and revocation. The connection string (with the
//     app's secret) is shown once, when the connection is made, and never again.
//   - The Lightning address (LUD-16) `name@<box address>`, with NIP-57 zaps.
// Served by src/core/lightning/wallet-service-module.ts.
import { z } from 'zod'
import { mutation, query } from './procedure'
import type { UserError } from '../errors'

/** The NIP-47 methods the box serves. */
export const NWC_METHODS = [
  'pay_invoice',
  'make_invoice',
  'lookup_invoice',
  'get_balance',
  'get_info',
  'list_transactions',
] as const
export type NwcMethod = (typeof NWC_METHODS)[number]

/** How a connection's budget renews (UTC calendar); `total` never renews. */
export type BudgetPeriod = 'daily' | 'weekly' | 'monthly' | 'total'

export interface NwcConnectionView {
  readonly id: string
  readonly name: string
  readonly methods: readonly NwcMethod[]
  /** null: no budget of its own (the box's per-payment limit still applies). */
  readonly budgetSat: number | null
  readonly budgetPeriod: BudgetPeriod
  /** Spent plus reserved for payments in flight, in the current budget window. */
  readonly spentSat: number
  readonly remainingSat: number | null
  /** When the budget renews (null: never). */
  readonly renewsAt: string | null
  readonly relays: readonly string[]
  /**
   * Set when the box's relay has moved since this connection was made (its address changed in
   * Settings → Reachability): where apps reach it now. An app still using the address it was
   * given may no longer reach the wallet; a new connection gives it the current one.
   */
  readonly boxRelayNow?: string
  /** The wallet service's key for this connection (public). */
  readonly servicePubkey: string
  readonly createdAt: string
  readonly lastUsedAt?: string
  readonly revokedAt?: string
}

export interface CreatedNwcConnection {
  readonly connection: NwcConnectionView
  /** nostr+walletconnect://… with the app's secret: shown this once, never stored in the box. */
  readonly uri: string
  readonly qr?: string
}

export interface LightningAddressView {
  readonly enabled: boolean
  readonly name: string
  /** name@host, when the box knows the address it is served at. */
  readonly address?: string
  /** The LUD-16 well-known URL. */
  readonly url?: string
  readonly qr?: string
  readonly minSendableSat: number
  readonly maxSendableSat: number
  /** LUD-12: the longest comment a payer may add. */
  readonly commentAllowed: number
  /** The key that signs zap receipts (NIP-57 `nostrPubkey`). */
  readonly zapperPubkey: string
  /** Why there is no address yet, in plain words. */
  readonly problem?: UserError
}

export interface WalletServiceStatus {
  readonly relays: readonly { readonly url: string; readonly connected: boolean }[]
  readonly connections: number
}

export type WalletServiceEvent = { topic: 'walletService'; type: 'changed' }

const Method = z.enum(NWC_METHODS)
const RelayUrl = z
  .string()
  .trim()
  .max(500)
  .regex(/^wss?:\/\/[^\s]+$/, 'a relay address (wss://…)')

export const LightningAddressInput = z
  .object({
    enabled: z.boolean(),
    name: z
      .string()
      .trim()
      .toLowerCase()
      .min(1)
      .max(64)
      .regex(/^[a-z0-9._-]+$/, 'only a-z, 0-9, ".", "-" and "_"'),
    minSendableSat: z.number().int().min(1).max(100_000_000),
    maxSendableSat: z.number().int().min(1).max(100_000_000),
  })
  .refine((a) => a.maxSendableSat >= a.minSendableSat, {
    message: 'the maximum must be at least the minimum',
    path: ['maxSendableSat'],
  })

export const walletServiceApi = {
  status: query<WalletServiceStatus>()(z.object({})),
  connections: query<readonly NwcConnectionView[]>()(z.object({})),
  createConnection: mutation<CreatedNwcConnection>()(
    z.object({
      name: z.string().trim().min(1).max(64),
      methods: z.array(Method).min(1).max(NWC_METHODS.length),
      budgetSat: z.number().int().min(1).max(2_100_000_000_000_000).nullable(),
      budgetPeriod: z.enum(['daily', 'weekly', 'monthly', 'total']),
      /** Relays beyond the box's own (the app must reach at least one). */
      relays: z.array(RelayUrl).max(5).default([]),
    }),
  ),
  revokeConnection: mutation<readonly NwcConnectionView[]>()(
    z.object({ id: z.string().regex(/^[0-9a-f]{16}$/) }),
  ),
  lightningAddress: query<LightningAddressView>()(z.object({})),
  setLightningAddress: mutation<LightningAddressView>()(LightningAddressInput),
}
