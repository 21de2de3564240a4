// The box's mint end to end with @cashu/cashu-ts as the independent client, over real HTTP and
// WebSocket, the mint in its own process: mint, swap, send/receive, melt with fee change,
// restore from seed, P2PK and HTLC (with SIG_ALL), DLEQ, NUT-20, NUT-19 replay, NUT-17.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import {
  createHTLCHash,
  getEncodedToken,
  OutputData,
  hashToCurve,
  type Proof,
  type Wallet,
} from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex } from '@noble/hashes/utils.js'
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

/** An invoice issued by some other node, for the mint to pay. */
function foreignInvoice(sat: number, description = 'coffee'): string {
  return encodeBolt11({
    network: 'regtest',
    amountMsat: sat * 1000,
    paymentHash: randomBytes(32).toString('hex'),
    paymentSecret: randomBytes(32).toString('hex'),
    description,
    expirySeconds: 600,
    nodeKey: secp256k1.utils.randomSecretKey(),
  })
}

function keypair() {
  const sk = secp256k1.utils.randomSecretKey()
  return { priv: bytesToHex(sk), pub: bytesToHex(secp256k1.getPublicKey(sk, true)) }
}

const Y = (p: Proof) => hashToCurve(new TextEncoder().encode(p.secret)).toHex(true)

beforeAll(async () => {
  mint = await spawnMint({ config: { inputFeePpk: 100 }, env: { MINT_FAKE_FEE_MSAT: '1000' } })
  w = await wallet(mint.url, { requireSigDleq: true })
})
afterAll(async () => stopMint(mint, true))

