// Send: one or more recipients (batch), each an address and an amount, or "the rest" (send max);
// a fee preset from the node's estimates or a custom rate; optionally the exact coins to spend
// (coin control: each coin's label and age; frozen coins cannot be picked). "Review" builds the
// transaction and shows everything before anything is signed.
import { useState } from 'react'
import type { WalletCoin } from '../../../shared/api/wallet'
import type { SendReview } from '../../../shared/api/wallet-send'
import { useMutation, useQuery } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { sats } from '../ecash/sats'
import { ReviewCard, SendResult } from './ReviewCard'
import { coinAge, shortId, type WalletSendClient } from './send-client'
import { CheckboxField, TextField } from '../../shell/TextField'

interface Row {
  address: string
  amount: string
  max: boolean
}

export function SendPanel({
  client,
  accountId,
  coins,
  onSent,
}: {
  client: WalletSendClient
  accountId: string
  coins: readonly WalletCoin[]
  onSent?: (r: SendReview) => void
}) {
  const [rows, setRows] = useState<Row[]>([{ address: '', amount: '', max: false }])
  const [preset, setPreset] = useState<string>('normal')
  const [custom, setCustom] = useState('')
  const [picking, setPicking] = useState(false)
  const [picked, setPicked] = useState<string[]>([])
  const [review, setReview] = useState<SendReview>()
  const [result, setResult] = useState<SendReview>()
  const rates = useQuery(() => client.feeRates({}), [client])
  const prepare = useMutation((input: Parameters<WalletSendClient['prepareSend']>[0]) =>
    client.prepareSend(input),
  )

  const presetRate = rates.data?.presets.find((p) => p.id === preset)?.satPerVb
  const feeRate = preset === 'custom' ? Number(custom) : presetRate
  const update = (i: number, patch: Partial<Row>) =>
    setRows((rs) =>
      rs.map((r, j) => (j === i ? { ...r, ...patch } : patch.max ? { ...r, max: false } : r)),
    )
  const ready =
    rows.every((r) => r.address.trim() && (r.max || Number(r.amount) > 0)) &&
    feeRate !== undefined &&
    feeRate > 0
  const reset = () => {
    setReview(undefined)
    setResult(undefined)
  }

  if (result)
    return (
      <SendResult
        review={result}
        onAgain={() => {
          reset()
          setRows([{ address: '', amount: '', max: false }])
          setPicked([])
        }}
      />
    )
  if (review)
    return (
      <ReviewCard
        client={client}
        review={review}
        onDone={(r) => {
          setResult(r)
          onSent?.(r)
        }}
        onCancel={reset}
      />
    )

  return (
    <section aria-labelledby="wallet-send">
      <h2 id="wallet-send">Send bitcoin</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          if (!ready) return
          const r = await prepare.run({
            accountId,
            recipients: rows.map((row) =>
              row.max
                ? { address: row.address.trim(), max: true }
                : { address: row.address.trim(), amountSat: Number(row.amount) },
            ),
            feeRateSatPerVb: feeRate!,
            ...(picked.length ? { coins: picked } : {}),
          })
          if (r) setReview(r)
        }}
      >
        {rows.map((row, i) => (
          <fieldset key={i} className="card" aria-label={`Recipient ${i + 1}`}>
            <TextField
              id={`send-address-${i}`}
              label={<>Address{rows.length > 1 ? ` ${i + 1}` : ''}</>}
              spellCheck={false}
              autoComplete="off"
              value={row.address}
              onChange={(e) => update(i, { address: e.target.value })}
            />
            <TextField
              id={`send-amount-${i}`}
              label={<>Amount (sat){rows.length > 1 ? ` ${i + 1}` : ''}</>}
              inputMode="numeric"
              disabled={row.max}
              value={row.max ? '' : row.amount}
              placeholder={row.max ? 'everything left after the fee' : ''}
              onChange={(e) => update(i, { amount: e.target.value.replace(/[^0-9]/g, '') })}
            />
            <CheckboxField
              id={`send-max-${i}`}
              label="Send max (everything left after the fee)"
              checked={row.max}
              onChange={(e) => update(i, { max: e.target.checked })}
            />
            {rows.length > 1 && (
              <button type="button" onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}>
                Remove recipient {i + 1}
              </button>
            )}
          </fieldset>
        ))}
        <button
          type="button"
          onClick={() => setRows((rs) => [...rs, { address: '', amount: '', max: false }])}
        >
          Add another recipient
        </button>

        <fieldset className="card">
          <legend>Fee</legend>
          {rates.error && <ErrorBox error={rates.error} />}
          {rates.data?.note && <p className="muted">{rates.data.note}</p>}
          {rates.data?.presets.map((p) => (
            <CheckboxField
              key={p.id}
              id={`fee-${p.id}`}
              label={
                <>
                  {p.label}: {p.satPerVb} sat/vB, {p.eta}
                  {!p.estimated && ' (no estimate yet)'}
                </>
              }
              type="radio"
              name="fee"
              checked={preset === p.id}
              onChange={() => setPreset(p.id)}
            />
          ))}
          <CheckboxField
            id="fee-custom"
            label="Custom"
            type="radio"
            name="fee"
            checked={preset === 'custom'}
            onChange={() => setPreset('custom')}
          />
          {preset === 'custom' && (
            <TextField
              id="fee-custom-rate"
              label="Fee rate (sat/vB)"
              hint={
                rates.data && (
                  <>
                    At least {rates.data.minRelaySatPerVb} sat/vB (your node’s minimum). Above{' '}
                    {rates.data.confirmAboveSatPerVb} sat/vB you will be asked to confirm.
                  </>
                )
              }
              inputMode="decimal"
              value={custom}
              onChange={(e) => setCustom(e.target.value.replace(/[^0-9.]/g, ''))}
            />
          )}
        </fieldset>

        <fieldset className="card">
          <legend>Coins</legend>
          <CheckboxField
            id="coin-control"
            label="Choose the coins to spend (coin control)"
            checked={picking}
            onChange={(e) => {
              setPicking(e.target.checked)
              if (!e.target.checked) setPicked([])
            }}
          />
          {!picking && (
            <p className="muted">Flash Box picks coins so that no change is needed when it can.</p>
          )}
          {picking && (
            <table className="table" aria-label="Coins to spend">
              <thead>
                <tr>
                  <th>Spend</th>
                  <th>Amount</th>
                  <th>Label</th>
                  <th>Age</th>
                  <th>Coin</th>
                </tr>
              </thead>
              <tbody>
                {coins.map((c) => (
                  <tr key={c.outpoint}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Spend ${sats(c.valueSat)} ${c.label ?? shortId(c.outpoint)}`}
                        disabled={c.frozen}
                        checked={picked.includes(c.outpoint)}
                        onChange={(e) =>
                          setPicked((p) =>
                            e.target.checked
                              ? [...p, c.outpoint]
                              : p.filter((x) => x !== c.outpoint),
                          )
                        }
                      />
                      {c.frozen && <span className="muted"> frozen</span>}
                    </td>
                    <td>{sats(c.valueSat)}</td>
                    <td>{c.label ?? <span className="muted">—</span>}</td>
                    <td>{coinAge(c.confirmations)}</td>
                    <td>
                      <code>{shortId(c.outpoint, 8, 4)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {picking && picked.length > 0 && (
            <p>
              {picked.length} coin{picked.length === 1 ? '' : 's'},{' '}
              {sats(
                coins
                  .filter((c) => picked.includes(c.outpoint))
                  .reduce((s, c) => s + c.valueSat, 0),
              )}
            </p>
          )}
        </fieldset>

        <button type="submit" className="primary" disabled={!ready || prepare.pending}>
          {prepare.pending ? 'Building…' : 'Review'}
        </button>
        {prepare.error && <ErrorBox error={prepare.error} />}
      </form>
    </section>
  )
}
