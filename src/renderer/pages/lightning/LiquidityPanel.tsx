// Liquidity: what the box can receive right now (with advice when it runs low), each channel's
// balance as a bar against the band the owner sets, an alert for channels out of band, circular
// rebalancing as dry run → review → confirm, the optional schedule with its daily fee budget, and
// the log of every attempt with the band rule that triggered it.
import { useState } from 'react'
import type {
  ChannelLiquidityView,
  LiquiditySettings,
  LiquidityView,
  RebalanceAttemptView,
  RebalancePreview,
} from '../../../shared/api/liquidity'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox } from '../../shell/common'
import { sats } from '../ecash/sats'
import { SelectField, TextField } from '../../shell/TextField'

const positionWords: Record<ChannelLiquidityView['position'], string> = {
  below: 'Too little on your side',
  within: 'In its band',
  above: 'Too much on your side',
  inactive: 'Offline',
}

const resultWords: Record<RebalanceAttemptView['result'], string> = {
  sending: 'Sending',
  succeeded: 'Moved',
  failed: 'Failed',
  refused: 'Refused',
}

const digits = (s: string) => s.replace(/[^0-9]/g, '')

export function LiquidityPanel() {
  const view = useQuery(() => api.lightning.liquidity({}), [])
  const log = useQuery(() => api.lightning.rebalanceLog({}), [])
  useEvent('lightning', (e) => {
    if (e.type === 'liquidity') {
      view.setData(e.liquidity)
      log.refresh()
    }
  })
  const v = view.data
  return (
    <div>
      {view.error && <ErrorBox error={view.error} />}
      {v && (
        <>
          <Receivable view={v} />
          <Bands view={v} onSaved={(next) => view.setData(next)} />
          <Rebalance
            channels={v.channels}
            onDone={() => {
              view.refresh()
              log.refresh()
            }}
          />
          <Schedule view={v} onSaved={(next) => view.setData(next)} />
        </>
      )}
      <Attempts attempts={log.data ?? []} />
    </div>
  )
}

function Receivable({ view: v }: { view: LiquidityView }) {
  return (
    <section aria-labelledby="ln-receivable">
      <h2 id="ln-receivable">You can receive {sats(v.receivableSat)} right now</h2>
      <p className="muted">
        The room your peers have on their side of your active channels, less the reserve each must
        keep. You can send {sats(v.sendableSat)}.
      </p>
      {v.advice.length > 0 && (
        <div className="notice tone-warn" role="note" aria-label="How to receive more">
          <p>
            That is below the {sats(v.settings.lowInboundSat)} you want to be able to receive. To
            get more room:
          </p>
          <ul>
            {v.advice.map((a) => (
              <li key={a.kind}>{a.text}</li>
            ))}
          </ul>
        </div>
      )}
    </section>
  )
}

function BalanceBar({ c }: { c: ChannelLiquidityView }) {
  const total = c.localSat + c.remoteSat
  const local = total === 0 ? 0 : (c.localSat / total) * 100
  return (
    <div
      role="img"
      aria-label={`${Math.round(c.outboundPercent)}% on your side, band ${c.band.minOutboundPercent}–${c.band.maxOutboundPercent}%`}
      style={{
        position: 'relative',
        display: 'flex',
        height: '0.9rem',
        minWidth: '10rem',
        borderRadius: 3,
        overflow: 'hidden',
        background: 'var(--muted-bg, #ddd)',
      }}
    >
      <div style={{ width: `${local}%`, background: 'var(--accent, #f7931a)' }} />
      <div style={{ flex: 1, background: 'var(--ok, #4a9)' }} />
      {[c.band.minOutboundPercent, c.band.maxOutboundPercent].map((p) => (
        <div
          key={p}
          style={{
            position: 'absolute',
            left: `${p}%`,
            top: 0,
            bottom: 0,
            width: 2,
            background: 'currentColor',
          }}
        />
      ))}
    </div>
  )
}

