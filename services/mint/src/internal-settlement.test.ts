// Internal settlement (README "Internal settlement"), in-process with the fake Lightning wallet:
//   1. NUT-05 internal melt against the mint's own UNPAID mint quote (cashu-ts wallets both sides);
//   2. an invoice of the mint's own node that is not its quote: refused without the box's hook,
//      settled through it with one /pay, the pending loop asking /status afterwards;
//   3. the box's signed admin route that settles one of the mint's own quotes.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Wallet, injectWebSocketImpl, type Proof } from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import WebSocket from 'ws'
import { startMint, type RunningMint } from './index'
import { FakeWalletBackend } from './lightning/fake-wallet'
import { OWN_NODE_DETAIL } from './mint'
import { encodeBolt11 } from './nut23-bolt11'
import { silentLogger } from './log'
import { signSettlementRequest } from '../../shared/internal-settlement-auth'
import {
  startSettlementHook,
  type SettlementHookSimulator,
} from '../../../tests/simulators/settlement-hook'

injectWebSocketImpl(WebSocket as unknown as Parameters<typeof injectWebSocketImpl>[0])

const nodeKey = secp256k1.utils.randomSecretKey()
const key = new Uint8Array(randomBytes(32))
const keyHex = Buffer.from(key).toString('hex')
let mint: RunningMint | undefined
let hook: SettlementHookSimulator | undefined
let backend: FakeWalletBackend
let dir = ''
afterEach(async () => {
  await mint?.close()
  await hook?.close()
  mint = undefined
  hook = undefined
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function start(opts: { hook?: boolean; key?: boolean; timeoutMs?: number } = {}) {
  dir = mkdtempSync(join(tmpdir(), 'mint-internal-'))
  // Incoming invoices are paid only when the test says so (as a real payer would).
  backend = new FakeWalletBackend({
    network: 'regtest',
    statePath: ':memory:',
    incomingPayDelayMs: -1,
    feeMsat: 1000,
    nodeKey,
  })
  if (opts.hook) hook = await startSettlementHook(key)
  mint = await startMint({
    port: 0,
    dataDir: dir,
    backend,
    config: { pendingCheckIntervalMs: 100 },
    log: silentLogger,
    ...(opts.hook || opts.key ? { internalSettlementKey: keyHex } : {}),
    ...(hook ? { internalSettlementUrl: hook.url } : {}),
    ...(opts.timeoutMs ? { internalSettlementTimeoutMs: opts.timeoutMs } : {}),
  })
  return mint
}

async function wallet() {
  const w = new Wallet(mint!.url, { unit: 'sat' })
  await w.loadMint()
  return w
}

/** A wallet holding `amount` sat: its mint quote paid over (fake) Lightning. */
async function funded(amount: number) {
  const w = await wallet()
  const q = await w.createMintQuoteBolt11(amount)
  const stored = await mint!.mint.store.mintQuote(q.quote)
  backend.payIncoming(stored!.paymentHash)
  await w.on.onceMintPaid(q.quote, { timeoutMs: 10_000 })
  return { w, proofs: await w.mintProofsBolt11(amount, q) }
}

/** An invoice of the mint's own node that is not one of its quotes (a BTCPay invoice). */
function ownNodeInvoice(sat: number) {
  const preimage = randomBytes(32)
  const paymentHash = createHash('sha256').update(preimage).digest('hex')
  const request = encodeBolt11({
    network: 'regtest',
    amountMsat: sat * 1000,
    paymentHash,
    paymentSecret: randomBytes(32).toString('hex'),
    description: 'shop invoice',
    expirySeconds: 600,
    nodeKey,
  })
  return { request, paymentHash, preimage: preimage.toString('hex') }
}

const states = async (w: Wallet, proofs: Proof[]) =>
  [...new Set((await w.checkProofsStates(proofs)).map((s) => s.state))].join(',')
const total = (ps: { amount: unknown }[]) => ps.reduce((a, p) => a + Number(p.amount), 0)

async function waitFor(check: () => Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('condition not reached in time')
}

describe('NUT-05 internal melt against the mint’s own mint quote', () => {
  it('B melts into A’s quote: fee reserve 0, one transaction, A mints; no Lightning payment', async () => {
    await start()
    const a = await wallet()
    const { w: b, proofs } = await funded(64)
    const aq = await a.createMintQuoteBolt11(20)
    const paidForA = a.on.onceMintPaid(aq.quote, { timeoutMs: 10_000 })
    const mq = await b.createMeltQuoteBolt11(aq.request)
    expect(Number(mq.amount)).toBe(20)
    expect(Number(mq.fee_reserve)).toBe(0)
    const res = await b.meltProofsBolt11(mq, proofs)
    expect(res.quote.state).toBe('PAID')
    // NUT-08: 64 in, 20 out, no fee → 44 back as change.
    expect(total(res.change)).toBe(44)
    const preimage = res.quote.payment_preimage!
    const stored = await mint!.mint.store.mintQuote(aq.quote)
    expect(createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex')).toBe(
      stored!.paymentHash,
    )
    expect(stored).toMatchObject({ state: 'PAID', settledBy: 'melt' })
    expect((await paidForA).state).toBe('PAID')
    const minted = await a.mintProofsBolt11(20, aq)
    expect(total(minted)).toBe(20)
    expect(await states(b, proofs)).toBe('SPENT')
    // The node never tried to pay itself, and the quote's invoice can no longer be paid over
    // Lightning (it would bring sats that mint nothing).
    expect((await backend.checkOutgoing(stored!.paymentHash)).state).toBe('UNKNOWN')
    expect(backend.incomingState(stored!.paymentHash)).toBe('CANCELED')
    expect(backend.payIncoming(stored!.paymentHash)).toBe(false)
    // Liabilities: 64 redeemed; 20 + 44 new eCash out = the same 64.
    const l = await mint!.mint.store.liabilities()
    expect(l.reduce((x, k) => x + k.redeemed, 0)).toBe(64)
    expect(l.reduce((x, k) => x + k.outstanding, 0)).toBe(64)
  })

  it('settles a mint quote once: a second melt of the same invoice and a paid quote are refused', async () => {
    await start()
    const a = await wallet()
    const { w: b, proofs: p1 } = await funded(16)
    const { w: c, proofs: p2 } = await funded(16)
    const aq = await a.createMintQuoteBolt11(10)
    const first = await b.createMeltQuoteBolt11(aq.request)
    const second = await c.createMeltQuoteBolt11(aq.request)
    expect((await b.meltProofsBolt11(first, p1)).quote.state).toBe('PAID')
    await expect(c.meltProofsBolt11(second, p2)).rejects.toMatchObject({ code: 20006 })
    expect(await states(c, p2)).toBe('UNSPENT')
    await expect(b.createMeltQuoteBolt11(aq.request)).rejects.toMatchObject({ code: 20006 })
  })

  it('only for the very invoice the mint issued, not another one reusing its payment hash', async () => {
    await start()
    const a = await wallet()
    const { w: b } = await funded(8)
    const aq = await a.createMintQuoteBolt11(5)
    const forged = encodeBolt11({
      network: 'regtest',
      amountMsat: 5000,
      paymentHash: (await mint!.mint.store.mintQuote(aq.quote))!.paymentHash,
      paymentSecret: randomBytes(32).toString('hex'),
      description: 'same hash, another node',
      expirySeconds: 600,
      nodeKey: secp256k1.utils.randomSecretKey(),
    })
    const mq = await b.createMeltQuoteBolt11(forged)
    expect(Number(mq.fee_reserve)).toBeGreaterThan(0)
    expect((await mint!.mint.store.meltQuote(mq.quote))?.settlement).toBe('lightning')
  })

  it('changes nothing when the inputs are already spent (one transaction)', async () => {
    await start()
    const a = await wallet()
    const { w: b, proofs } = await funded(32)
    const aq = await a.createMintQuoteBolt11(16)
    const mq = await b.createMeltQuoteBolt11(aq.request)
    await b.send(5, proofs) // a swap: the proofs are now spent
    expect(await states(b, proofs)).toBe('SPENT')
    await expect(b.meltProofsBolt11(mq, proofs)).rejects.toMatchObject({ code: 11001 })
    expect((await mint!.mint.store.mintQuote(aq.quote))?.state).toBe('UNPAID')
    expect((await mint!.mint.store.meltQuote(mq.quote))?.state).toBe('UNPAID')
  })
})

describe('an invoice of the mint’s own node that is not its quote', () => {
  it('is refused in plain words without the box’s settlement hook', async () => {
    await start()
    const { w } = await funded(8)
    await expect(w.createMeltQuoteBolt11(ownNodeInvoice(5).request)).rejects.toMatchObject({
      code: 20004,
      message: OWN_NODE_DETAIL,
    })
  })

  it('is settled by the box with one /pay: proofs SPENT, its preimage, fee 0, change back', async () => {
    await start({ hook: true })
    const { w, proofs } = await funded(64)
    const inv = ownNodeInvoice(21)
    hook!.knowInvoice(inv.paymentHash, 21_000, inv.preimage)
    const mq = await w.createMeltQuoteBolt11(inv.request)
    expect(Number(mq.fee_reserve)).toBe(0)
    const res = await w.meltProofsBolt11(mq, proofs)
    expect(res.quote.state).toBe('PAID')
    expect(res.quote.payment_preimage).toBe(inv.preimage)
    expect(total(res.change)).toBe(43)
    expect(await states(w, proofs)).toBe('SPENT')
    expect(hook!.settled.get(inv.paymentHash)).toBe(1)
    expect(hook!.calls.map((c) => [c.op, c.status])).toEqual([['pay', 200]])
    expect(hook!.calls[0]!.body).toEqual({
      payment_hash: inv.paymentHash,
      bolt11: inv.request,
      amount_msat: 21_000,
      melt_quote: mq.quote,
    })
    expect((await backend.checkOutgoing(inv.paymentHash)).state).toBe('UNKNOWN')
  })

  it('releases the proofs on FAILED and on NOT_INTERNAL, passing the reason on', async () => {
    await start({ hook: true })
    const { w, proofs } = await funded(64)
    const refused = ownNodeInvoice(10)
    hook!.knowInvoice(refused.paymentHash, 10_000, refused.preimage)
    hook!.nextPay('FAILED')
    const q1 = await w.createMeltQuoteBolt11(refused.request)
    await expect(w.meltProofsBolt11(q1, proofs)).rejects.toMatchObject({
      code: 20004,
      message: expect.stringContaining('the shop refused it'),
    })
    expect(await states(w, proofs)).toBe('UNSPENT')
    expect((await mint!.mint.store.meltQuote(q1.quote))?.state).toBe('UNPAID')

    const unknown = ownNodeInvoice(10) // the box does not know this payee
    const q2 = await w.createMeltQuoteBolt11(unknown.request)
    await expect(w.meltProofsBolt11(q2, proofs)).rejects.toMatchObject({ code: 20004 })
    expect(await states(w, proofs)).toBe('UNSPENT')
    expect(hook!.settled.size).toBe(0)
  })

  it('a /pay the box refuses outright (another key: 401) releases the proofs at once', async () => {
    await start({ hook: true })
    await hook!.close()
    hook = await startSettlementHook(new Uint8Array(randomBytes(32)))
    await mint!.close()
    backend = new FakeWalletBackend({ network: 'regtest', statePath: ':memory:', nodeKey })
    mint = await startMint({
      port: 0,
      dataDir: dir,
      backend,
      log: silentLogger,
      internalSettlementKey: keyHex,
      internalSettlementUrl: hook.url,
    })
    const { w, proofs } = await funded(16)
    const inv = ownNodeInvoice(8)
    const mq = await w.createMeltQuoteBolt11(inv.request)
    await expect(w.meltProofsBolt11(mq, proofs)).rejects.toMatchObject({
      code: 20004,
      message: expect.stringContaining('the shared key differs'),
    })
    expect(await states(w, proofs)).toBe('UNSPENT')
    expect(hook.calls.map((c) => c.status)).toEqual([401])
  })

  it('a quote made while the hook was set is refused, not attempted, after a restart without it', async () => {
    await start({ hook: true })
    const { w, proofs } = await funded(16)
    const inv = ownNodeInvoice(8)
    const mq = await w.createMeltQuoteBolt11(inv.request)
    await mint!.close()
    backend = new FakeWalletBackend({ network: 'regtest', statePath: ':memory:', nodeKey })
    mint = await startMint({ port: 0, dataDir: dir, backend, log: silentLogger })
    const w2 = await wallet()
    await expect(w2.meltProofsBolt11(mq, proofs)).rejects.toMatchObject({
      code: 20004,
      message: OWN_NODE_DETAIL,
    })
    expect(await states(w2, proofs)).toBe('UNSPENT')
    expect(hook!.calls).toEqual([])
  })

  it('PENDING stays pending; the loop asks /status (never /pay again) and settles once', async () => {
    await start({ hook: true })
    const { w, proofs } = await funded(32)
    const inv = ownNodeInvoice(12)
    hook!.knowInvoice(inv.paymentHash, 12_000, inv.preimage)
    hook!.nextPay('PENDING')
    const mq = await w.createMeltQuoteBolt11(inv.request)
    const res = await w.meltProofsBolt11(mq, proofs)
    expect(res.quote.state).toBe('PENDING')
    expect(await states(w, proofs)).toBe('PENDING')
    await waitFor(async () => hook!.calls.some((c) => c.op === 'status'))
    expect(await states(w, proofs)).toBe('PENDING')
    const paid = w.on.onceMeltPaid(mq.quote, { timeoutMs: 10_000 })
    hook!.resolve(inv.paymentHash, { state: 'PAID', preimage: inv.preimage })
    expect((await paid).state).toBe('PAID')
    expect(await states(w, proofs)).toBe('SPENT')
    expect(hook!.calls.filter((c) => c.op === 'pay')).toHaveLength(1)
    expect(hook!.settled.get(inv.paymentHash)).toBe(1)
    // The change is still there for the wallet that asks again (NUT-08 with NUT-05 polling).
    const again = await mint!.mint.getMeltQuote(mq.quote)
    expect(total(again.change ?? [])).toBe(20)
  })

  it('a /pay that times out or loses its answer stays PENDING until /status is final', async () => {
    await start({ hook: true, timeoutMs: 300 })
    const { proofs: pa } = await funded(8)
    const { w, proofs: pb } = await funded(8)
    const [a, b] = [ownNodeInvoice(4), ownNodeInvoice(4)]
    for (const i of [a, b]) hook!.knowInvoice(i.paymentHash, 4000, i.preimage)
    // The box settles, but the connection is cut before the mint hears it.
    hook!.nextPay('drop')
    const qa = await w.createMeltQuoteBolt11(a.request)
    expect((await w.meltProofsBolt11(qa, pa)).quote.state).toBe('PENDING')
    await waitFor(async () => (await states(w, pa)) === 'SPENT')
    expect(hook!.settled.get(a.paymentHash)).toBe(1)
    // The box takes longer than the mint waits; then it refuses: the proofs come back.
    hook!.nextPay('hang')
    const qb = await w.createMeltQuoteBolt11(b.request)
    expect((await w.meltProofsBolt11(qb, pb)).quote.state).toBe('PENDING')
    expect(await states(w, pb)).toBe('PENDING')
    hook!.resolve(b.paymentHash, { state: 'FAILED', reason: 'the invoice was archived' })
    await waitFor(async () => (await states(w, pb)) === 'UNSPENT')
    expect((await mint!.mint.store.meltQuote(qb.quote))?.state).toBe('UNPAID')
    expect(hook!.calls.filter((c) => c.op === 'pay')).toHaveLength(2)
  })
})

describe('the key and the hook URL', () => {
  it('refuses a malformed key without echoing it, and a hook URL without a key', async () => {
    dir = mkdtempSync(join(tmpdir(), 'mint-internal-'))
    const bad = 'zz' + randomBytes(31).toString('hex')
    const err = await startMint({
      port: 0,
      dataDir: dir,
      log: silentLogger,
      internalSettlementKey: bad,
    }).catch((e: Error) => e)
    expect(String(err)).toMatch(/must be 32 bytes written as 64 hex digits/)
    expect(String(err)).not.toContain(bad)
    await expect(
      startMint({
        port: 0,
        dataDir: dir,
        log: silentLogger,
        internalSettlementUrl: 'http://127.0.0.1:1/internal/settlement/v1',
      }),
    ).rejects.toThrow(/URL is set but its key is not/)
  })
})

describe('POST /internal/v1/mint-quote/{id}/settle (the box settles the mint’s own quote)', () => {
  const settle = (id: string, body: string, headers: Record<string, string>) =>
    fetch(`${mint!.url}/internal/v1/mint-quote/${id}/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    })
  const signed = (id: string, body: string, k: Uint8Array = key) =>
    signSettlementRequest(k, 'POST', `/internal/v1/mint-quote/${id}/settle`, body)

  it('is 404 when the mint has no internal settlement key', async () => {
    await start()
    const w = await wallet()
    const q = await w.createMintQuoteBolt11(5)
    const body = JSON.stringify({ payment_hash: 'ab'.repeat(32) })
    expect((await settle(q.quote, body, signed(q.quote, body))).status).toBe(404)
  })

  it('checks the signature, the hash and the expiry; marks PAID once; the wallet hears it', async () => {
    await start({ key: true })
    const w = await wallet()
    const q = await w.createMintQuoteBolt11(5)
    const hash = (await mint!.mint.store.mintQuote(q.quote))!.paymentHash
    const body = JSON.stringify({ payment_hash: hash })
    const bad = await settle(q.quote, body, signed(q.quote, body, randomBytes(32)))
    expect(bad.status).toBe(401)
    expect(await bad.json()).toEqual({ error: 'unauthorized' })
    expect((await settle(q.quote, body, {})).status).toBe(401)
    const other = JSON.stringify({ payment_hash: 'cd'.repeat(32) })
    expect((await settle(q.quote, other, signed(q.quote, other))).status).toBe(409)
    const nope = 'a'.repeat(32)
    expect((await settle(nope, body, signed(nope, body))).status).toBe(404)
    const notJson = 'payment_hash'
    expect((await settle(q.quote, notJson, signed(q.quote, notJson))).status).toBe(400)
    expect((await mint!.mint.store.mintQuote(q.quote))?.state).toBe('UNPAID')

    const paid = w.on.onceMintPaid(q.quote, { timeoutMs: 10_000 })
    const ok = await settle(q.quote, body, signed(q.quote, body))
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ quote: q.quote, state: 'PAID' })
    expect((await paid).state).toBe('PAID')
    expect((await mint!.mint.store.mintQuote(q.quote))?.settledBy).toBe('box')
    // Its invoice is cancelled: nobody can pay it a second time over Lightning.
    expect(backend.incomingState(hash)).toBe('CANCELED')
    const again = await settle(q.quote, body, signed(q.quote, body))
    expect(await again.json()).toEqual({ quote: q.quote, state: 'PAID' })
    await w.mintProofsBolt11(5, q)
    const issued = await settle(q.quote, body, signed(q.quote, body))
    expect(await issued.json()).toEqual({ quote: q.quote, state: 'ISSUED' })
    // Lightning cannot pay the same invoice later, and the quote was issued once.
    expect(backend.payIncoming(hash)).toBe(false)
    expect((await mint!.mint.store.mintQuote(q.quote))?.state).toBe('ISSUED')
  })

  it('refuses an expired quote with 409', async () => {
    await start({ key: true })
    const w = await wallet()
    const q = await w.createMintQuoteBolt11(5)
    const stored = (await mint!.mint.store.mintQuote(q.quote))!
    // Expire it in the store (the quote TTL is an hour).
    await mint!.mint.store.addMintQuote({
      ...stored,
      id: 'expired-quote',
      paymentHash: 'ef'.repeat(32),
      expiry: Math.floor(Date.now() / 1000) - 1,
    })
    const body = JSON.stringify({ payment_hash: 'ef'.repeat(32) })
    const r = await settle('expired-quote', body, signed('expired-quote', body))
    expect(r.status).toBe(409)
    expect(((await r.json()) as { detail: string }).detail).toMatch(/expired/)
  })
})
