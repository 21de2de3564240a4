// The liquidity rules, as small pure functions over the channels as they are now (no I/O, no
// clock of their own), in the manner of charge-lnd's and LNDg's rule sets: where each channel
// stands against its band, what the box can receive, the advice when inbound runs low, and which
// rebalance (if any) one pass of the loop should make. The loop (liquidity.ts) calls them with what
// it observes each pass; nothing here remembers an earlier pass.
import type {
  BandPosition,
  ChannelLiquidityView,
  InboundAdvice,
  LiquidityBand,
  LiquiditySettings,
  RebalanceAttemptView,
} from '../../shared/api/liquidity'

/** A channel as LND reports it (ln-service getChannels), reduced to what the rules need. */
export interface ChannelBalance {
  readonly id: string
  readonly peerPublicKey: string
  readonly active: boolean
  readonly capacitySat: number
  readonly localSat: number
  readonly remoteSat: number
  /** What the box must keep on its side (its channel reserve). */
  readonly localReserveSat: number
  /** What the peer must keep on its side. */
  readonly remoteReserveSat: number
}

export const DEFAULT_LIQUIDITY_SETTINGS: LiquiditySettings = {
  defaultBand: { minOutboundPercent: 20, maxOutboundPercent: 80 },
  bands: {},
  schedule: {
    enabled: false,
    everyMinutes: 60,
    dailyFeeBudgetSat: 100,
    maxFeePpm: 500,
    maxAmountSat: 100_000,
  },
  lowInboundSat: 100_000,
}

/** The smallest rebalance worth a route (smaller moves cost more in base fees than they fix). */
export const MIN_REBALANCE_SAT = 1_000
/** A pair of channels whose last attempt failed is left alone this long. */
export const FAILED_PAIR_PAUSE_MS = 60 * 60_000
const DAY_MS = 24 * 60 * 60_000

export function outboundPercent(c: Pick<ChannelBalance, 'localSat' | 'remoteSat'>): number {
  const total = c.localSat + c.remoteSat
  return total === 0 ? 0 : (c.localSat * 100) / total
}

export function bandFor(settings: LiquiditySettings, channelId: string): LiquidityBand {
  return settings.bands[channelId] ?? settings.defaultBand
}

export function bandPosition(c: ChannelBalance, band: LiquidityBand): BandPosition {
  if (!c.active) return 'inactive'
  const p = outboundPercent(c)
  if (p < band.minOutboundPercent) return 'below'
  if (p > band.maxOutboundPercent) return 'above'
  return 'within'
}

export function receivableSat(c: ChannelBalance): number {
  return c.active ? Math.max(0, c.remoteSat - c.remoteReserveSat) : 0
}

export function sendableSat(c: ChannelBalance): number {
  return c.active ? Math.max(0, c.localSat - c.localReserveSat) : 0
}

export function channelLiquidity(
  c: ChannelBalance,
  settings: LiquiditySettings,
): ChannelLiquidityView {
  const band = bandFor(settings, c.id)
  return {
    id: c.id,
    peerPublicKey: c.peerPublicKey,
    active: c.active,
    capacitySat: c.capacitySat,
    localSat: c.localSat,
    remoteSat: c.remoteSat,
    outboundPercent: Math.round(outboundPercent(c) * 10) / 10,
    band,
    bandIsOwn: settings.bands[c.id] !== undefined,
    position: bandPosition(c, band),
    receivableSat: receivableSat(c),
    sendableSat: sendableSat(c),
  }
}

/** "You can receive N sat right now": the sum over active channels. */
export function totalReceivableSat(channels: readonly ChannelBalance[]): number {
  return channels.reduce((n, c) => n + receivableSat(c), 0)
}

/**
 * Advice for a merchant whose inbound runs low (below `lowInboundSat`): ask a peer, open a
 * channel, loop out. The only screens named are the Lightning page's Node and Channels tabs.
 */
export function inboundAdvice(
  receivable: number,
  settings: LiquiditySettings,
  channels: readonly ChannelBalance[],
): InboundAdvice[] {
  if (receivable >= settings.lowInboundSat) return []
  const mostlyYours = channels.filter((c) => c.active && outboundPercent(c) > 50).length
  return [
    {
      kind: 'ask_peer',
      text: 'Ask a well-connected node to open a channel to yours: send them your node address (Lightning → Node). Sats they put in are room for you to receive.',
    },
    {
      kind: 'open_channel',
      text:
        mostlyYours > 0
          ? `Pay out through a channel that is mostly yours (${mostlyYours === 1 ? 'one channel is' : `${mostlyYours} channels are`}), or open another channel (Lightning → Channels) and spend through it: what you send becomes room to receive.`
          : 'Open a channel (Lightning → Channels) and spend through it: what you send becomes room to receive.',
    },
    {
      kind: 'loop_out',
      text: 'Swap sats from a channel to on-chain with a swap service (a “loop out”): the channel keeps its size and gains room to receive. Flash Box does not run swaps itself; use the swap service’s own app.',
    },
  ]
}

