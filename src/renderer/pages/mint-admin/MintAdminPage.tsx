// The mint's admin page: what the box's Cashu mint owes (outstanding eCash per keyset), its
// keysets and fees, recent quotes, the Lightning backend, and the limits the operator sets.
// Everything goes through `api.mint.…`; keys and quote ids never reach this page.
import { useState } from 'react'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { formatNumber } from '../../format'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import type { MintLimits, MintQuoteView, MintStatus } from '../../../shared/api/mint'
import type { PageProps } from '../types'
import { TextField } from '../../shell/TextField'

const sat = (n: number) => `${formatNumber(n)} sat`
const when = (iso: string) => new Date(iso).toLocaleString()

export default function MintAdminPage(_props: PageProps) {
  const status = useQuery(() => api.mint.status({}), [])
  const quotes = useQuery(() => api.mint.quotes({ kind: 'all', limit: 50 }), [])
  useEvent('mint', (e) => {
    if (e.type === 'status') status.setData(e.status)
    if (e.type === 'quote') {
      quotes.refresh()
      status.refresh()
    }
  })
  const s = status.data

  return (
    <div className="page">
      <h1>Mint</h1>
      <p className="muted">
        Your own Cashu mint. People pay it over Lightning and get eCash; when they spend eCash back
        through it, your Lightning node pays. What the mint owes is the eCash still outstanding.
      </p>
      {status.error && <ErrorBox error={status.error} />}
      {!s && !status.error && <Spinner label="Asking the mint…" />}
      {s && <Overview status={s} />}
      {s?.running && <Keysets status={s} onRotated={status.refresh} />}
      {s?.running && s.limits && <Limits limits={s.limits} onSaved={status.refresh} />}
      <section className="card" aria-labelledby="mint-quotes">
        <h2 id="mint-quotes">Recent quotes</h2>
        {quotes.error && <ErrorBox error={quotes.error} />}
        {quotes.data && <QuoteTable quotes={quotes.data} />}
      </section>
    </div>
  )
}

function Overview({ status: s }: { status: MintStatus }) {
  return (
    <section className="card" aria-labelledby="mint-overview">
      <h2 id="mint-overview">
        {s.name} <Badge tone={s.running ? 'ok' : 'bad'}>{s.running ? 'Running' : 'Stopped'}</Badge>
      </h2>
      {s.problem && <ErrorBox error={s.problem} />}
      <dl className="facts">
        <dt>Outstanding eCash</dt>
        <dd>
          <strong>{sat(s.outstandingTotal)}</strong>
          <span className="muted"> — what the mint owes its users</span>
        </dd>
        {s.url && (
          <>
            <dt>Address</dt>
            <dd>
              <code>{s.url}</code>
            </dd>
          </>
        )}
        <dt>Network</dt>
        <dd>{s.network}</dd>
        <dt>Lightning</dt>
        <dd>
          {s.backend ? (
            <>
              <Badge tone={s.backend.ok ? 'ok' : 'warn'}>
                {s.backend.name === 'fake' ? 'Test wallet (regtest)' : 'LND'}
              </Badge>{' '}
              {s.backend.detail}
            </>
          ) : (
            '—'
          )}
        </dd>
        <dt>Payments in flight</dt>
        <dd>
          {s.pendingMelts === 0
            ? 'None'
            : `${s.pendingMelts} — the mint waits for Lightning to confirm, then settles them`}
        </dd>
      </dl>
    </section>
  )
}