describe('mint over HTTP with cashu-ts', () => {
  it('serves info, v2 keysets with fee and null expiry', async () => {
    const info = (await (await fetch(`${mint.url}/v1/info`)).json()) as {
      nuts: Record<string, unknown>
    }
    for (const n of ['4', '5', '7', '8', '9', '10', '11', '12', '14', '17', '19', '20'])
      expect(info.nuts[n]).toBeDefined()
    const ks = (await (await fetch(`${mint.url}/v1/keysets`)).json()) as {
      keysets: { id: string; input_fee_ppk: number; final_expiry: number | null; active: boolean }[]
    }
    expect(ks.keysets[0]!.id).toMatch(/^01[0-9a-f]{64}$/)
    expect(ks.keysets[0]!.input_fee_ppk).toBe(100)
    expect(ks.keysets[0]!.final_expiry).toBeNull()
  })

  it('mints, swaps, sends and receives, every signature carrying a valid DLEQ', async () => {
    const proofs = await mintProofs(w, 200)
    expect(sum(proofs)).toBe(200)
    expect(proofs.every((p) => p.dleq)).toBe(true)
    const { keep, send } = await w.send(50, proofs, { includeFees: true })
    const other = await wallet(mint.url, { requireSigDleq: true })
    const token = getEncodedToken({ mint: mint.url, proofs: send })
    const received = await other.receive(token, { requireDleq: true })
    expect(sum(received)).toBe(50)
    // The sent proofs are now spent; sending them again fails with 11001.
    await expect(other.receive(token)).rejects.toMatchObject({ code: 11001 })
    const states = await w.checkProofsStates(send)
    expect(states.every((s) => s.state === 'SPENT')).toBe(true)
    expect(sum(keep)).toBeGreaterThan(0)
  })

  it('melts with a fee reserve and returns the overpaid fee as change (NUT-08)', async () => {
    const proofs = await mintProofs(w, 300)
    const quote = await w.createMeltQuoteBolt11(foreignInvoice(100))
    expect(Number(quote.amount)).toBe(100)
    expect(Number(quote.fee_reserve)).toBe(2)
    const { keep, send } = await w.send(quote.amount.add(quote.fee_reserve), proofs, {
      includeFees: true,
    })
    const res = await w.meltProofsBolt11(quote, send)
    expect(res.quote.state).toBe('PAID')
    // fee reserve 2, fake wallet fee 1 sat: 1 sat comes back (plus any input-fee slack).
    expect(sum(res.change)).toBeGreaterThanOrEqual(1)
    expect((await w.checkProofsStates(res.change)).every((s) => s.state === 'UNSPENT')).toBe(true)
    expect((await w.checkProofsStates(send)).every((s) => s.state === 'SPENT')).toBe(true)
    const again = await w.checkMeltQuoteBolt11(quote.quote)
    expect(again.state).toBe('PAID')
    expect(sum(keep)).toBeGreaterThan(0)
  })

  it('rejects a melt that does not cover amount + fee reserve (11005)', async () => {
    const proofs = await mintProofs(w, 64)
    const quote = await w.createMeltQuoteBolt11(foreignInvoice(62))
    await expect(w.meltProofsBolt11(quote, proofs)).rejects.toBeTruthy()
    const r = await post(mint.url, '/v1/melt/bolt11', { quote: quote.quote, inputs: proofs })
    expect(r.status).toBe(400)
    expect((r.json as { code: number }).code).toBe(11005)
    expect((await w.checkProofsStates(proofs)).every((s) => s.state === 'UNSPENT')).toBe(true)
  })

  it('restores proofs from the wallet seed (NUT-09)', async () => {
    const seed = randomBytes(64)
    const a = await wallet(mint.url, { bip39seed: seed })
    const q = await a.createMintQuoteBolt11(77)
    await a.on.onceMintPaid(q.quote, { timeoutMs: 20_000 })
    const minted = await a.mintProofsBolt11(77, q, undefined, { type: 'deterministic', counter: 0 })
    const b = await wallet(mint.url, { bip39seed: seed })
    const { proofs } = await b.batchRestore()
    expect(proofs.map((p) => p.secret).sort()).toEqual(minted.map((p) => p.secret).sort())
    expect(sum(proofs)).toBe(77)
  })

  it('P2PK: 2-of-2 multisig with SIG_ALL', async () => {
    const alice = keypair()
    const bob = keypair()
    const proofs = await mintProofs(w, 40)
    const { send } = await w.send(
      16,
      proofs,
      { includeFees: true },
      {
        send: {
          type: 'p2pk',
          options: { pubkey: [alice.pub, bob.pub], requiredSignatures: 2, sigFlag: 'SIG_ALL' },
        },
      },
    )
    const r = await wallet(mint.url)
    await expect(r.receive(send, { privkey: alice.priv })).rejects.toBeTruthy()
    const got = await r.receive(send, { privkey: [alice.priv, bob.priv] })
    expect(sum(got)).toBeGreaterThan(0)
  })

  it('P2PK: locktime passed, refund key spends; wrong key is refused with 10001', async () => {
    const owner = keypair()
    const refund = keypair()
    const stranger = keypair()
    const proofs = await mintProofs(w, 40)
    const { send } = await w.send(
      8,
      proofs,
      { includeFees: true },
      {
        send: {
          type: 'p2pk',
          options: {
            pubkey: owner.pub,
            locktime: Math.floor(Date.now() / 1000) - 60,
            refundKeys: [refund.pub],
          },
        },
      },
    )
    const r = await wallet(mint.url)
    await expect(r.receive(send, { privkey: stranger.priv })).rejects.toBeTruthy()
    const signed = r.signP2PKProofs(send, stranger.priv)
    const outs = OutputData.createRandomData(sum(send) - 1, r.keyChain.getCheapestKeyset())
    const raw = await post(mint.url, '/v1/swap', {
      inputs: signed,
      outputs: outs.map((o) => o.blindedMessage),
    })
    expect((raw.json as { code: number }).code).toBe(10001)
    const got = await r.receive(send, { privkey: refund.priv })
    expect(sum(got)).toBe(sum(send) - 1)
  })

  it('HTLC: preimage plus signature, with SIG_ALL; a wrong preimage is refused', async () => {
    const receiver = keypair()
    const { hash, preimage } = createHTLCHash()
    const proofs = await mintProofs(w, 40)
    const { send } = await w.send(
      8,
      proofs,
      { includeFees: true },
      {
        send: {
          type: 'p2pk',
          options: { pubkey: receiver.pub, hashlock: hash, sigFlag: 'SIG_ALL' },
        },
      },
    )
    const r = await wallet(mint.url)
    const wrong = send.map((p) => ({
      ...p,
      witness: JSON.stringify({ preimage: bytesToHex(randomBytes(32)) }),
    }))
    await expect(r.receive(wrong, { privkey: receiver.priv })).rejects.toMatchObject({
      code: 10001,
    })
    const right = send.map((p) => ({ ...p, witness: JSON.stringify({ preimage }) }))
    const got = await r.receive(right, { privkey: receiver.priv })
    expect(sum(got)).toBeGreaterThan(0)
    // NUT-07 shows the witness (with the preimage) that spent it.
    const states = await post(mint.url, '/v1/checkstate', { Ys: [Y(send[0]!)] })
    const s = (states.json as { states: { state: string; witness: string }[] }).states[0]!
    expect(s.state).toBe('SPENT')
    expect(s.witness).toContain(preimage)
  })

  it('NUT-20: a locked quote mints only with its key', async () => {
    const key = keypair()
    const q = await w.createLockedMintQuote(16, key.pub)
    expect(q.pubkey).toBe(key.pub)
    await w.on.onceMintPaid(q.quote, { timeoutMs: 20_000 })
    const keyset = w.keyChain.getCheapestKeyset()
    const outs = OutputData.createRandomData(16, keyset)
    const unsigned = await post(mint.url, '/v1/mint/bolt11', {
      quote: q.quote,
      outputs: outs.map((o) => o.blindedMessage),
    })
    expect((unsigned.json as { code: number }).code).toBe(20008)
    const proofs = await w.mintProofsBolt11(16, q, { privkey: key.priv })
    expect(sum(proofs)).toBe(16)
  })

  it('NUT-20: accepts the amended signature cashu-ts sends first, without the legacy fallback', async () => {
    const key = keypair()
    const q = await w.createLockedMintQuote(8, key.pub)
    await w.on.onceMintPaid(q.quote, { timeoutMs: 20_000 })
    const preview = await w.prepareMint('bolt11', 8, q, { privkey: key.priv })
    expect(preview.legacySignature).toBeDefined()
    expect(preview.payload.signature).not.toBe(preview.legacySignature)
    const r = await post(mint.url, '/v1/mint/bolt11', preview.payload)
    expect(r.status).toBe(200)
    expect((r.json as { signatures: unknown[] }).signatures).toHaveLength(preview.outputData.length)
  })

  it('NUT-19: replaying a swap returns the cached response instead of 11001', async () => {
    const proofs = await mintProofs(w, 32)
    const keyset = w.keyChain.getCheapestKeyset()
    const outs = OutputData.createRandomData(sum(proofs) - 1, keyset)
    const body = { inputs: proofs, outputs: outs.map((o) => o.blindedMessage) }
    const first = await post(mint.url, '/v1/swap', body)
    expect(first.status).toBe(200)
    const replay = await post(mint.url, '/v1/swap', body)
    expect(replay.status).toBe(200)
    expect(replay.text).toBe(first.text)
    // A different request spending the same proofs is still a double spend.
    const outs2 = OutputData.createRandomData(sum(proofs) - 1, keyset)
    const other = await post(mint.url, '/v1/swap', {
      inputs: proofs,
      outputs: outs2.map((o) => o.blindedMessage),
    })
    expect((other.json as { code: number }).code).toBe(11001)
  })

  it('NUT-17: proof_state subscription sees UNSPENT then SPENT', async () => {
    const proofs = await mintProofs(w, 8)
    const seen: string[] = []
    const cancel = await w.on.proofStateUpdates(
      proofs,
      (p) => seen.push(p.state),
      () => undefined,
    )
    const end = Date.now() + 10_000
    while (!seen.includes('UNSPENT') && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50))
    await w.send(4, proofs, { includeFees: true })
    while (!seen.includes('SPENT') && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
    cancel()
    expect(seen[0]).toBe('UNSPENT')
    expect(seen).toContain('SPENT')
  })
})
