// Between this wallet and Lightning: move coins to LND's on-chain wallet (a reviewed send to a
// fresh LND address), move them back (LND pays a fresh address of this wallet, after the owner
// confirms the amount), and open a channel funded from this wallet (LND's PSBT flow: LND checks
// the funding and takes the peer's signatures before the box sends it).
import { useState } from 'react'
import type { SendReview } from '../../../shared/api/wallet-send'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { sats } from '../ecash/sats'
import { ReviewCard, SendResult } from './ReviewCard'
import { shortId, type WalletSendClient } from './send-client'
import { CheckboxField, TextField } from '../../shell/TextField'

const digits = (s: string) => s.replace(/[^0-9]/g, '')

export function LightningMovesPanel({
  client,
  accountId,
}: {
  client: WalletSendClient
  accountId: string
}) {
  const [toAmount, setToAmount] = useState('')
  const [fromAmount, setFromAmount] = useState('')
  const [fromAll, setFromAll] = useState(false)
  const [fromSure, setFromSure] = useState(false)
  const [peer, setPeer] = useState('')
  const [capacity, setCapacity] = useState('')
  const [rate, setRate] = useState('2')
  const [review, setReview] = useState<SendReview>()
  const [result, setResult] = useState<SendReview>()
  const [moved, setMoved] = useState<{ txid: string; address: string }>()
  const [password, setPassword] = useState('')
  const feeRateSatPerVb = Number(rate)

  const toLn = useMutation(() =>
    client.prepareToLightning({ accountId, amountSat: Number(toAmount), feeRateSatPerVb }),
  )
  const fromLn = useMutation(() =>
    client.fromLightning({
      accountId,
      ...(fromAll ? { all: true } : { amountSat: Number(fromAmount) }),
      feeRateSatPerVb,
    }),
  )
  const fund = useMutation(() =>
    client.prepareChannelFunding({
      accountId,
      peer: peer.trim(),
      capacitySat: Number(capacity),
      feeRateSatPerVb,
    }),
  )
  const openChannel = useMutation((id: string) =>
    client.confirmChannelFunding({ reviewId: id, ...(password ? { password } : {}) }),
  )
  const reset = () => {
    setReview(undefined)
    setResult(undefined)
  }

  if (result) return <SendResult review={result} onAgain={reset} />
  if (review?.kind === 'channel')
    return (
      <div className="card" aria-labelledby="channel-review">
        <h3 id="channel-review">Review the channel funding</h3>
        <dl className="facts">
          <dt>Channel size</dt>
          <dd>{sats(review.amountSat)}</dd>
          <dt>Fee</dt>
          <dd>
            {sats(review.feeSat)} ({review.feeRateSatPerVb} sat/vB, {review.eta})
          </dd>
          <dt>Change</dt>
          <dd>{review.changeSat > 0 ? sats(review.changeSat) : 'none'}</dd>
          <dt>Funding address</dt>
          <dd>
            <code>{shortId(review.outputs.find((o) => !o.change)?.address ?? '')}</code>
          </dd>
        </dl>
        {review.canSign && (
          <TextField
            id="channel-password"
            label="Your password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        )}
        <button
          type="button"
          className="primary"
          disabled={openChannel.pending || (review.canSign && !password)}
          onClick={async () => {
            const r = await openChannel.run(review.id)
            if (r) setResult(r)
          }}
        >
          Open the channel
        </button>{' '}
        <button
          type="button"
          onClick={async () => {
            await client.discardSend({ reviewId: review.id }).catch(() => undefined)
            reset()
          }}
        >
          Cancel
        </button>
        {openChannel.error && <ErrorBox error={openChannel.error} />}
      </div>
    )
  if (review)
    return <ReviewCard client={client} review={review} onDone={setResult} onCancel={reset} />

  return (
    <section aria-labelledby="wallet-lightning">
      <h2 id="wallet-lightning">Wallet and Lightning</h2>
      <TextField
        id="ln-move-rate"
        label="Fee rate for these moves (sat/vB)"
        inputMode="decimal"
        value={rate}
        onChange={(e) => setRate(e.target.value.replace(/[^0-9.]/g, ''))}
      />

      <div className="card">
        <h3>To Lightning’s on-chain wallet</h3>
        <TextField
          id="to-ln-amount"
          label="Amount (sat)"
          inputMode="numeric"
          value={toAmount}
          onChange={(e) => setToAmount(digits(e.target.value))}
        />
        <button
          type="button"
          disabled={!toAmount || !(feeRateSatPerVb > 0) || toLn.pending}
          onClick={async () => {
            const r = await toLn.run(undefined)
            if (r) setReview(r)
          }}
        >
          Review the move to Lightning
        </button>
        {toLn.error && <ErrorBox error={toLn.error} />}
      </div>

      <div className="card">
        <h3>From Lightning’s on-chain wallet</h3>
        <TextField
          id="from-ln-amount"
          label="Amount (sat)"
          inputMode="numeric"
          disabled={fromAll}
          value={fromAll ? '' : fromAmount}
          onChange={(e) => setFromAmount(digits(e.target.value))}
        />
        <CheckboxField
          id="from-ln-all"
          label="Everything"
          checked={fromAll}
          onChange={(e) => setFromAll(e.target.checked)}
        />
        <CheckboxField
          id="from-ln-sure"
          label={
            <>
              Your Lightning node sends{' '}
              {fromAll
                ? 'all its on-chain coins'
                : fromAmount
                  ? sats(Number(fromAmount))
                  : 'this amount'}{' '}
              to a new address of this wallet at {rate} sat/vB
            </>
          }
          checked={fromSure}
          onChange={(e) => setFromSure(e.target.checked)}
        />
        <button
          type="button"
          disabled={
            !fromSure || (!fromAll && !fromAmount) || !(feeRateSatPerVb > 0) || fromLn.pending
          }
          onClick={async () => {
            const r = await fromLn.run(undefined)
            if (r) setMoved(r)
          }}
        >
          Move from Lightning
        </button>
        {moved && (
          <p className="notice tone-ok" role="status">
            Sent by your Lightning node: <code>{shortId(moved.txid)}</code> to{' '}
            <code>{shortId(moved.address)}</code>.
          </p>
        )}
        {fromLn.error && <ErrorBox error={fromLn.error} />}
      </div>

      <div className="card">
        <h3>Open a channel funded from this wallet</h3>
        <TextField
          id="fund-peer"
          label="Peer (node URI: public key@host:port)"
          spellCheck={false}
          value={peer}
          onChange={(e) => setPeer(e.target.value)}
        />
        <TextField
          id="fund-capacity"
          label="Channel size (sat)"
          inputMode="numeric"
          value={capacity}
          onChange={(e) => setCapacity(digits(e.target.value))}
        />
        <button
          type="button"
          disabled={!peer.trim() || !capacity || !(feeRateSatPerVb > 0) || fund.pending}
          onClick={async () => {
            const r = await fund.run(undefined)
            if (r) setReview(r)
          }}
        >
          Review the channel funding
        </button>
        {fund.error && <ErrorBox error={fund.error} />}
      </div>
    </section>
  )
}
