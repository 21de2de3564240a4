// Peers and channels: connect by URI, open (amount, fee rate, private), pending confirmations,
// a channel's detail, cooperative close or force close — each close behind a confirmation that
// says what it costs (force close: funds locked for the channel's delay, higher fees).
import { useState } from 'react'
import type { ChannelView } from '../../../shared/api/lightning'
import { api } from '../../api/client'
import { useEvent, useMutation, useQuery } from '../../api/hooks'
import { Badge, ErrorBox } from '../../shell/common'
import { sats } from '../ecash/sats'
import { TextField } from '../../shell/TextField'

const stateWords: Record<ChannelView['state'], string> = {
  active: 'Active',
  inactive: 'Offline',
  opening: 'Opening',
  closing: 'Closing',
  force_closing: 'Force closing',
  waiting_close: 'Waiting for the close to confirm',
}

export function ChannelsPanel() {
  const channels = useQuery(() => api.lightning.channels({}), [])
  const peers = useQuery(() => api.lightning.peers({}), [])
  const [detail, setDetail] = useState<string>()
  useEvent('lightning', (e) => {
    if (e.type === 'channels') channels.refresh()
  })
  const selected = channels.data?.find((c) => c.fundingOutpoint === detail)

  return (
    <div>
      <Peers peers={peers} onConnected={() => peers.refresh()} />
      <OpenChannel
        peerKeys={(peers.data ?? []).map((p) => p.publicKey)}
        onOpened={(list) => channels.setData(list)}
      />
      <section aria-labelledby="ln-channels">
        <h2 id="ln-channels">Channels</h2>
        {channels.error && <ErrorBox error={channels.error} />}
        <table>
          <thead>
            <tr>
              <th scope="col">Peer</th>
              <th scope="col">State</th>
              <th scope="col">Can send</th>
              <th scope="col">Can receive</th>
              <th scope="col">Capacity</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {(channels.data ?? []).map((c) => (
              <tr key={c.fundingOutpoint}>
                <td>
                  <code>{c.peerPublicKey.slice(0, 16)}…</code>
                </td>
                <td>
                  <Badge
                    tone={c.state === 'active' ? 'ok' : c.state === 'opening' ? 'warn' : 'off'}
                  >
                    {stateWords[c.state]}
                  </Badge>
                  {c.confirmationsLeft !== undefined && (
                    <span className="muted"> {c.confirmationsLeft} confirmations to go</span>
                  )}
                </td>
                <td>{sats(c.localSat)}</td>
                <td>{sats(c.remoteSat)}</td>
                <td>{sats(c.capacitySat)}</td>
                <td>
                  <button type="button" onClick={() => setDetail(c.fundingOutpoint)}>
                    Details
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {channels.data?.length === 0 && <p className="muted">No channels yet.</p>}
      </section>
      {selected && (
        <ChannelDetail
          channel={selected}
          onClose={() => setDetail(undefined)}
          onChanged={(list) => channels.setData(list)}
        />
      )}
    </div>
  )
}

function Peers({
  peers,
  onConnected,
}: {
  peers: ReturnType<
    typeof useQuery<readonly { publicKey: string; address: string; inbound: boolean }[]>
  >
  onConnected: () => void
}) {
  const [uri, setUri] = useState('')
  const connect = useMutation((u: string) => api.lightning.connectPeer({ uri: u }))
  return (
    <section aria-labelledby="ln-peers">
      <h2 id="ln-peers">Peers</h2>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          if (await connect.run(uri.trim())) {
            setUri('')
            onConnected()
          }
        }}
      >
        <TextField
          id="ln-peer-uri"
          label="Node address (pubkey@host:port)"
          spellCheck={false}
          value={uri}
          onChange={(e) => setUri(e.target.value)}
        />
        <button type="submit" disabled={!uri.trim() || connect.pending}>
          {connect.pending ? 'Connecting…' : 'Connect'}
        </button>
      </form>
      {connect.error && <ErrorBox error={connect.error} />}
      {peers.error && <ErrorBox error={peers.error} />}
      <ul>
        {(peers.data ?? []).map((p) => (
          <li key={p.publicKey}>
            <code>{p.publicKey}</code> <span className="muted">{p.address}</span>
          </li>
        ))}
      </ul>
    </section>
  )
}

function OpenChannel({
  peerKeys,
  onOpened,
}: {
  peerKeys: readonly string[]
  onOpened: (list: ChannelView[]) => void
}) {
  const [peer, setPeer] = useState('')
  const [amount, setAmount] = useState('')
  const [feeRate, setFeeRate] = useState('')
  const [isPrivate, setPrivate] = useState(false)
  const open = useMutation(
    (i: { peerPublicKey: string; amountSat: number; feeRate?: number; private: boolean }) =>
      api.lightning.openChannel(i),
  )
  const n = Number(amount)
  return (
    <section aria-labelledby="ln-open">
      <h2 id="ln-open">Open a channel</h2>
      <p className="muted">
        Funded from the Lightning node’s own wallet. (Funding from the box’s on-chain wallet by PSBT
        comes with that wallet; it is not available yet.)
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault()
          const list = await open.run({
            peerPublicKey: peer.trim(),
            amountSat: n,
            ...(feeRate ? { feeRate: Number(feeRate) } : {}),
            private: isPrivate,
          })
          if (list) {
            setAmount('')
            onOpened(list)
          }
        }}
      >
        <TextField
          id="ln-open-peer"
          label="Peer (public key)"
          list="ln-open-peers"
          spellCheck={false}
          value={peer}
          onChange={(e) => setPeer(e.target.value)}
        />
        <datalist id="ln-open-peers">
          {peerKeys.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        <TextField
          id="ln-open-amount"
          label="Amount (sat, at least 20,000)"
          inputMode="numeric"
          value={amount}
          onChange={(e) => setAmount(e.target.value.replace(/[^0-9]/g, ''))}
        />
        <TextField
          id="ln-open-fee"
          label="Fee rate (sat/vB, empty: the node’s estimate)"
          inputMode="numeric"
          value={feeRate}
          onChange={(e) => setFeeRate(e.target.value.replace(/[^0-9]/g, ''))}
        />
        <label>
          <input
            type="checkbox"
            checked={isPrivate}
            onChange={(e) => setPrivate(e.target.checked)}
          />{' '}
          Private (not announced to the network)
        </label>
        <div>
          <button
            type="submit"
            className="primary"
            disabled={!peer.trim() || !(n >= 20_000) || open.pending}
          >
            {open.pending ? 'Opening…' : 'Open channel'}
          </button>
        </div>
      </form>
      {open.error && <ErrorBox error={open.error} />}
    </section>
  )
}

