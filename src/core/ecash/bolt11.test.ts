import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
// The box mint's BOLT11 encoder (its own spec-vector-tested code) makes signed invoices to read.
import { encodeBolt11 } from '../../../services/mint/src/index'
import { FlashError } from '../errors'
import { readBolt11 } from './bolt11'

const invoice = (amountMsat: number | null, opts: { timestamp?: number; expiry?: number } = {}) =>
  encodeBolt11({
    network: 'regtest',
    amountMsat,
    paymentHash: randomBytes(32).toString('hex'),
    paymentSecret: randomBytes(32).toString('hex'),
    description: 'tea',
    expirySeconds: opts.expiry ?? 600,
    ...(opts.timestamp ? { timestamp: opts.timestamp } : {}),
    nodeKey: new Uint8Array(randomBytes(32)),
  })

const code = (fn: () => unknown) => {
  try {
    fn()
  } catch (err) {
    return err instanceof FlashError ? err.code : 'other'
  }
  return 'none'
}

describe('reading a BOLT11 invoice before paying it', () => {
  it('gives the amount in sats (sub-sat rounded up), the expiry and the description', () => {
    const now = Math.floor(Date.now() / 1000)
    const r = readBolt11(invoice(21_000, { timestamp: now, expiry: 900 }))
    expect(r).toMatchObject({ amountSat: 21, expiresAt: now + 900, description: 'tea' })
    expect(readBolt11(invoice(21_500)).amountSat).toBe(22)
  })

  it('refuses amountless, expired and malformed invoices with what to do', () => {
    expect(code(() => readBolt11(invoice(null)))).toBe('ecash.amountless_invoice')
    const old = Math.floor(Date.now() / 1000) - 7200
    expect(code(() => readBolt11(invoice(1000, { timestamp: old, expiry: 600 })))).toBe(
      'ecash.invoice_expired',
    )
    expect(code(() => readBolt11('lnbcrt1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'))).toBe(
      'ecash.bad_invoice',
    )
  })
})
