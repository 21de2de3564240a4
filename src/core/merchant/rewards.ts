// Rewards: a store rule as data — "N % of every settled invoice back to the customer" — applied
// from the webhook. Each reward is a BTCPay pull payment the customer claims (its link as a QR on
// the receipt). Idempotent per invoice: the row is written `pending` before BTCPay is asked, the
// pull payment is named after the invoice, and a pending row is finished by finding that pull
// payment before making one, so a crash never pays a reward twice.
import { existsSync, readFileSync } from 'node:fs'
import { z } from 'zod'
import type { RewardLedgerEntry, RewardRule } from '../../shared/api/merchant'
import { writeFileAtomicSync } from '../atomic-file'
import type { Logger } from '../log'
import type { GreenfieldClient } from './greenfield-client'
import type { InvoiceRow, MerchantStore, RewardRow } from './merchant-store'

const RuleSchema = z.object({ enabled: z.boolean(), percent: z.number().min(0).max(50) })
export const NO_REWARDS: RewardRule = { enabled: false, percent: 0 }

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

interface PullPayment {
  id: string
  name: string
  viewLink: string
}

export async function applyReward(o: {
  store: MerchantStore
  rule: RewardRule
  invoice: InvoiceRow
  client: GreenfieldClient
  storeId: string
  log: Logger
}): Promise<RewardLedgerEntry | null> {
  const { store, invoice } = o
  if (invoice.status !== 'Settled') return null
  let row = store.reward(invoice.id)
  // A row this call creates cannot have a pull payment yet; only an older pending row (a crash,
  // or a failed call before) needs the look-up by name.
  let fresh = false
  if (!row) {
    if (!o.rule.enabled || o.rule.percent <= 0) return null
    const amount = rewardAmount(invoice.amount, invoice.currency, o.rule.percent)
    if (Number(amount) <= 0) return null
    fresh = store.beginReward({
      invoice_id: invoice.id,
      invoice_amount: invoice.amount,
      currency: invoice.currency,
      percent: o.rule.percent,
      reward_amount: amount,
    })
    row = store.reward(invoice.id)!
  }
  if (row.state !== 'pending') return null
  const what = 'giving the customer their reward'
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
      ).find((p) => p.name === rewardName(invoice.id))
  const pp =
    existing ??
    (await o.client.call<PullPayment>(
      'POST',
      `/api/v1/stores/${o.storeId}/pull-payments`,
      {
        name: rewardName(invoice.id),
        description: `${row.percent}% back on your purchase`,
        amount: row.reward_amount,
        currency: row.currency,
        autoApproveClaims: true,
        payoutMethods: ['BTC-LN'],
      },
      what,
    ))
  store.finishReward(invoice.id, 'issued', pp.id, pp.viewLink)
  o.log.info('reward issued', {
    invoiceId: invoice.id,
    amount: row.reward_amount,
    currency: row.currency,
  })
  return entryOf(store.reward(invoice.id)!)
}

export function entryOf(r: RewardRow): RewardLedgerEntry {
  return {
    invoiceId: r.invoice_id,
    invoiceAmount: r.invoice_amount,
    currency: r.currency,
    percent: r.percent,
    rewardAmount: r.reward_amount,
    state: r.state,
    ...(r.pull_payment_id ? { pullPaymentId: r.pull_payment_id } : {}),
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
    'state',
    'pull_payment',
  ]
  const lines = rows.map((r) =>
    [
      new Date(r.created_at).toISOString(),
      r.invoice_id,
      r.invoice_amount,
      r.currency,
      r.percent,
      r.reward_amount,
      r.state,
      r.pull_payment_id,
    ]
      .map(csvField)
      .join(','),
  )
  return [head.join(','), ...lines].join('\r\n') + '\r\n'
}
