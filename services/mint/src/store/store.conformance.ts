// The MintStore conformance suite (like CDK's crates/cdk-common/src/database/mint/test/):
// every store implementation runs these same tests. Call it from the implementation's test file.
import { describe, expect, it, beforeEach, afterEach } from 'vitest'
import type {
  MeltQuote,
  MeltSaga,
  MintQuote,
  MintStore,
  StoredProof,
  StoredSignature,
} from './store'

let seq = 0
const hex = (n: number, len = 64) => n.toString(16).padStart(len, '0')
const y = () => '02' + hex(++seq)
const proof = (keysetId = 'ks1', amount = 8): StoredProof => ({
  y: y(),
  keysetId,
  amount,
  secret: `secret-${seq}`,
  C: '02' + hex(seq + 1_000_000),
  witness: null,
})
const sig = (keysetId = 'ks1', amount = 8): StoredSignature => ({
  B_: '03' + hex(++seq),
  keysetId,
  amount,
  C_: '02' + hex(seq + 2_000_000),
  dleq: { e: hex(1), s: hex(2) },
})
const mintQuote = (over: Partial<MintQuote> = {}): MintQuote => ({
  id: `mq${++seq}`,
  method: 'bolt11',
  unit: 'sat',
  amount: 16,
  request: `lnbcrt${seq}`,
  paymentHash: hex(seq + 3_000_000),
  description: null,
  pubkey: null,
  state: 'UNPAID',
  expiry: 9_999_999_999,
  createdAt: 1,
  paidAt: null,
  issuedAt: null,
  ...over,
})
const meltQuote = (over: Partial<MeltQuote> = {}): MeltQuote => ({
  id: `lq${++seq}`,
  method: 'bolt11',
  unit: 'sat',
  request: `lnbcrt${seq}`,
  paymentHash: hex(seq + 4_000_000),
  amount: 10,
  feeReserve: 2,
  state: 'UNPAID',
  expiry: 9_999_999_999,
  createdAt: 1,
  paymentPreimage: null,
  feePaid: null,
  paidAt: null,
  ...over,
})
const saga = (
  quoteId: string,
  inputs: StoredProof[],
  outputs: StoredSignature[] = [],
): MeltSaga => ({
  quoteId,
  step: 'reserved',
  inputYs: inputs.map((p) => p.y),
  inputAmount: inputs.reduce((a, p) => a + p.amount, 0),
  inputFee: 0,
  outputs: outputs.map((o) => ({ amount: 1, id: o.keysetId, B_: o.B_ })),
  createdAt: 1,
  updatedAt: 1,
})

async function code(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p
    return 'ok'
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}

