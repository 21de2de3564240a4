// A reward's delivery as a saga recorded per invoice in the merchant store (rewards table):
//   claim: a BTCPay pull payment named after the invoice (its link is the QR on the receipt);
//   card:  a top-up of the customer's Flash Card through the card's pull payment (the Flash Cards
//          module's `rewardTopUp`, idempotent by the reward's reference);
//   nostr: eCash minted by the box's eCash wallet at the box's own mint (the mint's invoice paid
//          by the box's Lightning node; or, when the mint runs on that same node, its quote
//          settled inside the box — recorded as `funded_by` internal), sent as a token to the
//          customer's npub in a NIP-17 private message through the box's Nostr messaging.
// Every step is written down before the call that moves money and its result right after. A
// crash, or BTCPay delivering the webhook again, continues from the record: the claim and the
// card top-up are found by name in BTCPay, the mint quote is kept by id, the token is found in
// the eCash wallet by its memo (one send per reward) and the message carries that same token, so
// nothing is paid twice. A step that fails marks the reward failed with the error's plain words;
// the owner retries it on the Merchant page and it continues from the same record.
import type { RewardLedgerEntry, RewardRule } from '../../shared/api/merchant'
import { FlashError } from '../errors'
import type { Logger } from '../log'
import type { GreenfieldClient } from './greenfield-client'
import type { InvoiceRow, MerchantStore, RewardRow } from './merchant-store'
import { entryOf, rewardAmount, rewardCustomerOf, rewardMethodFor, rewardName } from './rewards'

/** The Flash Cards module's side (src/core/boltcard/boltcard-module.ts). */
export interface CardRewards {
  /** Adds `amountSat` to the card's balance once per `reference`; the card's pull payment id. */
  rewardTopUp(cardId: string, amountSat: number, reference: string): Promise<string>
}

/** The box's eCash wallet and Lightning node, as far as a reward needs them. */
export interface EcashRewards {
  mintQuote(amountSat: number): Promise<{ quoteId: string }>
  /** Mints the ecash when the quote is paid. */
  checkMintQuote(quoteId: string): Promise<{ state: string; invoice: string }>
  /**
   * Pays the mint's invoice for quote `quoteId` from the box's Lightning node (idempotent per
   * payment hash); 'internal' when the box's own mint on the box's own node settled its quote
   * inside the box instead (a node cannot pay itself; no sats had to move).
   */
  payInvoice(bolt11: string, amountSat: number, quoteId: string): Promise<'lightning' | 'internal'>
  send(amountSat: number, memo: string): Promise<{ operationId: string }>
  /** The send operation made with this memo, if the wallet has one that was not rolled back. */
  sentWithMemo(memo: string): string | undefined
  /** The token of a send operation (it stays sealed in the eCash wallet's store). */
  token(operationId: string): string | undefined
}

export interface NostrRewards {
  /** A NIP-17 private message; its id. */
  sendPrivate(toNpub: string, text: string): Promise<string>
}

export interface RewardContext {
  readonly store: MerchantStore
  readonly client: GreenfieldClient
  readonly storeId: string
  readonly log: Logger
  readonly card?: CardRewards
  readonly ecash?: EcashRewards
  readonly nostr?: NostrRewards
  readonly shopName?: string
  /** How long a paid mint quote may take to be minted (default 20 s). */
  readonly mintWaitMs?: number
  /**
   * What a sale settled inside the box (paid with the box's own eCash, internal-settlement.ts)
   * was paid, in msat: BTCPay shows no bitcoin payment for it (it was marked settled).
   */
  readonly settledInsideBoxMsat?: (invoiceId: string) => number | undefined
}

interface PullPayment {
  id: string
  name: string
  viewLink: string
}

export const rewardReference = (invoiceId: string) => `reward ${invoiceId}`
export const rewardMemo = (invoiceId: string) => `Reward for sale ${invoiceId}`

/**
 * Starts the reward of a settled sale (once per invoice) and runs its delivery; a pending reward
 * (a crash) continues. Failed rewards wait for the owner (`retryReward`). Null when there is
 * nothing to do.
 */
