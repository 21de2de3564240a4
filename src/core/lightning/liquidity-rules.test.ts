import { describe, expect, it } from 'vitest'
import type { LiquiditySettings, RebalanceAttemptView } from '../../shared/api/liquidity'
import {
  bandPosition,
  DEFAULT_LIQUIDITY_SETTINGS,
  feesLast24h,
  inboundAdvice,
  nextScheduledAt,
  outboundPercent,
  planRebalance,
  totalReceivableSat,
  type ChannelBalance,
} from './liquidity-rules'

const chan = (id: string, localSat: number, remoteSat: number, active = true): ChannelBalance => ({
  id,
  peerPublicKey: `02${id.replace(/x/g, '').padStart(64, '0')}`,
  active,
  capacitySat: localSat + remoteSat,
  localSat,
  remoteSat,
  localReserveSat: (localSat + remoteSat) / 100,
  remoteReserveSat: (localSat + remoteSat) / 100,
})
const band = { minOutboundPercent: 20, maxOutboundPercent: 80 }
const HOUR = 3600_000
const T0 = Date.parse('2026-12-05T00:00:00Z')

const attempt = (
  at: number,
  result: RebalanceAttemptView['result'],
  extra: Partial<RebalanceAttemptView> = {},
): RebalanceAttemptView => ({
  id: at,
  at: new Date(at).toISOString(),
  trigger: 'schedule',
  reason: 'test',
  outChannel: '1x1x0',
  inChannel: '2x1x0',
  amountSat: 10_000,
  maxFeeSat: 5,
  hops: [],
  result,
  ...extra,
})

describe('bands', () => {
  it('places a channel below, within or above its band by its outbound share', () => {
    expect(outboundPercent(chan('1x1x0', 250, 750))).toBe(25)
    expect(bandPosition(chan('1x1x0', 100, 900), band)).toBe('below')
    expect(bandPosition(chan('1x1x0', 200, 800), band)).toBe('within')
    expect(bandPosition(chan('1x1x0', 800, 200), band)).toBe('within')
    expect(bandPosition(chan('1x1x0', 900, 100), band)).toBe('above')
    expect(bandPosition(chan('1x1x0', 900, 100, false), band)).toBe('inactive')
    expect(outboundPercent(chan('1x1x0', 0, 0))).toBe(0)
  })
})

describe('what the box can receive', () => {
  it('sums the peers’ balances above their reserves, on active channels only', () => {
    const channels = [
      chan('1x1x0', 0, 100_000),
      chan('2x1x0', 50_000, 500),
      chan('3x1x0', 0, 9_000, false),
    ]
    // 100,000 − 1,000 reserve; 500 is under 505 reserve: 0; inactive: 0.
    expect(totalReceivableSat(channels)).toBe(99_000)
  })

  it('advises asking a peer, opening a channel and looping out only when inbound is low', () => {
    const s = { ...DEFAULT_LIQUIDITY_SETTINGS, lowInboundSat: 50_000 }
    expect(inboundAdvice(60_000, s, [])).toEqual([])
    const advice = inboundAdvice(10_000, s, [chan('1x1x0', 90_000, 10_000)])
    expect(advice.map((a) => a.kind)).toEqual(['ask_peer', 'open_channel', 'loop_out'])
    expect(advice[1]!.text).toMatch(/one channel is/)
    for (const a of advice) expect(a.text).not.toMatch(/Settings →/)
  })
})

