// The shop (issue 12): BTCPay set up by the box step by step, then sales (today by hour, the week
// by day), a sale made from the box with its QR and "paid" live from BTCPay's webhook, a sale paid
// with the box's eCash after a review, invoices with search and refunds, the point of sale's link
// and QR for the shop's tablet, payouts, rewards and BTCPay's own login.
import { lazy, Suspense, useState } from 'react'
import type { PageProps } from '../types'
import type { EcashPayReview, MerchantInvoice, MerchantStatus } from '../../../shared/api/merchant'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { ErrorBox, Spinner } from '../../shell/common'
import { InvoicesPanel, PayoutsPanel, RewardsPanel, rewardWords } from './MerchantPanels'
import { RewardToPicker, type RewardToChoice } from './RewardTo'
import { money } from './money'
import FlashCards from './FlashCards'
import { TabList, tabPanelProps, type TabItem } from '../../shell/TabList'
import { TextField } from '../../shell/TextField'

// uPlot loads with the chart, on first sight of the sales (as the wallet's balance chart).
const SalesChart = lazy(() => import('./SalesChart'))

const stepWords = { todo: 'to do', running: 'working…', done: 'done', failed: 'stopped' } as const

export default function MerchantPage(_props: PageProps) {
  const status = useQuery(() => api.merchant.status({}), [])
  useEvent('merchant', (e) => {
    if (e.type === 'setup') status.setData((s) => (s ? { ...s, steps: e.steps } : s))
    // A payment notice arrived: the counts in the header follow.
    if (e.type === 'invoice' && e.invoice.status === 'Settled') status.refresh()
  })
  const s = status.data
  return (
    <div className="page">
      <h1>Merchant</h1>
      {status.error && <ErrorBox error={status.error} />}
      {!s && !status.error && <Spinner label="Loading the shop…" />}
      {s && !s.ready && (
        <SetupPanel status={s} onDone={(r) => (r ? status.setData(r) : status.refresh())} />
      )}
      {s?.ready && <Shop status={s} />}
    </div>
  )
}

function SetupPanel({
  status,
  onDone,
}: {
  status: MerchantStatus
  onDone: (s: MerchantStatus | undefined) => void
}) {
  const [shopName, setShopName] = useState(status.shop?.name ?? '')
  const [currency, setCurrency] = useState(status.shop?.currency ?? 'EUR')
  const setup = useMutation((i: { shopName: string; currency: string }) => api.merchant.setup(i))
  return (
    <section aria-labelledby="merchant-setup">
      <h2 id="merchant-setup">Set up BTCPay</h2>
      <p>
        The box makes BTCPay’s administrator (its password stays in the box’s encrypted secrets),
        your shop, a key that can only manage this shop, connects your Lightning and your wallet
        (BTCPay sees only its public key) and tells BTCPay to notify the box of every payment. If it
        stops, press the button again: it continues where it stopped.
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          onDone(await setup.run({ shopName, currency }))
        }}
      >
        <TextField
          id="merchant-shop"
          label="Shop name"
          value={shopName}
          onChange={(e) => setShopName(e.target.value)}
        />
        <TextField
          id="merchant-currency"
          label="Currency"
          value={currency}
          onChange={(e) => setCurrency(e.target.value)}
        />
        <button type="submit" disabled={!shopName.trim() || setup.pending}>
          {status.steps.some((st) => st.state === 'done') ? 'Continue the set-up' : 'Set up BTCPay'}
        </button>
      </form>
      <ol aria-label="Set-up steps">
        {status.steps.map((st) => (
          <li key={st.id} data-state={st.state}>
            {st.title}: <strong>{stepWords[st.state]}</strong>
          </li>
        ))}
      </ol>
      {setup.error && <ErrorBox error={setup.error} title="The set-up stopped" />}
      {!setup.error && status.problem && <ErrorBox error={status.problem} />}
    </section>
  )
}

type ShopTab = 'sell' | 'invoices' | 'payouts' | 'rewards' | 'cards' | 'btcpay'

const shopTabs: TabItem<ShopTab>[] = [
  { id: 'sell', label: 'Sell' },
  { id: 'invoices', label: 'Invoices' },
  { id: 'payouts', label: 'Refunds & payouts' },
  { id: 'rewards', label: 'Rewards' },
  { id: 'cards', label: 'Flash Cards' },
  { id: 'btcpay', label: 'BTCPay' },
]

