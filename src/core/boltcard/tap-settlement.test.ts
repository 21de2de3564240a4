// A tap whose payment went out while BTCPay would not take its payout as paid: the tap is paid for
// good (never paid again), it stays "BTCPay not yet told" with BTCPay's reason, and the box tells
// BTCPay again on every pass and after a restart until BTCPay takes it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { PaymentView } from '../../shared/api/lightning'
import { FlashError } from '../errors'
import { EventBus } from '../events'
import { silentLogger } from '../log'
import { createBoltcardModule } from './boltcard-module'
import type { CardFunds } from './card-funds'
import { CardStore } from './card-store'
import { TapSettlement, type TapLightning } from './tap-settlement'

const dirs: string[] = []
const stores: CardStore[] = []
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const CARD = 'c0ffee00c0ffee00'
const BTCPAY_DOWN = new FlashError(
  'merchant.btcpay_unreachable',
  'BTCPay did not answer.',
  'Wait until BTCPay is running.',
)

/** BTCPay's payouts as the tap sees them; mark-paid is refused while `down`. */
function fakeFunds() {
  const payouts = new Map<string, 'AwaitingPayment' | 'Completed' | 'Cancelled'>()
  const state = { down: true, markPaidCalls: 0 }
  const funds: CardFunds = {
    createPullPayment: async () => 'pp1',
    findPullPayment: async () => undefined,
    register: async () => {
      throw new Error('not used')
    },
    remainingSat: async () => 10_000,
    archive: async () => {},
    claim: async () => {
      const id = `po${payouts.size + 1}`
      payouts.set(id, 'AwaitingPayment')
      return id
    },
    markPaid: async (id) => {
      state.markPaidCalls++
      if (state.down) throw BTCPAY_DOWN
      payouts.set(id, 'Completed')
    },
    cancel: async (id) => {
      payouts.set(id, 'Cancelled')
    },
    findPayout: async () => undefined,
  }
  return { funds, payouts, state }
}

/** The Lightning node: every payment succeeds at once; counts what was sent. */
function fakeLightning() {
  const sent: string[] = []
  const view = (hash: string): PaymentView => ({
    id: hash,
    amountSat: 1000,
    feeLimitSat: 10,
    state: 'succeeded',
    destination: 'shop',
    description: '',
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  })
  const l: TapLightning = {
    preparePayment: async (request) => ({
      request,
      hash: `hash-${request}`,
      amountSat: 1000,
      amountless: false,
      feeLimitSat: 10,
      destination: 'shop',
      description: '',
    }),
    sendPayment: async (p) => {
      sent.push(p.hash)
      return view(p.hash)
    },
    paymentState: (hash) => (sent.includes(hash) ? view(hash) : undefined),
  }
  return { l, sent }
}

function cardStore(dir: string) {
  const s = new CardStore(join(dir, 'boltcard', 'cards.sqlite'))
  stores.push(s)
  return s
}

function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'flashbox-tap-told-'))
  dirs.push(d)
  return d
}

/** A card with one tap taken and reserved for 1000 sat (what lud03-withdraw.ts does first). */
function reservedTap(store: CardStore, k1 = 'k1-a', counter = 1) {
  if (!store.get(CARD))
    store.create({
      id: CARD,
      name: 'Alice',
      pull_payment_id: 'pp1',
      per_tap_sat: 5000,
      per_day_sat: 50_000,
    })
  store.offer({ k1, card_id: CARD, counter, max_sat: 5000, expires_at: Date.now() + 60_000 })
  store.take(k1)
  expect(store.reserve(k1, 1000, `lnbc-${k1}`, 0)).toBe(true)
  return store.get(CARD)!
}

