// The eCash wallet (src/core/ecash) against the box's real mint (services/mint, fake Lightning
// backend — the mint's regtest backend, which pays our invoices itself) over real HTTP and
// WebSocket: mint from Lightning, send/receive between two wallets, melt with NUT-08 change,
// offline receive redeemed after a mint restart, P2PK-locked tokens, restore from the seed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startMint, type FakeWalletBackend, type RunningMint } from '../../services/mint/src/index'
import { encodeBolt11 } from '../../services/mint/src/nut23-bolt11'
import { getDecodedToken, getEncodedToken } from '@cashu/cashu-ts'
import { EcashWallet } from '../../src/core/ecash/wallet'
import { FlashError } from '../../src/core/errors'
import { silentLogger } from '../../src/core/log'
import type { EcashEvent } from '../../src/shared/api/ecash'
import { eventually } from './eventually'

let root: string
let mintDir: string
let mint: RunningMint
let port: number
let mintUp = false
const wallets: EcashWallet[] = []

async function openWallet(
  name: string,
  opts: { background?: number; publishedOwnMintUrl?: string } = {},
) {
  const events: EcashEvent[] = []
  const w = new EcashWallet({
    dir: join(root, name),
    log: silentLogger,
    publish: (e) => events.push(e),
    ownMintUrl: () => mint.url,
    ...(opts.publishedOwnMintUrl ? { publishedOwnMintUrl: () => opts.publishedOwnMintUrl } : {}),
    backgroundIntervalMs: opts.background ?? 0,
    requestTimeoutMs: 5_000,
  })
  await w.start()
  wallets.push(w)
  return { w, events }
}

async function fund(w: EcashWallet, amount: number): Promise<void> {
  const before = w.status().total
  const q = await w.createMintQuote(amount)
  // NUT-17: the wallet mints by itself once the mint reports the invoice paid.
  await eventually(() => w.status().total === before + amount, 'the minted ecash')
  expect(
    w.history({ limit: 50 }).find((h) => h.kind === 'minted' && h.amount === amount)?.state,
  ).toBe('done')
  expect(q.invoice).toMatch(/^lnbcrt/)
}

/**
 * An invoice from some other Lightning node. The fake backend pays foreign invoices; a
 * description with `fake:pending` keeps the payment in flight, `fake:fail` makes it fail.
 */
function foreignInvoice(
  sats: number,
  description = 'coffee',
  paymentHash = randomBytes(32).toString('hex'),
): string {
  return encodeBolt11({
    network: 'regtest',
    amountMsat: sats * 1000,
    paymentHash,
    paymentSecret: randomBytes(32).toString('hex'),
    description,
    expirySeconds: 600,
    nodeKey: new Uint8Array(randomBytes(32)),
  })
}

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p
  } catch (err) {
    return err instanceof FlashError ? err.code : `not a FlashError: ${String(err)}`
  }
  return 'no error'
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecash-it-'))
  mintDir = join(root, 'mint')
  mint = await startMint({
    port: 0,
    dataDir: mintDir,
    backend: { kind: 'fake', incomingPayDelayMs: 200, outgoingDelayMs: 0 },
    log: silentLogger,
  })
  port = mint.port
  mintUp = true
})

// A test that stops the mint must not take the next ones down with it.
beforeEach(async () => {
  if (!mintUp) await restartMint()
})

async function stopMint() {
  mintUp = false
  await mint.close()
}

async function restartMint() {
  mint = await startMint({ port, dataDir: mintDir, backend: { kind: 'fake' }, log: silentLogger })
  mintUp = true
}

afterAll(async () => {
  for (const w of wallets) await w.stop().catch(() => {})
  if (mintUp) await mint.close()
  rmSync(root, { recursive: true, force: true })
})

