// Pay: paste an invoice, review what it asks (amount, payee, description, expiry) and the fee
// limit, then pay. Nothing is sent before the review step; the result is in plain words.
import { useState } from 'react'
import type { DecodedInvoice, PaymentView } from '../../../shared/api/lightning'
import { api } from '../../api/client'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { sats } from '../ecash/sats'
import { TextAreaField, TextField } from '../../shell/TextField'

export function PayPanel() {
  const [request, setRequest] = useState('')
  const [decoded, setDecoded] = useState<DecodedInvoice>()
  const [amount, setAmount] = useState('')
  const [feeLimit, setFeeLimit] = useState('')
  const [result, setResult] = useState<PaymentView>()
  const decode = useMutation((r: string) => api.lightning.decodeInvoice({ request: r }))
  const pay = useMutation((i: { request: string; amountSat?: number; feeLimitSat: number }) =>
    api.lightning.pay(i),
  )
  const reset = () => {
    setDecoded(undefined)
    setResult(undefined)
    pay.reset()
  }

  return (
    <section aria-labelledby="ln-pay">
      <h2 id="ln-pay">Pay an invoice</h2>
      {!decoded && (
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            const d = await decode.run(request.trim())
            if (d) {
              setDecoded(d)
              setFeeLimit(String(d.suggestedFeeLimitSat))
            }
          }}
        >
          <TextAreaField
            id="ln-pay-request"
            label="Invoice"
            rows={4}
            spellCheck={false}
            value={request}
            onChange={(e) => setRequest(e.target.value)}
          />
          <button type="submit" className="primary" disabled={!request.trim() || decode.pending}>
            Review
          </button>
          {decode.error && <ErrorBox error={decode.error} />}
        </form>
      )}
      {decoded && !result && (
        <div className="card" aria-labelledby="ln-pay-review">
          <h3 id="ln-pay-review">Review the payment</h3>
          <dl className="facts">
            <dt>Amount</dt>
            <dd>{decoded.amountSat !== null ? sats(decoded.amountSat) : 'Not set: you choose'}</dd>
            <dt>To</dt>
            <dd>
              <code style={{ overflowWrap: 'anywhere' }}>{decoded.payee}</code>
            </dd>
            <dt>Description</dt>
            <dd>{decoded.description || <span className="muted">none</span>}</dd>
            <dt>Expires</dt>
            <dd>
              {new Date(decoded.expiresAt).toLocaleString()}
              {decoded.expired && <strong> — expired</strong>}
            </dd>
          </dl>
          {decoded.amountSat === null && (
            <TextField
              id="ln-pay-amount"
              label="Amount to pay (sat)"
              inputMode="numeric"
              value={amount}
              onChange={(e) => setAmount(e.target.value.replace(/[^0-9]/g, ''))}
            />
          )}
          <TextField
            id="ln-pay-fee"
            label="Most you will pay in routing fees (sat)"
            inputMode="numeric"
            value={feeLimit}
            onChange={(e) => setFeeLimit(e.target.value.replace(/[^0-9]/g, ''))}
          />
          <button
            type="button"
            className="primary"
            disabled={pay.pending || decoded.expired || feeLimit === ''}
            onClick={async () => {
              const r = await pay.run({
                request: request.trim(),
                ...(decoded.amountSat === null && amount ? { amountSat: Number(amount) } : {}),
                feeLimitSat: Number(feeLimit),
              })
              if (r) setResult(r)
            }}
          >
            {pay.pending ? 'Paying…' : 'Pay'}
          </button>{' '}
          <button type="button" onClick={reset} disabled={pay.pending}>
            Cancel
          </button>
          {pay.error && <ErrorBox error={pay.error} />}
        </div>
      )}
      {result && (
        <div className="card" role="status">
          {result.state === 'succeeded' ? (
            <p className="notice tone-ok">
              Paid {sats(result.amountSat)}
              {result.feeSat !== undefined ? ` (fee ${sats(result.feeSat)})` : ''}.
            </p>
          ) : result.state === 'failed' ? (
            <p className="notice tone-bad">Not paid: {result.failureText}</p>
          ) : (
            <p className="notice tone-warn">
              The payment is still on its way. Flash Box follows it and the history shows the
              result; it is never sent twice.
            </p>
          )}
          <button
            type="button"
            onClick={() => {
              reset()
              setRequest('')
            }}
          >
            Pay another invoice
          </button>
        </div>
      )}
    </section>
  )
}
