// The mint core in-process with a fake Lightning wallet the test drives: a melt whose payment
// stays in flight answers PENDING, keeps the proofs PENDING, and is settled by the mint's own
// pending-payment watcher once Lightning settles — wallets hear it over NUT-17.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { Wallet } from '@cashu/cashu-ts'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { startMint, type RunningMint } from './index'
import { FakeWalletBackend } from './lightning/fake-wallet'
import { encodeBolt11 } from './nut23-bolt11'
import { silentLogger } from './log'

let mint: RunningMint | undefined
let dir = ''
afterEach(async () => {
  await mint?.close()
  mint = undefined
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function invoice(sat: number, opts: { timestamp?: number; expirySeconds?: number } = {}) {
  const paymentHash = randomBytes(32).toString('hex')
  return {
    paymentHash,
    request: encodeBolt11({
      network: 'regtest',
      amountMsat: sat * 1000,
      paymentHash,
      paymentSecret: randomBytes(32).toString('hex'),
      description: 'held payment',
      expirySeconds: opts.expirySeconds ?? 600,
      ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
      nodeKey: secp256k1.utils.randomSecretKey(),
    }),
  }
}

describe('melt with a payment in flight', () => {
  it('answers PENDING, holds the proofs, then settles when Lightning does', async () => {
    dir = mkdtempSync(join(tmpdir(), 'mint-core-'))
    const backend = new FakeWalletBackend({
      network: 'regtest',
      statePath: ':memory:',
      incomingPayDelayMs: 0,
      feeMsat: 1000,
    })
    mint = await startMint({
      port: 0,
      dataDir: dir,
      backend,
      config: { pendingCheckIntervalMs: 100 },
      log: silentLogger,
    })
    const w = new Wallet(mint.url, { unit: 'sat' })
    await w.loadMint()
    const q = await w.createMintQuoteBolt11(64)
    await w.on.onceMintPaid(q.quote, { timeoutMs: 10_000 })
    const proofs = await w.mintProofsBolt11(64, q)
    const inv = invoice(40)
    const mq = await w.createMeltQuoteBolt11(inv.request)
    backend.setNextOutgoing('PENDING')
    const res = await w.meltProofsBolt11(mq, proofs)
    expect(res.quote.state).toBe('PENDING')
    expect((await w.checkProofsStates(proofs)).every((s) => s.state === 'PENDING')).toBe(true)
    // Another attempt on the same quote is refused while it is in flight.
    await expect(w.meltProofsBolt11(mq, proofs)).rejects.toMatchObject({ code: 20005 })

    const paid = w.on.onceMeltPaid(mq.quote, { timeoutMs: 10_000 })
    backend.resolveOutgoing(inv.paymentHash, 'PAID')
    const done = await paid
    expect(done.state).toBe('PAID')
    expect((await w.checkProofsStates(proofs)).every((s) => s.state === 'SPENT')).toBe(true)
    const l = await mint.mint.store.liabilities()
    // Every input of the settled melt now counts as redeemed.
    expect(l.reduce((a, x) => a + x.redeemed, 0)).toBe(64)
  })

  it('gives the proofs back when the held payment finally fails', async () => {
    dir = mkdtempSync(join(tmpdir(), 'mint-core-'))
    const backend = new FakeWalletBackend({
      network: 'regtest',
      statePath: ':memory:',
      incomingPayDelayMs: 0,
    })
    mint = await startMint({
      port: 0,
      dataDir: dir,
      backend,
      config: { pendingCheckIntervalMs: 100 },
      log: silentLogger,
    })
    const w = new Wallet(mint.url, { unit: 'sat' })
    await w.loadMint()
    const q = await w.createMintQuoteBolt11(64)
    await w.on.onceMintPaid(q.quote, { timeoutMs: 10_000 })
    const proofs = await w.mintProofsBolt11(64, q)
    const inv = invoice(40)
    const mq = await w.createMeltQuoteBolt11(inv.request)
    backend.setNextOutgoing('PENDING')
    expect((await w.meltProofsBolt11(mq, proofs)).quote.state).toBe('PENDING')
    backend.resolveOutgoing(inv.paymentHash, 'FAILED')
    const end = Date.now() + 10_000
    let states = await w.checkProofsStates(proofs)
    while (states.some((s) => s.state !== 'UNSPENT') && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50))
      states = await w.checkProofsStates(proofs)
    }
    expect(states.every((s) => s.state === 'UNSPENT')).toBe(true)
    expect((await w.checkMeltQuoteBolt11(mq.quote)).state).toBe('UNPAID')
  })
})

describe('melt quote (NUT-05)', () => {
  it('refuses a quote for an expired invoice at quote time, with a NUT-00 error that says so', async () => {
    dir = mkdtempSync(join(tmpdir(), 'mint-core-'))
    const backend = new FakeWalletBackend({ network: 'regtest', statePath: ':memory:' })
    mint = await startMint({ port: 0, dataDir: dir, backend, log: silentLogger })
    // Issued 20 minutes ago, valid for 10: expired 10 minutes ago.
    const expired = invoice(40, {
      timestamp: Math.floor(Date.now() / 1000) - 1200,
      expirySeconds: 600,
    })
    const res = await fetch(`${mint.url}/v1/melt/quote/bolt11`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: expired.request, unit: 'sat' }),
    })
    expect(res.status).toBe(400)
    const body = (await res.json()) as { detail: string; code: number }
    expect(body.code).toBe(10000)
    expect(body.detail).toMatch(/invoice expired at .*ask the payee for a new invoice/)

    // The same through a wallet: refused when asking, not later as "Quote is expired".
    const w = new Wallet(mint.url, { unit: 'sat' })
    await w.loadMint()
    await expect(w.createMeltQuoteBolt11(expired.request)).rejects.toThrow(/invoice expired/)
    // A live invoice still gets its quote.
    const live = await w.createMeltQuoteBolt11(invoice(40).request)
    expect(live.state).toBe('UNPAID')
  })
})
