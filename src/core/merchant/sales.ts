// Sales for the merchant page's chart: settled invoices in the shop's currency, by hour for today
// and by day for the last seven days (the computer's local time).
import type { MerchantSales, SalesBucket } from '../../shared/api/merchant'
import type { MerchantStore } from './merchant-store'

export function salesOf(store: MerchantStore, currency: string, now: Date): MerchantSales {
  const dayStart = new Date(now.getFullYear(), now.getMonth(), now.getDate())
  const weekStart = new Date(dayStart.getFullYear(), dayStart.getMonth(), dayStart.getDate() - 6)
  const today: { start: Date; total: number; count: number }[] = Array.from(
    { length: 24 },
    (_, h) => ({
      start: new Date(dayStart.getFullYear(), dayStart.getMonth(), dayStart.getDate(), h),
      total: 0,
      count: 0,
    }),
  )
  const week = Array.from({ length: 7 }, (_, d) => ({
    start: new Date(weekStart.getFullYear(), weekStart.getMonth(), weekStart.getDate() + d),
    total: 0,
    count: 0,
  }))
  for (const r of store.settledSince(weekStart.getTime())) {
    if (r.currency !== currency) continue
    const at = new Date(r.settled_at ?? r.created_at)
    const amount = Number(r.amount)
    const d = week.findLastIndex((b) => b.start.getTime() <= at.getTime())
    if (d >= 0) {
      week[d]!.total += amount
      week[d]!.count++
    }
    if (at.getTime() >= dayStart.getTime()) {
      const h = today[at.getHours()]!
      h.total += amount
      h.count++
    }
  }
  const out = (b: { start: Date; total: number; count: number }): SalesBucket => ({
    start: b.start.toISOString(),
    total: Math.round(b.total * 1e8) / 1e8,
    count: b.count,
  })
  return {
    currency,
    today: today.map(out),
    week: week.map(out),
    todayTotal: Math.round(today.reduce((s, b) => s + b.total, 0) * 1e8) / 1e8,
    weekTotal: Math.round(week.reduce((s, b) => s + b.total, 0) * 1e8) / 1e8,
  }
}
