// Spending from the vault: the box builds the PSBT from the vault coins it follows on chain
// (largest first; pasted funding transactions only as the offline fallback), signatures are
// collected one signer at a time (the HSM, a device on USB, a Coldcard by microSD card, or any
// signed PSBT file), then combined and checked by the engine — a signature that does not verify is
// refused there and never broadcast. The owner reviews the final transaction (every output, the
// change, the fee and the fee rate) and confirms; the box then broadcasts it through its own node.
import { useState } from 'react'
import { api } from '../../api/client'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import type {
  DeviceView,
  HsmStatus,
  SavedVaultView,
  SignResult,
  VaultSpendReview,
  VaultView,
} from '../../../shared/api/hardware'

interface Collected {
  readonly who: string
  readonly result: SignResult
}

const sat = (n: number) => `${n.toLocaleString('en-US')} sat`

/** The file's bytes as base64, for the engine to read as binary, base64 or hex PSBT. */
async function fileBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  let text = ''
  for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(text)
}

export function VaultSpend({
  vault: view,
  hsm,
  devices,
}: {
  vault: SavedVaultView
  hsm: HsmStatus | undefined
  devices: readonly DeviceView[]
}) {
  const vault = { name: view.name, threshold: view.threshold, cosigners: [...view.cosigners] }
  const [funding, setFunding] = useState('')
  const [to, setTo] = useState('')
  const [amount, setAmount] = useState('')
  const [feeRate, setFeeRate] = useState('2')
  const [spend, setSpend] = useState<VaultSpendReview | undefined>(undefined)
  const [collected, setCollected] = useState<readonly Collected[]>([])
  const build = useMutation(() => {
    const fundingTxs = funding.split(/\s+/).filter(Boolean)
    return api.hardware.vaultSpendPrepare({
      vaultId: view.id,
      to: to.trim(),
      amountSat: Number(amount),
      feeRate: Number(feeRate),
      ...(fundingTxs.length > 0 ? { fundingTxs } : {}),
    })
  })
  const add = (who: string) => (r: SignResult | undefined) => {
    if (r) setCollected((c) => [...c.filter((x) => x.who !== who), { who, result: r }])
  }
  const headingId = `vault-spend-${view.id}`
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Spend from the vault</h2>
      <p className="muted">
        The box picks the vault’s confirmed coins, largest first; what is left after the payment and
        the fee goes back to the vault’s next change address. Nothing is sent before you have
        reviewed the signed transaction and confirmed.
      </p>
      <div>
        <label>
          Pay to <input value={to} onChange={(e) => setTo(e.target.value)} size={50} />
        </label>
      </div>
      <div>
        <label>
          Amount (sat){' '}
          <input inputMode="numeric" value={amount} onChange={(e) => setAmount(e.target.value)} />
        </label>{' '}
        <label>
          Fee rate (sat/vB){' '}
          <input
            inputMode="decimal"
            value={feeRate}
            onChange={(e) => setFeeRate(e.target.value)}
            size={5}
          />
        </label>
      </div>
      <details>
        <summary>Offline fallback: coins from pasted funding transactions</summary>
        <p className="muted">
          Only when the box cannot follow the vault (no Electrum server): paste the transactions
          that paid the vault (raw hex, from a node or a block explorer). The box cannot check these
          coins are still unspent; your node will refuse the spend if they are not.
        </p>
        <label>
          Funding transactions (raw hex, one per line)
          <textarea
            value={funding}
            onChange={(e) => setFunding(e.target.value)}
            rows={3}
            cols={60}
          />
        </label>
      </details>
      <button
        disabled={!to.trim() || !(Number(amount) > 0) || build.pending}
        onClick={() =>
          void build.run(undefined).then((s) => {
            if (!s) return
            setSpend(s)
            setCollected([])
          })
        }
      >
        Build the spend
      </button>
      {build.error && <ErrorBox error={build.error} />}
      {spend && (
        <>
          <dl className="facts" aria-label="Spend plan">
            <dt>Coins</dt>
            <dd>
              {spend.coins.length} holding {sat(spend.inputSat)}
              {spend.offline ? ' (from the pasted transactions)' : ''}
            </dd>
            <dt>Fee (estimated)</dt>
            <dd>
              about {sat(spend.feeSat)} ({spend.feeRate} sat/vB)
            </dd>
          </dl>
          <details>
            <summary>The unsigned PSBT (base64), for another wallet</summary>
            <textarea readOnly value={spend.psbt} rows={3} cols={60} aria-label="Unsigned PSBT" />
          </details>
          <h3>
            Signed copies: {collected.length} (the vault needs {view.threshold} different keys)
          </h3>
          {collected.length > 0 && (
            <ul className="plain" aria-label="Signatures collected">
              {collected.map((c) => (
                <li key={c.who}>
                  {c.who}: signed {c.result.signedInputs.length} input
                  {c.result.signedInputs.length === 1 ? '' : 's'}
                </li>
              ))}
            </ul>
          )}
          <SignWithHsm hsm={hsm} psbt={spend.psbt} vault={vault} onSigned={add('HSM')} />
          {devices.map((d) => (
            <SignWithDevice
              key={d.id}
              device={d}
              psbt={spend.psbt}
              vault={vault}
              onSigned={add(d.modelName)}
            />
          ))}
          <CardRoundTrip view={view} psbt={spend.psbt} onSigned={add} />
          <ImportFile view={view} psbt={spend.psbt} onSigned={add} />
          <Finalize spendId={spend.id} collected={collected} threshold={view.threshold} />
        </>
      )}
    </section>
  )
}

