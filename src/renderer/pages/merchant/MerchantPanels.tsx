// The merchant page's tabs: invoices (search, states, refunds), refunds & payouts, rewards
// (the rule, how rewards are delivered, the ledger with each reward's state and a retry).
import { useState } from 'react'
import type {
  MerchantInvoice,
  MerchantInvoiceStatus,
  MerchantPullPayment,
  MerchantReward,
  RewardDelivery,
  RewardLedgerEntry,
  RewardMethod,
  RewardRule,
} from '../../../shared/api/merchant'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { ErrorBox, Spinner } from '../../shell/common'
import { money } from './money'
import { RewardToPicker, type RewardToChoice } from './RewardTo'
import { SelectField, TextField } from '../../shell/TextField'

const statusWords: Record<MerchantInvoiceStatus, string> = {
  New: 'waiting for payment',
  Processing: 'paid, confirming',
  Expired: 'expired',
  Invalid: 'invalid',
  Settled: 'paid',
}

export function InvoicesPanel() {
  const [search, setSearch] = useState('')
  const [status, setStatus] = useState<MerchantInvoiceStatus | ''>('')
  const list = useQuery(
    () => api.merchant.invoices({ ...(search ? { search } : {}), ...(status ? { status } : {}) }),
    [search, status],
  )
  useEvent('merchant', (e) => {
    if (e.type !== 'invoice') return
    list.setData((rows) => rows?.map((r) => (r.id === e.invoice.id ? e.invoice : r)))
  })
  const [refund, setRefund] = useState<MerchantPullPayment>()
  const make = useMutation((invoiceId: string) =>
    api.merchant.refund({ invoiceId, variant: 'Fiat' }),
  )
  return (
    <section aria-labelledby="merchant-invoices">
      <h2 id="merchant-invoices">Invoices</h2>
      <TextField
        id="invoice-search"
        label="Search (order, item, amount or invoice number)"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      <SelectField
        id="invoice-status"
        label="State"
        value={status}
        onChange={(e) => setStatus(e.target.value as MerchantInvoiceStatus | '')}
      >
        <option value="">All</option>
        {(Object.keys(statusWords) as MerchantInvoiceStatus[]).map((s) => (
          <option key={s} value={s}>
            {statusWords[s]}
          </option>
        ))}
      </SelectField>
      {list.error && <ErrorBox error={list.error} />}
      {!list.data && !list.error && <Spinner label="Loading invoices…" />}
      {list.data && list.data.length === 0 && <p className="muted">No invoices.</p>}
      {list.data && list.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Date</th>
              <th>What</th>
              <th>Amount</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.map((i: MerchantInvoice) => (
              <tr key={i.id} data-invoice={i.id}>
                <td>{new Date(i.createdAt).toLocaleString()}</td>
                <td>{i.description ?? i.orderId ?? i.id}</td>
                <td>{money(i.amount, i.currency)}</td>
                <td>
                  {statusWords[i.status]}
                  {i.additionalStatus === 'Marked' ? ' (marked by hand)' : ''}
                  {i.reward ? ` · reward ${money(i.reward.amount, i.reward.currency)}` : ''}
                </td>
                <td>
                  {i.status === 'Settled' && (
                    <button
                      type="button"
                      disabled={make.pending}
                      onClick={async () => setRefund(await make.run(i.id))}
                    >
                      Refund
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {make.error && <ErrorBox error={make.error} />}
      {refund && <PullPaymentCard pp={refund} title="Refund ready for the customer" />}
    </section>
  )
}

function PullPaymentCard({ pp, title }: { pp: MerchantPullPayment; title: string }) {
  return (
    <div className="card" aria-label={title}>
      <h3>{title}</h3>
      <p>
        {money(pp.amount, pp.currency)} — the customer claims it from this link (they give a
        Lightning invoice or address):
      </p>
      {pp.qr && <img src={pp.qr} alt={`${title} QR code`} width={180} />}
      <p>
        <a href={pp.link}>{pp.link}</a>
      </p>
    </div>
  )
}

export function PayoutsPanel() {
  const payouts = useQuery(() => api.merchant.payouts({}), [])
  const pulls = useQuery(() => api.merchant.pullPayments({}), [])
  const approve = useMutation((p: { payoutId: string; revision: number }) =>
    api.merchant.approvePayout(p),
  )
  const markPaid = useMutation((payoutId: string) => api.merchant.markPayoutPaid({ payoutId }))
  const [sat, setSat] = useState('')
  const toWallet = useMutation((amountSat: number) => api.merchant.payoutToWallet({ amountSat }))
  return (
    <section aria-labelledby="merchant-payouts">
      <h2 id="merchant-payouts">Payouts</h2>
      <p className="muted">
        Claims on refunds and rewards. BTCPay pays an approved Lightning payout from the box’s
        Lightning; mark it paid when it is done.
      </p>
      {payouts.error && <ErrorBox error={payouts.error} />}
      {payouts.data && payouts.data.length === 0 && <p className="muted">No payouts.</p>}
      {payouts.data && payouts.data.length > 0 && (
        <ul>
          {payouts.data.map((p) => (
            <li key={p.id}>
              {money(p.amount, p.currency)} to <code>{p.destination.slice(0, 24)}…</code> ·{' '}
              {p.state}{' '}
              {p.state === 'AwaitingApproval' && (
                <button
                  type="button"
                  onClick={async () => {
                    if (await approve.run({ payoutId: p.id, revision: p.revision }))
                      payouts.refresh()
                  }}
                >
                  Approve
                </button>
              )}
              {(p.state === 'AwaitingPayment' || p.state === 'InProgress') && (
                <button
                  type="button"
                  onClick={async () => {
                    if (await markPaid.run(p.id)) payouts.refresh()
                  }}
                >
                  Mark paid
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {approve.error && <ErrorBox error={approve.error} />}
      {markPaid.error && <ErrorBox error={markPaid.error} />}
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          if (await toWallet.run(Number(sat))) {
            setSat('')
            payouts.refresh()
          }
        }}
      >
        <TextField
          id="payout-wallet"
          label="Pay out to my on-chain wallet (sat)"
          inputMode="numeric"
          value={sat}
          onChange={(e) => setSat(e.target.value)}
        />
        <button type="submit" disabled={!/^\d+$/.test(sat) || toWallet.pending}>
          Make payout
        </button>
      </form>
      {toWallet.error && <ErrorBox error={toWallet.error} />}
      <h3>Refunds and rewards offered</h3>
      {pulls.error && <ErrorBox error={pulls.error} />}
      <ul>
        {(pulls.data ?? []).map((p) => (
          <li key={p.id}>
            {p.name}: {money(p.amount, p.currency)}
            {p.archived ? ' (closed)' : ''} · <a href={p.link}>claim link</a>
          </li>
        ))}
      </ul>
    </section>
  )
}

const deliveryWords: Record<RewardDelivery, string> = {
  auto: 'To the card or npub the sale names, else a claim QR',
  claim: 'Always a claim QR on the receipt',
  card: 'Onto the customer’s Flash Card',
  nostr: 'eCash by Nostr private message',
}

const methodWords: Record<RewardMethod, string> = {
  claim: 'claim QR',
  card: 'Flash Card top-up',
  nostr: 'eCash by Nostr message',
}

/** A reward's state in words, e.g. "Reward 1,000 sat onto the card Ada: delivered". */
export function rewardWords(r: MerchantReward): string {
  const amount =
    r.amountSat !== undefined
      ? `${r.amountSat.toLocaleString('en')} sat`
      : money(r.amount, r.currency)
  const where =
    r.method === 'card'
      ? ` onto the card ${r.to ?? '(none named)'}`
      : r.method === 'nostr'
        ? ` as eCash to ${r.to ?? '(no npub named)'}`
        : ' as a claim QR'
  const state =
    r.state === 'issued'
      ? 'delivered'
      : r.state === 'pending'
        ? 'on its way'
        : `not delivered — ${r.reason ?? 'it stopped'}`
  return `Reward ${amount}${where}: ${state}`
}

function RewardRow({ r, onDone }: { r: RewardLedgerEntry; onDone: () => void }) {
  const [to, setTo] = useState<RewardToChoice>()
  const retry = useMutation(
    (i: { invoiceId: string; to?: { card: string } | { npub: string } | { claim: true } }) =>
      api.merchant.retryReward(i),
  )
  // Another customer can be named only before anything moved.
  const notStarted = !r.step && !r.reference
  return (
    <li aria-label={`Reward for sale ${r.invoiceId}`}>
      {new Date(r.createdAt).toLocaleString()}:{' '}
      {r.rewardSat !== undefined
        ? `${r.rewardSat.toLocaleString('en')} sat (${money(r.rewardAmount, r.currency)})`
        : money(r.rewardAmount, r.currency)}{' '}
      ({r.percent}% of {money(r.invoiceAmount, r.currency)}) · {methodWords[r.method]}
      {r.to ? ` to ${r.to}` : ''} ·{' '}
      <strong data-testid="reward-status">
        {r.state === 'issued' ? 'delivered' : r.state === 'pending' ? 'on its way' : 'failed'}
      </strong>
      {r.state === 'failed' && r.reason && <span role="alert"> — {r.reason}</span>}
      {r.state === 'failed' && (
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            if (await retry.run({ invoiceId: r.invoiceId, ...(to ? { to } : {}) })) onDone()
          }}
        >
          {notStarted && <RewardToPicker label="Send it to" onChange={setTo} retry />}
          <button type="submit" disabled={retry.pending}>
            Retry
          </button>
          {retry.error && <ErrorBox error={retry.error} />}
        </form>
      )}
    </li>
  )
}

export function RewardsPanel({ rule }: { rule: RewardRule }) {
  const [enabled, setEnabled] = useState(rule.enabled)
  const [percent, setPercent] = useState(String(rule.percent || 2))
  const [delivery, setDelivery] = useState<RewardDelivery>(rule.delivery ?? 'auto')
  const save = useMutation((r: RewardRule) => api.merchant.setRewardRule(r))
  const ledger = useQuery(() => api.merchant.rewardLedger({}), [])
  useEvent('merchant', (e) => {
    if (e.type === 'reward') ledger.refresh()
  })
  const csv = useMutation(() => api.merchant.rewardLedgerCsv({}))
  const [saved, setSaved] = useState(false)
  return (
    <section aria-labelledby="merchant-rewards">
      <h2 id="merchant-rewards">Rewards</h2>
      <p>
        Give back a share of every paid sale, once per sale: as a claim QR on the receipt, as a
        top-up of the customer’s Flash Card, or as eCash from the box’s eCash wallet sent to the
        customer’s Nostr key in a private message. The customer is named when the sale is made (“The
        reward goes to”), or here when a reward waits for one.
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          setSaved(false)
          if (await save.run({ enabled, percent: Number(percent), delivery })) setSaved(true)
        }}
      >
        <label>
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />{' '}
          Give rewards
        </label>
        <TextField
          id="reward-percent"
          label="Percent of each sale"
          inputMode="decimal"
          value={percent}
          onChange={(e) => setPercent(e.target.value)}
        />
        <SelectField
          id="reward-delivery"
          label="How rewards reach the customer"
          value={delivery}
          onChange={(e) => setDelivery(e.target.value as RewardDelivery)}
        >
          {(Object.keys(deliveryWords) as RewardDelivery[]).map((d) => (
            <option key={d} value={d}>
              {deliveryWords[d]}
            </option>
          ))}
        </SelectField>
        <button type="submit" disabled={save.pending || !(Number(percent) >= 0)}>
          Save rule
        </button>
        {saved && <span role="status"> Saved.</span>}
      </form>
      {save.error && <ErrorBox error={save.error} />}
      <h3>Ledger</h3>
      {ledger.error && <ErrorBox error={ledger.error} />}
      <ul aria-label="Rewards ledger">
        {(ledger.data ?? []).map((r) => (
          <RewardRow key={r.invoiceId} r={r} onDone={ledger.refresh} />
        ))}
      </ul>
      <button
        type="button"
        disabled={csv.pending}
        onClick={async () => {
          const text = await csv.run(undefined)
          if (text === undefined) return
          const a = document.createElement('a')
          a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }))
          a.download = 'rewards.csv'
          a.click()
        }}
      >
        Export ledger (CSV)
      </button>
      {csv.error && <ErrorBox error={csv.error} />}
    </section>
  )
}
