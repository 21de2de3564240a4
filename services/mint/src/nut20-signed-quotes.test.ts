import { describe, expect, it } from 'vitest'
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { sha256 } from '@noble/hashes/sha2.js'
import {
  amendedMessageDigest,
  legacyMessage,
  verifyMintQuoteSignature,
} from './nut20-signed-quotes'
import vectors from './nut20-signed-quotes.vectors.json'

describe('NUT-20 signed mint quotes (spec vectors)', () => {
  it('builds the message quote ‖ B_0 ‖ … ‖ B_n', () => {
    expect([...legacyMessage(vectors.valid.quote, vectors.valid.outputs)]).toEqual(
      vectors.legacyMessageBytes,
    )
  })

  it('accepts the valid signature and rejects the invalid one', () => {
    const v = vectors.valid
    expect(verifyMintQuoteSignature(vectors.pubkey, v.quote, v.outputs, v.signature)).toBe(true)
    const i = vectors.invalid
    expect(verifyMintQuoteSignature(vectors.pubkey, i.quote, i.outputs, i.signature)).toBe(false)
  })

  it('accepts the amended (domain-separated) message and binds amounts', () => {
    const sk = secp256k1.utils.randomSecretKey()
    const pub = bytesToHex(secp256k1.getPublicKey(sk, true))
    const outputs = vectors.valid.outputs
    const sig = bytesToHex(schnorr.sign(amendedMessageDigest('q1', outputs), sk))
    expect(verifyMintQuoteSignature(pub, 'q1', outputs, sig)).toBe(true)
    // Changing an amount changes the amended message (the legacy one would not notice).
    const changed = outputs.map((o, i) => (i === 0 ? { ...o, amount: 2 } : o))
    expect(verifyMintQuoteSignature(pub, 'q1', changed, sig)).toBe(false)
    expect(verifyMintQuoteSignature(pub, 'q2', outputs, sig)).toBe(false)
    const legacy = bytesToHex(schnorr.sign(sha256(legacyMessage('q1', outputs)), sk))
    expect(verifyMintQuoteSignature(pub, 'q1', outputs, legacy)).toBe(true)
    expect(verifyMintQuoteSignature(pub, 'q1', outputs, 'zz')).toBe(false)
    // A key whose x is not on the curve, and a signature with s ≥ n, are refused, not thrown.
    expect(verifyMintQuoteSignature('02' + '00'.repeat(32), 'q1', outputs, sig)).toBe(false)
    expect(verifyMintQuoteSignature(pub, 'q1', outputs, sig.slice(0, 64) + 'ff'.repeat(32))).toBe(
      false,
    )
  })
})
