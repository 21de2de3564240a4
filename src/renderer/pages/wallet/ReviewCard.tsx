// The review before anything is signed or sent: every output (the change marked), the coins
// spent, the fee in sat and its rate with the time in words, RBF, and for a watch-only wallet the
// PSBT to sign elsewhere. Confirming takes this review's id; nothing else can broadcast.
import { useState } from 'react'
import type { SendReview } from '../../../shared/api/wallet-send'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { sats } from '../ecash/sats'
import { PsbtExport } from './PsbtPanel'
import { shortId, type WalletSendClient } from './send-client'
import { CheckboxField, TextField } from '../../shell/TextField'

const kindTitle: Record<SendReview['kind'], string> = {
  send: 'Review the payment',
  bump: 'Review the fee bump (RBF)',
  cpfp: 'Review the speed-up (CPFP)',
  import: 'Review the imported PSBT',
  channel: 'Review the channel funding',
}

export function ReviewCard({
  client,
  review,
  onDone,
  onCancel,
}: {
  client: WalletSendClient
  review: SendReview
  onDone: (r: SendReview) => void
  onCancel: () => void
}) {
  const [password, setPassword] = useState('')
  const [highFeeOk, setHighFeeOk] = useState(false)
  const confirm = useMutation(() =>
    client.confirmSend({
      reviewId: review.id,
      ...(password ? { password } : {}),
      ...(review.needsFeeConfirmation ? { confirmHighFee: highFeeOk } : {}),
    }),
  )
  const discard = useMutation(() => client.discardSend({ reviewId: review.id }))
  const complete = review.signatures.have === review.signatures.need
  const needsPassword = !complete && review.canSign

  return (
    <div className="card" aria-labelledby={`review-${review.id}`}>
      <h3 id={`review-${review.id}`}>{kindTitle[review.kind]}</h3>
      {review.replaces && (
        <p>
          It replaces <code>{shortId(review.replaces)}</code>, which then never confirms.
        </p>
      )}
      {review.parentTxid && (
        <p>
          It pays for <code>{shortId(review.parentTxid)}</code>: together they pay{' '}
          {review.packageFeeRateSatPerVb} sat/vB.
        </p>
      )}
      <table className="table" aria-label="Outputs">
        <thead>
          <tr>
            <th>To</th>
            <th>Amount</th>
          </tr>
        </thead>
        <tbody>
          {review.outputs.map((o, i) => (
            <tr key={i}>
              <td>
                <code style={{ overflowWrap: 'anywhere' }}>{o.address ?? 'data (no address)'}</code>
                {o.change && <span className="muted"> — change, back to this wallet</span>}
                {o.mine && <span className="muted"> — an address of this wallet</span>}
              </td>
              <td>{sats(o.amountSat)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <dl className="facts">
        <dt>Amount sent</dt>
        <dd>{sats(review.amountSat)}</dd>
        <dt>Change</dt>
        <dd>{review.changeSat > 0 ? sats(review.changeSat) : 'none'}</dd>
        <dt>Fee</dt>
        <dd>
          {sats(review.feeSat)} ({review.feeRateSatPerVb} sat/vB × {review.vsize} vB)
        </dd>
        <dt>Confirms in</dt>
        <dd>{review.eta}</dd>
        <dt>Coins spent</dt>
        <dd>
          {review.inputs.length} ({sats(review.inputs.reduce((s, i) => s + i.valueSat, 0))})
          {review.selection && <span className="muted"> — picked by {review.selection}</span>}
        </dd>
        <dt>Replaceable</dt>
        <dd>{review.rbf ? 'Yes (RBF): you can bump its fee later' : 'No'}</dd>
        <dt>Signatures</dt>
        <dd>
          {review.signatures.have} of {review.signatures.need}
        </dd>
      </dl>
      {review.needsFeeConfirmation && (
        <CheckboxField
          id={`high-fee-${review.id}`}
          label="I want to pay this fee"
          checked={highFeeOk}
          onChange={(e) => setHighFeeOk(e.target.checked)}
        />
      )}
      {!complete && !review.canSign && (
        <p className="notice tone-warn">
          This wallet is watch-only: sign the PSBT on the device or wallet that holds the keys, then
          import the signed PSBT below.
        </p>
      )}
      {needsPassword && (
        <TextField
          id={`send-password-${review.id}`}
          label="Your password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      )}
      <PsbtExport psbt={review.psbt} name={`flashbox-${review.id.slice(0, 8)}`} />
      <div className="row">
        <button
          type="button"
          className="primary"
          disabled={
            confirm.pending ||
            (!complete && !review.canSign) ||
            (needsPassword && !password) ||
            (review.needsFeeConfirmation && !highFeeOk)
          }
          onClick={async () => {
            const r = await confirm.run(undefined)
            if (r) onDone(r)
          }}
        >
          {confirm.pending ? 'Sending…' : complete ? 'Send' : 'Sign and send'}
        </button>{' '}
        <button
          type="button"
          disabled={confirm.pending || discard.pending}
          onClick={async () => {
            await discard.run(undefined)
            onCancel()
          }}
        >
          Cancel
        </button>
      </div>
      {confirm.error && <ErrorBox error={confirm.error} />}
    </div>
  )
}

export function SendResult({ review, onAgain }: { review: SendReview; onAgain: () => void }) {
  return (
    <div className="card" role="status">
      {review.state === 'broadcast' || review.state === 'seen' ? (
        <p className="notice tone-ok">
          Sent {sats(review.amountSat)} with a fee of {sats(review.feeSat)}. Transaction{' '}
          <code>{review.txid}</code> is waiting for a block ({review.eta}).
        </p>
      ) : review.state === 'signed' ? (
        <p className="notice tone-warn">
          Signed and kept, not sent yet. Press “Broadcast” on it in the list of sends when your node
          is reachable.
        </p>
      ) : (
        <p className="notice tone-bad">Not sent: {review.failure ?? review.state}</p>
      )}
      <button type="button" onClick={onAgain}>
        Done
      </button>
    </div>
  )
}
