// BIP21 payment URIs (https://github.com/bitcoin/bips/blob/master/bip-0021.mediawiki):
// bitcoin:<address>?amount=<BTC, decimal>&label=<percent-encoded>.
import { FlashError } from '../errors'

/** Satoshis as a BTC decimal without trailing zeros (BIP21 `amount`). */
export function satToBtcString(sat: number): string {
  const whole = Math.floor(sat / 1e8)
  const frac = String(sat % 1e8)
    .padStart(8, '0')
    .replace(/0+$/, '')
  return frac ? `${whole}.${frac}` : String(whole)
}

export function btcStringToSat(btc: string): number {
  const m = /^([0-9]{1,8})(?:\.([0-9]{1,8}))?$/.exec(btc)
  if (!m) throw badUri(`the amount "${btc}" is not a BTC amount`)
  return Number(m[1]) * 1e8 + Number((m[2] ?? '').padEnd(8, '0'))
}

export interface Bip21 {
  readonly address: string
  readonly amountSat?: number
  readonly label?: string
  readonly message?: string
}

export function bip21Uri(p: Bip21, opts: { forQr?: boolean } = {}): string {
  const params: string[] = []
  if (p.amountSat !== undefined) params.push(`amount=${satToBtcString(p.amountSat)}`)
  if (p.label) params.push(`label=${encodeURIComponent(p.label)}`)
  if (p.message) params.push(`message=${encodeURIComponent(p.message)}`)
  // A bech32 address in upper case fits the QR alphanumeric mode (BIP173): a denser code.
  // The scheme is case-insensitive; the parameters keep their case.
  const head =
    opts.forQr && /^(bc|tb|bcrt)1/i.test(p.address)
      ? `BITCOIN:${p.address.toUpperCase()}`
      : `bitcoin:${p.address}`
  return params.length ? `${head}?${params.join('&')}` : head
}

export function parseBip21(uri: string): Bip21 {
  const m = /^bitcoin:([^?]+)(?:\?(.*))?$/i.exec(uri.trim())
  if (!m) throw badUri('it does not start with bitcoin:')
  let address = m[1]!
  if (/^(BC|TB|BCRT)1/.test(address)) address = address.toLowerCase()
  const out: { address: string; amountSat?: number; label?: string; message?: string } = { address }
  for (const part of (m[2] ?? '').split('&').filter(Boolean)) {
    const eq = part.indexOf('=')
    const key = eq < 0 ? part : part.slice(0, eq)
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1))
    if (key === 'amount') out.amountSat = btcStringToSat(value)
    else if (key === 'label') out.label = value
    else if (key === 'message') out.message = value
    else if (key.startsWith('req-'))
      throw badUri(`it requires "${key.slice(4)}", which Flash Box does not understand`)
  }
  return out
}

function badUri(detail: string): FlashError {
  return new FlashError(
    'wallet.bad_bip21',
    `That payment link cannot be used: ${detail}.`,
    'Paste a plain Bitcoin address, or a link that starts with bitcoin:.',
  )
}