type VaultInput = { name: string; threshold: number; cosigners: VaultView['cosigners'][number][] }

function SignWithHsm({
  hsm,
  psbt,
  vault,
  onSigned,
}: {
  hsm: HsmStatus | undefined
  psbt: string
  vault: VaultInput
  onSigned: (r: SignResult | undefined) => void
}) {
  const sign = useMutation(() => api.hardware.hsmSignPsbt({ psbt, vault }))
  if (!hsm?.key || !vault.cosigners.some((c) => c.fingerprint === hsm.key!.fingerprint)) return null
  return (
    <div>
      <button
        disabled={!hsm.unlocked || sign.pending}
        onClick={() => void sign.run(undefined).then(onSigned)}
      >
        Sign with the HSM
      </button>
      {!hsm.unlocked && <span className="muted"> Unlock the HSM above first.</span>}
      {sign.error && <ErrorBox error={sign.error} />}
    </div>
  )
}

function SignWithDevice({
  device,
  psbt,
  vault,
  onSigned,
}: {
  device: DeviceView
  psbt: string
  vault: VaultInput
  onSigned: (r: SignResult | undefined) => void
}) {
  const sign = useMutation(() => api.hardware.deviceSignPsbt({ deviceId: device.id, psbt, vault }))
  return (
    <div>
      <button disabled={sign.pending} onClick={() => void sign.run(undefined).then(onSigned)}>
        {sign.pending ? `Confirm on the ${device.modelName}…` : `Sign with the ${device.modelName}`}
      </button>
      {sign.error && <ErrorBox error={sign.error} />}
    </div>
  )
}

function CosignerChoice({
  view,
  value,
  onChange,
  label,
}: {
  view: VaultView
  value: string
  onChange: (fp: string) => void
  label: string
}) {
  return (
    <label>
      {label}{' '}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        {view.cosigners.map((c) => (
          <option key={c.fingerprint} value={c.fingerprint}>
            {c.name} ({c.fingerprint})
          </option>
        ))}
      </select>
    </label>
  )
}

function CardRoundTrip({
  view,
  psbt,
  onSigned,
}: {
  view: VaultView
  psbt: string
  onSigned: (who: string) => (r: SignResult | undefined) => void
}) {
  const [folder, setFolder] = useState('')
  const [written, setWritten] = useState<string | undefined>(undefined)
  const [fingerprint, setFingerprint] = useState(view.cosigners[0]?.fingerprint ?? '')
  const [waiting, setWaiting] = useState(false)
  const vault = { name: view.name, threshold: view.threshold, cosigners: [...view.cosigners] }
  const write = useMutation(() => api.hardware.cardWritePsbt({ folder, name: 'flashbox', psbt }))
  const read = useMutation(() =>
    api.hardware.cardReadSigned({ folder, name: 'flashbox', sentPsbt: psbt, vault, fingerprint }),
  )
  return (
    <fieldset>
      <legend>Coldcard by microSD card</legend>
      <label>
        Card folder <input value={folder} onChange={(e) => setFolder(e.target.value)} size={40} />
      </label>{' '}
      <button
        disabled={!folder || write.pending}
        onClick={() => void write.run(undefined).then((r) => r && setWritten(r.path))}
      >
        Write the PSBT to the card
      </button>
      {write.error && <ErrorBox error={write.error} />}
      {written && (
        <p role="status">
          Written to <code>{written}</code>. Sign it on the Coldcard, put the card back, then load
          the signed file.
        </p>
      )}
      <div>
        <CosignerChoice
          view={view}
          value={fingerprint}
          onChange={setFingerprint}
          label="Signed by"
        />{' '}
        <button
          disabled={!folder || read.pending}
          onClick={() =>
            void read.run(undefined).then((a) => {
              if (!a) return
              setWaiting(a.state === 'waiting')
              if (a.result) onSigned(`Coldcard (${fingerprint}, microSD)`)(a.result)
            })
          }
        >
          Load the signed file from the card
        </button>
      </div>
      {waiting && (
        <p role="status">
          No signed file on the card yet (flashbox-part.psbt or flashbox-signed.psbt).
        </p>
      )}
      {read.error && <ErrorBox error={read.error} />}
    </fieldset>
  )
}

