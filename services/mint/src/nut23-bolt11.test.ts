import { describe, expect, it } from 'vitest'
import { decode } from 'light-bolt11-decoder'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js'
import { decodeBolt11, encodeBolt11 } from './nut23-bolt11'

// BOLT-11's own example: "Please send $3 for a cup of coffee to the same peer, within one minute".
const SPEC_INVOICE =
  'lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh'

describe('BOLT-11 invoices', () => {
  it('decodes the BOLT-11 spec example and recovers its payee', () => {
    const inv = decodeBolt11(SPEC_INVOICE)
    expect(inv.amountMsat).toBe(250_000_000)
    expect(inv.paymentHash).toBe('0001020304050607080900010203040506070809000102030405060708090102')
    expect(inv.description).toBe('1 cup coffee')
    expect(inv.expirySeconds).toBe(60)
    expect(inv.payeePubkey).toBe(
      '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad',
    )
  })

  it('encodes invoices an independent decoder reads back, signed by the node key', () => {
    const nodeKey = secp256k1.utils.randomSecretKey()
    const paymentHash = bytesToHex(randomBytes(32))
    for (const amountMsat of [1000, 21_000, 1_234_000, 100_000_000_000, 10]) {
      const req = encodeBolt11({
        network: 'regtest',
        amountMsat,
        paymentHash,
        paymentSecret: bytesToHex(randomBytes(32)),
        description: 'flash box',
        expirySeconds: 600,
        nodeKey,
      })
      expect(req.startsWith('lnbcrt')).toBe(true)
      const other = decode(req)
      const amount = other.sections.find((s) => s.name === 'amount') as { value: string }
      expect(Number(amount.value)).toBe(amountMsat)
      const mine = decodeBolt11(req)
      expect(mine.amountMsat).toBe(amountMsat)
      expect(mine.paymentHash).toBe(paymentHash)
      expect(mine.payeePubkey).toBe(bytesToHex(secp256k1.getPublicKey(nodeKey, true)))
    }
  })

  it('rejects garbage', () => {
    expect(() => decodeBolt11('lnbc1garbage')).toThrow()
    expect(() => decodeBolt11('x'.repeat(8000))).toThrow()
  })
})
