// The eCash wallet: balance per mint, receive (Lightning or a pasted token), send a token, pay an
// invoice, history, mints, tokens waiting to be claimed, and the recovery words. Everything goes
// through `api.ecash.…`; proofs and the seed stay in the engine.
import { useState } from 'react'
import { api } from '../../api/client'
import { useEvent, useQuery } from '../../api/hooks'
import { formatNumber } from '../../format'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import type { PageProps } from '../types'
import { BackupPanel } from './BackupPanel'
import { HistoryPanel } from './HistoryPanel'
import { MintsPanel } from './MintsPanel'
import { PayPanel } from './PayPanel'
import { ReceivePanel } from './ReceivePanel'
import { SendPanel } from './SendPanel'
import { sats, shortUrl } from './sats'
import { TabList, tabPanelProps } from '../../shell/TabList'

type Tab = 'receive' | 'send' | 'pay' | 'history' | 'mints' | 'backup'

const tabs: { id: Tab; label: string }[] = [
  { id: 'receive', label: 'Receive' },
  { id: 'send', label: 'Send' },
  { id: 'pay', label: 'Pay invoice' },
  { id: 'history', label: 'History' },
  { id: 'mints', label: 'Mints' },
  { id: 'backup', label: 'Backup' },
]

export default function EcashPage(_props: PageProps) {
  const [tab, setTab] = useState<Tab>('receive')
  const status = useQuery(() => api.ecash.status({}), [])
  useEvent('ecash', (e) => {
    if (e.type === 'balance') {
      status.setData((prev) => (prev ? { ...prev, total: e.total, balances: e.balances } : prev))
    }
    if (e.type === 'token-claimed' || e.type === 'quote-paid') status.refresh()
  })
  const s = status.data

  return (
    <div className="page">
      <h1>eCash</h1>
      <p className="muted">
        Cashu ecash held by this box: fast, private payments backed by a mint. Receive it from
        Lightning or as a token, send it as a token, or pay Lightning invoices with it.
      </p>
      {status.error && <ErrorBox error={status.error} />}
      {!s && !status.error && <Spinner label="Opening the wallet…" />}
      {s && (
        <section aria-labelledby="ecash-balance" className="card">
          <h2 id="ecash-balance" style={{ marginTop: 0 }}>
            Balance
          </h2>
          <p role="status" aria-live="polite" style={{ fontSize: '2rem', margin: '0.25rem 0' }}>
            {sats(s.total)}
          </p>
          {s.balances.length > 1 && (
            <dl className="facts">
              {s.balances.map((b) => (
                <div key={b.mintUrl} style={{ display: 'contents' }}>
                  <dt>{b.mintUrl === s.ownMintUrl ? 'This box’s mint' : b.mintUrl}</dt>
                  <dd>{sats(b.spendable)}</dd>
                </div>
              ))}
            </dl>
          )}
          <PendingSummary
            pending={s.balances.reduce((a, b) => a + b.pending, 0)}
            unclaimed={s.balances.reduce((a, b) => a + b.unclaimed, 0)}
            unclaimedTokens={s.unclaimedTokens}
            onRedeemed={status.refresh}
          />
          {!s.seedBackedUp && (
            <p className="notice tone-warn">
              Write down the wallet’s recovery words: without them this ecash is lost if the box
              breaks.{' '}
              <button type="button" className="ghost" onClick={() => setTab('backup')}>
                Back up now
              </button>
            </p>
          )}
        </section>
      )}

      <TabList
        label="eCash actions"
        idPrefix="ecash"
        tabs={tabs}
        selected={tab}
        onSelect={setTab}
      />
      <div {...tabPanelProps('ecash', tab)} className="tabpanel">
        {tab === 'receive' && <ReceivePanel receivePubkey={s?.receivePubkey} />}
        {tab === 'send' && <SendPanel balances={s?.balances ?? []} />}
        {tab === 'pay' && <PayPanel balances={s?.balances ?? []} />}
        {tab === 'history' && <HistoryPanel />}
        {tab === 'mints' && <MintsPanel />}
        {tab === 'backup' && <BackupPanel backedUp={s?.seedBackedUp ?? false} />}
      </div>
    </div>
  )
}

function PendingSummary({
  pending,
  unclaimed,
  unclaimedTokens,
  onRedeemed,
}: {
  pending: number
  unclaimed: number
  unclaimedTokens: number
  onRedeemed: () => void
}) {
  const [busy, setBusy] = useState(false)
  const [note, setNote] = useState<string>()
  if (!pending && !unclaimedTokens) return null
  return (
    <div>
      {pending > 0 && (
        <p className="muted">
          <Badge tone="busy">Pending</Badge> {sats(pending)} in tokens not yet claimed by their
          recipients or in payments under way.
        </p>
      )}
      {unclaimedTokens > 0 && (
        <p>
          <Badge tone="warn">Not yet claimed</Badge> {formatNumber(unclaimedTokens)} received{' '}
          {unclaimedTokens === 1 ? 'token' : 'tokens'} ({sats(unclaimed)}) wait for their mint to
          answer. They are claimed automatically.{' '}
          <button
            type="button"
            disabled={busy}
            onClick={async () => {
              setBusy(true)
              try {
                const r = await api.ecash.redeemPending({})
                setNote(
                  r.claimed
                    ? `Claimed ${sats(r.claimedAmount)}.`
                    : 'The mint still does not answer; the wallet keeps trying.',
                )
                onRedeemed()
              } catch {
                setNote('Could not try right now; the wallet keeps trying by itself.')
              } finally {
                setBusy(false)
              }
            }}
          >
            {busy ? 'Trying…' : 'Try now'}
          </button>
        </p>
      )}
      {note && (
        <p role="status" className="muted">
          {note}
        </p>
      )}
      {unclaimedTokens > 0 && <PendingTokens key={unclaimedTokens} />}
    </div>
  )
}

function PendingTokens() {
  const tokens = useQuery(() => api.ecash.pendingTokens({}), [])
  if (!tokens.data?.length) return null
  return (
    <ul aria-label="Tokens not yet claimed">
      {tokens.data.map((t) => (
        <li key={t.operationId}>
          {sats(t.amount)} from {shortUrl(t.mintUrl)}, received{' '}
          {new Date(t.addedAt).toLocaleString()}
          {t.lastError ? ` — ${t.lastError}` : ''}
        </li>
      ))}
    </ul>
  )
}
