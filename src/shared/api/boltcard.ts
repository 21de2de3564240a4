// The boltcard domain of the API: Flash Cards, NFC cards (NTAG 424 DNA, Boltcard) that pay over
// LNURL-withdraw. Each card's money is a BTCPay pull payment of the shop's store; the box serves
// the card's taps on its public address (/boltcard/*), checks the card's SUN message (counter
// strictly increasing, per-tap and per-day limits), pays the terminal's invoice from the box's
// Lightning node and books it as a payout of the card's pull payment.
// Served by src/core/boltcard/boltcard-module.ts.
import { z } from 'zod'
import { mutation, query } from './procedure'

export type FlashCardState = 'issued' | 'programmed' | 'frozen' | 'reset'

export interface FlashCardView {
  readonly id: string
  readonly name: string
  readonly state: FlashCardState
  /** What the pull payment has left, in sat; null when BTCPay could not be asked. */
  readonly balanceSat: number | null
  readonly perTapSat: number
  readonly perDaySat: number
  /** Paid by taps in the last 24 hours. */
  readonly spentTodaySat: number
  readonly pullPaymentId: string
  readonly createdAt: string
  readonly programmedAt?: string
  readonly lastUsedAt?: string
  /** The last tap that was refused, in the words the terminal got. */
  readonly lastDeclined?: string
  /**
   * Taps whose payment went out but whose payout BTCPay has not taken as paid yet (the box tries
   * again every 15 s and at start; it never pays them again).
   */
  /**
   * The Boltcard app took the card's keys to wipe it at this time, and the reset is not confirmed
   * yet (the box cannot see the app finish): confirmReset.
   */
  readonly resetPendingSince?: string
  readonly btcpayUntold?: {
    readonly taps: number
    readonly sat: number
    /** BTCPay's last answer, in plain words. */
    readonly reason: string
  }
}

export interface FlashCardsView {
  readonly cards: readonly FlashCardView[]
  /** Where taps are served (lnurlw://…/boltcard/tap); undefined while the box has no public address. */
  readonly tapUrl?: string
  /** Why cards cannot be issued or tapped now, in plain words. */
  readonly problem?: { readonly code: string; readonly message: string; readonly hint: string }
}

export interface ProgrammingLink {
  /** boltcard://program?url=… (or reset): opens the Boltcard NFC Programmer app. */
  readonly deepLink: string
  readonly qr?: string
  /** When the one-time keys URL stops answering. */
  readonly expiresAt: string
}

const CardId = z.string().regex(/^[0-9a-f]{16}$/)
const Sat = z.number().int().min(1).max(100_000_000)

export const boltcardApi = {
  cards: query<FlashCardsView>()(z.object({})),
  /** PC/SC readers the computer sees now. */
  readers: query<readonly string[]>()(z.object({})),
  issue: mutation<FlashCardView>()(
    z
      .object({
        name: z.string().trim().min(1).max(64),
        amountSat: Sat,
        perTapSat: Sat,
        perDaySat: Sat,
      })
      .refine((x) => x.perDaySat >= x.perTapSat, {
        message: 'the day limit must be at least the tap limit',
        path: ['perDaySat'],
      }),
  ),
  /** Programs a blank card on the computer's NFC reader (PC/SC) as this Flash Card. */
  program: mutation<FlashCardView>()(
    z.object({ id: CardId, reader: z.string().max(200).optional() }),
  ),
  /** A one-time link for the Boltcard NFC Programmer app (program or reset). */
  programmingLink: mutation<ProgrammingLink>()(
    z.object({ id: CardId, action: z.enum(['program', 'reset']) }),
  ),
  /**
   * Wipes the card on the computer's NFC reader back to factory keys; marked wiped only when the
   * card then answers with them.
   */
  reset: mutation<FlashCardView>()(
    z.object({ id: CardId, reader: z.string().max(200).optional() }),
  ),
  /**
   * Confirms a reset made with the Boltcard app: `reader` checks that the card on the computer's
   * NFC reader answers with the factory keys; `owner` takes the owner's word that the app said so.
   */
  confirmReset: mutation<FlashCardView>()(
    z.object({
      id: CardId,
      how: z.enum(['reader', 'owner']),
      reader: z.string().max(200).optional(),
    }),
  ),
  topUp: mutation<FlashCardView>()(z.object({ id: CardId, amountSat: Sat })),
  setLimits: mutation<FlashCardView>()(
    z
      .object({ id: CardId, perTapSat: Sat, perDaySat: Sat })
      .refine((x) => x.perDaySat >= x.perTapSat, {
        message: 'the day limit must be at least the tap limit',
        path: ['perDaySat'],
      }),
  ),
  /** Archives the card's pull payment in BTCPay: the card pays nothing more (cannot be undone). */
  freeze: mutation<FlashCardView>()(z.object({ id: CardId })),
}

export type BoltcardEvent = { topic: 'boltcard'; type: 'changed' }
