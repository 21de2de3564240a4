// Reading a BOLT11 invoice before we ask a mint to pay it: amount, expiry, network.
import { decode } from 'light-bolt11-decoder'
import { FlashError } from '../errors'

export interface Bolt11Summary {
  readonly amountSat: number
  readonly expiresAt: number
  readonly description?: string
  readonly paymentHash?: string
}

export function readBolt11(invoice: string, nowSec = Math.floor(Date.now() / 1000)): Bolt11Summary {
  let decoded: ReturnType<typeof decode>
  try {
    decoded = decode(invoice)
  } catch (err) {
    throw new FlashError(
      'ecash.bad_invoice',
      'This is not a valid Lightning invoice.',
      'Copy the whole invoice again (it starts with "lnbc", "lntb" or "lnbcrt") and paste it.',
      { cause: err },
    )
  }
  let msat: string | undefined
  let timestamp = 0
  let description: string | undefined
  let paymentHash: string | undefined
  for (const s of decoded.sections) {
    if (s.name === 'amount') msat = s.value
    else if (s.name === 'timestamp') timestamp = s.value
    else if (s.name === 'description') description = s.value
    else if (s.name === 'payment_hash') paymentHash = s.value
  }
  if (!msat || BigInt(msat) === 0n) {
    throw new FlashError(
      'ecash.amountless_invoice',
      'This invoice has no amount.',
      'Ask the recipient for an invoice with the amount filled in.',
    )
  }
  const expiresAt = timestamp + (decoded.expiry ?? 3600)
  if (expiresAt <= nowSec) {
    throw new FlashError(
      'ecash.invoice_expired',
      'This invoice has expired.',
      'Ask the recipient for a new invoice.',
    )
  }
  // Sats, rounded up: a sub-sat remainder still has to be paid.
  const amountSat = Number((BigInt(msat) + 999n) / 1000n)
  return { amountSat, expiresAt, description, paymentHash }
}