describe('a paid tap BTCPay did not take as paid', () => {
  it('stays paid and untold with the reason, is told on a later pass and after a restart, and is never paid twice', async () => {
    const dir = tempDir()
    const { funds, payouts, state } = fakeFunds()
    const { l, sent } = fakeLightning()
    let store = cardStore(dir)
    const settlement = (s: CardStore) =>
      new TapSettlement({ store: () => s, funds, lightning: () => l, log: silentLogger })

    const card = reservedTap(store)
    const first = settlement(store)
    await first.claim(card, 'k1-a', 'lnbc-k1-a', 1000)
    await first.pay(card, 'k1-a', 'lnbc-k1-a', 1000)

    expect(sent).toEqual(['hash-lnbc-k1-a'])
    expect(store.tap('k1-a')).toMatchObject({
      state: 'paid',
      btcpay_untold: 1,
      btcpay_reason: 'BTCPay did not answer.',
    })
    expect(payouts.get('po1')).toBe('AwaitingPayment')
    expect(store.untold(CARD)).toHaveLength(1)

    // Still down: told again, still untold, nothing paid again.
    expect(await first.reconcile()).toBe(0)
    expect(state.markPaidCalls).toBe(2)
    expect(store.untold()).toHaveLength(1)

    // The box restarts while BTCPay is still down, then BTCPay comes back.
    store.close()
    stores.splice(stores.indexOf(store), 1)
    store = cardStore(dir)
    const second = settlement(store)
    expect(await second.reconcile()).toBe(0)
    state.down = false
    expect(await second.reconcile()).toBe(1)
    expect(payouts.get('po1')).toBe('Completed')
    expect(store.tap('k1-a')).toMatchObject({
      state: 'paid',
      btcpay_untold: 0,
      btcpay_reason: null,
    })
    expect(store.untold()).toEqual([])

    // Nothing more to tell, nothing paid again.
    const calls = state.markPaidCalls
    expect(await second.reconcile()).toBe(0)
    expect(state.markPaidCalls).toBe(calls)
    expect(sent).toEqual(['hash-lnbc-k1-a'])
  })

  it('a tap paid while the box was down is marked paid on reconcile, and untold when BTCPay refuses', async () => {
    const dir = tempDir()
    const { funds, state } = fakeFunds()
    const { l, sent } = fakeLightning()
    const store = cardStore(dir)
    const card = reservedTap(store, 'k1-b')
    const s = new TapSettlement({
      store: () => store,
      funds,
      lightning: () => l,
      log: silentLogger,
    })
    await s.claim(card, 'k1-b', 'lnbc-k1-b', 1000)
    // The payment went out, then the box died before its outcome was recorded.
    const prepared = await l.preparePayment('lnbc-k1-b')
    store.sending('k1-b', prepared.hash)
    await l.sendPayment(prepared)
    const restarted = new TapSettlement({
      store: () => store,
      funds,
      lightning: () => l,
      log: silentLogger,
    })
    expect(await restarted.reconcile()).toBe(1)
    expect(store.tap('k1-b')).toMatchObject({ state: 'paid', btcpay_untold: 1 })
    state.down = false
    expect(await restarted.reconcile()).toBe(1)
    expect(store.untold()).toEqual([])
    expect(sent).toHaveLength(1)
  })

  it('Merchant → Flash Cards shows "BTCPay not yet told" with the reason until BTCPay takes it', async () => {
    const dir = tempDir()
    const { funds, state } = fakeFunds()
    const { l } = fakeLightning()
    const store = cardStore(dir)
    const card = reservedTap(store, 'k1-c')
    const s = new TapSettlement({
      store: () => store,
      funds,
      lightning: () => l,
      log: silentLogger,
    })
    await s.claim(card, 'k1-c', 'lnbc-k1-c', 1000)
    await s.pay(card, 'k1-c', 'lnbc-k1-c', 1000)
    store.close()
    stores.splice(stores.indexOf(store), 1)

    const m = createBoltcardModule(
      { dataDir: dir, log: silentLogger, events: new EventBus(), modules: new Map() },
      { funds, baseUrl: () => undefined },
    )
    try {
      const down = await m.handlers.cards({}, { transport: 'internal' })
      expect(down.cards[0]!.btcpayUntold).toEqual({
        taps: 1,
        sat: 1000,
        reason: 'BTCPay did not answer.',
      })
      state.down = false
      const up = await m.handlers.cards({}, { transport: 'internal' })
      expect(up.cards[0]!.btcpayUntold).toBeUndefined()
    } finally {
      await m.stop?.()
    }
  })
})