function Shop({ status }: { status: MerchantStatus }) {
  const currency = status.shop?.currency ?? 'EUR'
  const [tab, setTab] = useState<ShopTab>('sell')
  return (
    <>
      <p className="muted">
        {status.shop?.name} · prices in {currency} · {status.webhooks.received} payment notices
        received
        {status.webhooks.refused > 0 && `, ${status.webhooks.refused} refused (bad signature)`}
      </p>
      <SalesPanel currency={currency} />
      <TabList
        label="Merchant"
        idPrefix="merchant"
        tabs={shopTabs}
        selected={tab}
        onSelect={setTab}
      />
      <div {...tabPanelProps('merchant', tab)} className="tabpanel">
        {tab === 'sell' && <SellPanel status={status} currency={currency} />}
        {tab === 'invoices' && <InvoicesPanel />}
        {tab === 'payouts' && <PayoutsPanel />}
        {tab === 'rewards' && <RewardsPanel rule={status.rewards} />}
        {tab === 'cards' && <FlashCards />}
        {tab === 'btcpay' && <BtcpayPanel status={status} />}
      </div>
    </>
  )
}

function SalesPanel({ currency }: { currency: string }) {
  const sales = useQuery(() => api.merchant.sales({}), [])
  useEvent('merchant', (e) => {
    if (e.type === 'invoice' && e.invoice.status === 'Settled') sales.refresh()
  })
  const d = sales.data
  return (
    <section aria-labelledby="merchant-sales">
      <h2 id="merchant-sales">Sales</h2>
      {sales.error && <ErrorBox error={sales.error} />}
      {d && (
        <>
          <p>
            Today: <strong data-testid="sales-today">{money(d.todayTotal, d.currency)}</strong> ·
            this week: <strong data-testid="sales-week">{money(d.weekTotal, d.currency)}</strong>
          </p>
          <Suspense fallback={<p className="muted">Loading the chart…</p>}>
            <SalesChart title="Today, by hour" data={d} which="today" currency={currency} />
            <SalesChart title="This week, by day" data={d} which="week" currency={currency} />
          </Suspense>
        </>
      )}
    </section>
  )
}

type Sale = MerchantInvoice & { bolt11?: string; qr?: string }

function SellPanel({ status, currency }: { status: MerchantStatus; currency: string }) {
  const [amount, setAmount] = useState('')
  const [description, setDescription] = useState('')
  const [sale, setSale] = useState<Sale>()
  const [rewardTo, setRewardTo] = useState<RewardToChoice>()
  const create = useMutation(
    (i: { amount: string; description?: string; rewardTo?: { card: string } | { npub: string } }) =>
      api.merchant.createInvoice(i),
  )
  useEvent('merchant', (e) => {
    if (e.type === 'invoice' && sale && e.invoice.id === sale.id)
      setSale((prev) => (prev ? { ...prev, ...e.invoice } : prev))
  })
  return (
    <section aria-labelledby="merchant-sell">
      <h2 id="merchant-sell">New sale</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          const r = await create.run({
            amount,
            ...(description.trim() ? { description } : {}),
            ...(rewardTo && !('claim' in rewardTo) ? { rewardTo } : {}),
          })
          if (r) setSale(r)
        }}
      >
        <TextField
          id="sale-amount"
          label={<>Amount ({currency})</>}
          inputMode="decimal"
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
        />
        <TextField
          id="sale-description"
          label="What was sold (optional)"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        {status.rewards.enabled && (
          <RewardToPicker label="The reward goes to" onChange={setRewardTo} />
        )}
        <button type="submit" disabled={!amount.trim() || create.pending}>
          Charge
        </button>
      </form>
      {create.error && <ErrorBox error={create.error} />}
      {sale && <SaleCard sale={sale} />}
      {status.pos && (
        <section aria-labelledby="merchant-pos">
          <h3 id="merchant-pos">Point of sale for the shop’s tablet</h3>
          <p>
            Open this on the tablet (BTCPay’s point of sale):{' '}
            <a href={status.pos.url} target="_blank" rel="noreferrer">
              {status.pos.url}
            </a>
          </p>
          {status.pos.qr && (
            <img src={status.pos.qr} alt="QR code of the point of sale link" width={180} />
          )}
        </section>
      )}
    </section>
  )
}

