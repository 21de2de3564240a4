// A Flash Card tap, served as LNURL-withdraw (LUD-03, with Boltcard's rules: docs/SPEC.md):
//   GET <base>/boltcard/tap?p=…&c=…   → the card is checked, then a withdrawRequest offer
//   GET <base>/boltcard/callback?k1=…&pr=… → the terminal's invoice is paid from the card
// Checks, in order: p opens under K1 to a UID of a card of this box; c is that card's SDMMAC
// (K2); the card is programmed (not frozen, not reset); the counter is above every counter seen
// (a replayed or cloned card is refused); no reset through the Boltcard app waiting (a fresh tap
// with the card's keys proves it did not happen: refused, and the reset no longer waits); the
// per-tap and per-day limits and the balance. A refusal is
// `{"status":"ERROR","reason":"Declined: …"}`, the words the terminal shows.
// A card's callbacks are settled one at a time up to the booking of the payout, and the amount
// is reserved against the limits in the same statement that records it (card-store.ts), so
// callbacks at once — of one tap or of several — never pay past a limit or the balance.
import { randomBytes } from 'node:crypto'
import type { Bytes } from './aes-cmac'
import { hex } from './aes-cmac'
import type { CardRow, CardStore } from './card-store'
import { sunParameters } from './card-programming'
import type { BoltcardKeys } from './deterministic-keys'
import { checkSdmMac, decryptPiccData } from './sun-message'
import {
  LnurlError,
  lnurlErrorResponse,
  lnurlJson,
  type LnurlHttpResponse,
} from '../lightning/lud06-lnurl-pay'

const DAY_MS = 86_400_000
/** How long a tap's offer may be taken by the terminal's callback. */
export const OFFER_TTL_MS = 5 * 60_000

export interface WithdrawDeps {
  readonly store: CardStore
  /** K1 of the box's issuer (the same for every card), or undefined before the first card. */
  readonly encryptionKey: () => Bytes | undefined
  readonly uidHash: (uid: Bytes) => string
  readonly keysOf: (cardId: string) => BoltcardKeys | undefined
  /** Public base URL (https://host), or undefined when the box has none. */
  readonly baseUrl: () => string | undefined
  readonly remainingSat: (card: CardRow) => Promise<number>
  /** Decodes the invoice: its amount (sat) and whether it is payable by the box (network, expiry). */
  readonly invoiceAmount: (bolt11: string) => Promise<number>
  /**
   * Books a reserved tap on the card's funds (BTCPay refuses a claim over the balance); throws
   * LnurlError (a decline) when refused.
   */
  readonly claim: (card: CardRow, tapK1: string, bolt11: string, amountSat: number) => Promise<void>
  /** Pays a claimed tap; resolves when paid (or still in flight), throws LnurlError if not. */
  readonly pay: (card: CardRow, tapK1: string, bolt11: string, amountSat: number) => Promise<void>
  readonly onChange: () => void
}

const declined = (reason: string) => new LnurlError(200, `Declined: ${reason}`)

function decline(d: WithdrawDeps, card: CardRow | undefined, err: LnurlError): LnurlHttpResponse {
  if (card) {
    d.store.declined(card.id, err.reason)
    d.onChange()
  }
  return lnurlErrorResponse(err)
}

async function allowanceSat(d: WithdrawDeps, card: CardRow): Promise<{ max: number; why: string }> {
  const spent = d.store.spentSince(card.id, Date.now() - DAY_MS)
  const dayLeft = Math.max(0, card.per_day_sat - spent)
  const balance = await d.remainingSat(card)
  const max = Math.min(card.per_tap_sat, dayLeft, balance)
  const why =
    balance <= max && balance < card.per_tap_sat && balance <= dayLeft
      ? `the card has ${balance} sat left`
      : dayLeft < card.per_tap_sat
        ? `the card's day limit of ${card.per_day_sat} sat is reached (${dayLeft} sat left today)`
        : `the card pays at most ${card.per_tap_sat} sat per tap`
  return { max, why }
}

