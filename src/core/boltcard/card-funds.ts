// Where a Flash Card's money is: a BTCPay pull payment of the shop's store (Greenfield API).
// The card is registered on it (BTCPay answers the card's K0–K4 by Boltcard deterministic key
// generation); a tap's payment is a payout claimed on it, paid by the box's Lightning node and
// then marked paid, so BTCPay's ledger and the card's balance stay one.
import { FlashError } from '../errors'
import { fromHex, type Bytes } from './aes-cmac'
import type { BoltcardKeys } from './deterministic-keys'
import type { GreenfieldClient } from '../merchant/greenfield-client'

export interface RegisteredCard {
  readonly keys: BoltcardKeys
  readonly version: number
}

/** The narrow interface the Flash Cards module needs from the shop's books. */
export interface CardFunds {
  createPullPayment(name: string, amountSat: number): Promise<string>
  /** The store's pull payment with exactly this name (archived ones too), if any. */
  findPullPayment(name: string): Promise<{ id: string; archived: boolean } | undefined>
  /** Links a card (by UID) to the pull payment; UpdateVersion for programming, Keep for reset. */
  register(
    pullPaymentId: string,
    uid: Bytes,
    onExisting: 'UpdateVersion' | 'KeepVersion',
  ): Promise<RegisteredCard>
  /** Sat left to claim (amount less every payout not cancelled). */
  remainingSat(pullPaymentId: string): Promise<number>
  archive(pullPaymentId: string): Promise<void>
  /** Claims `bolt11` as a payout of the pull payment; the payout id. */
  claim(pullPaymentId: string, bolt11: string, amountSat: number): Promise<string>
  /** Marks the payout paid; also resolves when BTCPay shows it Completed already. */
  markPaid(payoutId: string): Promise<void>
  cancel(payoutId: string): Promise<void>
  /** The payout (not cancelled) of the pull payment that pays `bolt11`, if BTCPay has one. */
  findPayout(pullPaymentId: string, bolt11: string): Promise<string | undefined>
}

interface RegisterAnswer {
  K0: string
  K1: string
  K2: string
  K3: string
  K4: string
  version: number
}

interface PayoutAnswer {
  id: string
  state: string
  originalAmount: string
  destination: string
}

/** BTCPay Greenfield as a card's funds (SATS pull payments, Lightning payouts only). */
export class BtcpayCardFunds implements CardFunds {
  constructor(
    private readonly client: () => GreenfieldClient,
    private readonly storeId: () => string,
  ) {}

  async createPullPayment(name: string, amountSat: number): Promise<string> {
    const pp = await this.client().call<{ id: string }>(
      'POST',
      `/api/v1/stores/${encodeURIComponent(this.storeId())}/pull-payments`,
      {
        name,
        description: 'Flash Card',
        amount: String(amountSat),
        currency: 'SATS',
        payoutMethods: ['BTC-LN'],
        autoApproveClaims: true,
      },
      'Making the card’s balance in BTCPay',
    )
    return pp.id
  }

  async findPullPayment(name: string): Promise<{ id: string; archived: boolean } | undefined> {
    const list = await this.client().call<{ id: string; name: string; archived: boolean }[]>(
      'GET',
      `/api/v1/stores/${encodeURIComponent(this.storeId())}/pull-payments?includeArchived=true`,
      undefined,
      'Reading the cards’ balances from BTCPay',
    )
    const p = list.find((x) => x.name === name)
    return p ? { id: p.id, archived: p.archived } : undefined
  }

  async register(
    pullPaymentId: string,
    uid: Bytes,
    onExisting: 'UpdateVersion' | 'KeepVersion',
  ): Promise<RegisteredCard> {
    const r = await this.client().call<RegisterAnswer>(
      'POST',
      `/api/v1/pull-payments/${encodeURIComponent(pullPaymentId)}/boltcards?onExisting=${onExisting}`,
      { UID: Buffer.from(uid).toString('hex') },
      'Registering the card in BTCPay',
    )
    const key = (k: string) => {
      if (!/^[0-9a-fA-F]{32}$/.test(k))
        throw new FlashError(
          'boltcard.bad_keys',
          'BTCPay answered keys the box cannot use.',
          'Update BTCPay Server, then try again.',
        )
      return fromHex(k)
    }
    return {
      keys: { k0: key(r.K0), k1: key(r.K1), k2: key(r.K2), k3: key(r.K3), k4: key(r.K4) },
      version: r.version,
    }
  }

  async remainingSat(pullPaymentId: string): Promise<number> {
    const id = encodeURIComponent(pullPaymentId)
    const what = 'Reading the card’s balance from BTCPay'
    const pp = await this.client().call<{ amount: string; currency: string }>(
      'GET',
      `/api/v1/pull-payments/${id}`,
      undefined,
      what,
    )
    const payouts = await this.client().call<PayoutAnswer[]>(
      'GET',
      `/api/v1/pull-payments/${id}/payouts`,
      undefined,
      what,
    )
    const toSat = (v: string) => (pp.currency === 'SATS' ? Number(v) : Math.round(Number(v) * 1e8))
    const used = payouts
      .filter((p) => p.state !== 'Cancelled')
      .reduce((n, p) => n + toSat(p.originalAmount), 0)
    return Math.max(0, toSat(pp.amount) - used)
  }

  async archive(pullPaymentId: string): Promise<void> {
    await this.client().call(
      'DELETE',
      `/api/v1/stores/${encodeURIComponent(this.storeId())}/pull-payments/${encodeURIComponent(pullPaymentId)}`,
      undefined,
      'Freezing the card’s balance in BTCPay',
    )
  }

  async claim(pullPaymentId: string, bolt11: string, amountSat: number): Promise<string> {
    const p = await this.client().call<PayoutAnswer>(
      'POST',
      `/api/v1/pull-payments/${encodeURIComponent(pullPaymentId)}/payouts`,
      { destination: bolt11, payoutMethodId: 'BTC-LN', amount: String(amountSat) },
      'Booking the tap as a payout in BTCPay',
    )
    return p.id
  }

  async markPaid(payoutId: string): Promise<void> {
    const path = `/api/v1/stores/${encodeURIComponent(this.storeId())}/payouts/${encodeURIComponent(payoutId)}`
    const what = 'Marking the tap’s payout paid in BTCPay'
    try {
      await this.client().call('POST', `${path}/mark-paid`, undefined, what)
    } catch (err) {
      // BTCPay refuses to mark a Completed payout again: when an earlier try got through (a crash
      // or a lost answer after BTCPay took it), it is told already.
      const p = await this.client()
        .call<PayoutAnswer>('GET', path, undefined, what)
        .catch(() => undefined)
      if (p?.state === 'Completed') return
      throw err
    }
  }

  async cancel(payoutId: string): Promise<void> {
    await this.client().call(
      'DELETE',
      `/api/v1/stores/${encodeURIComponent(this.storeId())}/payouts/${encodeURIComponent(payoutId)}`,
      undefined,
      'Cancelling the tap’s payout in BTCPay',
    )
  }

  async findPayout(pullPaymentId: string, bolt11: string): Promise<string | undefined> {
    const payouts = await this.client().call<PayoutAnswer[]>(
      'GET',
      `/api/v1/pull-payments/${encodeURIComponent(pullPaymentId)}/payouts`,
      undefined,
      'Looking up the tap’s payout in BTCPay',
    )
    return payouts.find((p) => p.destination === bolt11 && p.state !== 'Cancelled')?.id
  }
}
