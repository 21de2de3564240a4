// Channels change while nobody is looking: a funding transaction confirms, a peer comes back, the
// other side closes. LND's SubscribeChannelEvents tells the box, and the box tells the page
// (`lightning/channels`), so a pending channel turns active on screen the moment LND says so.
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import { lndError } from '../clients/lnd'
import type { Logger } from '../log'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

const CHANNEL_EVENTS = [
  'channel_opening',
  'channel_opened',
  'channel_active_changed',
  'channel_closed',
] as const

/** Calls `onChange` on every channel event; `onError` once when the stream ends. */
export function followChannelEvents(opts: {
  readonly lnd: Lightning.AuthenticatedLnd
  readonly log: Logger
  readonly onChange: () => void
  readonly onError: () => void
}): () => void {
  const sub = ln.subscribeToChannels({ lnd: opts.lnd })
  for (const e of CHANNEL_EVENTS) sub.on(e, () => opts.onChange())
  sub.on('error', (err: unknown) => {
    sub.removeAllListeners()
    opts.log.warn('channel updates from LND stopped; reconnecting', {
      error: lndError('subscribeToChannels', err).message,
    })
    opts.onError()
  })
  return () => sub.removeAllListeners()
}
