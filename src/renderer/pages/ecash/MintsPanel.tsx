// The mints this wallet trusts: the box's own first, with what each supports and holds.
import { useState } from 'react'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import { sats } from './sats'
import { TextField } from '../../shell/TextField'

export function MintsPanel() {
  const mints = useQuery(() => api.ecash.mints({}), [])
  const [url, setUrl] = useState('')
  const add = useMutation((u: string) => api.ecash.addMint({ url: u }))
  const remove = useMutation((u: string) => api.ecash.removeMint({ url: u }))
  useEvent('ecash', (e) => {
    if (e.type === 'balance') mints.refresh()
  })

  return (
    <div>
      {mints.error && <ErrorBox error={mints.error} />}
      {!mints.data && !mints.error && <Spinner label="Loading mints…" />}
      {mints.data?.length === 0 && (
        <p className="muted">No mint yet: turn on the box’s own mint in Settings, or add one.</p>
      )}
      {mints.data?.map((m) => (
        <section
          key={m.url}
          className="card"
          aria-label={m.name ?? m.url}
          style={{ marginBottom: '0.75rem' }}
        >
          <h3>
            {m.name ?? m.url} {m.own && <Badge tone="ok">This box</Badge>}{' '}
            <Badge tone={m.online ? 'ok' : 'warn'}>{m.online ? 'Online' : 'Not answering'}</Badge>
          </h3>
          <dl className="facts">
            <dt>Address</dt>
            <dd>
              <code>{m.url}</code>
            </dd>
            <dt>Your balance</dt>
            <dd>
              {sats(m.balance.spendable)}
              {m.balance.pending ? `, ${sats(m.balance.pending)} pending` : ''}
              {m.balance.unclaimed ? `, ${sats(m.balance.unclaimed)} not yet claimed` : ''}
            </dd>
            <dt>Keysets</dt>
            <dd>
              {m.keysets.length
                ? m.keysets
                    .map(
                      (k) =>
                        `${k.id.slice(0, 16)}${k.active ? '' : ' (retired)'}${k.inputFeePpk ? `, fee ${k.inputFeePpk} ppk` : ''}`,
                    )
                    .join('; ')
                : '—'}
            </dd>
            <dt>Supports</dt>
            <dd>
              {[
                m.supports.websocket && 'instant updates',
                m.supports.lockedQuotes && 'locked invoices',
                m.supports.restore && 'restore from seed',
                m.supports.p2pk && 'locked tokens',
                m.supports.dleq && 'signature proofs',
              ]
                .filter(Boolean)
                .join(', ') || '—'}
            </dd>
            {m.lastError && (
              <>
                <dt>Last problem</dt>
                <dd>{m.lastError}</dd>
              </>
            )}
          </dl>
          {!m.own && (
            <button
              type="button"
              disabled={remove.pending}
              onClick={async () => {
                await remove.run(m.url)
                mints.refresh()
              }}
            >
              Remove
            </button>
          )}
        </section>
      ))}
      {remove.error && <ErrorBox error={remove.error} />}
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          const r = await add.run(url.trim())
          if (r) {
            setUrl('')
            mints.refresh()
          }
        }}
      >
        <TextField
          id="ecash-add-mint"
          label="Add a mint you trust (its address)"
          value={url}
          placeholder="https://mint.example.com"
          onChange={(e) => setUrl(e.target.value)}
        />
        <button type="submit" disabled={!url.trim() || add.pending}>
          {add.pending ? 'Contacting the mint…' : 'Add mint'}
        </button>
      </form>
      {add.error && <ErrorBox error={add.error} />}
    </div>
  )
}
