// Liquidity of the box's Lightning channels (part of the lightning domain): per channel the share
// of the capacity on the box's side (outbound) against a band the owner sets, alerts when a
// channel leaves its band, circular rebalancing within a fee budget (a dry run first, then a run
// the owner confirms, or an optional schedule with a daily budget), the log of every attempt, and
// for merchants how much the box can receive right now.
import { z } from 'zod'
import { mutation, query } from './procedure'

/** A short channel id in ln-service's standard format (block x tx x output). */
const ChannelId = z.string().regex(/^\d{1,10}x\d{1,7}x\d{1,5}$/, 'a channel id like 101x1x0')

/** The share of a channel's balance on the box's side (outbound), in percent, that is healthy. */
export const LiquidityBandSchema = z
  .object({
    minOutboundPercent: z.number().int().min(0).max(100),
    maxOutboundPercent: z.number().int().min(0).max(100),
  })
  .refine((b) => b.minOutboundPercent < b.maxOutboundPercent, {
    message: 'the lower end of the band must be below the upper end',
    path: ['maxOutboundPercent'],
  })
export type LiquidityBand = z.infer<typeof LiquidityBandSchema>

export const RebalanceScheduleSchema = z.object({
  /** The box rebalances on its own, within the budget below. */
  enabled: z.boolean(),
  /** At most one scheduled attempt per this many minutes. */
  everyMinutes: z
    .number()
    .int()
    .min(5)
    .max(7 * 24 * 60),
  /** Fees spent on rebalancing in any 24 hours never exceed this. */
  dailyFeeBudgetSat: z.number().int().min(0).max(1_000_000),
  /** The most one attempt may pay, in parts per million of the amount moved. */
  maxFeePpm: z.number().int().min(0).max(50_000),
  /** The most one attempt moves. */
  maxAmountSat: z.number().int().min(1_000).max(16_777_215),
})
export type RebalanceSchedule = z.infer<typeof RebalanceScheduleSchema>

export const LiquiditySettingsSchema = z.object({
  /** The band of every channel without its own. */
  defaultBand: LiquidityBandSchema,
  /** Bands set for one channel (by channel id). */
  bands: z.record(ChannelId, LiquidityBandSchema).default({}),
  schedule: RebalanceScheduleSchema,
  /** Below this much receivable, the Lightning page advises how to get more inbound. */
  lowInboundSat: z.number().int().min(0).max(2_100_000_000_000_000),
})
export type LiquiditySettings = z.infer<typeof LiquiditySettingsSchema>

export type BandPosition = 'below' | 'within' | 'above' | 'inactive'

export interface ChannelLiquidityView {
  readonly id: string
  readonly peerPublicKey: string
  readonly active: boolean
  readonly capacitySat: number
  readonly localSat: number
  readonly remoteSat: number
  /** Local balance as a share of local + remote, in percent (0 when both are 0). */
  readonly outboundPercent: number
  readonly band: LiquidityBand
  /** Whether the band is this channel's own or the default. */
  readonly bandIsOwn: boolean
  readonly position: BandPosition
  /** What the box can receive over it now: the peer's balance above the reserve it must keep. */
  readonly receivableSat: number
  /** What the box can send over it now: its balance above its own reserve. */
  readonly sendableSat: number
}

export type InboundAdviceKind = 'open_channel' | 'loop_out' | 'ask_peer'

export interface InboundAdvice {
  readonly kind: InboundAdviceKind
  readonly text: string
}

export interface LiquidityView {
  readonly settings: LiquiditySettings
  readonly channels: readonly ChannelLiquidityView[]
  /** "You can receive N sat right now": usable remote balance on active channels. */
  readonly receivableSat: number
  readonly sendableSat: number
  /** Advice when receivable is below the owner's threshold (empty otherwise). */
  readonly advice: readonly InboundAdvice[]
  /** Channels out of their band (ids), the alert the page shows. */
  readonly outOfBand: readonly string[]
  /** Rebalancing fees counted against the daily budget (last 24 hours, in flight included). */
  readonly feesLast24hSat: number
  /** When the schedule may make its next attempt (absent: schedule off). */
  readonly nextScheduledAt?: string
}

export interface RebalanceHopView {
  readonly channel: string
  /** The node at the end of this channel. */
  readonly publicKey: string
  /** What that node keeps for forwarding (0 for the last hop, the box itself). */
  readonly feeSat: number
}

export interface RebalancePreview {
  /** The channel the sats leave by (its outbound goes down). */
  readonly outChannel: string
  /** The channel they come back by (its outbound goes up). */
  readonly inChannel: string
  readonly amountSat: number
  readonly maxFeeSat: number
  /** Why: which band rule asked for it. */
  readonly reason: string
  /** The route found now, or absent when none within the fee limit. */
  readonly route?: {
    readonly feeSat: number
    readonly feeMsat: string
    readonly hops: readonly RebalanceHopView[]
  }
  /** Why nothing was found, in plain words. */
  readonly problem?: string
}

export type RebalanceResult = 'sending' | 'succeeded' | 'failed' | 'refused'

export interface RebalanceAttemptView {
  readonly id: number
  readonly at: string
  readonly trigger: 'owner' | 'schedule'
  readonly reason: string
  readonly outChannel: string
  readonly inChannel: string
  readonly amountSat: number
  readonly maxFeeSat: number
  readonly feeSat?: number
  readonly hops: readonly RebalanceHopView[]
  readonly result: RebalanceResult
  /** Why it failed or was refused, in plain words. */
  readonly detail?: string
}

const RebalanceChoice = z.object({
  outChannel: ChannelId.optional(),
  inChannel: ChannelId.optional(),
  amountSat: z.number().int().min(1).max(16_777_215).optional(),
  maxFeeSat: z.number().int().min(0).max(1_000_000).optional(),
})

export const liquidityProcedures = {
  liquidity: query<LiquidityView>()(z.object({})),
  setLiquiditySettings: mutation<LiquidityView>()(LiquiditySettingsSchema),
  /**
   * Dry run: the route and its cost for a rebalance (the one the bands ask for when no channels
   * are given). Moves nothing.
   */
  previewRebalance: query<RebalancePreview>()(RebalanceChoice),
  /**
   * Rebalances after the owner reviewed the dry run: the same channels, amount and fee limit;
   * refused when no route within that fee limit exists now.
   */
  rebalance: mutation<RebalanceAttemptView>()(
    z.object({
      outChannel: ChannelId,
      inChannel: ChannelId,
      amountSat: z.number().int().min(1).max(16_777_215),
      maxFeeSat: z.number().int().min(0).max(1_000_000),
      confirmed: z.literal(true),
    }),
  ),
  rebalanceLog: query<readonly RebalanceAttemptView[]>()(z.object({})),
}