function Bands({ view: v, onSaved }: { view: LiquidityView; onSaved: (v: LiquidityView) => void }) {
  const [editing, setEditing] = useState<string>()
  const [min, setMin] = useState('')
  const [max, setMax] = useState('')
  const save = useMutation((s: LiquiditySettings) => api.lightning.setLiquiditySettings(s))
  const out = v.channels.filter((c) => v.outOfBand.includes(c.id))
  const store = async (
    id: string,
    band: { minOutboundPercent: number; maxOutboundPercent: number } | null,
  ) => {
    const bands = { ...v.settings.bands }
    if (band) bands[id] = band
    else delete bands[id]
    const next = await save.run({ ...v.settings, bands })
    if (next) {
      setEditing(undefined)
      onSaved(next)
    }
  }
  return (
    <section aria-labelledby="ln-bands">
      <h2 id="ln-bands">Channels and their bands</h2>
      {out.length > 0 && (
        <div className="notice tone-warn" role="alert">
          {out.length === 1
            ? 'One channel is out of its band'
            : `${out.length} channels are out of their bands`}
          : {out.map((c) => `${c.id} (${Math.round(c.outboundPercent)}% on your side)`).join(', ')}.{' '}
          Rebalance below, or change the band.
        </div>
      )}
      <p className="muted">
        The bar is the channel: your side on the left, the peer’s on the right; the marks are the
        band. Default band: {v.settings.defaultBand.minOutboundPercent}–
        {v.settings.defaultBand.maxOutboundPercent}% on your side.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Channel</th>
            <th scope="col">Balance</th>
            <th scope="col">Your side</th>
            <th scope="col">Band</th>
            <th scope="col" />
          </tr>
        </thead>
        <tbody>
          {v.channels.map((c) => (
            <tr key={c.id}>
              <td>
                <code>{c.id}</code>
                <div className="muted">{c.peerPublicKey.slice(0, 16)}…</div>
              </td>
              <td>
                <BalanceBar c={c} />
                <div className="muted">
                  {sats(c.localSat)} yours · {sats(c.remoteSat)} theirs
                </div>
              </td>
              <td>{Math.round(c.outboundPercent)}%</td>
              <td>
                <Badge
                  tone={c.position === 'within' ? 'ok' : c.position === 'inactive' ? 'off' : 'warn'}
                >
                  {positionWords[c.position]}
                </Badge>{' '}
                {c.band.minOutboundPercent}–{c.band.maxOutboundPercent}%
                {c.bandIsOwn ? '' : ' (default)'}
              </td>
              <td>
                {editing === c.id ? (
                  <form
                    onSubmit={(e) => {
                      e.preventDefault()
                      void store(c.id, {
                        minOutboundPercent: Number(min),
                        maxOutboundPercent: Number(max),
                      })
                    }}
                  >
                    <label>
                      From{' '}
                      <input
                        aria-label={`Band of ${c.id}: lowest % on your side`}
                        inputMode="numeric"
                        size={3}
                        value={min}
                        onChange={(e) => setMin(digits(e.target.value))}
                      />
                    </label>{' '}
                    <label>
                      to{' '}
                      <input
                        aria-label={`Band of ${c.id}: highest % on your side`}
                        inputMode="numeric"
                        size={3}
                        value={max}
                        onChange={(e) => setMax(digits(e.target.value))}
                      />
                      %
                    </label>{' '}
                    <button type="submit" disabled={save.pending || min === '' || max === ''}>
                      Save band
                    </button>{' '}
                    {c.bandIsOwn && (
                      <button type="button" onClick={() => void store(c.id, null)}>
                        Use the default
                      </button>
                    )}{' '}
                    <button type="button" onClick={() => setEditing(undefined)}>
                      Cancel
                    </button>
                  </form>
                ) : (
                  <button
                    type="button"
                    onClick={() => {
                      setEditing(c.id)
                      setMin(String(c.band.minOutboundPercent))
                      setMax(String(c.band.maxOutboundPercent))
                    }}
                  >
                    Change band
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {v.channels.length === 0 && <p className="muted">No open channels yet.</p>}
      {save.error && <ErrorBox error={save.error} />}
    </section>
  )
}

/** One of the rebalance's two channel pickers: each channel with how much of it is yours. */
function ChannelSelect(props: {
  id: string
  label: string
  channels: readonly ChannelLiquidityView[]
  value: string
  onChange: (id: string) => void
}) {
  return (
    <SelectField
      id={props.id}
      label={<>{props.label}</>}
      value={props.value}
      onChange={(e) => props.onChange(e.target.value)}
    >
      <option value="">Choose a channel</option>
      {props.channels.map((c) => (
        <option key={c.id} value={c.id}>
          {c.id} — {Math.round(c.outboundPercent)}% yours
        </option>
      ))}
    </SelectField>
  )
}

function Rebalance({
  channels,
  onDone,
}: {
  channels: readonly ChannelLiquidityView[]
  onDone: () => void
}) {
  const [outChannel, setOut] = useState('')
  const [inChannel, setIn] = useState('')
  const [amount, setAmount] = useState('')
  const [maxFee, setMaxFee] = useState('')
  const [preview, setPreview] = useState<RebalancePreview>()
  const [confirming, setConfirming] = useState(false)
  const [done, setDone] = useState<RebalanceAttemptView>()
  const dry = useMutation((input: Parameters<typeof api.lightning.previewRebalance>[0]) =>
    api.lightning.previewRebalance(input),
  )
  const run = useMutation((p: RebalancePreview) =>
    api.lightning.rebalance({
      outChannel: p.outChannel,
      inChannel: p.inChannel,
      amountSat: p.amountSat,
      maxFeeSat: p.maxFeeSat,
      confirmed: true,
    }),
  )
  const choose = async (suggest: boolean) => {
    setDone(undefined)
    setConfirming(false)
    const p = await dry.run(
      suggest
        ? {}
        : {
            outChannel,
            inChannel,
            ...(amount ? { amountSat: Number(amount) } : {}),
            ...(maxFee ? { maxFeeSat: Number(maxFee) } : {}),
          },
    )
    setPreview(p)
    if (p) {
      setOut(p.outChannel)
      setIn(p.inChannel)
      setAmount(String(p.amountSat))
      setMaxFee(String(p.maxFeeSat))
    }
  }
  const active = channels.filter((c) => c.active)
  return (
    <section aria-labelledby="ln-rebalance">
      <h2 id="ln-rebalance">Rebalance</h2>
      <p className="muted">
        Your node pays itself: the sats leave by one channel and come back by another, through other
        nodes, who keep a small fee. First a dry run shows the route and its cost; nothing moves
        until you confirm.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          void choose(false)
        }}
      >
        <ChannelSelect
          id="ln-rb-out"
          label="Send out by (its side gets smaller)"
          channels={active}
          value={outChannel}
          onChange={setOut}
        />
        <ChannelSelect
          id="ln-rb-in"
          label="Come back by (its side gets bigger)"
          channels={active}
          value={inChannel}
          onChange={setIn}
        />
        <TextField
          id="ln-rb-amount"
          label="Amount (sat, empty: what the schedule allows)"
          inputMode="numeric"
          value={amount}
          onChange={(e) => setAmount(digits(e.target.value))}
        />
        <TextField
          id="ln-rb-fee"
          label="Most you pay in fees (sat, empty: from the schedule’s ppm)"
          inputMode="numeric"
          value={maxFee}
          onChange={(e) => setMaxFee(digits(e.target.value))}
        />
        <button type="submit" disabled={!outChannel || !inChannel || dry.pending}>
          Dry run
        </button>{' '}
        <button type="button" disabled={dry.pending} onClick={() => void choose(true)}>
          Suggest from the bands
        </button>
      </form>
      {dry.error && <ErrorBox error={dry.error} />}
      {preview && (
        <div className="card" aria-label="Dry run">
          <p>{preview.reason}</p>
          {preview.route ? (
            <>
              <p>
                Moves {sats(preview.amountSat)} from {preview.outChannel} to {preview.inChannel} for{' '}
                {sats(preview.route.feeSat)} in fees (your limit: {sats(preview.maxFeeSat)}).
              </p>
              <ol aria-label="Route">
                {preview.route.hops.map((h, i) => (
                  <li key={i}>
                    over <code>{h.channel}</code> to <code>{h.publicKey.slice(0, 16)}…</code>
                    {h.feeSat > 0 ? ` (keeps ${sats(h.feeSat)})` : ' (your node)'}
                  </li>
                ))}
              </ol>
              {!confirming ? (
                <button type="button" className="primary" onClick={() => setConfirming(true)}>
                  Rebalance…
                </button>
              ) : (
                <div className="notice tone-warn" role="alertdialog" aria-labelledby="ln-rb-q">
                  <p id="ln-rb-q">
                    Move {sats(preview.amountSat)} from {preview.outChannel} to {preview.inChannel},
                    paying at most {sats(preview.maxFeeSat)} in fees? If the route has changed and
                    costs more, nothing is sent.
                  </p>
                  <button
                    type="button"
                    className="primary"
                    disabled={run.pending}
                    onClick={async () => {
                      const a = await run.run(preview)
                      if (a) {
                        setDone(a)
                        setConfirming(false)
                        setPreview(undefined)
                        onDone()
                      }
                    }}
                  >
                    {run.pending ? 'Moving…' : 'Yes, rebalance'}
                  </button>{' '}
                  <button type="button" onClick={() => setConfirming(false)}>
                    Not now
                  </button>
                </div>
              )}
            </>
          ) : (
            <p role="status">{preview.problem}</p>
          )}
        </div>
      )}
      {run.error && <ErrorBox error={run.error} />}
      {done && (
        <p role="status">
          {done.result === 'succeeded'
            ? `Moved ${sats(done.amountSat)} for ${sats(done.feeSat ?? 0)} in fees.`
            : `${resultWords[done.result]}: ${done.detail ?? ''}`}
        </p>
      )}
    </section>
  )
}

function Schedule({
  view: v,
  onSaved,
}: {
  view: LiquidityView
  onSaved: (v: LiquidityView) => void
}) {
  const s = v.settings
  const [enabled, setEnabled] = useState(s.schedule.enabled)
  const [every, setEvery] = useState(String(s.schedule.everyMinutes))
  const [budget, setBudget] = useState(String(s.schedule.dailyFeeBudgetSat))
  const [ppm, setPpm] = useState(String(s.schedule.maxFeePpm))
  const [maxAmount, setMaxAmount] = useState(String(s.schedule.maxAmountSat))
  const [low, setLow] = useState(String(s.lowInboundSat))
  const [min, setMin] = useState(String(s.defaultBand.minOutboundPercent))
  const [max, setMax] = useState(String(s.defaultBand.maxOutboundPercent))
  const [confirming, setConfirming] = useState(false)
  const save = useMutation((next: LiquiditySettings) => api.lightning.setLiquiditySettings(next))
  const next: LiquiditySettings = {
    ...s,
    defaultBand: { minOutboundPercent: Number(min), maxOutboundPercent: Number(max) },
    lowInboundSat: Number(low),
    schedule: {
      enabled,
      everyMinutes: Number(every),
      dailyFeeBudgetSat: Number(budget),
      maxFeePpm: Number(ppm),
      maxAmountSat: Number(maxAmount),
    },
  }
  const store = async () => {
    const saved = await save.run(next)
    if (saved) {
      setConfirming(false)
      onSaved(saved)
    }
  }
  const field = (id: string, label: string, value: string, set: (s: string) => void) => (
    <TextField
      id={id}
      label={<>{label}</>}
      inputMode="numeric"
      value={value}
      onChange={(e) => set(digits(e.target.value))}
    />
  )
  return (
    <section aria-labelledby="ln-schedule">
      <h2 id="ln-schedule">Schedule and budget</h2>
      <p className="muted">
        {s.schedule.enabled
          ? `On: at most one rebalance every ${s.schedule.everyMinutes} minutes${v.nextScheduledAt ? ` (next from ${new Date(v.nextScheduledAt).toLocaleString()})` : ''}; ${sats(v.feesLast24hSat)} of ${sats(s.schedule.dailyFeeBudgetSat)} spent in the last 24 hours.`
          : 'Off: nothing moves unless you confirm a rebalance above.'}
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (enabled && !s.schedule.enabled) setConfirming(true)
          else void store()
        }}
      >
        <label>
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />{' '}
          Rebalance on a schedule, within the budget below
        </label>
        {field('ln-sc-every', 'At most once every (minutes)', every, setEvery)}
        {field('ln-sc-budget', 'Daily fee budget (sat, any 24 hours)', budget, setBudget)}
        {field('ln-sc-ppm', 'Most one rebalance may pay (ppm of the amount)', ppm, setPpm)}
        {field('ln-sc-amount', 'Most one rebalance moves (sat)', maxAmount, setMaxAmount)}
        {field('ln-sc-min', 'Default band: lowest % on your side', min, setMin)}
        {field('ln-sc-max', 'Default band: highest % on your side', max, setMax)}
        {field('ln-sc-low', 'Advise me when I can receive less than (sat)', low, setLow)}
        <button type="submit" disabled={save.pending}>
          Save
        </button>
      </form>
      {confirming && (
        <div className="notice tone-warn" role="alertdialog" aria-labelledby="ln-sc-q">
          <p id="ln-sc-q">
            Let Flash Box rebalance on its own? It pays up to {sats(Number(budget))} in fees in any
            24 hours, at most {sats(Number(maxAmount))} moved per rebalance, without asking each
            time.
          </p>
          <button
            type="button"
            className="primary"
            disabled={save.pending}
            onClick={() => void store()}
          >
            Yes, turn the schedule on
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Not now
          </button>
        </div>
      )}
      {save.error && <ErrorBox error={save.error} />}
    </section>
  )
}

function Attempts({ attempts }: { attempts: readonly RebalanceAttemptView[] }) {
  return (
    <section aria-labelledby="ln-attempts">
      <h2 id="ln-attempts">Rebalance log</h2>
      {attempts.length === 0 ? (
        <p className="muted">No rebalance tried yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Why</th>
              <th scope="col">Route</th>
              <th scope="col">Amount</th>
              <th scope="col">Fee</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr key={a.id}>
                <td>
                  {new Date(a.at).toLocaleString()}
                  <div className="muted">
                    {a.trigger === 'owner' ? 'by you' : 'by the schedule'}
                  </div>
                </td>
                <td>{a.reason}</td>
                <td>
                  {a.hops.length > 0
                    ? a.hops.map((h) => h.channel).join(' → ')
                    : `${a.outChannel} → … → ${a.inChannel}`}
                </td>
                <td>{sats(a.amountSat)}</td>
                <td>
                  {a.feeSat !== undefined ? sats(a.feeSat) : '—'}
                  <div className="muted">limit {sats(a.maxFeeSat)}</div>
                </td>
                <td>
                  <Badge
                    tone={a.result === 'succeeded' ? 'ok' : a.result === 'sending' ? 'warn' : 'bad'}
                  >
                    {resultWords[a.result]}
                  </Badge>
                  {a.detail && <div className="muted">{a.detail}</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