function SaleCard({ sale }: { sale: Sale }) {
  const paid = sale.status === 'Settled'
  return (
    <div className="card" aria-label="Sale">
      <p role="status">
        {money(sale.amount, sale.currency)} ·{' '}
        <strong data-testid="sale-status">
          {paid ? 'Paid' : sale.status === 'Expired' ? 'Expired' : 'Waiting for payment'}
        </strong>
      </p>
      {!paid && sale.qr && <img src={sale.qr} alt="Lightning invoice QR code" width={220} />}
      {!paid && sale.bolt11 && (
        <p>
          <code className="wrap">{sale.bolt11}</code>
        </p>
      )}
      {!paid && sale.status === 'New' && <EcashPay invoiceId={sale.id} />}
      {paid && sale.reward && sale.reward.method !== 'claim' && (
        <p role="status" aria-label="Reward">
          {rewardWords(sale.reward)}
        </p>
      )}
      {paid && sale.reward?.claimLink && (
        <div>
          <p>
            Reward for the customer: {money(sale.reward.amount, sale.reward.currency)} — scan to
            claim:
          </p>
          {sale.reward.qr && <img src={sale.reward.qr} alt="Reward QR code" width={160} />}
          <p>
            <a href={sale.reward.claimLink}>{sale.reward.claimLink}</a>
          </p>
        </div>
      )}
    </div>
  )
}

/** Paying the sale with the box's own eCash: review first, nothing moves before confirming. */
function EcashPay({ invoiceId }: { invoiceId: string }) {
  const [review, setReview] = useState<EcashPayReview>()
  const [done, setDone] = useState<string>()
  const ask = useMutation(() => api.merchant.ecashPayReview({ invoiceId }))
  const pay = useMutation((reviewId: string) => api.merchant.ecashPayConfirm({ reviewId }))
  if (done) return <p role="status">{done}</p>
  return (
    <div>
      {!review && (
        <button
          type="button"
          disabled={ask.pending}
          onClick={async () => setReview(await ask.run(undefined))}
        >
          Pay with the box’s eCash…
        </button>
      )}
      {review && (
        <div aria-label="eCash payment review">
          {review.insideBox ? (
            <p>
              Pay {review.amountSat.toLocaleString('en-US')} sat from the box’s eCash. Fee 0 sat:
              the payment stays inside this box (its mint and the shop share one Lightning node, so
              no Lightning payment is made).
            </p>
          ) : (
            <p>
              Pay {review.amountSat.toLocaleString('en-US')} sat from the box’s eCash (up to{' '}
              {review.feeReserveSat.toLocaleString('en-US')} sat Lightning fee, unused fee comes
              back).
            </p>
          )}
          <button
            type="button"
            disabled={pay.pending}
            onClick={async () => {
              const r = await pay.run(review.reviewId)
              if (r)
                setDone(
                  r.state === 'paid'
                    ? `Paid with eCash (fee ${r.feeSat} sat).`
                    : 'Sent; waiting for Lightning to confirm.',
                )
            }}
          >
            Confirm eCash payment
          </button>{' '}
          <button type="button" onClick={() => setReview(undefined)}>
            Cancel
          </button>
        </div>
      )}
      {ask.error && <ErrorBox error={ask.error} />}
      {pay.error && <ErrorBox error={pay.error} />}
    </div>
  )
}

function BtcpayPanel({ status }: { status: MerchantStatus }) {
  const [password, setPassword] = useState('')
  const login = useMutation((p: string) => api.merchant.btcpayLogin({ password: p }))
  const [shown, setShown] = useState<{
    url: string
    email: string
    password: string
    note: string
  }>()
  return (
    <section aria-labelledby="merchant-btcpay">
      <h2 id="merchant-btcpay">BTCPay’s own pages</h2>
      <p>
        BTCPay is at{' '}
        <a href={status.btcpayUrl} target="_blank" rel="noreferrer">
          {status.btcpayUrl}
        </a>
        . To log in there, show the administrator’s login (needs your owner password).
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          const r = await login.run(password)
          setPassword('')
          if (r) setShown(r)
        }}
      >
        <TextField
          id="btcpay-owner-password"
          label="Owner password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" disabled={!password || login.pending}>
          Show BTCPay login
        </button>
      </form>
      {login.error && <ErrorBox error={login.error} />}
      {shown && (
        <div className="card">
          <p className="muted">{shown.note}</p>
          <p>
            E-mail: <code>{shown.email}</code>
            <br />
            Password: <code>{shown.password}</code>
          </p>
          <a href={shown.url} target="_blank" rel="noreferrer">
            Open BTCPay’s login page
          </a>{' '}
          <button type="button" onClick={() => setShown(undefined)}>
            Hide
          </button>
        </div>
      )}
    </section>
  )
}
