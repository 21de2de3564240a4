// The liquidity loop of the box's LND: level-triggered like the supervisor. Each pass reads the
// channels as LND reports them and the attempt log, applies the rules (liquidity-rules.ts), and
// decides afresh: publish the liquidity view when it changed (a channel left or re-entered its
// band is the alert), settle attempts a restart left `sending`, and — only when the owner turned
// the schedule on — make the one rebalance the bands ask for if the schedule is due and the daily
// budget allows. Nothing is remembered between passes except what is in the log and settings.
// Owner-started rebalances go dry run → review → confirm (the `rebalance` mutation).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import {
  LiquiditySettingsSchema,
  type LiquiditySettings,
  type LiquidityView,
  type RebalanceAttemptView,
  type RebalancePreview,
} from '../../shared/api/liquidity'
import { writeFileAtomicSync } from '../atomic-file'
import { lndError } from '../clients/lnd'
import { FlashError } from '../errors'
import type { Logger } from '../log'
import {
  attemptView,
  findCircularRoute,
  hopsOf,
  RebalanceLog,
  rebalanceCircular,
  routeFeeSat,
  settledAttempt,
  type CircularOutcome,
} from './circular-rebalance'
import {
  channelLiquidity,
  DEFAULT_LIQUIDITY_SETTINGS,
  feesLast24h,
  inboundAdvice,
  nextScheduledAt,
  planRebalance,
  sendableSat,
  totalReceivableSat,
  type ChannelBalance,
} from './liquidity-rules'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
type Lnd = Lightning.AuthenticatedLnd

export interface LiquidityOptions {
  /** The engine's lightning folder: liquidity.json and rebalances.db live here. */
  readonly dir: string
  readonly lnd: () => Lnd
  readonly log: Logger
  readonly publish: (view: LiquidityView) => void
  /** The clock (tests move it). */
  readonly now?: () => number
}

export async function channelBalances(lnd: Lnd): Promise<ChannelBalance[]> {
  let res: Lightning.GetChannelsResult
  try {
    res = await ln.getChannels({ lnd })
  } catch (err) {
    throw lndError('getChannels', err)
  }
  return res.channels.map((c) => ({
    id: c.id,
    peerPublicKey: c.partner_public_key,
    active: c.is_active,
    capacitySat: c.capacity,
    localSat: c.local_balance,
    remoteSat: c.remote_balance,
    localReserveSat: c.local_reserve,
    remoteReserveSat: c.remote_reserve,
  }))
}

export class Liquidity {
  private readonly settingsPath: string
  private readonly store: RebalanceLog
  private readonly now: () => number
  private lastPublished = ''
  /** One rebalance at a time: a second waits for the first (the fee budget counts both). */
  private moving: Promise<unknown> = Promise.resolve()
  /** Attempt rows this process is sending now (not for the restart check to settle). */
  private readonly sending = new Set<number>()
  private passes: Promise<unknown> = Promise.resolve()

  constructor(private readonly o: LiquidityOptions) {
    this.settingsPath = join(o.dir, 'liquidity.json')
    this.store = new RebalanceLog(join(o.dir, 'rebalances.db'))
    this.now = o.now ?? Date.now
  }

  settings(): LiquiditySettings {
    try {
      return LiquiditySettingsSchema.parse(JSON.parse(readFileSync(this.settingsPath, 'utf8')))
    } catch {
      return DEFAULT_LIQUIDITY_SETTINGS
    }
  }

  async setSettings(s: LiquiditySettings): Promise<LiquidityView> {
    const parsed = LiquiditySettingsSchema.parse(s)
    writeFileAtomicSync(this.settingsPath, JSON.stringify(parsed, null, 2) + '\n', 0o600)
    this.o.log.info('liquidity settings changed by the owner', {
      schedule: parsed.schedule.enabled ? 'on' : 'off',
      bands: Object.keys(parsed.bands).length,
    })
    return this.pass({ schedule: false })
  }

  attempts(): RebalanceAttemptView[] {
    return this.store.list().map(attemptView)
  }

  async view(channels?: ChannelBalance[]): Promise<LiquidityView> {
    const list = channels ?? (await channelBalances(this.o.lnd()))
    const settings = this.settings()
    const views = list.map((c) => channelLiquidity(c, settings))
    const receivable = totalReceivableSat(list)
    const attempts = this.attempts()
    const next = nextScheduledAt(settings, attempts)
    return {
      settings,
      channels: views,
      receivableSat: receivable,
      sendableSat: list.reduce((n, c) => n + sendableSat(c), 0),
      advice: inboundAdvice(receivable, settings, list),
      outOfBand: views
        .filter((v) => v.position === 'below' || v.position === 'above')
        .map((v) => v.id),
      feesLast24hSat: feesLast24h(attempts, this.now()),
      ...(next !== null ? { nextScheduledAt: new Date(Math.max(next, 0)).toISOString() } : {}),
    }
  }

