// Hostile and malformed input: every bad request gets the right NUT error code (HTTP 400
// `{detail, code}`, 413 for oversized bodies, 429 when rate limited) and the mint keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { OutputData, type Proof, type Wallet } from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { encodeBolt11 } from '../../services/mint/src/nut23-bolt11'
import { mintProofs, post, spawnMint, stopMint, wallet, type MintProcess } from './mint-harness'

let mint: MintProcess
let w: Wallet
let proofs: Proof[]

const codeOf = (r: { json: unknown }) => (r.json as { code?: number }).code
const outs = (amount: number, split?: number[]) =>
  OutputData.createRandomData(amount, w.keyChain.getCheapestKeyset(), split).map(
    (o) => o.blindedMessage,
  )

beforeAll(async () => {
  mint = await spawnMint({
    config: {
      maxInputs: 5,
      maxOutputs: 5,
      maxBodyBytes: 65_536,
      rateLimit: { windowMs: 60_000, perIp: 100_000, perOperation: { info: 20 } },
    },
  })
  w = await wallet(mint.url)
  proofs = await mintProofs(w, 8)
})
afterAll(async () => stopMint(mint, true))

describe('bad input', () => {
  it('malformed JSON and wrong types are 400 with code 10000', async () => {
    for (const body of [
      '{',
      'null',
      '[]',
      '{"inputs": "x"}',
      '{"inputs": [], "outputs": [{"amount": -1}]}',
    ]) {
      const r = await post(mint.url, '/v1/swap', body)
      expect(r.status).toBe(400)
      expect(typeof (r.json as { detail: string }).detail).toBe('string')
    }
    const r = await post(mint.url, '/v1/mint/quote/bolt11', { amount: 1.5, unit: 'sat' })
    expect([r.status, codeOf(r)]).toEqual([400, 10000])
  })

  it('an oversized body is refused with 413 before it is read whole', async () => {
    const r = await post(
      mint.url,
      '/v1/swap',
      JSON.stringify({ inputs: [], pad: 'x'.repeat(200_000) }),
    )
    expect(r.status).toBe(413)
  })

  it('too many inputs or outputs: 11014 / 11015', async () => {
    const many = Array.from({ length: 6 }, () => proofs[0]!)
    expect(codeOf(await post(mint.url, '/v1/swap', { inputs: many, outputs: outs(8) }))).toBe(11014)
    expect(
      codeOf(
        await post(mint.url, '/v1/swap', {
          inputs: proofs,
          outputs: outs(8, [1, 1, 1, 1, 1, 1, 1, 1]),
        }),
      ),
    ).toBe(11015)
  })

  it('duplicate inputs 11007, duplicate outputs 11008, unbalanced 11005', async () => {
    const p = proofs[0]!
    expect(
      codeOf(
        await post(mint.url, '/v1/swap', { inputs: [p, p], outputs: outs(2 * Number(p.amount)) }),
      ),
    ).toBe(11007)
    const o = outs(8)
    const dup = [o[0]!, o[0]!]
    expect(codeOf(await post(mint.url, '/v1/swap', { inputs: proofs, outputs: dup }))).toBe(11008)
    expect(codeOf(await post(mint.url, '/v1/swap', { inputs: proofs, outputs: outs(16) }))).toBe(
      11005,
    )
  })

  it('unknown keyset 12001, forged signature 10001, point off the curve 10001', async () => {
    const badKeyset = proofs.map((p) => ({ ...p, id: '01' + 'ab'.repeat(32) }))
    expect(codeOf(await post(mint.url, '/v1/swap', { inputs: badKeyset, outputs: outs(8) }))).toBe(
      12001,
    )
    const forged = proofs.map((p) => ({
      ...p,
      C: '02' + secp256k1.Point.BASE.toHex(true).slice(2),
    }))
    expect(codeOf(await post(mint.url, '/v1/swap', { inputs: forged, outputs: outs(8) }))).toBe(
      10001,
    )
    const offCurve = outs(8).map((o) => ({ ...o, B_: '02' + 'ff'.repeat(32) }))
    expect(codeOf(await post(mint.url, '/v1/swap', { inputs: proofs, outputs: offCurve }))).toBe(
      10001,
    )
    const wrongAmount = proofs.map((p) => ({ ...p, amount: 3 }))
    expect(
      codeOf(await post(mint.url, '/v1/swap', { inputs: wrongAmount, outputs: outs(8) })),
    ).toBe(10001)
  })

  it('quotes: bad unit 11013, out-of-range 11006, bad invoice, amountless 11011, hostile ids', async () => {
    expect(codeOf(await post(mint.url, '/v1/mint/quote/bolt11', { amount: 10, unit: 'usd' }))).toBe(
      11013,
    )
    expect(
      codeOf(await post(mint.url, '/v1/mint/quote/bolt11', { amount: 1e12, unit: 'sat' })),
    ).toBe(11006)
    expect(
      codeOf(
        await post(mint.url, '/v1/mint/quote/bolt11', { amount: 10, unit: 'sat', pubkey: 'nope' }),
      ),
    ).toBe(20009)
    expect(
      codeOf(
        await post(mint.url, '/v1/melt/quote/bolt11', {
          request: 'lnbc1notaninvoice',
          unit: 'sat',
        }),
      ),
    ).toBe(10000)
    const amountless = encodeBolt11({
      network: 'regtest',
      amountMsat: null,
      paymentHash: randomBytes(32).toString('hex'),
      paymentSecret: randomBytes(32).toString('hex'),
      description: 'any amount',
      expirySeconds: 60,
      nodeKey: secp256k1.utils.randomSecretKey(),
    })
    expect(
      codeOf(await post(mint.url, '/v1/melt/quote/bolt11', { request: amountless, unit: 'sat' })),
    ).toBe(11011)
    for (const id of ['..%2F..%2Fetc%2Fpasswd', 'x'.repeat(500), '%00', '%E0%A4%A']) {
      const r = await fetch(`${mint.url}/v1/mint/quote/bolt11/${id}`)
      expect(r.status).toBe(400)
    }
    expect((await fetch(`${mint.url}/v1/keys/%E0%A4%A`)).status).toBe(400)
    const unknown = await fetch(`${mint.url}/v1/melt/quote/bolt11/${'a'.repeat(32)}`)
    expect(unknown.status).toBe(400)
  })

  it('minting an unpaid or unknown quote: 20001; reusing an issued one: 20002', async () => {
    const r = await post(mint.url, '/v1/mint/bolt11', { quote: 'f'.repeat(32), outputs: outs(8) })
    expect(codeOf(r)).toBe(20001)
    const q = await w.createMintQuoteBolt11(8)
    await w.on.onceMintPaid(q.quote, { timeoutMs: 20_000 })
    await w.mintProofsBolt11(8, q)
    expect(
      codeOf(await post(mint.url, '/v1/mint/bolt11', { quote: q.quote, outputs: outs(8) })),
    ).toBe(20002)
  })

  it('unknown routes 404, wrong method 405, rate limit 429 with Retry-After', async () => {
    expect((await fetch(`${mint.url}/v1/nothing`)).status).toBe(404)
    expect((await fetch(`${mint.url}/v1/swap`)).status).toBe(405)
    let limited: Response | undefined
    for (let i = 0; i < 30 && !limited; i++) {
      const r = await fetch(`${mint.url}/v1/info`)
      if (r.status === 429) limited = r
    }
    expect(limited?.status).toBe(429)
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0)
    // Other operations are not affected by the info limit.
    expect((await fetch(`${mint.url}/v1/keysets`)).status).toBe(200)
  })

  it('the WebSocket answers garbage with JSON-RPC errors and keeps the connection', async () => {
    const ws = new WebSocket(`${mint.url.replace('http', 'ws')}/v1/ws`)
    await new Promise((r, j) => {
      ws.once('open', r)
      ws.once('error', j)
    })
    const replies: { error?: { code: number }; result?: { status: string } }[] = []
    ws.on('message', (d) => replies.push(JSON.parse(String(d))))
    ws.send('not json')
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'explode', params: {} }))
    ws.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'subscribe',
        params: { kind: 'nope', subId: 'a', filters: ['x'] },
      }),
    )
    ws.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 3,
        method: 'subscribe',
        params: { kind: 'proof_state', subId: 's', filters: ['02' + 'ab'.repeat(32)] },
      }),
    )
    const end = Date.now() + 5000
    while (replies.length < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    ws.close()
    expect(replies.slice(0, 3).map((r) => r.error?.code)).toEqual([-32700, -32601, -32602])
    expect(replies[3]?.result?.status).toBe('OK')
  })

  it('still serves normal requests afterwards', async () => {
    const more = await mintProofs(w, 4)
    const { send } = await w.send(2, more)
    expect(send.length).toBeGreaterThan(0)
  })
})
