// Send: an exact-amount token (cashuB) to hand over as text or QR, optionally locked to the
// recipient's key so only they can claim it.
import { useState } from 'react'
import type { MintBalance, SendResult } from '../../../shared/api/ecash'
import { api } from '../../api/client'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { CopyButton } from './CopyButton'
import { sats, shortUrl } from './sats'
import { SelectField, TextField } from '../../shell/TextField'

export function SendPanel({ balances }: { balances: readonly MintBalance[] }) {
  const [amount, setAmount] = useState('')
  const [mintUrl, setMintUrl] = useState('')
  const [lockTo, setLockTo] = useState('')
  const [memo, setMemo] = useState('')
  const [sent, setSent] = useState<SendResult>()
  const send = useMutation((input: Parameters<typeof api.ecash.send>[0]) => api.ecash.send(input))
  const n = Number(amount)
  const valid = Number.isInteger(n) && n > 0

  if (sent) {
    return (
      <section aria-labelledby="ecash-sent" className="card">
        <h2 id="ecash-sent" style={{ marginTop: 0 }}>
          Token for {sats(sent.amount)}
        </h2>
        <p className="muted">
          Give this token to the recipient. Anyone holding it can claim it
          {sent.lockedTo ? ' — except that it is locked to their key' : ''}, so share it only with
          them. {sent.fee ? `The mint charged ${sats(sent.fee)} to make exact change.` : ''}
        </p>
        {sent.qr ? (
          <img
            src={sent.qr}
            alt={`QR code of the token for ${sats(sent.amount)}`}
            width={280}
            height={280}
          />
        ) : (
          <p className="muted">This token is too long for one QR code; copy it as text.</p>
        )}
        <textarea
          aria-label="The token"
          readOnly
          rows={5}
          value={sent.token}
          style={{ width: '100%' }}
          onFocus={(e) => e.currentTarget.select()}
        />
        <div className="toolbar">
          <CopyButton text={sent.token} label="Copy token" />
          <button type="button" onClick={() => setSent(undefined)}>
            Send another
          </button>
        </div>
      </section>
    )
  }

  return (
    <section aria-labelledby="ecash-send">
      <h2 id="ecash-send">Send a token</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          if (!valid) return
          const r = await send.run({
            amount: n,
            ...(mintUrl ? { mintUrl } : {}),
            ...(lockTo.trim() ? { p2pkPubkey: lockTo.trim() } : {}),
            ...(memo.trim() ? { memo: memo.trim() } : {}),
          })
          if (r) setSent(r)
        }}
      >
        <TextField
          id="ecash-send-amount"
          label="Amount (sat)"
          inputMode="numeric"
          value={amount}
          onChange={(e) => setAmount(e.target.value.replace(/[^0-9]/g, ''))}
        />
        {balances.length > 1 && (
          <SelectField
            id="ecash-send-mint"
            label="From mint"
            value={mintUrl}
            onChange={(e) => setMintUrl(e.target.value)}
          >
            <option value="">Any with enough balance</option>
            {balances.map((b) => (
              <option key={b.mintUrl} value={b.mintUrl}>
                {shortUrl(b.mintUrl)} ({sats(b.spendable)})
              </option>
            ))}
          </SelectField>
        )}
        <TextField
          id="ecash-send-lock"
          label="Lock to the recipient’s key (optional)"
          hint="Only the holder of that key can claim a locked token."
          value={lockTo}
          spellCheck={false}
          placeholder="02… or 03…"
          onChange={(e) => setLockTo(e.target.value)}
        />
        <TextField
          id="ecash-send-memo"
          label="Note for the recipient (optional)"
          value={memo}
          maxLength={200}
          onChange={(e) => setMemo(e.target.value)}
        />
        <button type="submit" className="primary" disabled={!valid || send.pending}>
          {send.pending ? 'Preparing…' : 'Create token'}
        </button>
      </form>
      {send.error && <ErrorBox error={send.error} />}
    </section>
  )
}
