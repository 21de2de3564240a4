// Receive: an invoice with amount, memo and expiry, as QR and text. “Paid” appears the moment LND
// settles it: the engine forwards LND's invoice stream as `lightning/invoice` events.
import { useState } from 'react'
import type { CreatedInvoice } from '../../../shared/api/lightning'
import { api } from '../../api/client'
import { useEvent, useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { CopyButton } from '../ecash/CopyButton'
import { sats } from '../ecash/sats'
import { SelectField, TextField } from '../../shell/TextField'

const expiries = [
  { seconds: 600, label: '10 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '1 day' },
  { seconds: 7 * 86_400, label: '1 week' },
]

export function ReceivePanel() {
  const [amount, setAmount] = useState('')
  const [memo, setMemo] = useState('')
  const [expiry, setExpiry] = useState(3600)
  const [invoice, setInvoice] = useState<CreatedInvoice>()
  const create = useMutation((i: { amountSat: number; memo: string; expirySeconds: number }) =>
    api.lightning.createInvoice(i),
  )
  useEvent('lightning', (e) => {
    if (e.type === 'invoice' && invoice && e.invoice.id === invoice.id) {
      setInvoice({ ...invoice, ...e.invoice })
    }
  })
  const n = Number(amount)
  const valid = Number.isInteger(n) && n > 0

  return (
    <section aria-labelledby="ln-receive">
      <h2 id="ln-receive">Receive</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          if (!valid) return
          const inv = await create.run({ amountSat: n, memo, expirySeconds: expiry })
          if (inv) setInvoice(inv)
        }}
      >
        <TextField
          id="ln-receive-amount"
          label="Amount (sat)"
          inputMode="numeric"
          value={amount}
          onChange={(e) => setAmount(e.target.value.replace(/[^0-9]/g, ''))}
        />
        <TextField
          id="ln-receive-memo"
          label="Memo (the payer sees it)"
          maxLength={600}
          value={memo}
          onChange={(e) => setMemo(e.target.value)}
        />
        <SelectField
          id="ln-receive-expiry"
          label="Valid for"
          value={expiry}
          onChange={(e) => setExpiry(Number(e.target.value))}
        >
          {expiries.map((x) => (
            <option key={x.seconds} value={x.seconds}>
              {x.label}
            </option>
          ))}
        </SelectField>
        <button type="submit" className="primary" disabled={!valid || create.pending}>
          {create.pending ? 'Creating…' : 'Create invoice'}
        </button>
      </form>
      {create.error && <ErrorBox error={create.error} />}
      {invoice && (
        <div className="card" style={{ marginTop: '1rem' }}>
          {invoice.state === 'paid' ? (
            <p role="status" className="notice tone-ok">
              Paid: {sats(invoice.receivedSat)} received.
            </p>
          ) : invoice.state === 'open' ? (
            <p role="status">
              Waiting for {sats(invoice.amountSat)} — valid until{' '}
              {new Date(invoice.expiresAt).toLocaleString()}.
            </p>
          ) : (
            <p role="status">This invoice is {invoice.state}. Create a new one.</p>
          )}
          {invoice.state === 'open' && invoice.qr && (
            <img
              src={invoice.qr}
              alt="QR code of the invoice"
              width={260}
              height={260}
              style={{ background: '#fff' }}
            />
          )}
          <p>
            <code style={{ overflowWrap: 'anywhere' }} data-testid="ln-invoice-text">
              {invoice.request}
            </code>
          </p>
          <CopyButton text={invoice.request} label="Copy invoice" />
        </div>
      )}
    </section>
  )
}
