// The box's settlement hook (internal-settlement.ts + internal-settlement-hook.ts): signed calls
// only, one Greenfield mark per payment hash, a crash between the record and BTCPay's answer
// continued from BTCPay's record, NOT_INTERNAL for a hash the shop does not know, FAILED for a
// wrong amount. BTCPay and LND are an in-memory stand-in (OwnInvoices) that counts the marks.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { signSettlementRequest } from '../../../services/shared/internal-settlement-auth'
import { silentLogger } from '../log'
import {
  BtcpayRefusal,
  InternalSettlement,
  SettlementStore,
  type InvoiceState,
  type OwnInvoices,
} from './internal-settlement'
import { SETTLEMENT_HOOK_PATH, startSettlementHook } from './internal-settlement-hook'

const HASH = 'a'.repeat(64)
const OTHER = 'b'.repeat(64)
const PREIMAGE = 'c'.repeat(64)
const KEY = Buffer.alloc(32, 7)

/** BTCPay's record of one open sale (invoice inv1, 9,000 sat) and LND's preimage for it. */
function shop() {
  const state: InvoiceState & { status: string; additionalStatus: string } = {
    status: 'New',
    additionalStatus: 'None',
  }
  let marks = 0
  const closed = new Set<string>()
  let failNextMark: 'lost-answer' | 'before' | 'refused' | null = null
  const own: OwnInvoices = {
    find: async (h) => (h === HASH ? { invoiceId: 'inv1', amountMsat: 9_000_000 } : undefined),
    state: async () => ({ ...state }),
    markSettled: async () => {
      const f = failNextMark
      failNextMark = null
      if (f === 'before') throw new Error('connection reset')
      if (f === 'refused') throw new BtcpayRefusal('BTCPay refused: invoice-state-unchanged', 400)
      if (state.status !== 'New') throw new BtcpayRefusal('The invoice cannot be marked', 400)
      marks++
      state.status = 'Settled'
      state.additionalStatus = 'Marked'
      if (f === 'lost-answer') throw new Error('socket hang up')
    },
    preimage: async (h) => (h === HASH ? PREIMAGE : null),
    closeLightning: async (h) => {
      closed.add(h)
    },
  }
  return {
    own,
    state,
    marks: () => marks,
    closed,
    failNext: (f: typeof failNextMark) => {
      failNextMark = f
    },
  }
}

const pay = (amountMsat = 9_000_000, paymentHash = HASH) => ({
  paymentHash,
  bolt11: 'lnbcrt90u1stand-in',
  amountMsat,
  meltQuote: 'melt-1',
})

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-settlement-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const open = (s: ReturnType<typeof shop>) => {
  const store = new SettlementStore(join(dir, 'internal-settlement.db'))
  return { store, settlement: new InternalSettlement(store, () => s.own, silentLogger) }
}

/**
 * One payment in which BTCPay fails at the mark as `failure` says and answers no look after the
 * one before the record; then the box stops. BTCPay answers again afterwards.
 */
async function payThenStop(s: ReturnType<typeof shop>, failure: 'before' | 'lost-answer') {
  const first = open(s)
  s.failNext(failure)
  const state = s.own.state
  let looks = 0
  s.own.state = async (id) => {
    if (++looks > 1) throw new Error('unreachable')
    return state(id)
  }
  const answer = await first.settlement.pay(pay())
  const recorded = first.store.get(HASH)?.state
  first.store.close() // the box stops here
  s.own.state = state
  return { answer, recorded }
}

