// The lightning domain of the API: the box's own LND, run by src/core/lightning. The wallet's life
// cycle (created by the box, recovery words shown once behind the owner's password, unlocked from
// its password file), the access keys (macaroons) baked per consumer, and the owner's Lightning
// page: balances, receive, pay, history, peers and channels.
// Macaroons and preimages never cross this boundary; the recovery words do exactly once, on the
// owner's explicit request with the password typed again.
import { z } from 'zod'
import { mutation, query } from './procedure'
import type { UserError } from '../errors'
import { liquidityProcedures, type LiquidityView } from './liquidity'

/**
 * - disabled: LND is not part of the stack (Settings).
 * - unreachable: LND is not running or not answering yet.
 * - waiting_for_owner: LND has no wallet, and the box needs the owner's password once to keep the
 *   recovery words encrypted before it creates one.
 * - locked: the wallet exists but its password file is missing; the owner can unlock it here.
 * - starting: unlocked, LND is starting its services (chain sync, graph).
 * - ready: all of LND's RPCs answer.
 */
export type LightningWalletState =
  'disabled' | 'unreachable' | 'waiting_for_owner' | 'locked' | 'starting' | 'ready'

export interface LightningMacaroonView {
  readonly consumer: 'btcpay' | 'mint' | 'dashboard' | 'app'
  readonly present: boolean
  /** The permissions baked into it (entity:action). */
  readonly permissions: readonly string[]
}

export interface LightningNodeView {
  readonly publicKey: string
  readonly alias: string
  /** pubkey@host:port for peers on the same network (the box's own address). */
  readonly uri: string
  readonly network: string
  readonly blockHeight: number
  readonly syncedToChain: boolean
  readonly activeChannels: number
  readonly peers: number
}

export interface LightningStatus {
  readonly wallet: LightningWalletState
  /** Whether the owner's password has been turned into the key that seals the words. */
  readonly vault: boolean
  readonly seed: {
    /** The recovery words are stored (encrypted). */
    readonly stored: boolean
    /** The owner has shown them and passed the word check; they are not shown again. */
    readonly confirmed: boolean
  }
  readonly macaroons: readonly LightningMacaroonView[]
  readonly node?: LightningNodeView
  /** The last static channel backup written (encrypted), when there is one. */
  readonly channelBackup?: { readonly at: string; readonly channels: number }
  /**
   * A restored box: LND comes back from the backed-up recovery words plus the static channel
   * backup. `needsPassword` until the owner's password opens them; then when it was done and how
   * many channels the backup named (their peers close them; the funds come back on chain).
   */
  readonly restore?: {
    readonly needsPassword: boolean
    readonly restoredAt?: string
    readonly channels?: number
  }
  /** What is wrong, in plain words, when something is. */
  readonly problem?: UserError
}

export interface SeedReveal {
  readonly words: readonly string[]
  /** 1-based positions the owner must type back (the word check). */
  readonly check: readonly number[]
}

const Password = z.string().min(1).max(1024)

export interface LightningBalances {
  /** Confirmed on-chain funds in LND's wallet. */
  readonly onchainSat: number
  /** On-chain funds waiting for confirmations. */
  readonly onchainPendingSat: number
  /** What you can send over your channels (local side). */
  readonly channelsLocalSat: number
  /** What you can receive over your channels (remote side). */
  readonly channelsRemoteSat: number
  /** Local balance in channels that are opening or closing. */
  readonly channelsPendingSat: number
}

export type InvoiceState = 'open' | 'paid' | 'canceled' | 'expired'

export interface InvoiceView {
  /** The payment hash (hex): public, identifies the invoice. */
  readonly id: string
  readonly request: string
  readonly amountSat: number
  readonly receivedSat: number
  readonly memo: string
  readonly state: InvoiceState
  readonly createdAt: string
  readonly expiresAt: string
  readonly paidAt?: string
}

export interface CreatedInvoice extends InvoiceView {
  /** SVG data URL of the request (upper case, alphanumeric QR mode). */
  readonly qr?: string
}

export interface DecodedInvoice {
  readonly id: string
  /** Null for an invoice without an amount (the payer chooses it). */
  readonly amountSat: number | null
  readonly payee: string
  readonly description: string
  readonly expiresAt: string
  readonly expired: boolean
  /** The fee limit the box proposes (the owner can change it). */
  readonly suggestedFeeLimitSat: number
}

export type PaymentFailure =
  | 'no_route'
  | 'not_enough_outbound'
  | 'rejected_by_recipient'
  | 'timeout'
  | 'canceled'
  | 'expired'
  | 'already_paid'
  | 'not_sent'
  | 'error'

export interface PaymentView {
  /** The payment hash (hex). */
  readonly id: string
  readonly amountSat: number
  readonly feeSat?: number
  readonly feeLimitSat: number
  readonly state: 'pending' | 'succeeded' | 'failed'
  readonly failure?: PaymentFailure
  /** The failure in plain words. */
  readonly failureText?: string
  readonly destination: string
  readonly description: string
  readonly createdAt: string
  readonly updatedAt: string
}

export interface LightningLimits {
  /** No single payment above this. */
  readonly maxPaymentSat: number
  /** Default fee limit, percent of the amount (at least `minFeeLimitSat`). */
  readonly feeLimitPercent: number
  readonly minFeeLimitSat: number
}

