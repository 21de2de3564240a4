// BTCPay Greenfield errors → plain sentences. Greenfield answers 401 {code:"unauthenticated"},
// 403 {code:"missing-permission", missingPermission}, 404/400 {code, message} and 422
// [{path, message}] (its swagger's ProblemDetails / ValidationProblemDetails).
import { FlashError } from '../errors'

const SETTINGS_HINT = 'Open Merchant and run "Set up BTCPay" again; it continues where it stopped.'

/** What a field of a Greenfield request is, in the owner's words. */
const FIELDS: Record<string, string> = {
  name: 'the shop name',
  defaultCurrency: 'the currency',
  currency: 'the currency',
  amount: 'the amount',
  email: 'the e-mail address',
  password: 'the password',
  url: 'the address of the box',
  destination: 'the destination',
  'config.connectionString': 'the Lightning connection',
  'config.derivationScheme': 'the wallet’s public key',
  refundVariant: 'the kind of refund',
  appName: 'the name of the point of sale',
}

export function greenfieldError(status: number, body: unknown, what: string): FlashError {
  const b = (body ?? {}) as { code?: unknown; message?: unknown; missingPermission?: unknown }
  const code = typeof b.code === 'string' ? b.code : ''
  if (status === 401)
    return new FlashError(
      'merchant.btcpay_auth',
      `BTCPay did not accept the box’s credentials while ${what}.`,
      'The key the box keeps for BTCPay may have been deleted in BTCPay. Run "Set up BTCPay" again on the Merchant page.',
    )
  if (status === 403)
    return new FlashError(
      'merchant.btcpay_permission',
      `BTCPay refused: the box’s key may not do this (${what}).`,
      typeof b.missingPermission === 'string'
        ? `The key lacks the permission "${b.missingPermission}". Run "Set up BTCPay" again on the Merchant page to make a new key.`
        : SETTINGS_HINT,
    )
  if (status === 422 && Array.isArray(body)) {
    const first = (body as { path?: unknown; message?: unknown }[])[0]
    const field =
      typeof first?.path === 'string' ? (FIELDS[first.path] ?? first.path) : 'the request'
    const msg = typeof first?.message === 'string' ? first.message : 'is not valid'
    return new FlashError(
      'merchant.btcpay_invalid',
      `BTCPay did not accept ${field} while ${what}: ${msg}.`,
      'Check what you typed and try again.',
    )
  }
  if (status === 404)
    return new FlashError(
      'merchant.btcpay_not_found',
      `BTCPay has no such ${code.replace(/-not-found$/, '').replace(/-/g, ' ') || 'item'} (${what}).`,
      'It may have been deleted in BTCPay. Refresh the Merchant page.',
    )
  if (code === 'lightning-unavailable' || code === 'no-payment-method-available')
    return new FlashError(
      'merchant.btcpay_no_payment_method',
      `BTCPay cannot take payments right now (${what}): Lightning or the wallet is not connected.`,
      'Check that Lightning runs on the Lightning page, then run "Set up BTCPay" again on the Merchant page.',
    )
  if (code === 'non-refundable')
    return new FlashError(
      'merchant.not_refundable',
      'This sale cannot be refunded: it was never paid.',
      'Only paid sales can be refunded.',
    )
  if (code === 'archived' || code === 'expired')
    return new FlashError(
      'merchant.pull_payment_closed',
      'This refund or reward can no longer be claimed.',
      'Make a new one on the Merchant page.',
    )
  if (status >= 500)
    return new FlashError(
      'merchant.btcpay_failed',
      `BTCPay had a problem while ${what}.`,
      'Wait a minute and try again. If it keeps happening, open BTCPay from the Dashboard and look at its Logs tab.',
    )
  const message = typeof b.message === 'string' ? b.message : `HTTP ${status}`
  return new FlashError(
    'merchant.btcpay_refused',
    `BTCPay refused while ${what}: ${message}.`,
    'Check what you asked for and try again.',
  )
}

export function btcpayUnreachable(what: string, cause: unknown): FlashError {
  return new FlashError(
    'merchant.btcpay_unreachable',
    `The box could not reach BTCPay while ${what}.`,
    'Turn BTCPay on in Settings → Services (it brings PostgreSQL and NBXplorer) and start it from the Dashboard, then try again.',
    { cause },
  )
}