  /**
   * One pass of the loop. `schedule: false` only looks (after a settings change); the engine's
   * loop passes `schedule: true`.
   */
  pass(opts: { schedule: boolean } = { schedule: true }): Promise<LiquidityView> {
    // Passes run one after another: two at once would both see the schedule due.
    const p = this.passes.then(() => this.passOnce(opts))
    this.passes = p.catch(() => undefined)
    return p
  }

  private async passOnce(opts: { schedule: boolean }): Promise<LiquidityView> {
    const lnd = this.o.lnd()
    await this.settleUnresolved(lnd)
    let channels = await channelBalances(lnd)
    const settings = this.settings()
    const now = this.now()
    if (opts.schedule && settings.schedule.enabled) {
      const due = nextScheduledAt(settings, this.attempts())
      if (due !== null && due <= now) {
        const decision = planRebalance({ channels, settings, attempts: this.attempts(), now })
        if (decision.kind === 'rebalance') {
          const p = decision.proposal
          await this.run(lnd, {
            trigger: 'schedule',
            reason: p.reason,
            outChannel: p.outChannel.id,
            inChannel: p.inChannel.id,
            amountSat: p.amountSat,
            maxFeeSat: p.maxFeeSat,
            channels,
          })
          channels = await channelBalances(lnd)
        }
      }
    }
    const view = await this.view(channels)
    this.publishIfChanged(view)
    return view
  }

  private publishIfChanged(view: LiquidityView) {
    const key = JSON.stringify({ ...view, feesLast24hSat: undefined })
    if (key === this.lastPublished) return
    const before = this.lastPublished ? (JSON.parse(this.lastPublished) as LiquidityView) : null
    this.lastPublished = key
    const left = view.outOfBand.filter((id) => !before?.outOfBand.includes(id))
    if (left.length > 0)
      this.o.log.warn('a channel is out of its liquidity band', { channels: left.join(', ') })
    this.o.publish(view)
  }

  /** The dry run: moves nothing. Without channels, the rebalance the bands ask for now. */
  async preview(input: {
    outChannel?: string
    inChannel?: string
    amountSat?: number
    maxFeeSat?: number
  }): Promise<RebalancePreview> {
    const lnd = this.o.lnd()
    const channels = await channelBalances(lnd)
    const settings = this.settings()
    let outId = input.outChannel
    let inId = input.inChannel
    let amount = input.amountSat
    let maxFee = input.maxFeeSat
    let reason = 'Asked for by you.'
    if (!outId || !inId) {
      const decision = planRebalance({
        channels,
        settings,
        attempts: this.attempts(),
        now: this.now(),
      })
      if (decision.kind === 'none')
        throw new FlashError(
          'lightning.nothing_to_rebalance',
          decision.why,
          'Choose the two channels yourself, or change the bands on the Liquidity tab.',
        )
      outId = decision.proposal.outChannel.id
      inId = decision.proposal.inChannel.id
      amount ??= decision.proposal.amountSat
      maxFee ??= decision.proposal.maxFeeSat
      reason = decision.proposal.reason
    }
    const { out, into } = this.pair(channels, outId, inId)
    amount ??= Math.min(settings.schedule.maxAmountSat, sendableSat(out))
    maxFee ??= Math.floor((amount * settings.schedule.maxFeePpm) / 1_000_000)
    const selfPublicKey = await this.selfKey(lnd)
    const route = await findCircularRoute(lnd, {
      selfPublicKey,
      outChannel: out.id,
      inChannel: into.id,
      inPeer: into.peerPublicKey,
      amountSat: amount,
      maxFeeSat: maxFee,
    })
    return {
      outChannel: out.id,
      inChannel: into.id,
      amountSat: amount,
      maxFeeSat: maxFee,
      reason,
      ...(route
        ? { route: { feeSat: routeFeeSat(route), feeMsat: route.fee_mtokens, hops: hopsOf(route) } }
        : {
            problem: `No route out by ${out.id} and back by ${into.id} for ${amount} sat within ${maxFee} sat of fees.`,
          }),
    }
  }

  /** The owner confirmed the dry run: the same channels, amount and fee limit. */
  async rebalance(input: {
    outChannel: string
    inChannel: string
    amountSat: number
    maxFeeSat: number
  }): Promise<RebalanceAttemptView> {
    const lnd = this.o.lnd()
    const channels = await channelBalances(lnd)
    const settings = this.settings()
    const { out, into } = this.pair(channels, input.outChannel, input.inChannel)
    const pos = (id: string) => channelLiquidity(id === out.id ? out : into, settings)
    const reason = `Asked for by you: channel ${out.id} at ${pos(out.id).outboundPercent}% on your side, channel ${into.id} at ${pos(into.id).outboundPercent}%.`
    const id = await this.run(lnd, { trigger: 'owner', reason, ...input, channels })
    void this.pass({ schedule: false }).catch(() => undefined)
    return attemptView(this.store.get(id)!)
  }