export const LightningLimitsSchema = z.object({
  maxPaymentSat: z.number().int().min(1).max(2_100_000_000_000_000),
  feeLimitPercent: z.number().min(0).max(100),
  minFeeLimitSat: z.number().int().min(0).max(1_000_000),
})

export interface PeerView {
  readonly publicKey: string
  readonly address: string
  readonly inbound: boolean
}

export type ChannelState =
  'active' | 'inactive' | 'opening' | 'closing' | 'force_closing' | 'waiting_close'

export interface ChannelView {
  /** Short channel id once open; the funding outpoint (txid:vout) while pending. */
  readonly id: string
  readonly fundingOutpoint: string
  readonly peerPublicKey: string
  readonly state: ChannelState
  readonly private: boolean
  readonly capacitySat: number
  readonly localSat: number
  readonly remoteSat: number
  /** Opening: blocks still to wait for (LND's opening_waiting_blocks), when known. */
  readonly confirmationsLeft?: number
  /** Force close: blocks until the funds return to the wallet. */
  readonly blocksUntilFunds?: number
  /** How many blocks your own funds stay locked after a force close (your CSV delay). */
  readonly forceCloseDelayBlocks?: number
  readonly initiatedByPeer: boolean
}

const Sat = z.number().int().min(1).max(2_100_000_000_000_000)
const Request = z
  .string()
  .trim()
  .min(1)
  .max(8192)
  .transform((s) => s.replace(/^lightning:/i, ''))
const PubKey = z.string().regex(/^0[23][0-9a-f]{64}$/, 'a node public key (66 hex characters)')

export type LightningEvent =
  | { topic: 'lightning'; type: 'status'; status: LightningStatus }
  | { topic: 'lightning'; type: 'invoice'; invoice: InvoiceView }
  | { topic: 'lightning'; type: 'payment'; payment: PaymentView }
  | { topic: 'lightning'; type: 'channels' }
  /** LND sent a new static channel backup (a channel opened or closed); it is stored sealed. */
  | { topic: 'lightning'; type: 'channel-backup'; at: string; channels: number }
  /** Channel liquidity changed (a channel left or entered its band, a rebalance finished). */
  | { topic: 'lightning'; type: 'liquidity'; liquidity: LiquidityView }

export const lightningApi = {
  status: query<LightningStatus>()(z.object({})),
  /**
   * Turns the owner's password into the vault key (once). Headless: it must be the login
   * password. Desktop (no login password): the owner chooses one here, at least 10 characters.
   */
  protectSeed: mutation<LightningStatus>()(z.object({ password: Password })),
  /** The 24 recovery words, once, with the password typed again; then the word check. */
  revealSeed: mutation<SeedReveal>()(z.object({ password: Password })),
  confirmSeed: mutation<LightningStatus>()(
    z.object({
      answers: z
        .array(
          z.object({
            position: z.number().int().min(1).max(24),
            word: z.string().min(1).max(32),
          }),
        )
        .min(1)
        .max(24),
    }),
  ),
  /** Unlocks a locked wallet with the box's stored wallet password. */
  unlock: mutation<LightningStatus>()(z.object({})),

  /** The node's URI as text and QR (for peers and the owner's phone wallet). */
  nodeUri: query<{ uri: string; qr?: string }>()(z.object({})),
  balances: query<LightningBalances>()(z.object({})),
  /** A new address of LND's own wallet, to fund channels from outside (text and QR). */
  newAddress: mutation<{ address: string; qr?: string }>()(z.object({})),
  limits: query<LightningLimits>()(z.object({})),
  setLimits: mutation<LightningLimits>()(LightningLimitsSchema),
  createInvoice: mutation<CreatedInvoice>()(
    z.object({
      amountSat: Sat,
      memo: z.string().max(600).default(''),
      expirySeconds: z
        .number()
        .int()
        .min(60)
        .max(30 * 24 * 3600)
        .default(3600),
    }),
  ),
  decodeInvoice: query<DecodedInvoice>()(z.object({ request: Request })),
  /** Pays after the owner reviewed the decoded invoice; waits up to a minute for the outcome. */
  pay: mutation<PaymentView>()(
    z.object({
      request: Request,
      /** Only for invoices without an amount. */
      amountSat: Sat.optional(),
      feeLimitSat: z.number().int().min(0).max(100_000_000),
    }),
  ),
  invoices: query<readonly InvoiceView[]>()(z.object({})),
  payments: query<readonly PaymentView[]>()(z.object({})),
  peers: query<readonly PeerView[]>()(z.object({})),
  /** `pubkey@host:port`. */
  connectPeer: mutation<readonly PeerView[]>()(
    z.object({ uri: z.string().trim().min(1).max(400) }),
  ),
  channels: query<readonly ChannelView[]>()(z.object({})),
  openChannel: mutation<ChannelView[]>()(
    z.object({
      peerPublicKey: PubKey,
      amountSat: z.number().int().min(20_000).max(2_100_000_000_000_000),
      /** sat/vB for the funding transaction; absent: LND's estimate. */
      feeRate: z.number().int().min(1).max(10_000).optional(),
      private: z.boolean().default(false),
    }),
  ),
  closeChannel: mutation<ChannelView[]>()(
    z.object({
      /** The funding outpoint txid:vout. */
      fundingOutpoint: z.string().regex(/^[0-9a-f]{64}:\d{1,5}$/),
      force: z.boolean().default(false),
      /** The owner confirmed (typed the warning's words); required. */
      confirmed: z.literal(true),
    }),
  ),
  ...liquidityProcedures,
}