describe('planRebalance', () => {
  const settings: LiquiditySettings = {
    ...DEFAULT_LIQUIDITY_SETTINGS,
    schedule: { ...DEFAULT_LIQUIDITY_SETTINGS.schedule, maxAmountSat: 1_000_000, maxFeePpm: 1000 },
  }

  it('does nothing when every channel is within its band', () => {
    const d = planRebalance({
      channels: [chan('1x1x0', 500_000, 500_000)],
      settings,
      attempts: [],
      now: T0,
    })
    expect(d).toMatchObject({ kind: 'none', why: /within its band/ })
  })

  it('moves from the channel furthest above into the one furthest below, to the middle', () => {
    const d = planRebalance({
      channels: [
        chan('1x1x0', 850_000, 150_000), // above, 350k over the middle
        chan('2x1x0', 950_000, 50_000), // above, 450k over
        chan('3x1x0', 100_000, 900_000), // below, 400k under
        chan('4x1x0', 150_000, 850_000), // below, 350k under
      ],
      settings,
      attempts: [],
      now: T0,
    })
    expect(d.kind).toBe('rebalance')
    if (d.kind !== 'rebalance') return
    expect(d.proposal.outChannel.id).toBe('2x1x0')
    expect(d.proposal.inChannel.id).toBe('3x1x0')
    expect(d.proposal.amountSat).toBe(400_000)
    expect(d.proposal.maxFeeSat).toBe(100) // the daily budget (100) caps 1000 ppm of 400k
    expect(d.proposal.reason).toMatch(/2x1x0 has 95% on your side, above its band 20–80%/)
  })

  it('a channel’s own band overrides the default', () => {
    const own = {
      ...settings,
      bands: { '1x1x0': { minOutboundPercent: 0, maxOutboundPercent: 100 } },
    }
    const d = planRebalance({
      channels: [chan('1x1x0', 950_000, 50_000), chan('3x1x0', 100_000, 900_000)],
      settings: own,
      attempts: [],
      now: T0,
    })
    expect(d).toMatchObject({ kind: 'none', why: /no channel has more on your side/ })
  })

  it('leaves a pair alone for an hour after it failed', () => {
    const channels = [chan('1x1x0', 950_000, 50_000), chan('2x1x0', 100_000, 900_000)]
    const failed = attempt(T0 - 10 * 60_000, 'failed')
    expect(planRebalance({ channels, settings, attempts: [failed], now: T0 }).kind).toBe('none')
    expect(planRebalance({ channels, settings, attempts: [failed], now: T0 + HOUR }).kind).toBe(
      'rebalance',
    )
  })
})

describe('the schedule and its daily budget (moved clock)', () => {
  const settings: LiquiditySettings = {
    ...DEFAULT_LIQUIDITY_SETTINGS,
    schedule: {
      enabled: true,
      everyMinutes: 30,
      dailyFeeBudgetSat: 20,
      maxFeePpm: 1000,
      maxAmountSat: 10_000,
    },
  }

  it('is off unless enabled, due at once the first time, then every interval', () => {
    const off = { ...settings, schedule: { ...settings.schedule, enabled: false } }
    expect(nextScheduledAt(off, [])).toBeNull()
    expect(nextScheduledAt(settings, [])).toBe(0)
    expect(nextScheduledAt(settings, [attempt(T0, 'succeeded', { feeSat: 3 })])).toBe(
      T0 + 30 * 60_000,
    )
    // The owner's own runs do not move the schedule.
    expect(nextScheduledAt(settings, [attempt(T0, 'succeeded', { trigger: 'owner' })])).toBe(0)
  })

  it('counts succeeded fees and in-flight limits of the last 24 hours', () => {
    const list = [
      attempt(T0 - 25 * HOUR, 'succeeded', { feeSat: 50 }),
      attempt(T0 - HOUR, 'succeeded', { feeSat: 4 }),
      attempt(T0 - HOUR, 'sending', { maxFeeSat: 6 }),
      attempt(T0 - HOUR, 'refused', { maxFeeSat: 9 }),
    ]
    expect(feesLast24h(list, T0)).toBe(10)
  })

  it('over three days of passes every 5 minutes, no 24 hours spend more than the budget', () => {
    // Channels that stay out of band (each move is small), and a route that costs 7 sat.
    const channels = [chan('1x1x0', 950_000, 50_000), chan('2x1x0', 50_000, 950_000)]
    const routeFee = 7
    const attempts: RebalanceAttemptView[] = []
    for (let now = T0; now < T0 + 72 * HOUR; now += 5 * 60_000) {
      const due = nextScheduledAt(settings, attempts)
      if (due === null || due > now) continue
      const d = planRebalance({ channels, settings, attempts, now })
      if (d.kind !== 'rebalance') continue
      const ok = d.proposal.maxFeeSat >= routeFee
      attempts.unshift(
        attempt(now, ok ? 'succeeded' : 'refused', {
          maxFeeSat: d.proposal.maxFeeSat,
          ...(ok ? { feeSat: routeFee } : {}),
        }),
      )
    }
    const paid = attempts.filter((a) => a.result === 'succeeded')
    expect(paid.length).toBeGreaterThanOrEqual(6) // two a day, three days
    for (const a of paid) {
      const t = Date.parse(a.at)
      const window = paid.filter((b) => Date.parse(b.at) <= t && t - Date.parse(b.at) < 24 * HOUR)
      expect(window.reduce((n, b) => n + b.feeSat!, 0)).toBeLessThanOrEqual(20)
    }
    for (const a of attempts) expect(a.maxFeeSat).toBeLessThanOrEqual(20)
  })
})