export async function applyReward(
  o: RewardContext & { rule: RewardRule; invoice: InvoiceRow },
): Promise<RewardLedgerEntry | null> {
  const { store, invoice } = o
  if (invoice.status !== 'Settled') return null
  let row = store.reward(invoice.id)
  let fresh = false
  if (!row) {
    if (!o.rule.enabled || o.rule.percent <= 0) return null
    const amount = rewardAmount(invoice.amount, invoice.currency, o.rule.percent)
    if (Number(amount) <= 0) return null
    const { method, target } = rewardMethodFor(o.rule.delivery, rewardCustomerOf(invoice.reward_to))
    fresh = store.beginReward({
      invoice_id: invoice.id,
      invoice_amount: invoice.amount,
      currency: invoice.currency,
      percent: o.rule.percent,
      reward_amount: amount,
      method,
      target,
    })
    row = store.reward(invoice.id)!
  }
  if (row.state !== 'pending') return null
  return deliverReward(o, row, fresh)
}

/** Runs (or continues) a reward's delivery; marks it failed, with the reason, when a step fails. */
export async function deliverReward(
  o: RewardContext,
  row: RewardRow,
  fresh = false,
): Promise<RewardLedgerEntry> {
  const id = row.invoice_id
  try {
    if (row.method === 'claim') await deliverClaim(o, row, fresh)
    else {
      const sat = row.reward_sat ?? (await rewardSat(o, row))
      if (row.reward_sat === null) o.store.rewardProgress(id, { reward_sat: sat })
      const current = o.store.reward(id)!
      if (row.method === 'card') await deliverToCard(o, current, sat)
      else await deliverEcash(o, current, sat)
    }
    const done = o.store.reward(id)!
    o.log.info('reward delivered', {
      invoiceId: id,
      method: done.method,
      amount: done.reward_amount,
      currency: done.currency,
      ...(done.reward_sat !== null ? { sat: done.reward_sat } : {}),
    })
  } catch (err) {
    const reason =
      err instanceof FlashError
        ? `${err.message}${err.hint ? ` ${err.hint}` : ''}`
        : 'Something unexpected stopped it.'
    o.store.rewardProgress(id, { state: 'failed', reason })
    o.log.warn('reward not delivered', {
      invoiceId: id,
      method: row.method,
      step: o.store.reward(id)?.step ?? null,
      ...(err instanceof FlashError ? { code: err.code } : { error: String(err) }),
    })
  }
  return entryOf(o.store.reward(id)!)
}

// --- claim: a pull payment the customer claims ----------------------------------------------

async function deliverClaim(o: RewardContext, row: RewardRow, fresh: boolean): Promise<void> {
  const what = 'giving the customer their reward'
  o.store.rewardProgress(row.invoice_id, { step: 'claim' })
  // A crash after BTCPay made the pull payment: find it by name instead of making a second one.
  const existing = fresh
    ? undefined
    : (
        await o.client.call<PullPayment[]>(
          'GET',
          `/api/v1/stores/${o.storeId}/pull-payments`,
          undefined,
          what,
        )
      ).find((p) => p.name === rewardName(row.invoice_id))
  const pp =
    existing ??
    (await o.client.call<PullPayment>(
      'POST',
      `/api/v1/stores/${o.storeId}/pull-payments`,
      {
        name: rewardName(row.invoice_id),
        description: `${row.percent}% back on your purchase`,
        amount: row.reward_amount,
        currency: row.currency,
        autoApproveClaims: true,
        payoutMethods: ['BTC-LN'],
      },
      what,
    ))
  o.store.rewardProgress(row.invoice_id, {
    state: 'issued',
    step: null,
    reason: null,
    pull_payment_id: pp.id,
    claim_link: pp.viewLink,
    reference: pp.id,
  })
}

// --- the reward in sat ----------------------------------------------------------------------

