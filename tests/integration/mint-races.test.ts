// Double-spend races against the mint in its own process: many requests spending the same
// proofs at once, and the same invoice melted twice at once. Exactly one may win.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { OutputData, type Proof, type Wallet } from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { encodeBolt11 } from '../../services/mint/src/nut23-bolt11'
import {
  mintProofs,
  post,
  spawnMint,
  stopMint,
  sum,
  wallet,
  type MintProcess,
} from './mint-harness'

let mint: MintProcess
let w: Wallet

function invoice(sat: number, paymentHash = randomBytes(32).toString('hex')) {
  return encodeBolt11({
    network: 'regtest',
    amountMsat: sat * 1000,
    paymentHash,
    paymentSecret: randomBytes(32).toString('hex'),
    description: 'race',
    expirySeconds: 600,
    nodeKey: secp256k1.utils.randomSecretKey(),
  })
}

const outputsFor = (amount: number) =>
  OutputData.createRandomData(amount, w.keyChain.getCheapestKeyset()).map((o) => o.blindedMessage)

async function meltQuote(
  request: string,
): Promise<{ quote: string; amount: number; fee_reserve: number }> {
  const r = await post(mint.url, '/v1/melt/quote/bolt11', { request, unit: 'sat' })
  expect(r.status).toBe(200)
  return r.json as { quote: string; amount: number; fee_reserve: number }
}

const codeOf = (r: { json: unknown }) => (r.json as { code?: number }).code

beforeAll(async () => {
  mint = await spawnMint({ env: { MINT_FAKE_OUTGOING_DELAY_MS: '200' } })
  w = await wallet(mint.url)
})
afterAll(async () => stopMint(mint, true))

describe('double-spend races', () => {
  it('50 concurrent swaps of the same proofs: exactly one succeeds', async () => {
    const proofs = await mintProofs(w, 64)
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        post(mint.url, '/v1/swap', { inputs: proofs, outputs: outputsFor(64) }),
      ),
    )
    const ok = results.filter((r) => r.status === 200)
    expect(ok).toHaveLength(1)
    for (const r of results.filter((x) => x.status !== 200))
      expect([11001, 11002]).toContain(codeOf(r))
  })

  it('25 swaps and 25 melts of the same proofs at once: exactly one succeeds, one payment at most', async () => {
    const proofs: Proof[] = await mintProofs(w, 64)
    const quotes = await Promise.all(Array.from({ length: 25 }, () => meltQuote(invoice(40))))
    const requests = [
      ...Array.from({ length: 25 }, () =>
        post(mint.url, '/v1/swap', { inputs: proofs, outputs: outputsFor(64) }),
      ),
      ...quotes.map((q) => post(mint.url, '/v1/melt/bolt11', { quote: q.quote, inputs: proofs })),
    ]
    const results = await Promise.all(requests)
    const ok = results.filter((r) => r.status === 200)
    expect(ok).toHaveLength(1)
    for (const r of results.filter((x) => x.status !== 200))
      expect([11001, 11002]).toContain(codeOf(r))
    const states = await Promise.all(
      quotes.map(
        async (q) =>
          (
            (await (await fetch(`${mint.url}/v1/melt/quote/bolt11/${q.quote}`)).json()) as {
              state: string
            }
          ).state,
      ),
    )
    expect(states.filter((s) => s === 'PAID').length).toBeLessThanOrEqual(1)
    expect(states.filter((s) => s === 'PENDING')).toHaveLength(0)
    expect((await w.checkProofsStates(proofs)).every((s) => s.state === 'SPENT')).toBe(true)
  })

  it('the same invoice melted twice concurrently is paid once', async () => {
    const hash = randomBytes(32).toString('hex')
    const request = invoice(30, hash)
    const [qa, qb] = await Promise.all([meltQuote(request), meltQuote(request)])
    const pa = await mintProofs(w, 32)
    const pb = await mintProofs(w, 32)
    const [ra, rb] = await Promise.all([
      post(mint.url, '/v1/melt/bolt11', { quote: qa!.quote, inputs: pa }),
      post(mint.url, '/v1/melt/bolt11', { quote: qb!.quote, inputs: pb }),
    ])
    const wins = [ra, rb].filter(
      (r) => r.status === 200 && (r.json as { state: string }).state === 'PAID',
    )
    expect(wins).toHaveLength(1)
    const loser = ra.status === 200 ? rb : ra
    expect([20005, 20006]).toContain(codeOf(loser))
    const loserProofs = loser === ra ? pa : pb
    const winnerProofs = loser === ra ? pb : pa
    expect((await w.checkProofsStates(loserProofs)).every((s) => s.state === 'UNSPENT')).toBe(true)
    expect((await w.checkProofsStates(winnerProofs)).every((s) => s.state === 'SPENT')).toBe(true)
    // Once paid, a third attempt with fresh proofs is refused as already paid.
    const pc = await mintProofs(w, 32)
    const loserQuote = loser === ra ? qa! : qb!
    const rc = await post(mint.url, '/v1/melt/bolt11', { quote: loserQuote.quote, inputs: pc })
    expect(codeOf(rc)).toBe(20006)
    expect(sum(pc)).toBe(32)
  })
})
