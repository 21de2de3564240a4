// The sends the owner has not finished: signed but not broadcast (after a crash, or while the node
// was away) with "Broadcast" — always the same signed transaction, never a second one — and
// "Discard"; refused ones with the node's reason in words; recent ones until they are seen.
import type { SendReview } from '../../../shared/api/wallet-send'
import { useMutation, useQuery } from '../../api/hooks'
import { ErrorBox } from '../../shell/common'
import { sats } from '../ecash/sats'
import { PsbtExport } from './PsbtPanel'
import { shortId, type WalletSendClient } from './send-client'

const stateWords: Record<SendReview['state'], string> = {
  draft: 'being prepared',
  reviewed: 'waiting for your confirmation',
  signed: 'signed, not sent yet',
  broadcast: 'sent, waiting for the wallet to see it',
  seen: 'sent',
  failed: 'refused by your node',
  discarded: 'discarded',
  expired: 'review expired',
}

export function PendingSends({
  client,
  accountId,
}: {
  client: WalletSendClient
  accountId: string
}) {
  const sends = useQuery(() => client.sends({ accountId }), [client, accountId])
  const broadcast = useMutation((reviewId: string) => client.broadcastSigned({ reviewId }))
  const discard = useMutation((reviewId: string) => client.discardSend({ reviewId }))
  const open = (sends.data ?? []).filter(
    (s) => s.state === 'signed' || s.state === 'failed' || s.state === 'broadcast',
  )
  return (
    <section aria-labelledby="pending-sends">
      <h2 id="pending-sends">Sends in progress</h2>
      {sends.error && <ErrorBox error={sends.error} />}
      {open.length === 0 && <p className="muted">None: every send is finished.</p>}
      <ul className="list">
        {open.map((s) => (
          <li key={s.id} className="card">
            <p>
              <strong>{sats(s.amountSat)}</strong> (fee {sats(s.feeSat)}) — {stateWords[s.state]}
              {s.txid && (
                <>
                  {' '}
                  · <code>{shortId(s.txid)}</code>
                </>
              )}
            </p>
            {s.failure && <p className="notice tone-bad">{s.failure}</p>}
            {(s.state === 'signed' || s.state === 'failed') && (
              <div className="row">
                <button
                  type="button"
                  className="primary"
                  disabled={broadcast.pending}
                  onClick={async () => {
                    await broadcast.run(s.id)
                    sends.refresh()
                  }}
                >
                  Broadcast
                </button>{' '}
                <button
                  type="button"
                  disabled={discard.pending}
                  onClick={async () => {
                    await discard.run(s.id)
                    sends.refresh()
                  }}
                >
                  Discard
                </button>
              </div>
            )}
            {s.state === 'signed' && (
              <PsbtExport psbt={s.psbt} name={`flashbox-${s.id.slice(0, 8)}`} />
            )}
          </li>
        ))}
      </ul>
      {broadcast.error && <ErrorBox error={broadcast.error} />}
      {discard.error && <ErrorBox error={discard.error} />}
    </section>
  )
}