function ImportFile({
  view,
  psbt,
  onSigned,
}: {
  view: VaultView
  psbt: string
  onSigned: (who: string) => (r: SignResult | undefined) => void
}) {
  const [fingerprint, setFingerprint] = useState(view.cosigners[0]?.fingerprint ?? '')
  const vault = { name: view.name, threshold: view.threshold, cosigners: [...view.cosigners] }
  const load = useMutation((file: File) =>
    fileBase64(file).then((bytes) =>
      api.hardware.importSignedPsbt({ vault, sentPsbt: psbt, fileBase64: bytes, fingerprint }),
    ),
  )
  return (
    <fieldset>
      <legend>A signed PSBT file</legend>
      <CosignerChoice
        view={view}
        value={fingerprint}
        onChange={setFingerprint}
        label="Signed by"
      />{' '}
      <label>
        Signed PSBT file{' '}
        <input
          type="file"
          accept=".psbt,.txt,application/octet-stream"
          onChange={(e) => {
            const file = e.target.files?.[0]
            if (file) void load.run(file).then(onSigned(`File (${fingerprint})`))
            e.target.value = ''
          }}
        />
      </label>
      {load.error && <ErrorBox error={load.error} />}
    </fieldset>
  )
}

function Finalize({
  spendId,
  collected,
  threshold,
}: {
  spendId: string
  collected: readonly Collected[]
  threshold: number
}) {
  const [review, setReview] = useState<VaultSpendReview | undefined>(undefined)
  const finalize = useMutation(() =>
    api.hardware.vaultSpendFinalize({ spendId, psbts: collected.map((c) => c.result.psbt) }),
  )
  const send = useMutation(() => api.hardware.vaultSpendBroadcast({ spendId }))
  const discard = useMutation(() => api.hardware.vaultSpendDiscard({ spendId }))
  return (
    <div>
      <button
        disabled={collected.length === 0 || finalize.pending}
        onClick={() => void finalize.run(undefined).then((r) => r && setReview(r))}
      >
        Combine and check the signatures
      </button>
      {collected.length > 0 && collected.length < threshold && (
        <span className="muted"> The vault needs {threshold} signatures.</span>
      )}
      {finalize.error && <ErrorBox error={finalize.error} />}
      {review && (
        <div aria-label="Review before broadcast">
          <p>Every signature checked. Review the transaction; nothing has been sent yet.</p>
          <SpendReview review={review} />
          {review.state === 'signed' || review.state === 'refused' ? (
            <>
              <button
                disabled={send.pending}
                onClick={() => void send.run(undefined).then((r) => r && setReview(r))}
              >
                Broadcast through the box’s node
              </button>{' '}
              <button
                disabled={discard.pending}
                onClick={() => void discard.run(undefined).then((r) => r && setReview(r))}
              >
                Discard
              </button>
            </>
          ) : (
            <p role="status">
              {review.state === 'discarded'
                ? 'Discarded: nothing was sent.'
                : review.state === 'broadcasting'
                  ? 'Sending…'
                  : `Sent through the box’s node: ${review.txid}. It appears in the vault’s history.`}
            </p>
          )}
          {send.error && <ErrorBox error={send.error} />}
          {discard.error && <ErrorBox error={discard.error} />}
        </div>
      )}
    </div>
  )
}

/** Every output (payment or change), the fee and the fee rate of a signed spend. */
export function SpendReview({ review }: { review: VaultSpendReview }) {
  return (
    <dl className="facts" aria-label="Spend review">
      {review.outputs.map((o, i) => (
        <div key={i}>
          <dt>{o.change ? 'Change back to the vault' : 'Pays'}</dt>
          <dd>
            {sat(o.valueSat)} to <code>{o.address ?? 'a script without an address'}</code>
          </dd>
        </div>
      ))}
      <dt>Coins spent</dt>
      <dd>
        {review.coins.length} holding {sat(review.inputSat)}
      </dd>
      <dt>Fee</dt>
      <dd>{sat(review.feeSat)}</dd>
      <dt>Fee rate</dt>
      <dd>
        {review.feeRate} sat/vB ({review.vsize} vB)
      </dd>
      {review.txid && (
        <>
          <dt>Transaction</dt>
          <dd>
            <code>{review.txid}</code>
          </dd>
        </>
      )}
    </dl>
  )
}