describe('internal settlement of the shop’s own invoices', () => {
  it('marks the sale settled once and answers PAID with LND’s preimage, again on a repeat', async () => {
    const s = shop()
    const { store, settlement } = open(s)
    const [a, b] = await Promise.all([settlement.pay(pay()), settlement.pay(pay())])
    expect(a).toEqual({ state: 'PAID', preimage: PREIMAGE })
    expect(b).toEqual(a)
    expect(await settlement.pay(pay())).toEqual(a)
    expect(await settlement.status(HASH)).toEqual(a)
    expect(s.marks()).toBe(1)
    expect(store.get(HASH)?.state).toBe('paid')
    // The sale's Lightning invoice is cancelled in LND: it cannot be paid a second time.
    expect([...s.closed]).toEqual([HASH])
    store.close()
  })

  it('answers NOT_INTERNAL for a hash the shop does not know, records nothing; /status UNKNOWN', async () => {
    const s = shop()
    const { store, settlement } = open(s)
    expect(await settlement.pay(pay(9_000_000, OTHER))).toEqual({ state: 'NOT_INTERNAL' })
    expect(await settlement.status(OTHER)).toEqual({ state: 'UNKNOWN' })
    expect(store.get(OTHER)).toBeUndefined()
    expect(s.marks()).toBe(0)
    store.close()
  })

  it('refuses a wrong amount (FAILED, recorded, nothing marked)', async () => {
    const s = shop()
    const { store, settlement } = open(s)
    const a = await settlement.pay(pay(8_999_000))
    expect(a.state).toBe('FAILED')
    expect((a as { reason: string }).reason).toMatch(/8999000 msat.*9000000 msat/)
    // The right amount afterwards does not undo the refusal: one hash, one recorded outcome.
    expect((await settlement.pay(pay())).state).toBe('FAILED')
    expect(await settlement.status(HASH)).toEqual(a)
    expect(s.marks()).toBe(0)
    store.close()
  })

  it('refuses a sale that is not open any more', async () => {
    const s = shop()
    s.state.status = 'Expired'
    const { store, settlement } = open(s)
    expect(await settlement.pay(pay())).toEqual({
      state: 'FAILED',
      reason: 'This sale’s invoice expired.',
    })
    expect(s.marks()).toBe(0)
    store.close()
  })

  it('a crash after the record, before BTCPay heard of it: the restart marks it once', async () => {
    const s = shop()
    // BTCPay unreachable at the mark and at the look-up afterwards: the answer is PENDING.
    expect(await payThenStop(s, 'before')).toEqual({
      answer: { state: 'PENDING' },
      recorded: 'marking',
    })
    const again = open(s)
    await again.settlement.recover()
    expect(again.store.get(HASH)?.state).toBe('paid')
    expect(await again.settlement.status(HASH)).toEqual({ state: 'PAID', preimage: PREIMAGE })
    expect(await again.settlement.pay(pay())).toEqual({ state: 'PAID', preimage: PREIMAGE })
    expect(s.marks()).toBe(1)
    again.store.close()
  })

  it('a crash after BTCPay marked it, before the box wrote that down: never marked twice', async () => {
    const s = shop()
    // BTCPay did it but the answer is lost, and the box stops before it looks.
    expect(await payThenStop(s, 'lost-answer')).toEqual({
      answer: { state: 'PENDING' },
      recorded: 'marking',
    })
    const again = open(s)
    expect(await again.settlement.status(HASH)).toEqual({ state: 'PAID', preimage: PREIMAGE })
    await again.settlement.recover()
    expect(s.marks()).toBe(1)
    again.store.close()
  })

  it('a sale BTCPay settled by a real payment while the box was down is FAILED, not paid twice', async () => {
    const s = shop()
    await payThenStop(s, 'before')
    s.state.status = 'Settled' // paid over Lightning by someone else, not marked
    const again = open(s)
    expect(await again.settlement.status(HASH)).toEqual({
      state: 'FAILED',
      reason: 'This sale was already paid.',
    })
    expect(s.marks()).toBe(0)
    again.store.close()
  })

  it('BTCPay refusing the mark is FAILED with its words', async () => {
    const s = shop()
    const { store, settlement } = open(s)
    s.failNext('refused')
    expect(await settlement.pay(pay())).toEqual({
      state: 'FAILED',
      reason: 'BTCPay refused: invoice-state-unchanged',
    })
    store.close()
  })
})

