// Rewards: a store rule as data — "N % of every settled invoice back to the customer" — applied
// from the webhook, one reward per invoice, delivered one of three ways (reward-deliveries.ts):
// a pull payment the customer claims (QR on the receipt), a top-up of the customer's Flash Card,
// or eCash sent to the customer's npub in a NIP-17 message. Which customer: the sale names them
// in its invoice metadata (`flashboxRewardTo`: "card:<card id>" or an npub), set when the sale is
// made on the Merchant page; the owner can also name them later when retrying the reward.
import { existsSync, readFileSync } from 'node:fs'
import { z } from 'zod'
import type {
  RewardDelivery,
  RewardLedgerEntry,
  RewardMethod,
  RewardRule,
} from '../../shared/api/merchant'
import { writeFileAtomicSync } from '../atomic-file'
import type { RewardRow } from './merchant-store'

const RuleSchema = z.object({
  enabled: z.boolean(),
  percent: z.number().min(0).max(50),
  delivery: z.enum(['auto', 'claim', 'card', 'nostr']).default('auto'),
})
export const NO_REWARDS: RewardRule = { enabled: false, percent: 0, delivery: 'auto' }

/** The invoice metadata key naming the customer who gets the reward. */
export const REWARD_TO_KEY = 'flashboxRewardTo'

export type RewardCustomer = { readonly card: string } | { readonly npub: string }

/** The customer a sale names in its metadata, if any ("card:<16 hex>" or "npub1…"). */
export function rewardCustomerOf(value: unknown): RewardCustomer | undefined {
  if (typeof value !== 'string') return undefined
  const card = /^card:([0-9a-f]{16})$/.exec(value)
  if (card) return { card: card[1]! }
  if (/^npub1[02-9ac-hj-np-z]{58}$/.test(value)) return { npub: value }
  return undefined
}

export function rewardToValue(c: RewardCustomer): string {
  return 'card' in c ? `card:${c.card}` : c.npub
}

/** Which way a reward goes, and to whom, under the rule. */
export function rewardMethodFor(
  delivery: RewardDelivery,
  customer: RewardCustomer | undefined,
): { method: RewardMethod; target: string | null } {
  const card = customer && 'card' in customer ? customer.card : null
  const npub = customer && 'npub' in customer ? customer.npub : null
  switch (delivery) {
    case 'claim':
      return { method: 'claim', target: null }
    case 'card':
      return { method: 'card', target: card }
    case 'nostr':
      return { method: 'nostr', target: npub }
    case 'auto':
      return card
        ? { method: 'card', target: card }
        : npub
          ? { method: 'nostr', target: npub }
          : { method: 'claim', target: null }
  }
}

export function readRewardRule(path: string): RewardRule {
  if (!existsSync(path)) return NO_REWARDS
  const r = RuleSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')))
  return r.success ? r.data : NO_REWARDS
}

export function writeRewardRule(path: string, rule: RewardRule): void {
  writeFileAtomicSync(path, JSON.stringify(RuleSchema.parse(rule)) + '\n', 0o600)
}

/** The reward for an invoice amount, in the invoice's currency (whole sats for SATS, else cents… 8 places for BTC). */
export function rewardAmount(amount: string, currency: string, percent: number): string {
  const places = currency === 'SATS' ? 0 : currency === 'BTC' ? 8 : 2
  const v = (Number(amount) * percent) / 100
  const f = 10 ** places
  return (Math.floor(v * f + 1e-9) / f).toFixed(places)
}

export const rewardName = (invoiceId: string) => `Reward for sale ${invoiceId}`

export function entryOf(r: RewardRow): RewardLedgerEntry {
  return {
    invoiceId: r.invoice_id,
    invoiceAmount: r.invoice_amount,
    currency: r.currency,
    percent: r.percent,
    rewardAmount: r.reward_amount,
    ...(r.reward_sat !== null ? { rewardSat: r.reward_sat } : {}),
    state: r.state,
    method: r.method,
    ...(r.target ? { to: r.target } : {}),
    ...(r.step ? { step: r.step } : {}),
    ...(r.reference ? { reference: r.reference } : {}),
    ...(r.pull_payment_id ? { pullPaymentId: r.pull_payment_id } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.funded_by ? { fundedBy: r.funded_by } : {}),
    createdAt: new Date(r.created_at).toISOString(),
  }
}

const csvField = (v: string | number | null) => {
  const s = v === null ? '' : String(v)
  // RFC 4180 quoting; a leading = + - @ is neutralised so a spreadsheet does not run it.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

export function ledgerCsv(rows: readonly RewardRow[]): string {
  const head = [
    'date',
    'invoice',
    'invoice_amount',
    'currency',
    'percent',
    'reward',
    'reward_sat',
    'method',
    'to',
    'status',
    'reference',
    'reason',
    'funded_by',
  ]
  const lines = rows.map((r) =>
    [
      new Date(r.created_at).toISOString(),
      r.invoice_id,
      r.invoice_amount,
      r.currency,
      r.percent,
      r.reward_amount,
      r.reward_sat,
      r.method,
      r.target,
      r.state,
      r.reference ?? r.pull_payment_id,
      r.reason,
      r.funded_by,
    ]
      .map(csvField)
      .join(','),
  )
  return [head.join(','), ...lines].join('\r\n') + '\r\n'
}
