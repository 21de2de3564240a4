// The Lightning address (LUD-16) `name@<box address>`: anyone can pay it from a Lightning wallet,
// and Nostr clients can zap it (NIP-57; the box publishes the zap receipts). Its domain follows
// Settings → Reachability, on port 443 only; elsewhere `problem` says why there is none.
import { useState } from 'react'
import type { LightningAddressView } from '../../../shared/api/wallet-service'
import { api } from '../../api/client'
import { useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import { CopyButton } from '../ecash/CopyButton'
import { TextField } from '../../shell/TextField'

type Draft = { enabled: boolean; name: string; min: string; max: string }

export function AddressPanel() {
  const view = useQuery(() => api.walletService.lightningAddress({}), [])
  const save = useMutation((d: Parameters<typeof api.walletService.setLightningAddress>[0]) =>
    api.walletService.setLightningAddress(d),
  )
  const [draft, setDraft] = useState<Draft>()
  const v = view.data
  if (view.error) return <ErrorBox error={view.error} />
  if (!v) return <Spinner label="Loading the Lightning address…" />
  const form: Draft = draft ?? {
    enabled: v.enabled,
    name: v.name,
    min: String(v.minSendableSat),
    max: String(v.maxSendableSat),
  }
  const min = Number(form.min)
  const max = Number(form.max)
  const valid =
    /^[a-z0-9._-]{1,64}$/.test(form.name) &&
    Number.isInteger(min) &&
    Number.isInteger(max) &&
    min >= 1 &&
    max >= min

  return (
    <section aria-labelledby="ln-address">
      <h2 id="ln-address">
        Lightning address {v.enabled ? <Badge tone="ok">On</Badge> : <Badge tone="off">Off</Badge>}
      </h2>
      <p className="muted">
        An address like an email that anyone can pay from a Lightning wallet, and that Nostr clients
        can zap.
      </p>
      {v.problem && <ErrorBox error={v.problem} />}
      {v.enabled && v.address && (
        <div className="card">
          <p>
            <strong data-testid="ln-address">{v.address}</strong>
          </p>
          {v.qr && (
            <img
              src={v.qr}
              alt="QR code of the Lightning address"
              width={220}
              height={220}
              style={{ background: '#fff' }}
            />
          )}
          <CopyButton text={v.address} label="Copy address" />
          <p className="muted">
            It works where payers can reach this box’s web address ({v.url}). Zap receipts are
            signed by the box’s zapper key {v.zapperPubkey.slice(0, 12)}… and published to the box’s
            relay and the relays the zapper names.
          </p>
        </div>
      )}
      <form
        aria-label="Lightning address settings"
        onSubmit={async (e) => {
          e.preventDefault()
          if (!valid) return
          const next = await save.run({
            enabled: form.enabled,
            name: form.name,
            minSendableSat: min,
            maxSendableSat: max,
          })
          if (next) {
            view.setData(next as LightningAddressView)
            setDraft(undefined)
          }
        }}
      >
        <label style={{ display: 'block' }}>
          <input
            type="checkbox"
            checked={form.enabled}
            onChange={(e) => setDraft({ ...form, enabled: e.target.checked })}
          />{' '}
          Serve the Lightning address
        </label>
        <TextField
          id="ln-address-name"
          label="Name (before the @)"
          maxLength={64}
          value={form.name}
          onChange={(e) => setDraft({ ...form, name: e.target.value.toLowerCase() })}
        />
        <TextField
          id="ln-address-min"
          label="Smallest payment (sat)"
          inputMode="numeric"
          value={form.min}
          onChange={(e) => setDraft({ ...form, min: e.target.value.replace(/[^0-9]/g, '') })}
        />
        <TextField
          id="ln-address-max"
          label="Largest payment (sat)"
          inputMode="numeric"
          value={form.max}
          onChange={(e) => setDraft({ ...form, max: e.target.value.replace(/[^0-9]/g, '') })}
        />
        {!valid && (
          <p className="muted">
            The name may use a-z, 0-9, “.”, “-” and “_”; the largest payment must be at least the
            smallest.
          </p>
        )}
        <button type="submit" className="primary" disabled={!valid || save.pending}>
          Save
        </button>
        {save.error && <ErrorBox error={save.error} />}
      </form>
    </section>
  )
}
