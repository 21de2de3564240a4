import { formatNumber } from '../../format'

export function sats(n: number): string {
  return `${formatNumber(n)} sat`
}

export function shortUrl(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