describe('eCash wallet against the box mint', () => {
  it('tokens of the own mint carry its published URL, and redeem at the own mint', async () => {
    const published = 'https://shop.example.com'
    const { w: alice } = await openWallet('alice-public', { publishedOwnMintUrl: published })
    const { w: bob } = await openWallet('bob-public', { publishedOwnMintUrl: published })
    await fund(alice, 16)
    const sent = await alice.send({ amount: 5 })
    expect(
      getDecodedToken(
        sent.token,
        alice.mints()[0]!.keysets.map((k) => k.id),
      ).mint,
    ).toBe(published)
    expect(await bob.receive(sent.token)).toMatchObject({ status: 'claimed', amount: 5 })
  })

  it('mints from Lightning: quote → invoice + QR → paid (WebSocket) → proofs', async () => {
    const { w, events } = await openWallet('alice')
    const q = await w.createMintQuote(100)
    expect(q.qr).toMatch(/^data:image\/svg\+xml;base64,/)
    expect(q.locked).toBe(true) // NUT-20: the box mint signs quotes to our key
    await eventually(() => w.status().total === 100, 'balance 100')
    expect(events.some((e) => e.type === 'quote-paid' && e.quoteId === q.quoteId)).toBe(true)
    expect(events.some((e) => e.type === 'balance' && e.total === 100)).toBe(true)
    const again = await w.checkMintQuote(q.quoteId)
    expect(again.state).toBe('issued')
    expect(w.status().total).toBe(100)
  })

  it('sends a token that another wallet receives; the sender sees it claimed', async () => {
    const { w: alice } = await openWallet('alice2')
    const { w: bob, events } = await openWallet('bob')
    await fund(alice, 64)
    const sent = await alice.send({ amount: 21, memo: 'lunch' })
    expect(sent.token).toMatch(/^cashuB/)
    expect(sent.qr).toMatch(/^data:image\/svg\+xml/)
    expect(alice.status().total).toBe(64 - 21 - sent.fee)
    expect(alice.balances()[0]!.pending).toBe(21)

    const got = await bob.receive(sent.token)
    expect(got).toMatchObject({ status: 'claimed', amount: 21, fee: 0 })
    expect(bob.status().total).toBe(21)
    expect(events.some((e) => e.type === 'token-claimed')).toBe(true)
    expect(await codeOf(bob.receive(sent.token))).toBe('ecash.already_received')

    // Someone else trying the same token: the mint says spent.
    const { w: carol } = await openWallet('carol')
    expect(await codeOf(carol.receive(sent.token))).toBe('ecash.token_spent')

    await alice.reconcile()
    const h = alice.history({ limit: 10 }).find((x) => x.kind === 'sent')!
    expect(h).toMatchObject({ state: 'done', amount: 21 })
    expect(alice.balances()[0]!.pending).toBe(0)
    expect(await codeOf(alice.send({ amount: 1000 }))).toBe('ecash.insufficient_balance')

    // A token nobody claimed can be taken back; a claimed one cannot.
    const before = alice.status().total
    const unclaimed = await alice.send({ amount: 5 })
    const back = await alice.reclaim(unclaimed.operationId)
    expect(back).toMatchObject({ status: 'claimed', amount: 5 })
    expect(alice.status().total).toBe(before - unclaimed.fee)
    expect(alice.balances()[0]!.pending).toBe(0)
    expect(alice.history({ limit: 5 }).find((x) => x.id === unclaimed.operationId)).toMatchObject({
      kind: 'sent',
      state: 'failed',
    })
    expect(await codeOf(bob.receive(unclaimed.token))).toBe('ecash.token_spent')
    const claimedByBob = await alice.send({ amount: 3 })
    await bob.receive(claimedByBob.token)
    expect(await codeOf(alice.reclaim(claimedByBob.operationId))).toBe('ecash.not_reclaimable')
    expect(alice.history({ limit: 5 }).find((x) => x.id === claimedByBob.operationId)?.state).toBe(
      'done',
    )
  })

  it('pays a Lightning invoice (melt) and gets the unused fee reserve back as change (NUT-08)', async () => {
    const { w } = await openWallet('payer')
    await fund(w, 200)
    const quote = await w.createMeltQuote(foreignInvoice(50))
    expect(quote.amount).toBe(50)
    expect(quote.feeReserve).toBeGreaterThan(0)
    const paid = await w.melt(quote.quoteId)
    expect(paid.state).toBe('paid')
    expect(paid.change).toBeGreaterThan(0)
    expect(w.status().total).toBe(200 - 50 - paid.fee)
    expect(paid.fee).toBeLessThanOrEqual(quote.feeReserve)
    expect(w.balances()[0]!.pending).toBe(0)
    expect(w.history({ limit: 5 })[0]).toMatchObject({ kind: 'melted', state: 'done', amount: 50 })

    // Enough for the invoice, not for its fee reserve.
    const left = w.status().total
    const tight = await w.createMeltQuote(foreignInvoice(left))
    expect(await codeOf(w.melt(tight.quoteId))).toBe('ecash.fee_too_high')
    expect(w.status().total).toBe(left)
  })

  it('a payment stuck in Lightning stays pending until it settles; a failed one gives the ecash back', async () => {
    const { w } = await openWallet('payer-pending')
    await fund(w, 300)
    const hash = randomBytes(32).toString('hex')
    const q = await w.createMeltQuote(foreignInvoice(100, 'fake:pending', hash))
    const r = await w.melt(q.quoteId)
    expect(r.state).toBe('pending')
    expect(w.balances()[0]!.pending).toBeGreaterThanOrEqual(100)
    expect(w.history({ limit: 1 })[0]).toMatchObject({ kind: 'melted', state: 'pending' })
    await w.reconcile()
    expect(w.history({ limit: 1 })[0]!.state).toBe('pending')

    ;(mint.backend as FakeWalletBackend).resolveOutgoing(hash, 'PAID')
    await w.reconcile()
    const h = w.history({ limit: 1 })[0]!
    expect(h).toMatchObject({ kind: 'melted', state: 'done', amount: 100 })
    expect(w.balances()[0]!.pending).toBe(0)
    expect(w.status().total).toBe(300 - 100 - h.fee)

    const before = w.status().total
    const failing = await w.createMeltQuote(foreignInvoice(30, 'fake:fail'))
    expect(await codeOf(w.melt(failing.quoteId))).toBe('ecash.lightning_failed')
    expect(w.status().total).toBe(before)
    expect(w.balances()[0]!.pending).toBe(0)
    expect(w.history({ limit: 1 })[0]).toMatchObject({ kind: 'melted', state: 'failed' })
  })

  it('receives offline while the mint is down, then claims when it is back (on demand and automatically)', async () => {
    const { w: alice } = await openWallet('alice3')
    const { w: bob } = await openWallet('bob3', { background: 500 })
    await fund(alice, 40)
    const t1 = await alice.send({ amount: 8 })
    const t2 = await alice.send({ amount: 4 })
    await bob.addMint(mint.url)

    await stopMint()
    const r1 = await bob.receive(t1.token)
    expect(r1.status).toBe('stored-offline')
    expect(bob.status()).toMatchObject({ total: 0, unclaimedTokens: 1 })
    expect(bob.history({ limit: 5 })[0]).toMatchObject({ kind: 'received', state: 'unclaimed' })
    expect((await bob.redeemPending()).claimed).toBe(0)

    await restartMint()
    const redeemed = await bob.redeemPending()
    expect(redeemed).toMatchObject({ claimed: 1, claimedAmount: 8, stillPending: 0 })
    expect(bob.status().total).toBe(8)

    await stopMint()
    expect((await bob.receive(t2.token)).status).toBe('stored-offline')
    await restartMint()
    // No call from us: the wallet's background pass claims it.
    await eventually(() => bob.status().total === 12, 'the automatic claim')
    expect(bob.pendingTokens()).toEqual([])
  })

  it('respects input fees at a second mint that charges them (NUT-02 input_fee_ppk)', async () => {
    const feeMint = await startMint({
      port: 0,
      dataDir: join(root, 'fee-mint'),
      backend: { kind: 'fake', incomingPayDelayMs: 100, outgoingDelayMs: 0 },
      config: { inputFeePpk: 1000 }, // 1 sat per input: large enough to see
      log: silentLogger,
    })
    try {
      const { w: alice } = await openWallet('alice-fees')
      const { w: bob } = await openWallet('bob-fees')
      await alice.addMint(feeMint.url)
      await bob.addMint(feeMint.url)
      expect(alice.mints().find((m) => m.url === feeMint.url)!.keysets[0]!.inputFeePpk).toBe(1000)
      const at = (w: EcashWallet) => w.balances().find((b) => b.mintUrl === feeMint.url)!
      await alice.createMintQuote(100, feeMint.url)
      await eventually(() => at(alice).spendable === 100, 'funding at the fee mint')

      // The sender pays the receiver's fee too: the recipient nets exactly what was sent.
      const sent = await alice.send({ amount: 10, mintUrl: feeMint.url })
      expect(sent.fee).toBeGreaterThan(0)
      const tokenValue = at(alice).pending
      expect(tokenValue).toBe(12) // 8 + 4: two proofs, 2 sat for the recipient's swap
      expect(at(alice).spendable + tokenValue + sent.fee).toBe(100)
      const got = await bob.receive(sent.token)
      expect(got).toMatchObject({ status: 'claimed', amount: 10 })
      expect(got.status === 'claimed' && got.fee).toBe(tokenValue - 10)
      expect(at(bob).spendable).toBe(10)

      // Paying an invoice: input fees come on top of the amount and the Lightning fee.
      const before = at(alice).spendable
      const quote = await alice.createMeltQuote(foreignInvoice(20), feeMint.url)
      const paid = await alice.melt(quote.quoteId)
      expect(paid.state).toBe('paid')
      expect(at(alice).spendable).toBe(before - 20 - paid.fee)
      expect(at(alice).pending).toBe(tokenValue) // Bob's claim is seen on the next reconcile
      await alice.reconcile()
      expect(at(alice).pending).toBe(0)
    } finally {
      await feeMint.close()
    }
  })

  it('refuses a forged token by its DLEQ proof (NUT-12) before asking the mint', async () => {
    const { w: alice } = await openWallet('alice-dleq')
    const { w: bob } = await openWallet('bob-dleq')
    await fund(alice, 16)
    const sent = await alice.send({ amount: 16 })
    const token = getDecodedToken(
      sent.token,
      alice.mints()[0]!.keysets.map((k) => k.id),
    )
    expect(token.proofs.every((p) => p.dleq)).toBe(true)
    // Someone swaps in a signature of their own (any valid curve point): the DLEQ proof no
    // longer matches the mint's key, and the wallet says so without spending anything.
    const forgedToken = getEncodedToken({
      ...token,
      proofs: token.proofs.map((p) => ({ ...p, C: bob.status().receivePubkey! })),
    })
    expect(await codeOf(bob.receive(forgedToken))).toBe('ecash.bad_dleq')
    expect(bob.history({ limit: 5 })).toEqual([])
    expect((await bob.receive(sent.token)).status).toBe('claimed')
  })

  it('sends P2PK-locked tokens: only the key holder can claim them (NUT-11)', async () => {
    const { w: alice } = await openWallet('alice4')
    const { w: bob } = await openWallet('bob4')
    const { w: mallory } = await openWallet('mallory4')
    await fund(alice, 32)
    const bobKey = bob.status().receivePubkey!
    const sent = await alice.send({ amount: 16, p2pkPubkey: bobKey })
    expect(sent.lockedTo).toBe(bobKey)
    expect(await codeOf(mallory.receive(sent.token))).toBe('ecash.token_locked')
    const got = await bob.receive(sent.token)
    expect(got).toMatchObject({ status: 'claimed', amount: 16 })
    expect(bob.status().total).toBe(16)
  })

  it('restores a wallet from its recovery words on a fresh data dir with the same balance (NUT-09/13)', async () => {
    const { w: alice } = await openWallet('alice5')
    await fund(alice, 77)
    const t = await alice.send({ amount: 10 })
    const { w: bob } = await openWallet('bob5')
    await bob.receive(t.token)
    await alice.reconcile()
    const quote = await alice.createMeltQuote(foreignInvoice(20))
    await alice.melt(quote.quoteId)
    const expected = alice.status().total
    expect(expected).toBeGreaterThan(0)

    expect(await codeOf(alice.backupSeed() as never)).toBe('no error')
    const words = alice.backupSeed().words
    expect(words).toHaveLength(12)
    expect(alice.status().seedBackedUp).toBe(true)

    const { w: fresh } = await openWallet('alice5-restored')
    expect(fresh.status().total).toBe(0)
    const r = await fresh.restore(words.join(' '), [mint.url])
    expect(r.restored).toBe(expected)
    expect(fresh.status().total).toBe(expected)
    expect(fresh.status().receivePubkey).toBe(alice.status().receivePubkey)

    // The restored wallet continues after the used counters: it can spend and mint without clashes.
    const again = await fresh.send({ amount: 5 })
    expect((await bob.receive(again.token)).status).toBe('claimed')
    await fund(fresh, 3)
  })
})
