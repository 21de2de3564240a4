// Spending from the vault: build the PSBT from the funding transactions, collect signatures one
// signer at a time (the HSM, a device on USB, a Coldcard by microSD card, or any signed PSBT
// file), then combine and finalize. Every signed copy is checked by the engine before it is
// listed; the final transaction is shown, not broadcast (said plainly below).
import { useState } from 'react'
import { api } from '../../api/client'
import { useMutation } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import type {
  DeviceView,
  HsmStatus,
  SignResult,
  VaultSpendView,
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
  vault: VaultView
  hsm: HsmStatus | undefined
  devices: readonly DeviceView[]
}) {
  const vault = { name: view.name, threshold: view.threshold, cosigners: [...view.cosigners] }
  const [funding, setFunding] = useState('')
  const [to, setTo] = useState('')
  const [amount, setAmount] = useState('')
  const [feeRate, setFeeRate] = useState('2')
  const [spend, setSpend] = useState<VaultSpendView | undefined>(undefined)
  const [collected, setCollected] = useState<readonly Collected[]>([])
  const build = useMutation(() =>
    api.hardware.vaultSpend({
      vault,
      fundingTxs: funding.split(/\s+/).filter(Boolean),
      to: to.trim(),
      amountSat: Number(amount),
      feeRate: Number(feeRate),
      changeIndex: 0,
    }),
  )
  const add = (who: string) => (r: SignResult | undefined) => {
    if (r) setCollected((c) => [...c.filter((x) => x.who !== who), { who, result: r }])
  }
  return (
    <section className="card" aria-labelledby="devices-spend">
      <h2 id="devices-spend">Spend from the vault</h2>
      <p className="muted">
        Flash Box does not follow the vault’s addresses on chain yet: paste the transactions that
        paid the vault (raw hex, from your node or a block explorer). Every vault coin in them is
        spent; what is left after the payment and the fee goes back to the vault’s change address.
      </p>
      <label>
        Funding transactions (raw hex, one per line)
        <textarea value={funding} onChange={(e) => setFunding(e.target.value)} rows={3} cols={60} />
      </label>
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
      <button
        disabled={!funding.trim() || !to.trim() || !(Number(amount) > 0) || build.pending}
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
          <dl className="facts" aria-label="Spend review">
            <dt>Coins</dt>
            <dd>
              {spend.coins} holding {sat(spend.totalSat)}
            </dd>
            <dt>Pays</dt>
            <dd>
              {sat(Number(amount))} to <code>{to.trim()}</code>
            </dd>
            <dt>Fee</dt>
            <dd>{sat(spend.feeSat)}</dd>
            <dt>Change</dt>
            <dd>
              {spend.change ? (
                <>
                  {sat(spend.change.valueSat)} back to <code>{spend.change.address}</code>
                </>
              ) : (
                'none (what was left is below the dust line and goes to the fee)'
              )}
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
          <Finalize vault={vault} collected={collected} threshold={view.threshold} />
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
  vault,
  collected,
  threshold,
}: {
  vault: VaultInput
  collected: readonly Collected[]
  threshold: number
}) {
  const [tx, setTx] = useState<{ txid: string; hex: string } | undefined>(undefined)
  const finalize = useMutation(() =>
    api.hardware.vaultFinalize({ vault, psbts: collected.map((c) => c.result.psbt) }),
  )
  return (
    <div>
      <button
        disabled={collected.length === 0 || finalize.pending}
        onClick={() => void finalize.run(undefined).then((t) => t && setTx(t))}
      >
        Combine and finalize
      </button>
      {collected.length > 0 && collected.length < threshold && (
        <span className="muted"> The vault needs {threshold} signatures.</span>
      )}
      {finalize.error && <ErrorBox error={finalize.error} />}
      {tx && (
        <div role="status" aria-label="Final transaction">
          <p>
            Every signature checked; the transaction is complete: <code>{tx.txid}</code>.
          </p>
          <p>
            Flash Box does not broadcast vault spends yet. Send it with your node (for example{' '}
            <code>bitcoin-cli sendrawtransaction</code> with the hex below).
          </p>
          <textarea readOnly value={tx.hex} rows={3} cols={60} aria-label="Signed transaction" />
        </div>
      )}
    </div>
  )
}