export async function withdrawRequest(
  d: WithdrawDeps,
  query: URLSearchParams,
): Promise<LnurlHttpResponse> {
  let card: CardRow | undefined
  try {
    const base = d.baseUrl()
    if (!base) throw new LnurlError(503, 'The shop’s box does not know its public address yet.')
    const sun = sunParameters(`?${query.toString()}`)
    if (!sun) throw new LnurlError(400, 'This is not a card tap (p and c are missing).')
    const k1Key = d.encryptionKey()
    const picc = k1Key ? decryptPiccData(k1Key, sun.p) : undefined
    if (!picc) throw declined('this card is not one of this shop’s cards.')
    card = d.store.byUidHash(d.uidHash(picc.uid))
    const keys = card ? d.keysOf(card.id) : undefined
    if (!card || !keys) throw declined('this card is not one of this shop’s cards.')
    if (!checkSdmMac(keys.k2, picc, sun.c)) throw declined('the card’s signature is wrong.')
    if (card.state === 'frozen') throw declined('this card is frozen.')
    if (card.state !== 'programmed') throw declined('this card is not active.')
    if (!d.store.advanceCounter(card.id, picc.counter))
      throw declined('this tap was already used (copied or replayed card).')
    d.onChange()
    if (card.reset_pending_at !== null) {
      // A fresh tap (its counter is new) with the card's own keys: the app's reset did not happen.
      d.store.resetNotDone(card.id)
      throw declined(
        'this card was being reset, but it still has its keys, so the reset did not finish. Reset it again, or use it as before.',
      )
    }
    const { max, why } = await allowanceSat(d, card)
    if (max < 1) throw declined(why.replace('at most', 'nothing more than'))
    const k1 = hex(new Uint8Array(randomBytes(32)))
    d.store.offer({
      k1,
      card_id: card.id,
      counter: picc.counter,
      max_sat: max,
      expires_at: Date.now() + OFFER_TTL_MS,
    })
    return lnurlJson({
      tag: 'withdrawRequest',
      callback: `${base}/boltcard/callback`,
      k1,
      defaultDescription: `Flash Card ${card.name}`,
      minWithdrawable: 1000,
      maxWithdrawable: max * 1000,
    })
  } catch (err) {
    if (err instanceof LnurlError) return decline(d, card, err)
    throw err
  }
}

export async function withdrawCallback(
  d: WithdrawDeps,
  query: URLSearchParams,
): Promise<LnurlHttpResponse> {
  let card: CardRow | undefined
  try {
    const k1 = query.get('k1') ?? ''
    const pr = (query.get('pr') ?? '').trim()
    if (!/^[0-9a-f]{64}$/.test(k1) || !pr) throw new LnurlError(400, 'k1 and pr are needed.')
    const tap = d.store.take(k1)
    if (!tap) throw declined('this tap expired or was already used; tap the card again.')
    card = d.store.get(tap.card_id)
    if (!card || card.state !== 'programmed') {
      d.store.finish(k1, 'failed', 'card not active')
      throw declined('this card is not active.')
    }
    let amountSat: number
    try {
      amountSat = await d.invoiceAmount(pr)
    } catch (err) {
      d.store.finish(k1, 'failed', 'bad invoice')
      if (err instanceof LnurlError) throw err
      throw new LnurlError(400, 'The invoice cannot be paid (wrong network, expired or malformed).')
    }
    const active = card
    await d.store.serialized(card.id, async () => {
      const { max, why } = await allowanceSat(d, active)
      const over = () => {
        d.store.finish(k1, 'failed', 'over limit')
        return declined(`${amountSat} sat is over the limit: ${why}.`)
      }
      if (amountSat > Math.min(max, tap.max_sat)) throw over()
      if (!d.store.reserve(k1, amountSat, pr, Date.now() - DAY_MS)) throw over()
      await d.claim(active, k1, pr, amountSat)
    })
    await d.pay(card, k1, pr, amountSat)
    d.onChange()
    return lnurlJson({ status: 'OK' })
  } catch (err) {
    if (err instanceof LnurlError) return decline(d, card, err)
    throw err
  }
}