function ChannelDetail({
  channel: c,
  onClose,
  onChanged,
}: {
  channel: ChannelView
  onClose: () => void
  onChanged: (list: ChannelView[]) => void
}) {
  const [confirming, setConfirming] = useState<'coop' | 'force'>()
  const close = useMutation((force: boolean) =>
    api.lightning.closeChannel({ fundingOutpoint: c.fundingOutpoint, force, confirmed: true }),
  )
  const closable = c.state === 'active' || c.state === 'inactive'
  return (
    <section className="card" aria-labelledby="ln-channel-detail">
      <h2 id="ln-channel-detail">Channel {c.id}</h2>
      <dl className="facts">
        <dt>Peer</dt>
        <dd>
          <code style={{ overflowWrap: 'anywhere' }}>{c.peerPublicKey}</code>
        </dd>
        <dt>State</dt>
        <dd>{stateWords[c.state]}</dd>
        <dt>Capacity</dt>
        <dd>{sats(c.capacitySat)}</dd>
        <dt>You can send</dt>
        <dd>{sats(c.localSat)}</dd>
        <dt>You can receive</dt>
        <dd>{sats(c.remoteSat)}</dd>
        <dt>Funding transaction</dt>
        <dd>
          <code style={{ overflowWrap: 'anywhere' }}>{c.fundingOutpoint}</code>
        </dd>
        <dt>Announced</dt>
        <dd>{c.private ? 'No (private)' : 'Yes (public)'}</dd>
        {c.blocksUntilFunds !== undefined && (
          <>
            <dt>Funds back in</dt>
            <dd>{c.blocksUntilFunds} blocks</dd>
          </>
        )}
      </dl>
      {closable && !confirming && (
        <p>
          <button type="button" onClick={() => setConfirming('coop')}>
            Close channel…
          </button>{' '}
          <button type="button" className="danger" onClick={() => setConfirming('force')}>
            Force close…
          </button>
        </p>
      )}
      {confirming === 'coop' && (
        <div className="notice tone-warn" role="alertdialog" aria-labelledby="ln-coop-title">
          <p id="ln-coop-title">
            Close this channel together with its peer? Your {sats(c.localSat)} go back to the
            Lightning node’s on-chain wallet after the closing transaction confirms (a normal
            on-chain fee is paid).
          </p>
          <button
            type="button"
            className="primary"
            disabled={close.pending}
            onClick={async () => {
              const list = await close.run(false)
              if (list) {
                setConfirming(undefined)
                onChanged(list)
              }
            }}
          >
            Yes, close the channel
          </button>{' '}
          <button type="button" onClick={() => setConfirming(undefined)}>
            Keep it open
          </button>
        </div>
      )}
      {confirming === 'force' && (
        <div className="notice tone-bad" role="alertdialog" aria-labelledby="ln-force-title">
          <p id="ln-force-title">
            Force close only when the peer is gone for good. Your {sats(c.localSat)} stay locked for{' '}
            {c.forceCloseDelayBlocks !== undefined
              ? `${c.forceCloseDelayBlocks} blocks (about ${Math.round((c.forceCloseDelayBlocks * 10) / 60)} hours)`
              : 'the channel’s delay (often up to two weeks)'}{' '}
            after the closing transaction confirms, and the fees are higher than a normal close.
          </p>
          <button
            type="button"
            className="danger"
            disabled={close.pending}
            onClick={async () => {
              const list = await close.run(true)
              if (list) {
                setConfirming(undefined)
                onChanged(list)
              }
            }}
          >
            Yes, force close
          </button>{' '}
          <button type="button" onClick={() => setConfirming(undefined)}>
            Keep it open
          </button>
        </div>
      )}
      {close.error && <ErrorBox error={close.error} />}
      <button type="button" onClick={onClose}>
        Back to the list
      </button>
    </section>
  )
}