function Keysets({ status: s, onRotated }: { status: MintStatus; onRotated: () => void }) {
  const active = s.keysets.find((k) => k.active)
  const [fee, setFee] = useState(String(active?.inputFeePpk ?? 0))
  const rotate = useMutation((inputFeePpk: number) => api.mint.rotateKeyset({ inputFeePpk }))
  const feeNumber = Number(fee)
  const feeValid = Number.isInteger(feeNumber) && feeNumber >= 0 && feeNumber <= 100_000
  return (
    <section className="card" aria-labelledby="mint-keysets">
      <h2 id="mint-keysets">Keysets and fees</h2>
      <table aria-label="Keysets">
        <thead>
          <tr>
            <th>Keyset</th>
            <th>State</th>
            <th>Fee per input</th>
            <th>Issued</th>
            <th>Redeemed</th>
            <th>Outstanding</th>
          </tr>
        </thead>
        <tbody>
          {s.keysets.map((k) => (
            <tr key={k.id}>
              <td>
                <code title={k.id}>{k.id.slice(0, 18)}…</code>
              </td>
              <td>
                <Badge tone={k.active ? 'ok' : 'off'}>{k.active ? 'Active' : 'Retired'}</Badge>
              </td>
              <td>{k.inputFeePpk === 0 ? 'Free' : `${k.inputFeePpk} ppk`}</td>
              <td>{sat(k.issued)}</td>
              <td>{sat(k.redeemed)}</td>
              <td>{sat(k.outstanding)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        A new keyset becomes the one the mint signs with; retired keysets stay redeemable, so nobody
        loses eCash. The fee is charged per eCash note spent, in thousandths of a sat.
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          if (!feeValid) return
          if (await rotate.run(feeNumber)) onRotated()
        }}
      >
        <TextField
          id="mint-fee"
          label="Fee for the new keyset (ppk)"
          inputMode="numeric"
          value={fee}
          aria-invalid={!feeValid}
          onChange={(e) => setFee(e.target.value)}
        />
        <button type="submit" disabled={!feeValid || rotate.pending}>
          {rotate.pending ? 'Creating keyset…' : 'Start a new keyset'}
        </button>
      </form>
      {rotate.error && <ErrorBox error={rotate.error} />}
    </section>
  )
}

const limitFields: { key: keyof MintLimits; label: string }[] = [
  { key: 'mintMinAmount', label: 'Smallest Lightning deposit (sat)' },
  { key: 'mintMaxAmount', label: 'Largest Lightning deposit (sat)' },
  { key: 'meltMinAmount', label: 'Smallest Lightning payment (sat)' },
  { key: 'meltMaxAmount', label: 'Largest Lightning payment (sat)' },
  { key: 'maxInputs', label: 'Most eCash notes per request' },
  { key: 'maxOutputs', label: 'Most new notes per request' },
  { key: 'rateLimitPerIp', label: 'Requests per address per window' },
  { key: 'rateLimitWindowMs', label: 'Rate-limit window (ms)' },
]

function Limits({ limits, onSaved }: { limits: MintLimits; onSaved: () => void }) {
  const [draft, setDraft] = useState<Record<string, string>>(() =>
    Object.fromEntries(limitFields.map((f) => [f.key, String(limits[f.key])])),
  )
  const [mintingDisabled, setMintingDisabled] = useState(limits.mintingDisabled)
  const [meltingDisabled, setMeltingDisabled] = useState(limits.meltingDisabled)
  const save = useMutation((l: Partial<MintLimits>) => api.mint.setLimits(l))
  const parsed = Object.fromEntries(limitFields.map((f) => [f.key, Number(draft[f.key])]))
  const valid = limitFields.every((f) => Number.isInteger(parsed[f.key]) && parsed[f.key]! > 0)
  return (
    <section className="card" aria-labelledby="mint-limits">
      <h2 id="mint-limits">Limits</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          if (!valid) return
          const r = await save.run({
            ...parsed,
            mintingDisabled,
            meltingDisabled,
          } as Partial<MintLimits>)
          if (r) onSaved()
        }}
      >
        {limitFields.map((f) => (
          <TextField
            key={f.key}
            id={`mint-limit-${f.key}`}
            label={f.label}
            inputMode="numeric"
            value={draft[f.key]}
            onChange={(e) => setDraft({ ...draft, [f.key]: e.target.value })}
          />
        ))}
        <div className="field">
          <label>
            <input
              type="checkbox"
              checked={mintingDisabled}
              onChange={(e) => setMintingDisabled(e.target.checked)}
            />{' '}
            Pause new deposits (minting)
          </label>
        </div>
        <div className="field">
          <label>
            <input
              type="checkbox"
              checked={meltingDisabled}
              onChange={(e) => setMeltingDisabled(e.target.checked)}
            />{' '}
            Pause Lightning payments out (melting)
          </label>
        </div>
        <button type="submit" disabled={!valid || save.pending}>
          {save.pending ? 'Saving…' : 'Save limits'}
        </button>
        {!valid && <p className="muted">Every limit is a whole number above zero.</p>}
      </form>
      {save.error && <ErrorBox error={save.error} />}
    </section>
  )
}

function QuoteTable({ quotes }: { quotes: readonly MintQuoteView[] }) {
  if (quotes.length === 0) return <p className="muted">No quotes yet.</p>
  return (
    <table aria-label="Recent quotes">
      <thead>
        <tr>
          <th>Kind</th>
          <th>Quote</th>
          <th>Amount</th>
          <th>State</th>
          <th>Fees</th>
          <th>Created</th>
        </tr>
      </thead>
      <tbody>
        {quotes.map((q) => (
          <tr key={`${q.kind}-${q.idPrefix}-${q.createdAt}`}>
            <td>{q.kind === 'mint' ? 'Deposit' : 'Payment out'}</td>
            <td>
              <code>{q.idPrefix}…</code>
              {q.locked ? ' (locked)' : ''}
            </td>
            <td>{sat(q.amount)}</td>
            <td>{q.state}</td>
            <td>
              {q.kind === 'melt'
                ? `reserve ${sat(q.feeReserve ?? 0)}${q.feePaid != null ? `, paid ${sat(q.feePaid)}` : ''}`
                : '—'}
            </td>
            <td>{when(q.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
