// Between this wallet and Lightning (issue 11 item 6), through the box's LND (ln-service):
//  - to LND's on-chain wallet: a fresh LND address (NewAddress), then an ordinary reviewed send;
//  - from LND's on-chain wallet: LND pays a fresh change address of this wallet (SendCoins);
//  - a channel funded from this wallet with LND's PSBT flow (OpenChannel with a psbt_shim and
//    no_publish, then FundingStateStep verify, the box signs, FundingStateStep finalize): LND
//    has the peer's signature for the refund path before the box publishes the funding through
//    its own node. Each step is a persisted saga (channel-funding-saga.ts) that survives a crash;
//    a funding send is never broadcast before LND accepted it (send-service.ts refuses).
import { createRequire } from 'node:module'
import { Transaction, type Psbt } from 'bitcoinjs-lib'
import type * as Lightning from 'lightning'
import { FlashError } from '../../errors'
import type { Logger } from '../../log'
import type { SendReview } from '../../../shared/api/wallet-send'
import type { WalletForSend } from '../types'
import type {
  ChannelFundingRow,
  ChannelFundingState,
  ChannelFundingStore,
} from './channel-funding-saga'
import { encodePsbt } from './psbt'
import type { SendService } from './send-service'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

type Lnd = Lightning.AuthenticatedLnd

