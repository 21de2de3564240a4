// The wallet core's panels: receive (BIP21 + QR, live "received" from the mempool), history
// (search, CSV, confirmations, fees and fee rates — a deposit's too — labels, a detail per
// transaction), coins (freeze/unfreeze, labels).
import { Fragment, lazy, Suspense, useState } from 'react'
import type { ReceiveAddress, WalletTransaction } from '../../../shared/api/wallet'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { CopyButton } from '../ecash/CopyButton'
import { sats } from '../ecash/sats'
import { SpeedUp } from './SpeedUp'
import { TextField } from '../../shell/TextField'

// uPlot loads only when the owner asks for the chart.
const BalanceChart = lazy(() => import('./BalanceChart'))

const statusWords: Record<WalletTransaction['status'], string> = {
  unconfirmed: 'waiting for confirmation',
  confirming: 'in a block, proof being checked',
  confirmed: 'confirmed',
  replaced: 'replaced — no longer counts',
}

export function ReceivePanel({ accountId }: { accountId: string }) {
  const [amount, setAmount] = useState('')
  const [label, setLabel] = useState('')
  const [address, setAddress] = useState<ReceiveAddress>()
  const [received, setReceived] = useState<WalletTransaction>()
  const create = useMutation((i: { amountSat?: number; label?: string }) =>
    api.wallet.receive({ accountId, ...i }),
  )
  useEvent('wallet', (e) => {
    if (
      e.type === 'transaction' &&
      address &&
      e.accountId === accountId &&
      e.transaction.outputs.some((o) => o.address === address.address)
    )
      setReceived(e.transaction)
  })
  const n = Number(amount)
  return (
    <section aria-labelledby="wallet-receive">
      <h2 id="wallet-receive">Receive</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          setReceived(undefined)
          const r = await create.run({
            ...(n > 0 ? { amountSat: n } : {}),
            ...(label.trim() ? { label: label.trim() } : {}),
          })
          if (r) setAddress(r)
        }}
      >
        <TextField
          id="wallet-receive-amount"
          label="Amount (sat, optional)"
          inputMode="numeric"
          value={amount}
          onChange={(e) => setAmount(e.target.value.replace(/[^0-9]/g, ''))}
        />
        <TextField
          id="wallet-receive-label"
          label="Label (only you see it)"
          maxLength={255}
          value={label}
          onChange={(e) => setLabel(e.target.value)}
        />
        <button type="submit" disabled={create.pending}>
          New address
        </button>
      </form>
      {create.error && <ErrorBox error={create.error} />}
      {address && (
        <div>
          <img src={address.qr} alt={`QR code of ${address.uri}`} width={240} height={240} />
          <p>
            <code>{address.address}</code>{' '}
            <CopyButton text={address.address} label="Copy address" />
          </p>
          <p>
            <code>{address.uri}</code> <CopyButton text={address.uri} label="Copy link" />
          </p>
          <p role="status">
            {received
              ? `Received ${sats(received.receivedSat)} — ${statusWords[received.status]}.`
              : 'Waiting for a payment…'}
          </p>
        </div>
      )}
    </section>
  )
}

