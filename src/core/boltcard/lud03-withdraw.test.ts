// A Flash Card's taps as LNURL-withdraw (lud03-withdraw.ts) over the real card store: counters
// that go backwards, taps over the card's limits, and many callbacks of one card at once — which
// must never pay past the per-tap limit, the day limit or the balance.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { aesCbcEncrypt, concat, fromHex, hex } from './aes-cmac'
import { CardStore } from './card-store'
import { deriveKeys } from './deterministic-keys'
import { withdrawCallback, withdrawRequest, type WithdrawDeps } from './lud03-withdraw'
import { sdmMac } from './sun-message'

const issuer = fromHex('00112233445566778899aabbccddeeff')
const uid = fromHex('04a1b2c3d4e5f6')
const keys = deriveKeys(issuer, uid, 1)
const CARD = 'card1'

/** What the card puts in its URL at read counter `counter` (NT4H2421Gx §9.3). */
function tapQuery(counter: number): URLSearchParams {
  const ctr = Uint8Array.of(counter & 0xff, (counter >>> 8) & 0xff, (counter >>> 16) & 0xff)
  const p = aesCbcEncrypt(keys.k1, concat(Uint8Array.of(0xc7), uid, ctr, new Uint8Array(5)))
  const c = sdmMac(keys.k2, { uid, counterBytes: ctr, counter })
  return new URLSearchParams({ p: hex(p).toUpperCase(), c: hex(c).toUpperCase() })
}

/** A pause of 0–4 ms, so concurrent callbacks interleave at every await. */
const jitter = () => new Promise((r) => setTimeout(r, Math.floor(Math.random() * 5)))

const dirs: string[] = []
const stores: CardStore[] = []
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/**
 * One programmed card over the real card store. Its money is kept as BTCPay keeps a pull
 * payment: a claim over what is left is refused.
 */
function shop(card: { balanceSat: number; perTapSat: number; perDaySat: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'flashbox-lud03-'))
  dirs.push(dir)
  const store = new CardStore(join(dir, 'cards.sqlite'))
  stores.push(store)
  store.create({
    id: CARD,
    name: 'Alice',
    pull_payment_id: 'pp1',
    per_tap_sat: card.perTapSat,
    per_day_sat: card.perDaySat,
  })
  store.programmed(CARD, 'uid-hash', 1)
  let claimed = 0
  const paid: number[] = []
  const deps: WithdrawDeps = {
    store,
    encryptionKey: () => keys.k1,
    uidHash: (u) => (hex(u) === hex(uid) ? 'uid-hash' : 'other'),
    keysOf: (id) => (id === CARD ? keys : undefined),
    baseUrl: () => 'https://shop.example',
    remainingSat: async () => {
      await jitter()
      return card.balanceSat - claimed
    },
    invoiceAmount: async (pr) => {
      await jitter()
      return Number(pr.split(':')[1])
    },
    claim: async (_card, _k1, _pr, amountSat) => {
      await jitter()
      if (amountSat > card.balanceSat - claimed) throw new Error('over the pull payment')
      claimed += amountSat
    },
    pay: async (_card, k1, _pr, amountSat) => {
      await jitter()
      paid.push(amountSat)
      store.finish(k1, 'paid')
    },
    onChange: () => {},
  }
  const body = (r: { body: string }) => JSON.parse(r.body) as Record<string, unknown>
  let counter = 0
  return {
    deps,
    store,
    paid,
    body,
    /** A fresh tap of the card: its offer's k1. */
    async offer(): Promise<string> {
      const r = body(await withdrawRequest(deps, tapQuery(++counter)))
      expect(r.tag).toBe('withdrawRequest')
      return String(r.k1)
    },
    async callback(k1: string, sat: number) {
      return body(await withdrawCallback(deps, new URLSearchParams({ k1, pr: `lntest:${sat}` })))
    },
  }
}

