// What went in and out: minted, sent, received, melted, restored — with pending states in words.
import type { HistoryEntry } from '../../../shared/api/ecash'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import type { Tone } from '../../format'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import { sats, shortUrl } from './sats'

const kindLabel: Record<HistoryEntry['kind'], string> = {
  minted: 'From Lightning',
  sent: 'Sent token',
  received: 'Received token',
  melted: 'Paid invoice',
  restored: 'Restored',
}

const stateInfo: Record<HistoryEntry['state'], { label: string; tone: Tone }> = {
  pending: { label: 'Pending', tone: 'busy' },
  unclaimed: { label: 'Not yet claimed', tone: 'warn' },
  done: { label: 'Done', tone: 'ok' },
  failed: { label: 'Did not happen', tone: 'off' },
}

const incoming = new Set<HistoryEntry['kind']>(['minted', 'received', 'restored'])

export function HistoryPanel() {
  const history = useQuery(() => api.ecash.history({ limit: 100 }), [])
  useEvent('ecash', (e) => {
    if (e.type !== 'history') return
    history.setData((prev) => {
      const rest = (prev ?? []).filter((h) => h.id !== e.entry.id)
      return [e.entry, ...rest].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    })
  })
  const reclaim = useMutation((operationId: string) => api.ecash.reclaim({ operationId }))
  if (history.error) return <ErrorBox error={history.error} />
  if (!history.data) return <Spinner label="Loading the history…" />
  if (!history.data.length) return <p className="muted">Nothing yet.</p>
  return (
    <>
      {reclaim.error && <ErrorBox error={reclaim.error} />}
      <table aria-label="eCash history" style={{ width: '100%', borderCollapse: 'collapse' }}>
        <thead>
          <tr>
            <th scope="col" align="left">
              When
            </th>
            <th scope="col" align="left">
              What
            </th>
            <th scope="col" align="right">
              Amount
            </th>
            <th scope="col" align="left">
              State
            </th>
          </tr>
        </thead>
        <tbody>
          {history.data.map((h) => (
            <tr key={h.id}>
              <td>{new Date(h.createdAt).toLocaleString()}</td>
              <td>
                {kindLabel[h.kind]}
                <div className="muted">
                  {shortUrl(h.mintUrl)}
                  {h.lockedTo ? ' · locked to a key' : ''}
                </div>
              </td>
              <td align="right">
                {incoming.has(h.kind) ? '+' : '−'}
                {sats(h.amount)}
                {h.fee ? <div className="muted">fee {sats(h.fee)}</div> : null}
              </td>
              <td>
                <Badge tone={stateInfo[h.state].tone}>{stateInfo[h.state].label}</Badge>
                {h.note && <div className="muted">{h.note}</div>}
                {h.kind === 'sent' && h.state === 'pending' && (
                  <button
                    type="button"
                    className="ghost"
                    disabled={reclaim.pending}
                    onClick={() => void reclaim.run(h.id).then(() => history.refresh())}
                  >
                    Take back
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
