// Between this wallet and Lightning (issue 11 item 6), through the box's LND (ln-service):
//  - to LND's on-chain wallet: a fresh LND address (NewAddress), then an ordinary reviewed send;
//  - from LND's on-chain wallet: LND pays a fresh change address of this wallet (SendCoins);
//  - a channel funded from this wallet with LND's PSBT flow (OpenChannel with a psbt_shim and
//    no_publish, then FundingStateStep verify + finalize): LND gets the peer's signatures for the
//    refund path before the funding transaction exists anywhere, and only then does the box sign
//    and broadcast it through its own node. A funding send is never broadcast on its own: the
//    saga persists it only after LND accepted it (send-service.ts `beforeSigned`).
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import { FlashError } from '../../errors'
import type { SendReview } from '../../../shared/api/wallet-send'
import type { WalletForSend } from '../types'
import type { SendService } from './send-service'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

type Lnd = Lightning.AuthenticatedLnd

export interface LightningMovesOptions {
  readonly send: SendService
  readonly wallet: WalletForSend
  /** The box's authenticated LND, when its wallet is ready. */
  readonly lnd: () => Lnd | undefined
}

function lndError(e: unknown, doing: string): FlashError {
  if (e instanceof FlashError) return e
  const detail = Array.isArray(e) ? String(e[1] ?? '') : e instanceof Error ? e.message : ''
  return new FlashError(
    'wallet.lightning-refused',
    `Your Lightning node could not ${doing}${detail ? `: ${detail.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}` : ''}.`,
    'Check the Lightning page: the node must be running and its wallet unlocked.',
    { cause: e },
  )
}

export class LightningMoves {
  /** review id → LND's pending channel id (the funding address belongs to it). */
  private readonly pendingChannels = new Map<string, string>()

  constructor(private readonly opts: LightningMovesOptions) {}

  private lnd(): Lnd {
    const lnd = this.opts.lnd()
    if (!lnd) {
      throw new FlashError(
        'wallet.lightning-not-ready',
        'Your Lightning node is not ready, so coins cannot move to or from it now.',
        'Open the Lightning page and finish setting it up or unlock it.',
      )
    }
    return lnd
  }

  async prepareToLightning(input: {
    accountId: string
    amountSat?: number
    max?: boolean
    feeRateSatPerVb: number
  }): Promise<SendReview> {
    const lnd = this.lnd()
    const { address } = await ln
      .createChainAddress({ lnd, format: 'p2wpkh' })
      .catch((e: unknown) => {
        throw lndError(e, 'make a new address')
      })
    return this.opts.send.prepareSend({
      accountId: input.accountId,
      recipients: [input.max ? { address, max: true } : { address, amountSat: input.amountSat }],
      feeRateSatPerVb: input.feeRateSatPerVb,
    })
  }

  async fromLightning(input: {
    accountId: string
    amountSat?: number
    all?: boolean
    feeRateSatPerVb: number
  }): Promise<{ txid: string; address: string }> {
    const lnd = this.lnd()
    if (!input.all && !input.amountSat) {
      throw new FlashError(
        'wallet.amount-invalid',
        'Say how much to move, or tick “Everything”.',
        'Type the amount in sat.',
      )
    }
    const to = await this.opts.wallet.nextChangeAddress(input.accountId)
    const { id } = await ln
      .sendToChainAddress({
        lnd,
        address: to.address,
        ...(input.all ? { is_send_all: true as const } : { tokens: input.amountSat! }),
        fee_tokens_per_vbyte: input.feeRateSatPerVb,
        description: 'to the Flash Box wallet',
      })
      .catch((e: unknown) => {
        throw lndError(e, 'send the coins')
      })
    return { txid: id, address: to.address }
  }

  async prepareChannelFunding(input: {
    accountId: string
    peer: string
    capacitySat: number
    feeRateSatPerVb: number
  }): Promise<SendReview> {
    const lnd = this.lnd()
    const [publicKey, socket] = input.peer.split('@') as [string, string | undefined]
    if (!/^0[23][0-9a-f]{64}$/.test(publicKey)) {
      throw new FlashError(
        'wallet.peer-invalid',
        'The peer must be a Lightning node URI (public key@host:port) or a 66-character public key.',
        'Copy the node URI from the other node.',
      )
    }
    if (socket) {
      await ln.addPeer({ lnd, public_key: publicKey, socket }).catch((e: unknown) => {
        throw lndError(e, `connect to ${socket}`)
      })
    }
    const { pending } = await ln
      .openChannels({
        lnd,
        channels: [{ capacity: input.capacitySat, partner_public_key: publicKey }],
        is_avoiding_broadcast: true,
      })
      .catch((e: unknown) => {
        throw lndError(e, 'start opening the channel')
      })
    const p = pending[0]!
    try {
      const review = await this.opts.send.prepareSend(
        {
          accountId: input.accountId,
          recipients: [{ address: p.address, amountSat: p.tokens }],
          feeRateSatPerVb: input.feeRateSatPerVb,
        },
        'channel',
      )
      this.pendingChannels.set(review.id, p.id)
      return review
    } catch (e) {
      await ln.cancelPendingChannel({ lnd, id: p.id }).catch(() => undefined)
      throw e
    }
  }

  async confirmChannelFunding(input: {
    reviewId: string
    password?: string
    confirmHighFee?: boolean
  }): Promise<SendReview> {
    const id = this.pendingChannels.get(input.reviewId)
    if (!id) {
      throw new FlashError(
        'wallet.channel-funding-expired',
        'Your Lightning node no longer waits for this funding (the box restarted, or it was cancelled).',
        'Open the channel again.',
      )
    }
    const lnd = this.lnd()
    const review = await this.opts.send.confirm(input, {
      beforeSigned: async (psbt) => {
        await ln
          .fundPendingChannels({ lnd, channels: [id], funding: psbt.toHex() })
          .catch((e: unknown) => {
            throw lndError(e, 'accept the funding transaction')
          })
      },
    })
    this.pendingChannels.delete(input.reviewId)
    return review
  }

  /** Lets LND drop a channel whose funding the owner cancelled. */
  async cancelChannelFunding(reviewId: string): Promise<void> {
    const id = this.pendingChannels.get(reviewId)
    if (!id) return
    this.pendingChannels.delete(reviewId)
    const lnd = this.opts.lnd()
    if (lnd) await ln.cancelPendingChannel({ lnd, id }).catch(() => undefined)
  }
}