describe('Flash Card taps (LNURL-withdraw)', () => {
  it('a card whose counter goes backwards (a clone, or a replay) is refused', async () => {
    const s = shop({ balanceSat: 50_000, perTapSat: 20_000, perDaySat: 30_000 })
    expect(s.body(await withdrawRequest(s.deps, tapQuery(10))).tag).toBe('withdrawRequest')
    for (const counter of [9, 3, 10]) {
      expect(s.body(await withdrawRequest(s.deps, tapQuery(counter)))).toEqual({
        status: 'ERROR',
        reason: 'Declined: this tap was already used (copied or replayed card).',
      })
    }
    expect(s.store.get(CARD)!.last_declined).toMatch(/copied or replayed/)
    // The real card, tapped again, counts on from where it was.
    expect(s.body(await withdrawRequest(s.deps, tapQuery(11))).tag).toBe('withdrawRequest')
  })

  it('a fresh tap while a reset through the Boltcard app waits shows the reset did not happen', async () => {
    const s = shop({ balanceSat: 50_000, perTapSat: 20_000, perDaySat: 30_000 })
    expect(s.body(await withdrawRequest(s.deps, tapQuery(5))).tag).toBe('withdrawRequest')
    s.store.resetPending(CARD, Date.now())
    // A replay of an old tap proves nothing: refused as a replay, the reset still waits.
    expect(s.body(await withdrawRequest(s.deps, tapQuery(5))).reason).toMatch(/replayed/)
    expect(s.store.get(CARD)!.reset_pending_at).not.toBeNull()
    // The card itself, with a new counter: it still has its keys.
    expect(s.body(await withdrawRequest(s.deps, tapQuery(6)))).toEqual({
      status: 'ERROR',
      reason:
        'Declined: this card was being reset, but it still has its keys, so the reset did not finish. Reset it again, or use it as before.',
    })
    expect(s.store.get(CARD)).toMatchObject({ state: 'programmed', reset_pending_at: null })
    // No reset waits any more: the card pays as before.
    expect(s.body(await withdrawRequest(s.deps, tapQuery(7))).tag).toBe('withdrawRequest')
  })

  it('a tap over the per-tap limit gets a clear decline for the terminal, and pays nothing', async () => {
    const s = shop({ balanceSat: 50_000, perTapSat: 20_000, perDaySat: 30_000 })
    const k1 = await s.offer()
    expect(await s.callback(k1, 25_000)).toEqual({
      status: 'ERROR',
      reason: 'Declined: 25000 sat is over the limit: the card pays at most 20000 sat per tap.',
    })
    expect(s.paid).toEqual([])
    expect(s.store.spentSince(CARD, 0)).toBe(0)
  })

  it('many callbacks at once never pay past the day limit', async () => {
    const s = shop({ balanceSat: 100_000, perTapSat: 20_000, perDaySat: 30_000 })
    const offers = []
    for (let i = 0; i < 8; i++) offers.push(await s.offer())
    const answers = await Promise.all(offers.map((k1) => s.callback(k1, 10_000)))
    expect(answers.filter((a) => a.status === 'OK')).toHaveLength(3)
    for (const a of answers.filter((x) => x.status !== 'OK'))
      expect(String(a.reason)).toMatch(
        /^Declined: 10000 sat is over the limit: the card's day limit/,
      )
    expect(s.paid.reduce((n, x) => n + x, 0)).toBe(30_000)
    expect(s.store.spentSince(CARD, 0)).toBe(30_000)
  })

  it('many callbacks at once never pay past the balance', async () => {
    const s = shop({ balanceSat: 25_000, perTapSat: 20_000, perDaySat: 100_000 })
    const offers = []
    for (let i = 0; i < 8; i++) offers.push(await s.offer())
    const answers = await Promise.all(offers.map((k1) => s.callback(k1, 10_000)))
    expect(answers.filter((a) => a.status === 'OK')).toHaveLength(2)
    for (const a of answers.filter((x) => x.status !== 'OK'))
      expect(a.reason).toBe('Declined: 10000 sat is over the limit: the card has 5000 sat left.')
    expect(s.paid).toEqual([10_000, 10_000])
  })

  it('one offer called back many times at once pays once', async () => {
    const s = shop({ balanceSat: 100_000, perTapSat: 20_000, perDaySat: 100_000 })
    const k1 = await s.offer()
    const answers = await Promise.all(Array.from({ length: 6 }, () => s.callback(k1, 5_000)))
    expect(answers.filter((a) => a.status === 'OK')).toHaveLength(1)
    expect(s.paid).toEqual([5_000])
  })

  it('the store books an amount only within the per-tap and day limits, in one statement', () => {
    const s = shop({ balanceSat: 100_000, perTapSat: 20_000, perDaySat: 30_000 })
    const taken = [1, 2, 3].map((counter) => {
      const k1 = `${counter}`.padStart(64, '0')
      s.store.offer({
        k1,
        card_id: CARD,
        counter,
        max_sat: 20_000,
        expires_at: Date.now() + 60_000,
      })
      expect(s.store.take(k1)).toBeDefined()
      return k1
    })
    expect(s.store.reserve(taken[0]!, 25_000, 'lntest:25000', 0)).toBe(false)
    expect(s.store.reserve(taken[0]!, 20_000, 'lntest:20000', 0)).toBe(true)
    // Booked once only.
    expect(s.store.reserve(taken[0]!, 1, 'lntest:1', 0)).toBe(false)
    expect(s.store.reserve(taken[1]!, 15_000, 'lntest:15000', 0)).toBe(false)
    expect(s.store.reserve(taken[1]!, 10_000, 'lntest:10000', 0)).toBe(true)
    expect(s.store.reserve(taken[2]!, 1, 'lntest:1', 0)).toBe(false)
    expect(s.store.tap(taken[1]!)).toMatchObject({ amount_sat: 10_000, pull_payment_id: 'pp1' })
  })
})