export function describeMintStoreConformance(name: string, open: () => Promise<MintStore>) {
  describe(`MintStore conformance: ${name}`, () => {
    let store: MintStore
    beforeEach(async () => {
      store = await open()
      await store.addKeyset({
        id: 'ks1',
        unit: 'sat',
        active: true,
        inputFeePpk: 0,
        finalExpiry: null,
        derivationIndex: 0,
        maxOrder: 8,
        createdAt: 1,
      })
    })
    afterEach(async () => store.close())

    it('keeps one active keyset per unit on rotation', async () => {
      await store.addKeyset({
        id: 'ks2',
        unit: 'sat',
        active: true,
        inputFeePpk: 100,
        finalExpiry: null,
        derivationIndex: 1,
        maxOrder: 8,
        createdAt: 2,
      })
      const ks = await store.listKeysets()
      expect(ks.map((k) => [k.id, k.active])).toEqual([
        ['ks1', false],
        ['ks2', true],
      ])
    })

    it('swaps atomically: inputs SPENT and outputs signed', async () => {
      const ins = [proof(), proof()]
      const outs = [sig(), sig()]
      await store.swap(ins, outs)
      const states = await store.proofStates(ins.map((p) => p.y))
      expect([...states.values()].map((s) => s.state)).toEqual(['SPENT', 'SPENT'])
      expect((await store.signaturesFor(outs.map((o) => o.B_))).size).toBe(2)
    })

    it('claims a Y once: the second spend fails with 11001 and changes nothing', async () => {
      const a = proof()
      await store.swap([a], [sig()])
      const fresh = proof()
      const outs = [sig()]
      expect(await code(store.swap([fresh, a], outs))).toBe(11001)
      expect((await store.proofStates([fresh.y])).get(fresh.y)!.state).toBe('UNSPENT')
      expect((await store.signaturesFor(outs.map((o) => o.B_))).size).toBe(0)
    })

    it('rejects a B_ signed before with 11003, atomically', async () => {
      const out = sig()
      await store.swap([proof()], [out])
      const p = proof()
      expect(await code(store.swap([p], [out]))).toBe(11003)
      expect((await store.proofStates([p.y])).get(p.y)!.state).toBe('UNSPENT')
    })

    it('issues a mint quote once, only when PAID', async () => {
      const q = mintQuote()
      await store.addMintQuote(q)
      expect(await code(store.issueMintQuote(q.id, [sig()], 5))).toBe(20001)
      expect(await store.markMintQuotePaid(q.id, 3)).toBe(true)
      expect(await store.markMintQuotePaid(q.id, 3)).toBe(false)
      expect(await code(store.issueMintQuote(q.id, [sig()], 5))).toBe('ok')
      expect(await code(store.issueMintQuote(q.id, [sig()], 5))).toBe(20002)
      const got = await store.mintQuote(q.id)
      expect(got?.state).toBe('ISSUED')
      expect((await store.mintQuoteByPaymentHash(q.paymentHash))?.id).toBe(q.id)
      expect((await store.unpaidMintQuotes(0)).some((u) => u.id === q.id)).toBe(false)
    })

    it('melt saga: begin reserves, settle spends and signs change', async () => {
      const q = meltQuote()
      await store.addMeltQuote(q)
      const ins = [proof(), proof()]
      const blanks = [sig(), sig()]
      await store.beginMelt(saga(q.id, ins, blanks), ins)
      expect((await store.meltQuote(q.id))?.state).toBe('PENDING')
      expect(
        [...(await store.proofStates(ins.map((p) => p.y))).values()].map((s) => s.state),
      ).toEqual(['PENDING', 'PENDING'])
      // A blank output is reserved: reusing it elsewhere is "pending" (11004).
      expect(await code(store.swap([proof()], [blanks[0]!]))).toBe(11004)
      // The same inputs cannot be used while pending (11002).
      expect(await code(store.swap([ins[0]!], [sig()]))).toBe(11002)
      expect((await store.meltSagas()).map((s) => s.quoteId)).toEqual([q.id])
      await store.markMeltPaying(q.id, 7)
      expect((await store.meltSagas())[0]?.step).toBe('paying')
      await store.settleMelt(
        q.id,
        { preimage: 'aa', feePaid: 1, change: [{ ...blanks[0]!, amount: 1 }] },
        9,
      )
      const paid = await store.meltQuote(q.id)
      expect(paid?.state).toBe('PAID')
      expect(paid?.paymentPreimage).toBe('aa')
      expect(
        [...(await store.proofStates(ins.map((p) => p.y))).values()].map((s) => s.state),
      ).toEqual(['SPENT', 'SPENT'])
      const change = await store.signaturesFor(blanks.map((b) => b.B_))
      expect([...change.keys()]).toEqual([blanks[0]!.B_])
      expect((await store.meltChange(q.id)).map((c) => [c.B_, c.amount])).toEqual([
        [blanks[0]!.B_, 1],
      ])
      expect(await store.meltSagas()).toEqual([])
      expect(await code(store.beginMelt(saga(q.id, [proof()]), [proof()]))).toBe(20006)
    })

    it('melt saga: release returns the inputs and frees the blanks', async () => {
      const q = meltQuote()
      await store.addMeltQuote(q)
      const ins = [proof()]
      const blanks = [sig()]
      await store.beginMelt(saga(q.id, ins, blanks), ins)
      await store.releaseMelt(q.id)
      expect((await store.meltQuote(q.id))?.state).toBe('UNPAID')
      expect((await store.proofStates([ins[0]!.y])).get(ins[0]!.y)!.state).toBe('UNSPENT')
      expect(await store.meltSagas()).toEqual([])
      expect(await code(store.swap(ins, blanks))).toBe('ok')
    })

    it('allows at most one PENDING or PAID melt per payment hash', async () => {
      const a = meltQuote()
      const b = meltQuote({ paymentHash: a.paymentHash })
      await store.addMeltQuote(a)
      await store.addMeltQuote(b)
      const ia = [proof()]
      const ib = [proof()]
      await store.beginMelt(saga(a.id, ia), ia)
      expect(await code(store.beginMelt(saga(b.id, ib), ib))).toBe(20005)
      expect((await store.proofStates([ib[0]!.y])).get(ib[0]!.y)!.state).toBe('UNSPENT')
      await store.settleMelt(a.id, { preimage: null, feePaid: 0, change: [] }, 1)
      expect(await code(store.beginMelt(saga(b.id, ib), ib))).toBe(20006)
      expect(await code(store.beginMelt(saga(a.id, ib), ib))).toBe(20006)
    })

    it('a melt whose inputs are already spent changes nothing', async () => {
      const spent = proof()
      await store.swap([spent], [sig()])
      const q = meltQuote()
      await store.addMeltQuote(q)
      const other = proof()
      expect(await code(store.beginMelt(saga(q.id, [other, spent]), [other, spent]))).toBe(11001)
      expect((await store.meltQuote(q.id))?.state).toBe('UNPAID')
      expect((await store.proofStates([other.y])).get(other.y)!.state).toBe('UNSPENT')
      expect(await store.meltSagas()).toEqual([])
    })

    it('internal melt against a mint quote: all in one transaction, or nothing', async () => {
      const mq = mintQuote()
      await store.addMintQuote(mq)
      const lq = meltQuote({ paymentHash: mq.paymentHash, feeReserve: 0, settlement: 'mint-quote' })
      await store.addMeltQuote(lq)
      const spent = proof()
      await store.swap([spent], [sig()])
      const fresh = proof()
      const args = {
        meltQuoteId: lq.id,
        mintQuoteId: mq.id,
        change: [sig('ks1', 4)],
        preimage: hex(7),
        at: 5,
        nowSec: 5,
      }
      // One input already spent: nothing changes, not even the mint quote.
      expect(await code(store.meltAgainstMintQuote({ ...args, inputs: [fresh, spent] }))).toBe(
        11001,
      )
      expect((await store.mintQuote(mq.id))?.state).toBe('UNPAID')
      expect((await store.meltQuote(lq.id))?.state).toBe('UNPAID')
      expect((await store.proofStates([fresh.y])).get(fresh.y)!.state).toBe('UNSPENT')
      // Expired mint quote: refused.
      expect(
        await code(store.meltAgainstMintQuote({ ...args, inputs: [fresh], nowSec: 1e11 })),
      ).toBe(20007)
      expect(await code(store.meltAgainstMintQuote({ ...args, inputs: [fresh] }))).toBe('ok')
      expect(await store.meltQuote(lq.id)).toMatchObject({
        state: 'PAID',
        feePaid: 0,
        paymentPreimage: hex(7),
        settlement: 'mint-quote',
      })
      expect(await store.mintQuote(mq.id)).toMatchObject({ state: 'PAID', settledBy: 'melt' })
      expect((await store.proofStates([fresh.y])).get(fresh.y)!.state).toBe('SPENT')
      expect((await store.meltChange(lq.id)).map((c) => c.amount)).toEqual([4])
      // A second melt quote for the same invoice cannot settle it again.
      const lq2 = meltQuote({ paymentHash: mq.paymentHash, settlement: 'mint-quote' })
      await store.addMeltQuote(lq2)
      expect(
        await code(store.meltAgainstMintQuote({ ...args, meltQuoteId: lq2.id, inputs: [proof()] })),
      ).toBe(20006)
    })

    it('marks a mint quote paid by the box with how it was settled', async () => {
      const mq = mintQuote()
      await store.addMintQuote(mq)
      expect(await store.markMintQuotePaid(mq.id, 3, 'box')).toBe(true)
      expect(await store.markMintQuotePaid(mq.id, 4)).toBe(false)
      expect(await store.mintQuote(mq.id)).toMatchObject({ state: 'PAID', settledBy: 'box' })
    })

    it('tracks liabilities per keyset: issued minus redeemed', async () => {
      const ins = [proof('ks1', 8), proof('ks1', 8)]
      await store.swap(ins, [sig('ks1', 16)])
      const l = (await store.liabilities()).find((x) => x.keysetId === 'ks1')!
      expect(l.issued).toBe(16)
      expect(l.redeemed).toBe(16)
      expect(l.outstanding).toBe(0)
    })

    it('caches responses until they expire', async () => {
      await store.cacheResponse('k', '{"a":1}', 1000)
      expect(await store.cachedResponse('k', 999)).toBe('{"a":1}')
      expect(await store.cachedResponse('k', 1000)).toBeUndefined()
      await store.cacheResponse('n', 'x', null)
      expect(await store.cachedResponse('n', Number.MAX_SAFE_INTEGER)).toBe('x')
    })

    it('lists quotes newest first', async () => {
      await store.addMintQuote(mintQuote({ createdAt: 10 }))
      await store.addMintQuote(mintQuote({ createdAt: 20 }))
      const l = await store.listMintQuotes(10)
      expect(l[0]!.createdAt).toBeGreaterThanOrEqual(l[1]!.createdAt)
      await store.addMeltQuote(meltQuote())
      expect((await store.listMeltQuotes(10)).length).toBe(1)
    })
  })
}
