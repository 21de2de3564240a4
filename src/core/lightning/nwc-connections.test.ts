// Budgets of NWC connections: calendar windows, reservations checked against the budget in one
// transaction, and reservations a crash left behind settled or released from the payment record.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../log'
import type { PaymentView } from '../../shared/api/lightning'
import { budgetWindowEnd, budgetWindowStart, NwcConnectionStore } from './nwc-connections'
import { NwcWallet } from './nwc-wallet'

let dir: string
let store: NwcConnectionStore
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nwc-store-'))
  store = new NwcConnectionStore(join(dir, 'nwc.db'))
})
afterEach(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

const make = (budgetSat: number | null, budgetPeriod: 'daily' | 'weekly' | 'monthly' | 'total') =>
  store.create({
    id: 'a'.repeat(16),
    name: 'app',
    servicePubkey: 'b'.repeat(64),
    clientPubkey: 'c'.repeat(64),
    methods: ['pay_invoice'],
    budgetSat,
    budgetPeriod,
    relays: ['ws://127.0.0.1:1'],
    boxRelay: 'ws://127.0.0.1:1',
    createdAt: Date.now(),
  })

describe('budget windows (UTC calendar)', () => {
  const wed = Date.UTC(2026, 11, 2, 15, 30) // Wednesday 2 Dec 2026
  it('day, ISO week from Monday, month, and never for total', () => {
    expect(new Date(budgetWindowStart('daily', wed)).toISOString()).toBe('2026-12-02T00:00:00.000Z')
    expect(new Date(budgetWindowStart('weekly', wed)).toISOString()).toBe(
      '2026-11-30T00:00:00.000Z',
    )
    expect(new Date(budgetWindowStart('monthly', wed)).toISOString()).toBe(
      '2026-12-01T00:00:00.000Z',
    )
    expect(budgetWindowStart('total', wed)).toBe(0)
    expect(new Date(budgetWindowEnd('monthly', wed)!).toISOString()).toBe(
      '2027-01-01T00:00:00.000Z',
    )
    expect(new Date(budgetWindowEnd('weekly', wed)!).toISOString()).toBe('2026-12-07T00:00:00.000Z')
    expect(budgetWindowEnd('total', wed)).toBeNull()
    const sunday = Date.UTC(2026, 11, 6, 23, 0)
    expect(new Date(budgetWindowStart('weekly', sunday)).toISOString()).toBe(
      '2026-11-30T00:00:00.000Z',
    )
  })
})

describe('reservations', () => {
  it('reserve counts against the budget until released; settle counts what was spent', () => {
    const c = make(1000, 'daily')
    expect(store.reserve(c, 'h1', 600)).toEqual({ ok: true })
    expect(store.reserve(c, 'h2', 600)).toEqual({ ok: false, reason: 'quota', remainingSat: 400 })
    expect(store.reserve(c, 'h1', 10)).toEqual({ ok: false, reason: 'duplicate' })
    store.settle(c.id, 'h1', 505)
    expect(store.usedSat(c)).toBe(505)
    expect(store.reserve(c, 'h2', 495)).toEqual({ ok: true })
    expect(store.usedSat(c)).toBe(1000)
    store.release(c.id, 'h2')
    expect(store.usedSat(c)).toBe(505)
    // A released hash may be tried again.
    expect(store.reserve(c, 'h2', 100)).toEqual({ ok: true })
  })

  it('the window renews: spending from yesterday does not count today', () => {
    const c = make(1000, 'daily')
    const yesterday = Date.now() - 86_400_000
    expect(store.reserve(c, 'old', 900, yesterday)).toEqual({ ok: true })
    store.settle(c.id, 'old', 900, yesterday)
    expect(store.usedSat(c)).toBe(0)
    expect(store.usedSat(c, yesterday)).toBe(900)
  })

  it('no budget: anything may be reserved (the per-payment limit is the Lightning module’s)', () => {
    const c = make(null, 'total')
    expect(store.reserve(c, 'h', 10_000_000)).toEqual({ ok: true })
  })

  it('after a crash, reconcile settles from the payment saga’s record, releases what was never sent, keeps what is in flight', () => {
    const c = make(10_000, 'monthly')
    for (const h of ['paid', 'failed', 'never', 'flight']) store.reserve(c, h, 1000)
    const states: Record<string, Partial<PaymentView>> = {
      paid: { state: 'succeeded', amountSat: 900, feeSat: 3 },
      failed: { state: 'failed', amountSat: 900 },
      flight: { state: 'pending', amountSat: 900 },
    }
    const wallet = new NwcWallet({
      store,
      log: silentLogger,
      onChange: () => {},
      lightning: () => ({
        appLnd: () => undefined,
        preparePayment: () => Promise.reject(new Error('unused')),
        sendPayment: () => Promise.reject(new Error('unused')),
        paymentState: (h: string) => states[h] as PaymentView | undefined,
        network: () => 'regtest',
      }),
    })
    wallet.reconcile()
    expect(store.unsettled().map((r) => r.hash)).toEqual(['flight'])
    expect(store.usedSat(c)).toBe(903 + 1000)
    expect(wallet.usage(c).remainingSat).toBe(10_000 - 1903)
  })
})

describe('which relay is the box’s own', () => {
  it('is kept with the connection; a store made before it was kept gains the column, its rows unknown until recognised', () => {
    expect(make(null, 'total').boxRelay).toBe('ws://127.0.0.1:1')
    store.close()
    // A store of the earlier schema: no box_relay column.
    const old = join(dir, 'old.db')
    const db = new DatabaseSync(old)
    db.exec(`CREATE TABLE connections (id TEXT PRIMARY KEY, name TEXT NOT NULL,
      service_pubkey TEXT NOT NULL UNIQUE, client_pubkey TEXT NOT NULL UNIQUE, methods TEXT NOT NULL,
      budget_sat INTEGER, budget_period TEXT NOT NULL, relays TEXT NOT NULL,
      created_at INTEGER NOT NULL, revoked_at INTEGER, last_used_at INTEGER)`)
    db.prepare(
      `INSERT INTO connections (id, name, service_pubkey, client_pubkey, methods, budget_sat,
         budget_period, relays, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      'd'.repeat(16),
      'old app',
      'e'.repeat(64),
      'f'.repeat(64),
      'get_balance',
      null,
      'total',
      '["wss://shop.example.com"]',
      1,
    )
    db.close()
    store = new NwcConnectionStore(old)
    const before = store.get('d'.repeat(16))!
    expect(before).toMatchObject({
      name: 'old app',
      relays: ['wss://shop.example.com'],
      boxRelay: null,
    })
    store.setBoxRelay(before.id, 'wss://shop.example.com')
    expect(store.get(before.id)!.boxRelay).toBe('wss://shop.example.com')
    // Recorded once: a later call does not move it.
    store.setBoxRelay(before.id, 'wss://other.example.com')
    expect(store.get(before.id)!.boxRelay).toBe('wss://shop.example.com')
  })
})
