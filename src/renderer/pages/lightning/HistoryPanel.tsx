// History of invoices (received) and payments (sent): search, filter by state and date, CSV.
import { useMemo, useState } from 'react'
import type { InvoiceView, PaymentView } from '../../../shared/api/lightning'
import { api } from '../../api/client'
import { useEvent, useQuery } from '../../api/hooks'
import { ErrorBox, Spinner } from '../../shell/common'
import { sats } from '../ecash/sats'
import { toCsv } from './csv'
import { SelectField, TextField } from '../../shell/TextField'

export interface HistoryRow {
  readonly id: string
  readonly direction: 'received' | 'sent'
  readonly state: string
  readonly amountSat: number
  readonly feeSat?: number
  readonly text: string
  readonly at: string
}

export function historyRows(invoices: readonly InvoiceView[], payments: readonly PaymentView[]) {
  const rows: HistoryRow[] = [
    ...invoices.map((i) => ({
      id: i.id,
      direction: 'received' as const,
      state: i.state,
      amountSat: i.state === 'paid' ? i.receivedSat : i.amountSat,
      text: i.memo,
      at: i.paidAt ?? i.createdAt,
    })),
    ...payments.map((p) => ({
      id: p.id,
      direction: 'sent' as const,
      state: p.state === 'failed' ? `failed: ${p.failureText ?? ''}` : p.state,
      amountSat: p.amountSat,
      ...(p.feeSat !== undefined ? { feeSat: p.feeSat } : {}),
      text: p.description,
      at: p.createdAt,
    })),
  ]
  return rows.sort((a, b) => b.at.localeCompare(a.at))
}

export function filterRows(
  rows: readonly HistoryRow[],
  f: { search: string; state: string; from: string; to: string },
): HistoryRow[] {
  const q = f.search.trim().toLowerCase()
  return rows.filter(
    (r) =>
      (!q || r.text.toLowerCase().includes(q) || r.id.includes(q)) &&
      (f.state === 'all' || r.state.startsWith(f.state)) &&
      (!f.from || r.at.slice(0, 10) >= f.from) &&
      (!f.to || r.at.slice(0, 10) <= f.to),
  )
}

const states = ['all', 'paid', 'open', 'expired', 'canceled', 'succeeded', 'pending', 'failed']

export function HistoryPanel() {
  const invoices = useQuery(() => api.lightning.invoices({}), [])
  const payments = useQuery(() => api.lightning.payments({}), [])
  useEvent('lightning', (e) => {
    if (e.type === 'invoice') invoices.refresh()
    if (e.type === 'payment') payments.refresh()
  })
  const [search, setSearch] = useState('')
  const [state, setState] = useState('all')
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const all = useMemo(
    () => historyRows(invoices.data ?? [], payments.data ?? []),
    [invoices.data, payments.data],
  )
  const rows = filterRows(all, { search, state, from, to })

  const download = () => {
    const csv = toCsv(
      ['date', 'direction', 'state', 'amount_sat', 'fee_sat', 'description', 'payment_hash'],
      rows.map((r) => [r.at, r.direction, r.state, r.amountSat, r.feeSat, r.text, r.id]),
    )
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }))
    const a = document.createElement('a')
    a.href = url
    a.download = 'lightning-history.csv'
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 1000)
  }

  return (
    <section aria-labelledby="ln-history">
      <h2 id="ln-history">History</h2>
      <div className="filters" style={{ display: 'flex', gap: '0.5rem', flexWrap: 'wrap' }}>
        <TextField
          id="ln-h-search"
          label="Search"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <SelectField
          id="ln-h-state"
          label="State"
          value={state}
          onChange={(e) => setState(e.target.value)}
        >
          {states.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </SelectField>
        <TextField
          id="ln-h-from"
          label="From"
          type="date"
          value={from}
          onChange={(e) => setFrom(e.target.value)}
        />
        <TextField
          id="ln-h-to"
          label="To"
          type="date"
          value={to}
          onChange={(e) => setTo(e.target.value)}
        />
      </div>
      <button type="button" onClick={download} disabled={rows.length === 0}>
        Export CSV
      </button>
      {(invoices.error ?? payments.error) && (
        <ErrorBox error={(invoices.error ?? payments.error)!} />
      )}
      {(invoices.loading || payments.loading) && !invoices.data && <Spinner label="Loading…" />}
      <table>
        <thead>
          <tr>
            <th scope="col">Date</th>
            <th scope="col">Direction</th>
            <th scope="col">State</th>
            <th scope="col">Amount</th>
            <th scope="col">Description</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.direction}-${r.id}`}>
              <td>{new Date(r.at).toLocaleString()}</td>
              <td>{r.direction}</td>
              <td>{r.state}</td>
              <td>
                {sats(r.amountSat)}
                {r.feeSat ? ` + ${sats(r.feeSat)} fee` : ''}
              </td>
              <td>{r.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p className="muted">Nothing here yet.</p>}
    </section>
  )
}
