import { describe, expect, it } from 'vitest'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { MintError } from './errors'
import { sigAllMessage, verifySpendingConditions } from './nut11-p2pk'
import type { BlindedMessage, Proof } from './nut00-models'
import vectors from './nut11-p2pk.vectors.json'

function accepts(inputs: Proof[], outputs: BlindedMessage[], quote?: string): boolean {
  try {
    verifySpendingConditions(inputs, outputs, quote)
    return true
  } catch (err) {
    if (err instanceof MintError && err.code === 10001) return false
    throw err
  }
}

describe('NUT-11 P2PK / NUT-14 HTLC spending conditions (spec vectors)', () => {
  it.each(vectors.proofs)('proof: $description', ({ proof, valid }) => {
    expect(accepts([proof as Proof], [])).toBe(valid)
  })

  it.each(vectors.swaps)('swap: $description', ({ request, valid }) => {
    expect(accepts(request.inputs as Proof[], request.outputs)).toBe(valid)
  })

  it.each(vectors.melts)('melt: $description', ({ request, valid }) => {
    const r = request as { inputs: Proof[]; outputs?: BlindedMessage[]; quote: string }
    expect(accepts(r.inputs, r.outputs ?? [], r.quote)).toBe(valid)
  })

  it.each(vectors.messages)('SIG_ALL message for a $kind', ({ request, msg, sha256: digest }) => {
    const r = request as { inputs: Proof[]; outputs?: BlindedMessage[]; quote?: string }
    const m = sigAllMessage(r.inputs, r.outputs ?? [], r.quote)
    expect(m).toBe(msg)
    expect(bytesToHex(sha256(new TextEncoder().encode(m)))).toBe(digest)
  })

  it('rejects malformed secrets: duplicate tags, unknown sigflag, bad HTLC hash', () => {
    const base = vectors.proofs.find((p) => p.valid && p.proof.secret.includes('SIG_INPUTS'))!
      .proof as Proof
    const [kind, body] = JSON.parse(base.secret) as [string, { tags: string[][] }]
    const dup = {
      ...base,
      secret: JSON.stringify([kind, { ...body, tags: [...body.tags, ['sigflag', 'SIG_INPUTS']] }]),
    }
    expect(accepts([dup], [])).toBe(false)
    const flag = {
      ...base,
      secret: JSON.stringify([kind, { ...body, tags: [['sigflag', 'SIG_SOME']] }]),
    }
    expect(accepts([flag], [])).toBe(false)
    const htlc = { ...base, secret: JSON.stringify(['HTLC', { ...body, data: 'nothex' }]) }
    expect(accepts([htlc], [])).toBe(false)
  })

  it('treats plain secrets as anyone-can-spend', () => {
    expect(accepts([{ amount: 1, id: '00', secret: 'abc', C: '02' } as Proof], [])).toBe(true)
  })
})
