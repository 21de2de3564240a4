// A vault the box keeps: what its Electrum sync sees (balance, coins, history, a receive address),
// its spend, and the list of its spends with what each is waiting for. Deposits appear by
// themselves; the page refreshes on the engine's `vault` events.
import { useState } from 'react'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox } from '../../shell/common'
import type {
  DeviceView,
  HsmStatus,
  SavedVaultView,
  VaultSpendReview,
  VaultSpendState,
} from '../../../shared/api/hardware'
import { VaultSheet } from './VaultSheet'
import { SpendReview, VaultSpend } from './VaultSpend'

export const sat = (n: number) => `${n.toLocaleString('en-US')} sat`

const SYNC_TEXT: Record<SavedVaultView['sync']['state'], string> = {
  ready: 'Following the vault through the box’s Electrum server.',
  connecting: 'Connecting to the box’s Electrum server…',
  indexing: 'The Electrum server is still indexing the chain; the vault’s coins appear after.',
  offline: 'The box’s Electrum server cannot be reached; what is shown may be out of date.',
  disabled: 'The Electrum server is not part of this box’s stack, so the vault cannot be followed.',
}

export function VaultOnChain({
  vault,
  hsm,
  devices,
}: {
  vault: SavedVaultView
  hsm: HsmStatus | undefined
  devices: readonly DeviceView[]
}) {
  const receive = useMutation(() => api.hardware.vaultReceive({ vaultId: vault.id }))
  const [address, setAddress] = useState<string | undefined>(undefined)
  const shown = address ?? vault.receive?.address
  const headingId = `vault-${vault.id}`
  return (
    <>
      <section className="card" aria-labelledby={headingId}>
        <h2 id={headingId}>
          Vault “{vault.name}”: {vault.threshold} of {vault.cosigners.length}
        </h2>
        <p className="muted">
          {SYNC_TEXT[vault.sync.state]}
          {vault.sync.problem ? ` ${vault.sync.problem}` : ''}
        </p>
        <dl className="facts" aria-label="Vault balance">
          <dt>Confirmed</dt>
          <dd>{sat(vault.balance.confirmedSat)}</dd>
          <dt>On its way</dt>
          <dd>{sat(vault.balance.unconfirmedSat)}</dd>
          <dt>Receive address</dt>
          <dd>
            {shown ? <code aria-label="Vault receive address">{shown}</code> : '—'}{' '}
            <button
              disabled={receive.pending}
              onClick={() => void receive.run(undefined).then((r) => r && setAddress(r.address))}
            >
              New address
            </button>
          </dd>
        </dl>
        {receive.error && <ErrorBox error={receive.error} />}
        <h3>Coins</h3>
        {vault.coins.length === 0 ? (
          <p>No coins yet. Payments to the receive address appear here by themselves.</p>
        ) : (
          <ul className="plain" aria-label="Vault coins">
            {vault.coins.map((c) => (
              <li key={c.outpoint}>
                {sat(c.valueSat)} at <code>{c.address}</code> —{' '}
                {c.confirmations > 0
                  ? `${c.confirmations} confirmation${c.confirmations === 1 ? '' : 's'}`
                  : 'unconfirmed'}
                {c.chain === 1 ? ' (change)' : ''}
                {c.held ? ' — held by a signed spend' : ''}
              </li>
            ))}
          </ul>
        )}
        <h3>History</h3>
        {vault.history.length === 0 ? (
          <p>Nothing yet.</p>
        ) : (
          <ul className="plain" aria-label="Vault history">
            {vault.history.map((t) => (
              <li key={t.txid}>
                {t.netSat >= 0 ? 'Received' : 'Sent'} {sat(Math.abs(t.netSat))} —{' '}
                {t.status === 'confirmed'
                  ? `confirmed (${t.confirmations})`
                  : t.status === 'confirming'
                    ? 'in a block, proof being checked'
                    : t.status}{' '}
                <code>{t.txid.slice(0, 16)}…</code>
              </li>
            ))}
          </ul>
        )}
        <details>
          <summary>Descriptor, keys and recovery sheet</summary>
          <VaultSheet view={vault} devices={devices} />
        </details>
      </section>
      <VaultSpend vault={vault} hsm={hsm} devices={devices} />
      <VaultSpends vault={vault} />
    </>
  )
}

const STATE: Record<VaultSpendState, [string, 'ok' | 'warn' | 'bad']> = {
  unsigned: ['Collecting signatures', 'warn'],
  signed: ['Signed, not sent', 'warn'],
  broadcasting: ['Sending', 'warn'],
  broadcast: ['Sent', 'ok'],
  seen: ['Sent, seen on chain', 'ok'],
  refused: ['Refused by the node', 'bad'],
  discarded: ['Discarded', 'warn'],
}

function VaultSpends({ vault }: { vault: SavedVaultView }) {
  const list = useQuery(() => api.hardware.vaultSpends({ vaultId: vault.id }), [vault.id])
  useEvent('hardware', (e) => {
    if (e.type === 'vault' && e.vaultId === vault.id) list.refresh()
  })
  const headingId = `vault-spends-${vault.id}`
  const open = (list.data ?? []).filter((s) => s.state !== 'discarded')
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Vault spends</h2>
      {list.error && <ErrorBox error={list.error} />}
      {open.length === 0 ? (
        <p>No spends yet.</p>
      ) : (
        <ul className="plain" aria-label="Vault spends">
          {open.map((s) => (
            <SpendRow key={s.id} spend={s} onChange={() => list.refresh()} />
          ))}
        </ul>
      )}
    </section>
  )
}

function SpendRow({ spend: s, onChange }: { spend: VaultSpendReview; onChange: () => void }) {
  const [label, tone] = STATE[s.state]
  const send = useMutation(() => api.hardware.vaultSpendBroadcast({ spendId: s.id }))
  const discard = useMutation(() => api.hardware.vaultSpendDiscard({ spendId: s.id }))
  const paid = s.outputs.filter((o) => !o.change).reduce((n, o) => n + o.valueSat, 0)
  return (
    <li aria-label={`Spend ${s.txid ?? s.id}`}>
      <Badge tone={tone}>{label}</Badge> {sat(paid)} plus {sat(s.feeSat)} fee
      {s.txid && (
        <>
          {' '}
          — <code>{s.txid}</code>
        </>
      )}
      {s.failure && <p role="alert">{s.failure}</p>}
      {(s.state === 'signed' || s.state === 'refused') && (
        <details>
          <summary>Review it again</summary>
          <SpendReview review={s} />
        </details>
      )}
      {(s.state === 'signed' || s.state === 'refused' || s.state === 'broadcasting') && (
        <button disabled={send.pending} onClick={() => void send.run(undefined).then(onChange)}>
          Broadcast
        </button>
      )}{' '}
      {(s.state === 'unsigned' || s.state === 'signed' || s.state === 'refused') && (
        <button
          disabled={discard.pending}
          onClick={() => void discard.run(undefined).then(onChange)}
        >
          Discard
        </button>
      )}
      {s.state === 'broadcasting' && (
        <p className="muted">
          Flash Box stopped while sending this; it is asking your node whether the transaction
          arrived. Broadcasting again sends the same transaction, never a second payment.
        </p>
      )}
      {send.error && <ErrorBox error={send.error} />}
      {discard.error && <ErrorBox error={discard.error} />}
    </li>
  )
}
