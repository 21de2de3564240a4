// Speed up an unconfirmed transaction: "Bump fee (RBF)" for the wallet's own sends (a replacement
// paying more), "Speed up (CPFP)" for one with a coin of this wallet in it (a child paying for
// both). Either shows a review first; the fee rate starts at the fastest preset.
import { useRef, useState } from 'react'
import type { WalletTransaction } from '../../../shared/api/wallet'
import type { SendReview } from '../../../shared/api/wallet-send'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { ReviewCard, SendResult } from './ReviewCard'
import type { WalletSendClient } from './send-client'
import { TextField } from '../../shell/TextField'

export function canBump(tx: WalletTransaction): boolean {
  return tx.status === 'unconfirmed' && tx.sentSat > 0 && tx.inputs.every((i) => i.mine)
}
export function canCpfp(tx: WalletTransaction): boolean {
  return tx.status === 'unconfirmed' && tx.outputs.some((o) => o.mine)
}

export function SpeedUp({
  client,
  tx,
  onDone,
}: {
  client: WalletSendClient
  tx: WalletTransaction
  onDone?: (r: SendReview) => void
}) {
  const [mode, setMode] = useState<'bump' | 'cpfp'>()
  const [rate, setRate] = useState('')
  // Once the owner has edited the rate, a suggestion arriving later never replaces it, not even
  // while the field is momentarily empty (cleared to type a new rate).
  const edited = useRef(false)
  const [review, setReview] = useState<SendReview>()
  const [result, setResult] = useState<SendReview>()
  const prepare = useMutation(async (m: 'bump' | 'cpfp') => {
    const input = { accountId: tx.accountId, txid: tx.txid, feeRateSatPerVb: Number(rate) }
    return m === 'bump' ? client.prepareBump(input) : client.prepareCpfp(input)
  })
  const open = async (m: 'bump' | 'cpfp') => {
    setMode(m)
    if (!rate) {
      const r = await client.feeRates({}).catch(() => undefined)
      const fastest = r?.presets[0]?.satPerVb
      const now = tx.feeRate ?? 0
      // A suggestion only: a rate the owner typed while it was fetched stays.
      if (!edited.current) setRate(String(Math.max(fastest ?? 1, Math.ceil(now * 2))))
    }
  }
  // An open review and a result stay when the history moves on: the sent bump marks this
  // transaction "replaced" (often before the result arrives), and the owner must still see it.
  if (result) return <SendResult review={result} onAgain={() => setResult(undefined)} />
  if (review)
    return (
      <ReviewCard
        client={client}
        review={review}
        onDone={(r) => {
          setReview(undefined)
          setResult(r)
          onDone?.(r)
        }}
        onCancel={() => setReview(undefined)}
      />
    )
  if (!canBump(tx) && !canCpfp(tx)) return null
  return (
    <div className="row">
      {canBump(tx) && (
        <button type="button" onClick={() => open('bump')}>
          Bump fee (RBF)
        </button>
      )}{' '}
      {canCpfp(tx) && (
        <button type="button" onClick={() => open('cpfp')}>
          Speed up (CPFP)
        </button>
      )}
      {mode && (
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            const r = await prepare.run(mode)
            if (r) setReview(r)
          }}
        >
          <TextField
            id={`speedup-rate-${tx.txid}`}
            label={
              <>New fee rate (sat/vB){tx.feeRate !== undefined ? `, now ${tx.feeRate}` : ''}</>
            }
            inputMode="decimal"
            value={rate}
            onChange={(e) => {
              edited.current = true
              setRate(e.target.value.replace(/[^0-9.]/g, ''))
            }}
          />
          <button
            type="submit"
            className="primary"
            disabled={!(Number(rate) > 0) || prepare.pending}
          >
            Review the {mode === 'bump' ? 'fee bump' : 'speed-up'}
          </button>
          {prepare.error && <ErrorBox error={prepare.error} />}
        </form>
      )}
    </div>
  )
}
