// An amount in the shop's currency, as the owner reads it.
export function money(amount: number | string, currency: string): string {
  const n = Number(amount)
  if (currency === 'SATS') return `${Math.round(n).toLocaleString('en-US')} sat`
  if (currency === 'BTC') return `${n.toFixed(8)} BTC`
  return `${n.toFixed(2)} ${currency}`
}
