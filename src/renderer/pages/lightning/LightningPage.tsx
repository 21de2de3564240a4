// The owner's Lightning page: the box's LND wallet (created, protected, unlocked by the box),
// balances, receive, pay, history, peers and channels, and the node's address as a QR.
// Everything goes through `api.lightning.…`; macaroons and preimages never reach this page.
import { useState } from 'react'
import type { LightningLimits, LightningStatus } from '../../../shared/api/lightning'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox, Spinner } from '../../shell/common'
import { CopyButton } from '../ecash/CopyButton'
import { sats } from '../ecash/sats'
import type { Tone } from '../../format'
import type { PageProps } from '../types'
import { AddressPanel } from './AddressPanel'
import { ChannelsPanel } from './ChannelsPanel'
import { ConnectionsPanel } from './ConnectionsPanel'
import { HistoryPanel } from './HistoryPanel'
import { LiquidityPanel } from './LiquidityPanel'
import { PayPanel } from './PayPanel'
import { ReceivePanel } from './ReceivePanel'
import { WalletSetup } from './WalletPanel'
import { TabList, tabPanelProps } from '../../shell/TabList'
import { TextField } from '../../shell/TextField'

type Tab =
  'receive' | 'pay' | 'history' | 'channels' | 'liquidity' | 'connections' | 'address' | 'node'
const tabs: { id: Tab; label: string }[] = [
  { id: 'receive', label: 'Receive' },
  { id: 'pay', label: 'Pay' },
  { id: 'history', label: 'History' },
  { id: 'channels', label: 'Channels' },
  { id: 'liquidity', label: 'Liquidity' },
  { id: 'connections', label: 'Connections' },
  { id: 'address', label: 'Lightning address' },
  { id: 'node', label: 'Node' },
]

const walletWords: Record<LightningStatus['wallet'], { label: string; tone: Tone }> = {
  disabled: { label: 'Off', tone: 'off' },
  unreachable: { label: 'Not running', tone: 'bad' },
  waiting_for_owner: { label: 'Needs your password', tone: 'warn' },
  locked: { label: 'Locked', tone: 'warn' },
  starting: { label: 'Starting', tone: 'warn' },
  ready: { label: 'Ready', tone: 'ok' },
}

export default function LightningPage(_props: PageProps) {
  const [tab, setTab] = useState<Tab>('receive')
  const status = useQuery(() => api.lightning.status({}), [])
  const ready = status.data?.wallet === 'ready'
  const balances = useQuery(
    () => (ready ? api.lightning.balances({}) : Promise.resolve(undefined)),
    [ready],
  )
  useEvent('lightning', (e) => {
    if (e.type === 'status') status.setData(e.status)
    if (e.type === 'invoice' && e.invoice.state === 'paid') balances.refresh()
    if (e.type === 'payment' || e.type === 'channels') balances.refresh()
  })
  const s = status.data

  return (
    <div className="page">
      <h1>Lightning</h1>
      <p className="muted">
        Your own Lightning node: get paid and pay instantly, over channels to other nodes.
      </p>
      {status.error && <ErrorBox error={status.error} />}
      {!s && !status.error && <Spinner label="Asking the Lightning node…" />}
      {s && (
        <section className="card" aria-labelledby="ln-status">
          <h2 id="ln-status">
            Node <Badge tone={walletWords[s.wallet].tone}>{walletWords[s.wallet].label}</Badge>
          </h2>
          {s.problem && <ErrorBox error={s.problem} />}
          {s.node && (
            <p className="muted">
              {s.node.alias || 'Unnamed node'} · {s.node.network} · block {s.node.blockHeight} ·{' '}
              {s.node.activeChannels} active channels · {s.node.peers} peers
            </p>
          )}
          {s.wallet === 'ready' && (
            <p className="muted" data-testid="ln-channel-backup">
              {s.channelBackup
                ? `Channel backup: ${s.channelBackup.channels} channels, saved encrypted ${new Date(s.channelBackup.at).toLocaleString()}.`
                : 'Channel backup: none yet (it is saved, encrypted, whenever a channel opens or closes).'}
            </p>
          )}
          {balances.data && (
            <dl className="facts" aria-label="Balances">
              <dt>In channels: you can send</dt>
              <dd>
                <strong>{sats(balances.data.channelsLocalSat)}</strong>
              </dd>
              <dt>In channels: you can receive</dt>
              <dd>{sats(balances.data.channelsRemoteSat)}</dd>
              <dt>On chain (node wallet)</dt>
              <dd>{sats(balances.data.onchainSat)}</dd>
              <dt>Pending</dt>
              <dd>
                {sats(balances.data.onchainPendingSat + balances.data.channelsPendingSat)}{' '}
                <span className="muted">(unconfirmed, or in channels opening or closing)</span>
              </dd>
            </dl>
          )}
          {balances.error && <ErrorBox error={balances.error} />}
        </section>
      )}
      {s && <WalletSetup status={s} onChange={(next) => status.setData(next)} />}
      {ready && (
        <>
          <TabList
            label="Lightning actions"
            idPrefix="ln"
            tabs={tabs}
            selected={tab}
            onSelect={setTab}
          />
          <div {...tabPanelProps('ln', tab)} className="card">
            {tab === 'receive' && <ReceivePanel />}
            {tab === 'pay' && <PayPanel />}
            {tab === 'history' && <HistoryPanel />}
            {tab === 'channels' && <ChannelsPanel />}
            {tab === 'liquidity' && <LiquidityPanel />}
            {tab === 'connections' && <ConnectionsPanel />}
            {tab === 'address' && <AddressPanel />}
            {tab === 'node' && <NodePanel />}
          </div>
        </>
      )}
    </div>
  )
}

