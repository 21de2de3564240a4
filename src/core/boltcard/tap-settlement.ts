// A Flash Card tap's payment, as a saga: each step is recorded on the tap's row (card-store.ts)
// before the next one starts, so a box that dies at any step neither pays twice nor loses track:
//   reserved  the amount and the invoice, booked against the card's limits (lud03-withdraw.ts)
//   claimed   the payout booked on the card's BTCPay pull payment, its id recorded
//   sending   the payment hash recorded, then the payment handed to the payment saga
//             (lightning/payment-saga.ts), which records it before LND sees it
//   paid      the payment went out: recorded before BTCPay is told, so nothing can pay it again
//   told      BTCPay took the payout as paid; until then the tap stays paid and "BTCPay not yet
//             told", with BTCPay's reason, and the telling is tried again (tellBtcpay())
//   failed
// reconcile() settles every tap a crash left on the way (at start, then on every pass until none
// is left):
//   reserved   the payout is looked up in BTCPay by its invoice (the crash may have come between
//              BTCPay booking it and the box recording it); then as claimed
//   claimed    never handed to Lightning: the payout is cancelled, the money stays on the card
//   sending    the payment saga's outcome (LND's own record after a restart): paid → the payout
//              is marked paid; failed or never sent → cancelled; in flight → asked again later
//   paid, BTCPay not told   mark-paid again (card-funds.ts counts a payout BTCPay already shows
//              Completed as told); never a payment
import type { PaymentView } from '../../shared/api/lightning'
import { toUserError } from '../errors'
import type { Logger } from '../log'
import type { PreparedPayment } from '../lightning/lightning-module'
import { LnurlError } from '../lightning/lud06-lnurl-pay'
import type { CardFunds } from './card-funds'
import type { CardRow, CardStore, TapRow } from './card-store'

/** The part of the Lightning module a tap needs. */
export interface TapLightning {
  preparePayment(request: string): Promise<PreparedPayment>
  sendPayment(p: PreparedPayment, waitMs?: number): Promise<PaymentView>
  /** The payment saga's record of a hash; undefined when it never started. */
  paymentState(hash: string): PaymentView | undefined
}

/** Steps a test can stop at (after the step is recorded). */
export type TapStep = 'claimed' | 'sending' | 'outcome'

export interface TapSettlementDeps {
  readonly store: () => CardStore
  readonly funds: CardFunds
  /** Undefined while the Lightning node is not running. */
  readonly lightning: () => TapLightning | undefined
  readonly log: Logger
  /** How long a tap's callback waits for the payment's outcome (default 30 s). */
  readonly payWaitMs?: number
  /** TEST-ONLY hook (crash tests stop the process here); production passes nothing. */
  readonly onStep?: (k1: string, step: TapStep) => Promise<void>
}

/** How long after its offer expired a taken tap with nothing booked counts as left by a crash. */
const UNBOOKED_GRACE_MS = 60_000

const notRunning = () =>
  new LnurlError(503, 'The shop’s Lightning node is not running; try again later.')

export class TapSettlement {
  /** Taps this process is settling right now: reconcile() leaves them alone. */
  private readonly live = new Set<string>()

  constructor(private readonly deps: TapSettlementDeps) {}

  private async step(k1: string, step: TapStep) {
    if (this.deps.onStep) await this.deps.onStep(k1, step)
  }

  /**
   * Books a reserved tap as a payout of the card's pull payment (BTCPay refuses a claim over the
   * balance). Throws LnurlError (a decline for the terminal) when BTCPay refuses.
   */
  async claim(card: CardRow, k1: string, bolt11: string, amountSat: number): Promise<void> {
    // Synchronously after the reservation: no reconcile() can see this tap as left behind.
    this.live.add(k1)
    try {
      const payoutId = await this.deps.funds.claim(card.pull_payment_id, bolt11, amountSat)
      this.deps.store().claimed(k1, payoutId)
    } catch (err) {
      this.live.delete(k1)
      this.deps.store().finish(k1, 'failed', 'claim refused')
      throw new LnurlError(200, `Declined: ${toUserError(err).message}`)
    }
    await this.step(k1, 'claimed')
  }

