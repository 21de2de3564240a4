// Pay a Lightning invoice with ecash (melt): quote first — amount and the most the fee can be —
// then confirm. Unused fee reserve comes back as change.
import { useState } from 'react'
import type { MeltQuoteView, MeltResult, MintBalance } from '../../../shared/api/ecash'
import { api } from '../../api/client'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { sats, shortUrl } from './sats'
import { TextAreaField } from '../../shell/TextField'

export function PayPanel({ balances }: { balances: readonly MintBalance[] }) {
  const [invoice, setInvoice] = useState('')
  const [quote, setQuote] = useState<MeltQuoteView>()
  const [paid, setPaid] = useState<MeltResult>()
  const ask = useMutation((inv: string) => api.ecash.meltQuote({ invoice: inv }))
  const pay = useMutation((quoteId: string) => api.ecash.melt({ quoteId }))
  const available = quote ? (balances.find((b) => b.mintUrl === quote.mintUrl)?.spendable ?? 0) : 0

  if (paid) {
    return (
      <div role="status" className="notice tone-ok">
        {paid.state === 'paid' ? (
          <p>
            Paid {sats(paid.amount)}. Lightning fee {sats(paid.fee)}
            {paid.change ? `; ${sats(paid.change)} of unused fee reserve came back` : ''}.
          </p>
        ) : (
          <p>
            The payment of {sats(paid.amount)} is on its way. The wallet finishes it by itself; see
            the history.
          </p>
        )}
        <button
          type="button"
          onClick={() => {
            setPaid(undefined)
            setQuote(undefined)
            setInvoice('')
          }}
        >
          Pay another invoice
        </button>
      </div>
    )
  }

  return (
    <section aria-labelledby="ecash-pay">
      <h2 id="ecash-pay">Pay a Lightning invoice</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          setQuote(undefined)
          const q = await ask.run(invoice)
          if (q) setQuote(q)
        }}
      >
        <TextAreaField
          id="ecash-invoice"
          label="Invoice (starts with “lnbc”, “lntb” or “lnbcrt”)"
          rows={3}
          spellCheck={false}
          value={invoice}
          onChange={(e) => setInvoice(e.target.value)}
        />
        <button type="submit" disabled={!invoice.trim() || ask.pending}>
          {ask.pending ? 'Asking the mint…' : 'Get the fee'}
        </button>
      </form>
      {ask.error && <ErrorBox error={ask.error} />}
      {quote && (
        <div className="card" style={{ marginTop: '1rem' }}>
          <dl className="facts">
            <dt>Amount</dt>
            <dd>{sats(quote.amount)}</dd>
            <dt>Lightning fee</dt>
            <dd>at most {sats(quote.feeReserve)} (what is not used comes back)</dd>
            <dt>Paid from</dt>
            <dd>
              {shortUrl(quote.mintUrl)} ({sats(available)} available)
            </dd>
          </dl>
          <button
            type="button"
            className="primary"
            disabled={pay.pending}
            onClick={async () => {
              const r = await pay.run(quote.quoteId)
              if (r) setPaid(r)
            }}
          >
            {pay.pending ? 'Paying…' : `Pay ${sats(quote.amount)}`}
          </button>
          {pay.error && <ErrorBox error={pay.error} />}
        </div>
      )}
    </section>
  )
}