function NodePanel() {
  return (
    <div>
      <NodeUri />
      <OnchainAddress />
      <Limits />
    </div>
  )
}

function OnchainAddress() {
  const address = useMutation(() => api.lightning.newAddress({}))
  const [shown, setShown] = useState<{ address: string; qr?: string }>()
  return (
    <section aria-labelledby="ln-onchain">
      <h2 id="ln-onchain">On-chain address</h2>
      <p className="muted">
        Send bitcoin here to fund the Lightning node’s own wallet (for opening channels).
      </p>
      <button
        type="button"
        disabled={address.pending}
        onClick={async () => {
          const a = await address.run(undefined)
          if (a) setShown(a)
        }}
      >
        New address
      </button>
      {address.error && <ErrorBox error={address.error} />}
      {shown && (
        <>
          {shown.qr && (
            <img
              src={shown.qr}
              alt="QR code of the address"
              width={220}
              height={220}
              style={{ background: '#fff' }}
            />
          )}
          <p>
            <code style={{ overflowWrap: 'anywhere' }}>{shown.address}</code>
          </p>
          <CopyButton text={shown.address} label="Copy address" />
        </>
      )}
    </section>
  )
}

function Limits() {
  const limits = useQuery(() => api.lightning.limits({}), [])
  const save = useMutation((l: LightningLimits) => api.lightning.setLimits(l))
  const [draft, setDraft] = useState<Record<keyof LightningLimits, string>>()
  const l = limits.data
  const form =
    draft ??
    (l && {
      maxPaymentSat: String(l.maxPaymentSat),
      feeLimitPercent: String(l.feeLimitPercent),
      minFeeLimitSat: String(l.minFeeLimitSat),
    })
  return (
    <section aria-labelledby="ln-limits">
      <h2 id="ln-limits">Limits</h2>
      {limits.error && <ErrorBox error={limits.error} />}
      {form && (
        <form
          onSubmit={async (e) => {
            e.preventDefault()
            const saved = await save.run({
              maxPaymentSat: Number(form.maxPaymentSat),
              feeLimitPercent: Number(form.feeLimitPercent),
              minFeeLimitSat: Number(form.minFeeLimitSat),
            })
            if (saved) {
              limits.setData(saved)
              setDraft(undefined)
            }
          }}
        >
          <TextField
            id="ln-limit-max"
            label="Largest single payment (sat)"
            inputMode="numeric"
            value={form.maxPaymentSat}
            onChange={(e) =>
              setDraft({ ...form, maxPaymentSat: e.target.value.replace(/[^0-9]/g, '') })
            }
          />
          <TextField
            id="ln-limit-fee"
            label="Proposed fee limit (% of the amount)"
            inputMode="decimal"
            value={form.feeLimitPercent}
            onChange={(e) =>
              setDraft({ ...form, feeLimitPercent: e.target.value.replace(/[^0-9.]/g, '') })
            }
          />
          <TextField
            id="ln-limit-minfee"
            label="…but at least (sat)"
            inputMode="numeric"
            value={form.minFeeLimitSat}
            onChange={(e) =>
              setDraft({ ...form, minFeeLimitSat: e.target.value.replace(/[^0-9]/g, '') })
            }
          />
          <button type="submit" disabled={save.pending}>
            Save limits
          </button>
          {save.error && <ErrorBox error={save.error} />}
        </form>
      )}
    </section>
  )
}

function NodeUri() {
  const uri = useQuery(() => api.lightning.nodeUri({}), [])
  return (
    <section aria-labelledby="ln-node">
      <h2 id="ln-node">Your node’s address</h2>
      <p className="muted">
        Peers connect to this address, and your phone wallet can scan it to open a channel to this
        box. It is only reachable from outside once the box has a public address.
      </p>
      {uri.error && <ErrorBox error={uri.error} />}
      {uri.data && (
        <>
          {uri.data.qr && (
            <img
              src={uri.data.qr}
              alt="QR code of the node address"
              width={260}
              height={260}
              style={{ background: '#fff' }}
            />
          )}
          <p>
            <code style={{ overflowWrap: 'anywhere' }}>{uri.data.uri}</code>
          </p>
          <CopyButton text={uri.data.uri} label="Copy address" />
        </>
      )}
    </section>
  )
}