  /** Pays a claimed tap; resolves when paid or still in flight, throws LnurlError when it failed. */
  async pay(card: CardRow, k1: string, bolt11: string, amountSat: number): Promise<void> {
    try {
      const l = this.deps.lightning()
      if (!l) {
        await this.cancel(this.deps.store().tap(k1)!, 'Lightning not running')
        throw notRunning()
      }
      const prepared = await l.preparePayment(bolt11)
      this.deps.store().sending(k1, prepared.hash)
      await this.step(k1, 'sending')
      const r = await l.sendPayment(prepared, this.deps.payWaitMs ?? 30_000)
      await this.step(k1, 'outcome')
      const tap = this.deps.store().tap(k1)!
      if (r.state === 'succeeded') {
        await this.paid(tap)
        this.deps.log.info('card tap paid', { card: card.id, amountSat })
        return
      }
      if (r.state === 'failed') {
        await this.cancel(tap, r.failureText ?? 'payment failed')
        throw new LnurlError(200, `The payment failed: ${r.failureText ?? 'no route'}.`)
      }
      // Still in flight: reconcile() settles it from the payment saga; the payout stays booked.
      this.deps.log.info('card tap payment in flight', { card: card.id })
    } finally {
      this.live.delete(k1)
    }
  }

  private async paid(tap: TapRow) {
    if (!tap.payout_id) {
      this.deps.store().finish(tap.k1, 'paid')
      return
    }
    this.deps.store().paidUntold(tap.k1)
    await this.tell(tap)
  }

  /** Marks the tap's payout paid in BTCPay; true when BTCPay took it. Never pays anything. */
  private async tell(tap: TapRow): Promise<boolean> {
    try {
      await this.deps.funds.markPaid(tap.payout_id!)
      this.deps.store().told(tap.k1)
      return true
    } catch (err) {
      const e = toUserError(err)
      this.deps.store().notTold(tap.k1, e.message)
      this.deps.log.warn('payout not marked paid in BTCPay yet (paid; trying again later)', {
        payoutId: tap.payout_id,
        error: e.code,
      })
      return false
    }
  }

  /** Tells BTCPay of every paid tap it has not taken as paid yet; how many it took now. */
  async tellBtcpay(): Promise<number> {
    let told = 0
    for (const tap of this.deps.store().untold())
      if (!this.live.has(tap.k1) && (await this.tell(tap))) told++
    return told
  }

  private async cancel(tap: TapRow, reason: string) {
    // The payout must be gone from BTCPay before the tap is finished, or the money is lost.
    if (tap.payout_id) await this.deps.funds.cancel(tap.payout_id)
    this.deps.store().finish(tap.k1, 'failed', reason)
  }

  /**
   * Settles the taps a crash (or a payment still in flight) left unfinished, then tells BTCPay of
   * the paid ones it has not taken yet; how many changed.
   */
  async reconcile(): Promise<number> {
    const settled = await this.settleUnfinished()
    return settled + (await this.tellBtcpay())
  }

  private async settleUnfinished(): Promise<number> {
    const store = this.deps.store()
    let settled = 0
    for (const left of store.unfinished()) {
      if (this.live.has(left.k1)) continue
      try {
        let tap = left
        if (tap.amount_sat === null) {
          // Taken, nothing booked yet: a callback may still be checking it until well after its
          // offer expired; after that it was left by a crash.
          if (tap.expires_at + UNBOOKED_GRACE_MS < Date.now()) {
            store.finish(tap.k1, 'failed', 'interrupted before paying')
            settled++
          }
          continue
        }
        if (!tap.payment_hash) {
          const pullPaymentId = tap.pull_payment_id ?? store.get(tap.card_id)?.pull_payment_id
          if (!tap.payout_id && tap.bolt11 && pullPaymentId) {
            const found = await this.deps.funds.findPayout(pullPaymentId, tap.bolt11)
            if (found) store.claimed(tap.k1, found)
            tap = store.tap(tap.k1)!
          }
          await this.cancel(tap, 'interrupted before paying')
          settled++
          continue
        }
        const l = this.deps.lightning()
        if (!l) return settled
        const state = l.paymentState(tap.payment_hash)?.state
        if (state === 'succeeded') await this.paid(tap)
        else if (state === 'failed' || state === undefined)
          await this.cancel(tap, state ? 'payment failed' : 'interrupted before paying')
        else continue
        settled++
      } catch (err) {
        this.deps.log.warn('card tap not settled yet', {
          tap: left.k1.slice(0, 8),
          error: toUserError(err).code,
        })
      }
    }
    return settled
  }
}