  private pair(channels: ChannelBalance[], outId: string, inId: string) {
    const out = channels.find((c) => c.id === outId)
    const into = channels.find((c) => c.id === inId)
    if (!out || !into)
      throw new FlashError(
        'lightning.unknown_channel',
        `There is no open channel ${!out ? outId : inId}.`,
        'Pick channels from the list on the Liquidity tab; closed channels cannot be rebalanced.',
      )
    if (out.id === into.id)
      throw new FlashError(
        'lightning.same_channel',
        'A rebalance needs two different channels: one to send out by, one to come back by.',
        'Pick another channel for one of the two.',
      )
    return { out, into }
  }

  private async selfKey(lnd: Lnd): Promise<string> {
    try {
      return (await ln.getIdentity({ lnd })).public_key
    } catch (err) {
      throw lndError('getIdentity', err)
    }
  }

  /** Runs one attempt; every outcome, refusals included, is a row in the log. Returns its id. */
  private run(
    lnd: Lnd,
    a: {
      trigger: 'owner' | 'schedule'
      reason: string
      outChannel: string
      inChannel: string
      amountSat: number
      maxFeeSat: number
      channels: ChannelBalance[]
    },
  ): Promise<number> {
    const job = this.moving.then(async () => {
      const { out, into } = this.pair(a.channels, a.outChannel, a.inChannel)
      const base = {
        at: this.now(),
        trigger: a.trigger,
        reason: a.reason,
        out_channel: out.id,
        in_channel: into.id,
        amount_sat: a.amountSat,
        max_fee_sat: a.maxFeeSat,
        fee_sat: null,
      }
      const settings = this.settings()
      // The schedule never spends past the daily budget. The owner's confirmed runs count
      // against it (they spent the fees) but are not stopped by it: the owner set their limit.
      const left = settings.schedule.dailyFeeBudgetSat - feesLast24h(this.attempts(), this.now())
      if (a.trigger === 'schedule' && a.maxFeeSat > left) {
        return this.store.add({
          ...base,
          hops: '[]',
          hash: null,
          result: 'refused',
          detail: `The fee limit ${a.maxFeeSat} sat is over what is left of the daily budget (${Math.max(left, 0)} sat).`,
        })
      }
      const selfPublicKey = await this.selfKey(lnd)
      let rowId = 0
      const outcome: CircularOutcome = await rebalanceCircular(
        lnd,
        {
          selfPublicKey,
          outChannel: out.id,
          inChannel: into.id,
          inPeer: into.peerPublicKey,
          amountSat: a.amountSat,
          maxFeeSat: a.maxFeeSat,
        },
        {
          beforeSend: (route, hash) => {
            rowId = this.store.add({
              ...base,
              hops: JSON.stringify(hopsOf(route)),
              hash,
              result: 'sending',
              detail: null,
            })
            this.sending.add(rowId)
            return rowId
          },
          afterSend: (id, o) => {
            this.sending.delete(id)
            if (o.result === 'succeeded') this.store.finish(id, 'succeeded', o.feeSat, null)
            else this.store.finish(id, 'failed', null, o.detail)
          },
        },
      )
      if (outcome.result === 'refused') {
        rowId = this.store.add({
          ...base,
          hops: JSON.stringify(outcome.route ? hopsOf(outcome.route) : []),
          hash: null,
          result: 'refused',
          detail: outcome.detail,
        })
      }
      this.o.log.info('rebalance attempt', {
        trigger: a.trigger,
        out: out.id,
        in: into.id,
        amountSat: a.amountSat,
        result: outcome.result,
        ...(outcome.result === 'succeeded' ? { feeSat: outcome.feeSat } : {}),
      })
      return rowId
    })
    this.moving = job.catch(() => undefined)
    return job
  }

  private async settleUnresolved(lnd: Lnd) {
    for (const row of this.store.unresolved()) {
      if (this.sending.has(row.id)) continue
      if (!row.hash) {
        this.store.finish(row.id, 'failed', null, 'Never sent.')
        continue
      }
      const s = await settledAttempt(lnd, row.hash)
      if (!s) continue
      if (s.result === 'succeeded') this.store.finish(row.id, 'succeeded', s.feeSat, null)
      else this.store.finish(row.id, 'failed', null, s.detail)
    }
  }

  close() {
    this.store.close()
  }
}