/** The reward in sat: the share of what the customer paid in bitcoin (BTCPay's own figures). */
async function rewardSat(o: RewardContext, row: RewardRow): Promise<number> {
  if (row.currency === 'SATS') return Math.floor(Number(row.reward_amount))
  if (row.currency === 'BTC') return Math.floor(Number(row.reward_amount) * 1e8 + 1e-6)
  const methods = await o.client.call<{ totalPaid?: string; amount?: string }[]>(
    'GET',
    `/api/v1/stores/${o.storeId}/invoices/${row.invoice_id}/payment-methods`,
    undefined,
    'reading what the customer paid in bitcoin',
  )
  const inside = o.settledInsideBoxMsat?.(row.invoice_id)
  const paidBtc = Math.max(
    0,
    ...methods.map((m) => Number(m.totalPaid ?? 0)),
    inside !== undefined ? inside / 1e11 : 0,
  )
  const sat = Math.floor((paidBtc * 1e8 * row.percent) / 100 + 1e-6)
  if (!(sat > 0))
    throw new FlashError(
      'merchant.reward_no_bitcoin',
      'BTCPay shows no bitcoin paid for this sale, so the reward in sat cannot be worked out.',
      'Pick “A claim QR” under “Send it to” next to the reward on the Merchant page, then press Retry.',
    )
  return sat
}

// --- card: a top-up of the customer's Flash Card --------------------------------------------

async function deliverToCard(o: RewardContext, row: RewardRow, sat: number): Promise<void> {
  if (!row.target)
    throw new FlashError(
      'merchant.reward_no_card',
      'This sale names no Flash Card for the reward.',
      'Pick the customer’s card next to the reward on the Merchant page, then press Retry.',
    )
  if (!o.card)
    throw new FlashError(
      'merchant.reward_no_cards',
      'Flash Cards are not running, so the reward cannot go onto a card.',
      'Check the Flash Cards tab on the Merchant page, then press Retry.',
    )
  o.store.rewardProgress(row.invoice_id, { step: 'topping-up' })
  const pp = await o.card.rewardTopUp(row.target, sat, rewardReference(row.invoice_id))
  o.store.rewardProgress(row.invoice_id, {
    state: 'issued',
    step: null,
    reason: null,
    pull_payment_id: pp,
    reference: pp,
  })
}

// --- nostr: eCash in a NIP-17 message -------------------------------------------------------

