// Receive: an invoice to pay from any Lightning wallet (the ecash is minted when it is paid), or a
// token someone gave you (claimed now, or kept and claimed later when its mint is offline).
import { useState } from 'react'
import type { MintQuoteView, ReceiveResult } from '../../../shared/api/ecash'
import { api } from '../../api/client'
import { useEvent, useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { CopyButton } from './CopyButton'
import { sats, shortUrl } from './sats'
import { TextAreaField, TextField } from '../../shell/TextField'

export function ReceivePanel({ receivePubkey }: { receivePubkey?: string }) {
  return (
    <div>
      <LightningReceive />
      <TokenReceive />
      {receivePubkey && (
        <section aria-labelledby="ecash-receive-key">
          <h2 id="ecash-receive-key">Your receive key</h2>
          <p className="muted">
            Give this key to someone who wants to send you a locked token: only this box can claim
            it, even if the token is seen by others.
          </p>
          <p>
            <code style={{ overflowWrap: 'anywhere' }}>{receivePubkey}</code>{' '}
            <CopyButton text={receivePubkey} label="Copy key" />
          </p>
        </section>
      )}
    </div>
  )
}

function LightningReceive() {
  const [amount, setAmount] = useState('')
  const [quote, setQuote] = useState<MintQuoteView>()
  const create = useMutation((n: number) => api.ecash.mintQuote({ amount: n }))
  const check = useMutation((quoteId: string) => api.ecash.checkMintQuote({ quoteId }))
  useEvent('ecash', (e) => {
    if (quote && e.type === 'quote-paid' && e.quoteId === quote.quoteId) {
      setQuote({ ...quote, state: 'paid' })
    }
    if (quote && e.type === 'history' && e.entry.kind === 'minted' && e.entry.state === 'done') {
      void check.run(quote.quoteId).then((q) => q && setQuote(q))
    }
  })
  const n = Number(amount)
  const valid = Number.isInteger(n) && n > 0

  return (
    <section aria-labelledby="ecash-receive-ln">
      <h2 id="ecash-receive-ln">From Lightning</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          if (!valid) return
          const q = await create.run(n)
          if (q) setQuote(q)
        }}
      >
        <TextField
          id="ecash-mint-amount"
          label="Amount (sat)"
          inputMode="numeric"
          value={amount}
          onChange={(e) => setAmount(e.target.value.replace(/[^0-9]/g, ''))}
        />
        <button type="submit" className="primary" disabled={!valid || create.pending}>
          {create.pending ? 'Asking the mint…' : 'Create invoice'}
        </button>
      </form>
      {create.error && <ErrorBox error={create.error} />}
      {quote && (
        <div className="card" style={{ marginTop: '1rem' }}>
          {quote.state === 'issued' ? (
            <p role="status">
              Received {sats(quote.amount)} from Lightning. It is in your balance.
            </p>
          ) : quote.state === 'expired' ? (
            <p role="status">This invoice expired unpaid. Create a new one.</p>
          ) : (
            <>
              <p role="status">
                {quote.state === 'paid'
                  ? 'Paid — minting your ecash…'
                  : `Pay this invoice for ${sats(quote.amount)} from any Lightning wallet.`}
              </p>
              {quote.qr && (
                <img
                  src={quote.qr}
                  alt={`QR code of the Lightning invoice for ${sats(quote.amount)}`}
                  width={240}
                  height={240}
                />
              )}
              <p>
                <code style={{ overflowWrap: 'anywhere' }}>{quote.invoice}</code>
              </p>
              <div className="toolbar">
                <CopyButton text={quote.invoice} label="Copy invoice" />
                <button
                  type="button"
                  disabled={check.pending}
                  onClick={async () => {
                    const q = await check.run(quote.quoteId)
                    if (q) setQuote(q)
                  }}
                >
                  {check.pending ? 'Checking…' : 'I paid — check now'}
                </button>
              </div>
              <p className="muted">
                Minted at {shortUrl(quote.mintUrl)}
                {quote.locked ? '; only this box can collect it' : ''}.
              </p>
            </>
          )}
          {check.error && <ErrorBox error={check.error} />}
        </div>
      )}
    </section>
  )
}

function TokenReceive() {
  const [token, setToken] = useState('')
  const [result, setResult] = useState<ReceiveResult>()
  const receive = useMutation((t: string) => api.ecash.receive({ token: t }))
  return (
    <section aria-labelledby="ecash-receive-token">
      <h2 id="ecash-receive-token">A token</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          setResult(undefined)
          const r = await receive.run(token)
          if (r) {
            setResult(r)
            setToken('')
          }
        }}
      >
        <TextAreaField
          id="ecash-token-in"
          label="Paste the token (it starts with “cashuB” or “cashuA”)"
          rows={4}
          value={token}
          spellCheck={false}
          autoComplete="off"
          onChange={(e) => setToken(e.target.value)}
        />
        <button type="submit" className="primary" disabled={!token.trim() || receive.pending}>
          {receive.pending ? 'Claiming…' : 'Receive'}
        </button>
      </form>
      {receive.error && <ErrorBox error={receive.error} />}
      {result?.status === 'claimed' && (
        <p role="status" className="notice tone-ok">
          Received {sats(result.amount)}
          {result.fee ? ` (the mint kept ${sats(result.fee)} as its fee)` : ''}.
        </p>
      )}
      {result?.status === 'stored-offline' && (
        <p role="status" className="notice tone-warn">
          {sats(result.amount)} stored, not yet claimed: {result.reason}
        </p>
      )}
    </section>
  )
}