/** Fees counted against the daily budget: succeeded fees, and the limit of attempts in flight. */
export function feesLast24h(attempts: readonly RebalanceAttemptView[], now: number): number {
  return attempts
    .filter((a) => now - Date.parse(a.at) < DAY_MS)
    .reduce(
      (n, a) =>
        n + (a.result === 'succeeded' ? (a.feeSat ?? 0) : a.result === 'sending' ? a.maxFeeSat : 0),
      0,
    )
}

/** When the schedule may next try (from the last scheduled attempt in the log), or null: off. */
export function nextScheduledAt(
  settings: LiquiditySettings,
  attempts: readonly RebalanceAttemptView[],
): number | null {
  if (!settings.schedule.enabled) return null
  const last = attempts
    .filter((a) => a.trigger === 'schedule')
    .reduce((t, a) => Math.max(t, Date.parse(a.at)), -Infinity)
  return last === -Infinity ? 0 : last + settings.schedule.everyMinutes * 60_000
}

export interface RebalanceProposal {
  readonly outChannel: ChannelBalance
  readonly inChannel: ChannelBalance
  readonly amountSat: number
  readonly maxFeeSat: number
  readonly reason: string
}

export type RebalanceDecision =
  | { readonly kind: 'rebalance'; readonly proposal: RebalanceProposal }
  | { readonly kind: 'none'; readonly why: string }

/** Sats over (positive) or under (negative) the middle of the band, on the box's side. */
function offMiddle(c: ChannelBalance, band: LiquidityBand): number {
  const total = c.localSat + c.remoteSat
  const middle = ((band.minOutboundPercent + band.maxOutboundPercent) / 2 / 100) * total
  return c.localSat - middle
}

const pct = (n: number) => `${Math.round(n)}%`
const describe = (c: ChannelBalance, band: LiquidityBand, pos: BandPosition) =>
  `channel ${c.id} has ${pct(outboundPercent(c))} on your side, ${pos} its band ${band.minOutboundPercent}–${band.maxOutboundPercent}%`

/**
 * The rebalance one pass should make, from the channels as they are now: the channel furthest
 * above its band sends, through the network, back into the channel furthest below its band; the
 * amount brings either to the middle of its band, at most `maxAmountSat`; the fee limit is
 * `maxFeePpm` of the amount and never more than what is left of the daily budget. Pairs whose
 * last attempt failed within `FAILED_PAIR_PAUSE_MS` are skipped.
 */
export function planRebalance(input: {
  readonly channels: readonly ChannelBalance[]
  readonly settings: LiquiditySettings
  readonly attempts: readonly RebalanceAttemptView[]
  readonly now: number
}): RebalanceDecision {
  const { settings, now } = input
  const s = settings.schedule
  const annotated = input.channels.map((c) => {
    const band = bandFor(settings, c.id)
    return { c, band, pos: bandPosition(c, band), off: offMiddle(c, band) }
  })
  const sources = annotated.filter((a) => a.pos === 'above').sort((a, b) => b.off - a.off)
  const sinks = annotated.filter((a) => a.pos === 'below').sort((a, b) => a.off - b.off)
  if (sources.length === 0 && sinks.length === 0)
    return { kind: 'none', why: 'Every active channel is within its band.' }
  if (sources.length === 0)
    return {
      kind: 'none',
      why: 'A channel is below its band, but no channel has more on your side than its band allows to move from.',
    }
  if (sinks.length === 0)
    return {
      kind: 'none',
      why: 'A channel is above its band, but no channel is below its band to move into.',
    }
  const budgetLeft = s.dailyFeeBudgetSat - feesLast24h(input.attempts, now)
  if (budgetLeft <= 0)
    return { kind: 'none', why: 'The daily fee budget for rebalancing is spent.' }
  const pausedPairs = new Set(
    input.attempts
      .filter((a) => a.result !== 'succeeded' && a.result !== 'sending')
      .filter((a) => now - Date.parse(a.at) < FAILED_PAIR_PAUSE_MS)
      .map((a) => `${a.outChannel}>${a.inChannel}`),
  )
  for (const src of sources) {
    for (const dst of sinks) {
      if (pausedPairs.has(`${src.c.id}>${dst.c.id}`)) continue
      const amount = Math.floor(
        Math.min(src.off, -dst.off, sendableSat(src.c), receivableSat(dst.c), s.maxAmountSat),
      )
      if (amount < MIN_REBALANCE_SAT) continue
      const maxFeeSat = Math.min(Math.floor((amount * s.maxFeePpm) / 1_000_000), budgetLeft)
      return {
        kind: 'rebalance',
        proposal: {
          outChannel: src.c,
          inChannel: dst.c,
          amountSat: amount,
          maxFeeSat,
          reason: `${describe(src.c, src.band, 'above')}; ${describe(dst.c, dst.band, 'below')}`,
        },
      }
    }
  }
  return {
    kind: 'none',
    why: 'Channels are out of their bands, but no pair can move at least 1,000 sat now, or their last attempt failed within the hour.',
  }
}