async function deliverEcash(o: RewardContext, row: RewardRow, sat: number): Promise<void> {
  const id = row.invoice_id
  if (!row.target)
    throw new FlashError(
      'merchant.reward_no_npub',
      'This sale names no Nostr key (npub) for the reward.',
      'Type the customer’s npub next to the reward on the Merchant page, then press Retry.',
    )
  const { ecash, nostr } = o
  if (!ecash)
    throw new FlashError(
      'merchant.reward_no_ecash',
      'The eCash wallet is turned off, so the reward cannot be sent as eCash.',
      'Turn on the mint and the eCash wallet in Settings → Services, then press Retry.',
    )
  if (!nostr)
    throw new FlashError(
      'merchant.reward_no_nostr',
      'This Flash Box runs without Nostr messaging, so the eCash cannot be sent to the customer.',
      'Restart Flash Box, then press Retry; or send the reward as a claim QR.',
    )
  const memo = rewardMemo(id)
  let r = row
  // 1. A mint quote for the reward (nothing is paid yet: a crash here leaves an unpaid quote).
  if (!r.quote_id && !r.ecash_op && r.step !== 'sending' && r.step !== 'messaging') {
    const q = await ecash.mintQuote(sat)
    o.store.rewardProgress(id, { step: 'minting', quote_id: q.quoteId })
    r = o.store.reward(id)!
  }
  // 2. The mint's invoice paid by the box's Lightning node, then the ecash minted.
  if (r.step === 'minting' && r.quote_id) {
    let q = await ecash.checkMintQuote(r.quote_id)
    if (q.state === 'unpaid') {
      // The cost of the reward's eCash: paid over Lightning, or settled inside the box.
      o.store.rewardProgress(id, { funded_by: await ecash.payInvoice(q.invoice, sat, r.quote_id) })
      q = await ecash.checkMintQuote(r.quote_id)
    }
    // The payment reaches the mint a moment later; the wallet mints as soon as the mint sees it.
    const end = Date.now() + (o.mintWaitMs ?? 20_000)
    while ((q.state === 'paid' || q.state === 'unpaid') && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 250))
      q = await ecash.checkMintQuote(r.quote_id)
    }
    if (q.state === 'expired') {
      // Never paid (an expired quote was not paid): the retry asks for a new one.
      o.store.rewardProgress(id, { step: null, quote_id: null })
      throw new FlashError(
        'merchant.reward_quote_expired',
        'The mint’s invoice for the reward expired before it was paid.',
        'Press Retry to ask the mint again.',
      )
    }
    if (q.state !== 'issued')
      throw new FlashError(
        'merchant.reward_not_minted',
        'The box’s mint has not given out the reward’s eCash yet.',
        'Check the Mint page, then press Retry; the reward continues where it stopped.',
      )
    o.store.rewardProgress(id, { step: 'sending' })
    r = o.store.reward(id)!
  }
  // 3. The token: one send per reward, found again by its memo after a crash.
  if (r.step === 'sending') {
    const op = ecash.sentWithMemo(memo) ?? (await ecash.send(sat, memo)).operationId
    o.store.rewardProgress(id, { step: 'messaging', ecash_op: op })
    r = o.store.reward(id)!
  }
  // 4. The NIP-17 message with that token (sent again after a crash: the same token, once spendable).
  if (r.step === 'messaging' && r.ecash_op) {
    const token = ecash.token(r.ecash_op)
    if (!token)
      throw new FlashError(
        'merchant.reward_token_missing',
        'The eCash wallet no longer has the reward’s token.',
        'Look at the eCash page’s history, then press Retry.',
      )
    const shop = o.shopName ? ` at ${o.shopName}` : ''
    const text =
      `Thank you for shopping${shop}! Here is your ${r.percent}% reward: ${sat} sat in eCash.\n` +
      `Open it in a Cashu wallet:\n\n${token}\n`
    const messageId = await nostr.sendPrivate(r.target!, text)
    o.store.rewardProgress(id, {
      state: 'issued',
      step: null,
      reason: null,
      reference: messageId,
    })
    return
  }
  throw new FlashError(
    'merchant.reward_lost_step',
    'The reward’s record is at a step the box cannot continue from.',
    'Press Retry; if it stays like this, give the reward as a claim QR.',
  )
}

/** Where a retried reward may be sent instead: a card, an npub, or the claim QR. */
export type RewardRetryTo =
  { readonly card: string } | { readonly npub: string } | { readonly claim: true }

/** True once a step that can move money has begun (then the reward stays on its way). */
export function rewardStarted(r: RewardRow): boolean {
  return r.step !== null || r.quote_id !== null || r.ecash_op !== null || r.reference !== null
}

/** The owner's retry of a failed (or stuck pending) reward, optionally to another customer. */
export async function retryReward(
  o: RewardContext,
  invoiceId: string,
  to?: RewardRetryTo,
): Promise<RewardLedgerEntry> {
  const row = o.store.reward(invoiceId)
  if (!row)
    throw new FlashError(
      'merchant.no_reward',
      'This sale has no reward.',
      'Turn rewards on in the Rewards box on the Merchant page; new sales get one.',
    )
  if (row.state === 'issued')
    throw new FlashError(
      'merchant.reward_delivered',
      'This reward was already delivered.',
      'Look at the rewards list on the Merchant page.',
    )
  if (to) {
    const next =
      'card' in to
        ? { method: 'card' as const, target: to.card }
        : 'npub' in to
          ? { method: 'nostr' as const, target: to.npub }
          : { method: 'claim' as const, target: null }
    if ((next.method !== row.method || next.target !== row.target) && rewardStarted(row))
      throw new FlashError(
        'merchant.reward_on_its_way',
        'This reward has already started on its way, so it can only be retried the same way.',
        'Press Retry without choosing another customer.',
      )
    o.store.rewardProgress(invoiceId, { ...next, reward_sat: row.reward_sat })
  }
  o.store.rewardProgress(invoiceId, { state: 'pending', reason: null })
  return deliverReward(o, o.store.reward(invoiceId)!)
}