describe('the settlement hook over HTTP', () => {
  const body = (o: Record<string, unknown>) => JSON.stringify(o)
  const call = async (
    url: string,
    route: 'pay' | 'status',
    text: string,
    key: Uint8Array | null = KEY,
  ) => {
    const path = `${SETTLEMENT_HOOK_PATH}/${route}`
    const res = await fetch(`${url}/${route}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key ? signSettlementRequest(key, 'POST', path, text) : {}),
      },
      body: text,
    })
    return { status: res.status, json: (await res.json()) as Record<string, unknown> }
  }
  /** A hook on a fresh store for the shop `s`, closed after `fn`. */
  const withHook = async (
    s: ReturnType<typeof shop>,
    o: Partial<Parameters<typeof startSettlementHook>[0]>,
    fn: (url: string) => Promise<void>,
  ) => {
    const { store, settlement } = open(s)
    const hook = await startSettlementHook({
      host: '127.0.0.1',
      port: 0,
      key: () => KEY,
      settlement: () => settlement,
      log: silentLogger,
      ...o,
    })
    try {
      await fn(hook.url)
    } finally {
      await hook.close()
      store.close()
    }
  }

  it('refuses unsigned and wrongly signed calls, a bad body, and answers signed ones', async () => {
    const s = shop()
    let locked = false
    await withHook(s, { key: () => (locked ? undefined : KEY) }, async (url) => {
      const good = body({
        payment_hash: HASH,
        bolt11: 'lnbcrt90u1stand-in',
        amount_msat: 9_000_000,
        melt_quote: 'melt-1',
      })
      expect(await call(url, 'pay', good, null)).toEqual({
        status: 401,
        json: { error: 'unauthorized' },
      })
      expect((await call(url, 'pay', good, Buffer.alloc(32, 8))).status).toBe(401)
      // Signed for another body: refused too.
      const path = `${SETTLEMENT_HOOK_PATH}/pay`
      const res = await fetch(`${url}/pay`, {
        method: 'POST',
        headers: signSettlementRequest(KEY, 'POST', path, '{}'),
        body: good,
      })
      expect(res.status).toBe(401)
      expect(s.marks()).toBe(0)
      expect((await call(url, 'pay', body({ payment_hash: 'xyz' }))).status).toBe(400)
      expect((await call(url, 'pay', 'not json')).status).toBe(400)
      locked = true
      expect((await call(url, 'pay', good)).status).toBe(503)
      locked = false
      expect(await call(url, 'status', body({ payment_hash: HASH }))).toEqual({
        status: 200,
        json: { state: 'UNKNOWN' },
      })
      expect(await call(url, 'pay', good)).toEqual({
        status: 200,
        json: { state: 'PAID', preimage: PREIMAGE },
      })
      expect(await call(url, 'pay', good)).toEqual({
        status: 200,
        json: { state: 'PAID', preimage: PREIMAGE },
      })
      expect(await call(url, 'status', body({ payment_hash: HASH }))).toEqual({
        status: 200,
        json: { state: 'PAID', preimage: PREIMAGE },
      })
      expect(s.marks()).toBe(1)
      const other = body({
        payment_hash: OTHER,
        bolt11: 'lnbcrt1stand-in',
        amount_msat: 1000,
        melt_quote: 'melt-2',
      })
      expect((await call(url, 'pay', other)).json).toEqual({ state: 'NOT_INTERNAL' })
      const r = await fetch(`${url}/elsewhere`, { method: 'POST' })
      expect(r.status).toBe(404)
    })
  })

  it('refuses callers outside the allowed network before reading anything', async () => {
    await withHook(shop(), { allowFrom: () => false }, async (url) => {
      const text = body({ payment_hash: HASH })
      expect((await call(url, 'status', text)).status).toBe(403)
    })
  })
})