export interface LightningMovesOptions {
  readonly send: SendService
  readonly wallet: WalletForSend
  /** The box's authenticated LND, when its wallet is ready. */
  readonly lnd: () => Lnd | undefined
  /** Wallet-funded channel openings (channel-funding-saga.ts). */
  readonly fundings: ChannelFundingStore
  readonly log?: Logger
  /** Called after each persisted step of a channel opening (the crash tests stop the flow here). */
  readonly afterStep?: (reviewId: string, state: ChannelFundingState) => void | Promise<void>
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
  private reconciling: Promise<void> | undefined
  /** Openings this process prepared: the owner may still be looking at their review. */
  private readonly preparedHere = new Set<string>()
  /** Openings a confirm is working on right now (reconcile leaves them alone). */
  private readonly confirming = new Set<string>()

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
    // no_publish: LND never publishes the funding; the box does, once LND holds the refund path.
    const { pending } = await ln
      .openChannels({
        lnd,
        channels: [{ capacity: input.capacitySat, partner_public_key: publicKey }],
        is_avoiding_broadcast: true,
      })
      .catch((e: unknown) => {
        throw lndError(e, 'start opening the channel')
      })
    // A crash before the saga row below leaves LND waiting for a PSBT nobody will sign; no coin
    // of this wallet is held by it, and LND drops such a flow on its own (or at its restart).
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
      this.opts.fundings.requested({
        reviewId: review.id,
        accountId: input.accountId,
        pendingId: p.id,
        peer: publicKey,
        capacitySat: input.capacitySat,
      })
      this.preparedHere.add(review.id)
      await this.step(review.id, 'requested')
      return review
    } catch (e) {
      if (e instanceof InjectedCrash) throw e
      await ln.cancelPendingChannel({ lnd, id: p.id }).catch(() => undefined)
      throw e
    }
  }

  /**
   * The owner opens the channel from its review: LND verifies the unsigned PSBT, the box signs
   * it and keeps the signed funding, LND finalizes, the box publishes. Every step is in the saga
   * (channel-funding-saga.ts) before the next begins; a confirm after a crash resumes it.
   */
  async confirmChannelFunding(input: {
    reviewId: string
    password?: string
    confirmHighFee?: boolean
  }): Promise<SendReview> {
    if (this.confirming.has(input.reviewId)) {
      throw new FlashError(
        'wallet.channel-funding-busy',
        'This channel opening is being confirmed already.',
        'Wait a moment and look at the list of sends.',
      )
    }
    this.confirming.add(input.reviewId)
    try {
      return await this.confirmFunding(input)
    } finally {
      this.confirming.delete(input.reviewId)
    }
  }

  private async confirmFunding(input: {
    reviewId: string
    password?: string
    confirmHighFee?: boolean
  }): Promise<SendReview> {
    let f = this.opts.fundings.get(input.reviewId)
    if (!f || f.state === 'cancelled') {
      throw new FlashError(
        'wallet.channel-funding-expired',
        `Your Lightning node no longer waits for this funding${f?.reason ? ` (${f.reason})` : ' (it was cancelled)'}.`,
        'Open the channel again.',
      )
    }
    const lnd = this.lnd()
    if (f.state === 'requested') {
      const unsigned = this.opts.send.fundingReview(input)
      await this.grpcStep(lnd, {
        psbt_verify: {
          pending_chan_id: Buffer.from(f.pending_id, 'hex'),
          funded_psbt: Buffer.from(unsigned.toBuffer()),
        },
      }).catch(async (e: unknown) => {
        if (isUnreachable(e)) throw lndError(e, 'check the funding transaction')
        await this.cancel(f!, lnd, `your Lightning node refused the funding: ${grpcDetail(e)}`)
        throw lndError(e, 'accept the funding transaction')
      })
      this.opts.fundings.verified(f.review_id, unsignedTxid(unsigned))
      await this.step(f.review_id, 'verified')
      f = this.opts.fundings.get(f.review_id)!
    }
    if (f.state === 'verified') {
      await this.opts.send.signFunding(input, (psbt, tx) => {
        // Kept before LND (or anyone) sees the signed transaction.
        this.opts.fundings.signed(f!.review_id, encodePsbt(psbt), tx.toHex(), tx.getId())
      })
      await this.step(f.review_id, 'signed')
      f = this.opts.fundings.get(f.review_id)!
    }
    await this.settle(f, lnd)
    return this.opts.send.get(f.review_id)
  }

  /**
   * Takes a signed or finalized opening to its end: LND finalizes (unless it already has), then
   * the box publishes. When LND no longer knows the flow, the opening is cancelled and the signed
   * transaction is never published.
   */
  private async settle(f: ChannelFundingRow, lnd: Lnd): Promise<void> {
    if (f.state === 'signed') {
      this.opts.send.adoptSignedFunding(f.review_id, f.signed_psbt!, f.raw_hex!, f.txid!)
      if (!(await this.lndHasFunding(lnd, f.txid!))) {
        await this.grpcStep(lnd, {
          psbt_finalize: {
            pending_chan_id: Buffer.from(f.pending_id, 'hex'),
            signed_psbt: Buffer.from(f.signed_psbt!, 'base64'),
          },
        }).catch(async (e: unknown) => {
          if (isUnreachable(e)) throw lndError(e, 'accept the funding transaction')
          // LND looks again: a finalize that raced a crash may have gone through after all.
          if (await this.lndHasFunding(lnd, f.txid!)) return
          await this.cancel(
            f,
            lnd,
            `your Lightning node refused the signed funding: ${grpcDetail(e)}`,
          )
          throw lndError(e, 'accept the funding transaction')
        })
      }
      this.opts.fundings.finalized(f.review_id)
      await this.step(f.review_id, 'finalized')
      f = this.opts.fundings.get(f.review_id)!
    }
    if (f.state === 'finalized') {
      this.opts.send.adoptSignedFunding(f.review_id, f.signed_psbt!, f.raw_hex!, f.txid!)
      await this.opts.send.broadcastSigned({ reviewId: f.review_id }, { fundingAccepted: true })
      this.opts.fundings.published(f.review_id)
      await this.step(f.review_id, 'published')
    }
  }

  /**
   * After a restart, and whenever the wallet or LND may have moved: brings every unfinished
   * opening in line with LND and the chain (see channel-funding-saga.ts). Openings not signed
   * yet and left by an earlier process are cancelled; signed ones are finalized or cancelled as
   * LND says; finalized ones are published. Without LND, signed and finalized ones wait (their
   * coins stay held). Openings a confirm is working on are left to it.
   */
  async reconcile(): Promise<void> {
    if (this.reconciling) return this.reconciling
    this.reconciling = (async () => {
      for (const f of this.opts.fundings.unresolved()) {
        if (this.confirming.has(f.review_id)) continue
        const lnd = this.opts.lnd()
        try {
          if (f.state === 'requested' || f.state === 'verified') {
            // Prepared by this process: the owner may still confirm it (its review expires).
            if (
              this.preparedHere.has(f.review_id) &&
              this.opts.send.get(f.review_id).state !== 'expired'
            )
              continue
            await this.cancel(f, lnd, 'the box restarted before the funding was signed')
          } else if (lnd) {
            await this.settle(f, lnd)
          }
        } catch (e) {
          if (e instanceof InjectedCrash) throw e
          this.opts.log?.warn('channel funding not settled yet', {
            review: f.review_id,
            state: f.state,
            message: (e as Error).message,
          })
        }
      }
    })().finally(() => {
      this.reconciling = undefined
    })
    return this.reconciling
  }

  /** Lets LND drop a channel whose funding the owner cancelled (only before it was signed). */
  async cancelChannelFunding(reviewId: string): Promise<void> {
    const f = this.opts.fundings.get(reviewId)
    if (!f || f.state === 'cancelled') return
    if (f.state !== 'requested' && f.state !== 'verified') {
      throw new FlashError(
        'wallet.channel-funding-signed',
        'This channel funding is signed and your Lightning node may already hold it, so it cannot be cancelled here.',
        'The box finishes the opening as soon as the Lightning node answers; watch the Lightning page.',
      )
    }
    await this.cancel(f, this.opts.lnd(), 'you cancelled it')
  }

  private async cancel(f: ChannelFundingRow, lnd: Lnd | undefined, reason: string): Promise<void> {
    if (lnd) {
      // Unknown to LND (it restarted, or the flow timed out) is fine: there is nothing to drop.
      await this.grpcStep(lnd, {
        shim_cancel: { pending_chan_id: Buffer.from(f.pending_id, 'hex') },
      }).catch(() => undefined)
    }
    this.opts.fundings.cancelled(f.review_id, reason)
    const { state } = this.opts.send.get(f.review_id)
    if (state !== 'broadcast' && state !== 'seen') this.opts.send.discard({ reviewId: f.review_id })
    await this.step(f.review_id, 'cancelled')
  }

  /** LND lists a pending or open channel funded by this transaction (it finalized it). */
  private async lndHasFunding(lnd: Lnd, txid: string): Promise<boolean> {
    const [{ pending_channels }, { channels }] = await Promise.all([
      ln.getPendingChannels({ lnd }),
      ln.getChannels({ lnd }),
    ]).catch((e: unknown) => {
      throw lndError(e, 'list its channels')
    })
    return (
      pending_channels.some((c) => c.transaction_id === txid && c.is_opening) ||
      channels.some((c) => c.transaction_id === txid)
    )
  }

  /** One FundingStateStep call (ln-service's fundPendingChannels verifies and finalizes at once). */
  private grpcStep(lnd: Lnd, msg: Record<string, unknown>): Promise<void> {
    const client = (lnd as unknown as { default: GrpcLightning }).default
    return new Promise((resolve, reject) =>
      client.fundingStateStep(msg, (err) => (err ? reject(err) : resolve())),
    )
  }

  private async step(reviewId: string, state: ChannelFundingState): Promise<void> {
    this.opts.log?.info('channel funding step', { review: reviewId, state })
    await this.opts.afterStep?.(reviewId, state)
  }
}

interface GrpcLightning {
  fundingStateStep(msg: Record<string, unknown>, cb: (err: unknown) => void): void
}

/** gRPC UNAVAILABLE (14) or DEADLINE_EXCEEDED (4): LND did not answer, it did not refuse. */
function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code
  return code === 14 || code === 4
}

function grpcDetail(e: unknown): string {
  const d = (e as { details?: unknown })?.details
  return typeof d === 'string' && d ? d : e instanceof Error ? e.message : 'no reason given'
}

/** The txid of a PSBT's unsigned transaction (SegWit inputs: the signed one has the same). */
function unsignedTxid(psbt: Psbt): string {
  return Transaction.fromBuffer(psbt.data.globalMap.unsignedTx.toBuffer()).getId()
}

/**
 * Thrown by a test's `afterStep` to stop the flow right after a step was persisted, as a crash
 * would: the code lets it through without any clean-up.
 */
export class InjectedCrash extends Error {}
