// Every sendrawtransaction refusal recorded from Bitcoin Core v31 maps to words, none to the
// generic fallback.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { alreadySent, refusalInWords } from './broadcast'

const policy = JSON.parse(
  readFileSync(
    join(__dirname, '../../../../tests/fixtures/bitcoind-v31/mempool-policy.json'),
    'utf8',
  ),
) as {
  cases: {
    name: string
    sendrawtransaction?: { body: { error?: { code: number; message: string } | null } }
  }[]
}
const refusals = policy.cases
  .map((c) => ({ name: c.name, error: c.sendrawtransaction?.body.error }))
  .filter((c): c is { name: string; error: { code: number; message: string } } => !!c.error)

describe('node refusals in words', () => {
  it('has recorded refusals to check', () => {
    expect(refusals.length).toBeGreaterThan(15)
  })
  for (const r of refusals) {
    it(`${r.name}`, () => {
      if (alreadySent(r.error.message)) return
      const e = refusalInWords(r.error.message)
      expect(e.message).toMatch(/^Your Bitcoin node refused the transaction: [a-z]/)
      expect(e.message).toContain(r.error.message)
    })
  }
  it('says what an RBF refusal means', () => {
    const rbf = refusals.find((r) => r.name === 'RBF replacement paying 1 sat more')!
    expect(refusalInWords(rbf.error.message).message).toMatch(/does not pay enough to replace/)
    const diagram = refusals.find((r) => r.error.message.startsWith('replacement-failed'))!
    expect(refusalInWords(diagram.error.message).message).toMatch(
      /does not raise the fee rate enough/,
    )
  })
})
