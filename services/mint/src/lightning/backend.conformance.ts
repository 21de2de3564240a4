// The LightningBackend conformance suite (one set of tests for every backend, as CDK does for
// its payment backends). A harness supplies the backend plus the "other side" of the network:
// someone who pays our invoices, and invoices for us to pay.
import { describe, expect, it, beforeAll, afterAll } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { decodeBolt11 } from '../nut23-bolt11'
import type { LightningBackend } from './backend'

export interface BackendHarness {
  backend: LightningBackend
  /** Pay an invoice our backend issued (as a remote payer would). */
  payIncoming(request: string, paymentHash: string): Promise<void>
  /** An invoice somebody else issued, for our backend to pay. */
  createPayable(amountMsat: number): Promise<{ request: string; paymentHash: string }>
  /** Make the next outgoing payment fail, or stay in flight until `settle` is called. */
  failNext(): Promise<void>
  holdNext?(): Promise<{ settle: (paymentHash: string) => Promise<void> }>
  close(): Promise<void>
}

const waitFor = async (check: () => Promise<boolean>, ms = 15_000) => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('condition not reached in time')
}

export function describeLightningBackendConformance(
  name: string,
  setup: () => Promise<BackendHarness>,
) {
  describe(`LightningBackend conformance: ${name}`, () => {
    let h: BackendHarness
    beforeAll(async () => {
      h = await setup()
    })
    afterAll(async () => h?.close())

    it('issues a real bolt11 invoice and reports it UNPAID, then PAID once paid', async () => {
      const inc = await h.backend.createIncomingRequest({
        amountMsat: 21_000,
        description: 'conformance',
        expirySeconds: 600,
      })
      const inv = decodeBolt11(inc.request)
      expect(inv.amountMsat).toBe(21_000)
      expect(inv.paymentHash).toBe(inc.paymentHash)
      expect(inc.expiry).toBeGreaterThan(Date.now() / 1000)
      expect((await h.backend.checkIncoming(inc.paymentHash)).state).toBe('UNPAID')
      const seen: string[] = []
      const off = h.backend.onIncomingPaid((hash) => seen.push(hash))
      await h.payIncoming(inc.request, inc.paymentHash)
      await waitFor(async () => seen.includes(inc.paymentHash))
      off()
      expect(await h.backend.checkIncoming(inc.paymentHash)).toEqual({
        state: 'PAID',
        amountMsat: 21_000,
      })
    })

    it('knows its node key (the payee of its invoices) and the preimages of its invoices', async () => {
      const inc = await h.backend.createIncomingRequest({
        amountMsat: 7_000,
        description: 'own',
        expirySeconds: 600,
      })
      expect(decodeBolt11(inc.request).payeePubkey).toBe(await h.backend.nodePubkey())
      const preimage = await h.backend.incomingPreimage(inc.paymentHash)
      expect(createHash('sha256').update(Buffer.from(preimage!, 'hex')).digest('hex')).toBe(
        inc.paymentHash,
      )
      expect(await h.backend.incomingPreimage(randomBytes(32).toString('hex'))).toBeNull()
      // Someone else's invoice has another payee.
      const p = await h.createPayable(1_000)
      expect(decodeBolt11(p.request).payeePubkey).not.toBe(await h.backend.nodePubkey())
    })

    it('quotes an outgoing invoice: hash, amount and a fee reserve', async () => {
      const p = await h.createPayable(50_000)
      const q = await h.backend.quoteOutgoing(p.request)
      expect(q.paymentHash).toBe(p.paymentHash)
      expect(q.amountMsat).toBe(50_000)
      expect(q.feeReserveMsat).toBeGreaterThanOrEqual(0)
      expect(q.expiry).toBeGreaterThan(Date.now() / 1000)
    })

    it('pays within the fee limit and reports PAID by hash; paying again does not pay twice', async () => {
      const p = await h.createPayable(30_000)
      const q = await h.backend.quoteOutgoing(p.request)
      const r = await h.backend.makePayment({
        request: p.request,
        paymentHash: p.paymentHash,
        maxFeeMsat: q.feeReserveMsat,
      })
      expect(r.state).toBe('PAID')
      if (r.state === 'PAID') expect(r.feePaidMsat).toBeLessThanOrEqual(q.feeReserveMsat)
      const c = await h.backend.checkOutgoing(p.paymentHash)
      expect(c.state).toBe('PAID')
      const again = await h.backend.makePayment({
        request: p.request,
        paymentHash: p.paymentHash,
        maxFeeMsat: q.feeReserveMsat,
      })
      expect(again.state === 'PAID' || again.state === 'FAILED').toBe(true)
      expect((await h.backend.checkOutgoing(p.paymentHash)).state).toBe('PAID')
    })

    it('says UNKNOWN for a payment it never saw', async () => {
      expect((await h.backend.checkOutgoing(randomBytes(32).toString('hex'))).state).toBe('UNKNOWN')
    })

    it('reports a failed payment as FAILED, also when asked later by hash', async () => {
      const p = await h.createPayable(10_000)
      await h.failNext()
      const r = await h.backend.makePayment({
        request: p.request,
        paymentHash: p.paymentHash,
        maxFeeMsat: 5_000,
      })
      expect(r.state).toBe('FAILED')
      const later = await h.backend.checkOutgoing(p.paymentHash)
      expect(['FAILED', 'UNKNOWN']).toContain(later.state)
    })

    it('reports a payment in flight as PENDING until it settles', async () => {
      if (!h.holdNext) return
      const p = await h.createPayable(12_000)
      const hold = await h.holdNext()
      const r = await h.backend.makePayment({
        request: p.request,
        paymentHash: p.paymentHash,
        maxFeeMsat: 5_000,
      })
      expect(r.state).toBe('PENDING')
      expect((await h.backend.checkOutgoing(p.paymentHash)).state).toBe('PENDING')
      await hold.settle(p.paymentHash)
      await waitFor(async () => (await h.backend.checkOutgoing(p.paymentHash)).state === 'PAID')
    })

    it('reports its status', async () => {
      const s = await h.backend.status()
      expect(s.ok).toBe(true)
      expect(s.name).toBe(h.backend.name)
    })
  })
}