export function HistoryPanel({ accountId }: { accountId: string }) {
  const [search, setSearch] = useState('')
  const history = useQuery(() => api.wallet.history({ accountId, search }), [accountId, search])
  useEvent('wallet', (e) => {
    if (e.type === 'transaction' || e.type === 'reorg' || e.type === 'status') history.refresh()
  })
  const csv = useMutation(() => api.wallet.historyCsv({ accountId }))
  const [chart, setChart] = useState(false)
  const [open, setOpen] = useState<string>()
  return (
    <section aria-labelledby="wallet-history">
      <h2 id="wallet-history">History</h2>
      <button aria-expanded={chart} onClick={() => setChart(!chart)}>
        {chart ? 'Hide the balance chart' : 'Show the balance chart'}
      </button>
      {chart && (
        <Suspense fallback={<p className="muted">Loading the chart…</p>}>
          <BalanceChart accountId={accountId} />
        </Suspense>
      )}
      <TextField
        id="wallet-history-search"
        label="Search (txid, label, address, amount)"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      <button
        onClick={async () => {
          const text = await csv.run(undefined)
          if (text === undefined) return
          const a = document.createElement('a')
          a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }))
          a.download = 'wallet-history.csv'
          a.click()
        }}
      >
        Export CSV
      </button>
      {history.error && <ErrorBox error={history.error} />}
      {history.data?.length === 0 && <p className="muted">No transactions.</p>}
      <table>
        <thead>
          <tr>
            <th>Date</th>
            <th>Amount</th>
            <th>Fee</th>
            <th>Status</th>
            <th>Label</th>
            <th>Transaction</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(history.data ?? []).map((t) => (
            <Fragment key={t.txid}>
              <tr>
                <td>{new Date(t.blockTime ?? t.firstSeen).toLocaleString()}</td>
                <td>{(t.netSat > 0 ? '+' : '') + sats(t.netSat)}</td>
                <td>{feeWords(t)}</td>
                <td>
                  {statusWords[t.status]}
                  {t.confirmations > 0 ? ` (${t.confirmations} conf.)` : ''}
                </td>
                <td>{t.label ?? ''}</td>
                <td>
                  <button
                    aria-expanded={open === t.txid}
                    aria-label={`Details of ${t.txid}`}
                    onClick={() => setOpen(open === t.txid ? undefined : t.txid)}
                  >
                    <code>{t.txid.slice(0, 12)}…</code>
                  </button>
                </td>
                <td>
                  <SpeedUp client={api.wallet} tx={t} onDone={history.refresh} />
                </td>
              </tr>
              {open === t.txid && (
                <tr>
                  <td colSpan={7}>
                    <TransactionDetail tx={t} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </section>
  )
}

/** The fee and its rate; on a deposit the sender paid it. Empty while inputs are unknown. */
function feeWords(t: WalletTransaction): string {
  if (t.feeSat === undefined) return ''
  const rate = t.feeRate !== undefined ? ` (${t.feeRate} sat/vB)` : ''
  return `${sats(t.feeSat)}${rate}${t.sentSat === 0 ? ', paid by the sender' : ''}`
}

function TransactionDetail({ tx }: { tx: WalletTransaction }) {
  return (
    <div aria-label={`Transaction ${tx.txid}`}>
      <p>
        <code>{tx.txid}</code> <CopyButton text={tx.txid} label="Copy transaction id" />
      </p>
      <dl>
        <dt>Fee</dt>
        <dd>
          {tx.feeSat === undefined
            ? 'not known yet (the wallet has not fetched the coins it spends)'
            : feeWords(tx)}
        </dd>
        <dt>Size</dt>
        <dd>{tx.vsize} vB</dd>
        {tx.blockHash && (
          <>
            <dt>Block</dt>
            <dd>
              {tx.height} <code>{tx.blockHash}</code>
            </dd>
          </>
        )}
      </dl>
      <h3>Inputs</h3>
      <ul>
        {tx.inputs.map((i) => (
          <li key={`${i.txid}:${i.vout}`}>
            {i.valueSat !== undefined ? sats(i.valueSat) : 'amount unknown'}
            {i.address ? ` from ${i.address}` : ''}
            {i.mine ? ' (this wallet)' : ''}
          </li>
        ))}
      </ul>
      <h3>Outputs</h3>
      <ul>
        {tx.outputs.map((o) => (
          <li key={o.vout}>
            {sats(o.valueSat)}
            {o.address ? ` to ${o.address}` : ''}
            {o.mine ? (o.chain === 1 ? ' (change, this wallet)' : ' (this wallet)') : ''}
          </li>
        ))}
      </ul>
    </div>
  )
}

export function CoinsPanel({ accountId }: { accountId: string }) {
  const coins = useQuery(() => api.wallet.coins({ accountId }), [accountId])
  useEvent('wallet', (e) => {
    if (e.type !== 'status') coins.refresh()
  })
  const freeze = useMutation((i: { outpoint: string; frozen: boolean }) =>
    api.wallet.setFrozen({ accountId, ...i }),
  )
  return (
    <section aria-labelledby="wallet-coins">
      <h2 id="wallet-coins">Coins</h2>
      {coins.error && <ErrorBox error={coins.error} />}
      {freeze.error && <ErrorBox error={freeze.error} />}
      {coins.data?.length === 0 && <p className="muted">No coins yet.</p>}
      <table>
        <thead>
          <tr>
            <th>Amount</th>
            <th>Confirmations</th>
            <th>Address</th>
            <th>Label</th>
            <th>Frozen</th>
          </tr>
        </thead>
        <tbody>
          {(coins.data ?? []).map((c) => (
            <tr key={c.outpoint}>
              <td>{sats(c.valueSat)}</td>
              <td>{c.verified ? c.confirmations : 'unconfirmed'}</td>
              <td>
                <code>{c.address}</code>
              </td>
              <td>{c.label ?? ''}</td>
              <td>
                <button
                  aria-pressed={c.frozen}
                  onClick={async () => {
                    if (await freeze.run({ outpoint: c.outpoint, frozen: !c.frozen }))
                      coins.refresh()
                  }}
                >
                  {c.frozen ? 'Unfreeze' : 'Freeze'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
