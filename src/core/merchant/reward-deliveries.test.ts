// The reward delivery sagas (claim, card top-up, eCash over NIP-17) with a crash between every
// step: the "crash" stops the process at the moment the store is about to record a step's result
// (nothing after it is written), the store is opened again from its file, and the reward is
// applied again as the restarted box (or BTCPay's redelivered webhook) would.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FlashError } from '../errors'
import { silentLogger } from '../log'
import type { GreenfieldClient } from './greenfield-client'
import { MerchantStore, type InvoiceRow, type RewardProgress } from './merchant-store'
import {
  applyReward,
  retryReward,
  rewardMemo,
  type CardRewards,
  type EcashRewards,
  type NostrRewards,
  type RewardContext,
} from './reward-deliveries'
import { ledgerCsv, rewardMethodFor } from './rewards'

const NPUB = 'npub1sg6plzptd64u62a878hep2kev88swjh3tw00gjsfl8f237lmu63q0uf63m'
const CARD = '0123456789abcdef'

class Crash extends Error {}

/** A store that "dies" when a matching step is about to be written: nothing more is recorded. */
class CrashingStore extends MerchantStore {
  crashOn: ((p: RewardProgress) => boolean) | undefined
  dead = false
  override rewardProgress(id: string, p: RewardProgress): void {
    if (this.dead || this.crashOn?.(p)) {
      this.dead = true
      throw new Crash('power cut')
    }
    super.rewardProgress(id, p)
  }
}

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function dbPath() {
  const d = mkdtempSync(join(tmpdir(), 'flashbox-reward-sagas-'))
  dirs.push(d)
  return join(d, 'm.db')
}

const sale = (over: Partial<InvoiceRow> = {}): InvoiceRow => ({
  id: 'inv1',
  status: 'Settled',
  additional_status: 'None',
  amount: '9',
  currency: 'EUR',
  created_at: Date.now(),
  settled_at: Date.now(),
  order_id: null,
  description: null,
  checkout_link: 'http://x/i/inv1',
  reward_to: null,
  ...over,
})

/** BTCPay as far as rewards ask it: pull payments, and what the customer paid (0.0002 BTC). */
function fakeBtcpay() {
  const pps: { id: string; name: string; viewLink: string }[] = []
  const client = {
    call: async (method: string, path: string, body: { name: string } | undefined) => {
      if (path.endsWith('/payment-methods')) return [{ totalPaid: '0.00020000' }]
      if (method === 'GET') return pps
      const pp = { id: `pp${pps.length + 1}`, name: body!.name, viewLink: `http://x/pp` }
      pps.push(pp)
      return pp
    },
  } as unknown as GreenfieldClient
  return { client, pps }
}

/** A card whose top-up is made once per reference (as the Flash Cards module does). */
function fakeCard() {
  const balance = new Map<string, number>([[CARD, 1000]])
  const byReference = new Map<string, string>()
  let calls = 0
  const card: CardRewards = {
    async rewardTopUp(id, sat, ref) {
      calls++
      if (!balance.has(id)) throw new FlashError('boltcard.unknown_card', 'No such card.', 'x')
      const done = byReference.get(ref)
      if (done) return done
      balance.set(id, balance.get(id)! + sat)
      byReference.set(ref, `card-pp-${byReference.size + 1}`)
      return byReference.get(ref)!
    },
  }
  return { card, balance, calls: () => calls }
}

/** The eCash wallet, its mint and the box's Lightning node: a quote is minted once it is paid. */
function fakeEcash() {
  const quotes = new Map<string, { invoice: string; state: string; amount: number }>()
  const paid = new Map<string, number>() // invoice → times Lightning actually paid it
  const sends: { id: string; memo: string; amount: number; token: string }[] = []
  let balance = 0
  const ecash: EcashRewards = {
    async mintQuote(amount) {
      const id = `q${quotes.size + 1}`
      quotes.set(id, { invoice: `lnbcrt-${id}`, state: 'unpaid', amount })
      return { quoteId: id }
    },
    async checkMintQuote(id) {
      const q = quotes.get(id)!
      if (q.state === 'paid') {
        q.state = 'issued'
        balance += q.amount
      }
      return { state: q.state, invoice: q.invoice }
    },
    async payInvoice(invoice) {
      // LND pays a payment hash once; paying it again is refused without moving money.
      if (paid.has(invoice)) return 'lightning'
      paid.set(invoice, 1)
      for (const q of quotes.values()) if (q.invoice === invoice) q.state = 'paid'
      return 'lightning'
    },
    async send(amount, memo) {
      if (balance < amount) throw new FlashError('ecash.insufficient', 'Not enough eCash.', 'x')
      balance -= amount
      const s = { id: `op${sends.length + 1}`, memo, amount, token: `cashuBtoken${sends.length}` }
      sends.push(s)
      return { operationId: s.id }
    },
    sentWithMemo: (memo) => sends.find((s) => s.memo === memo)?.id,
    token: (id) => sends.find((s) => s.id === id)?.token,
  }
  return { ecash, quotes, paid, sends, balance: () => balance }
}

function fakeNostr() {
  const messages: { to: string; text: string }[] = []
  let refuse: string | undefined
  const nostr: NostrRewards = {
    async sendPrivate(to, text) {
      if (refuse) throw new FlashError('nostr.locked', refuse, 'Unlock it on the Messages page.')
      messages.push({ to, text })
      return `msg${messages.length}`
    },
  }
  return { nostr, messages, refuse: (why: string | undefined) => (refuse = why) }
}

function world(delivery: 'auto' | 'claim' | 'card' | 'nostr' = 'auto') {
  const path = dbPath()
  const btcpay = fakeBtcpay()
  const card = fakeCard()
  const ecash = fakeEcash()
  const nostr = fakeNostr()
  let store = new CrashingStore(path)
  const ctx = (): RewardContext => ({
    store,
    client: btcpay.client,
    storeId: 'st',
    log: silentLogger,
    card: card.card,
    ecash: ecash.ecash,
    nostr: nostr.nostr,
    shopName: 'Corner Café',
    mintWaitMs: 50,
  })
  const apply = (invoice: InvoiceRow) =>
    applyReward({ ...ctx(), rule: { enabled: true, percent: 5, delivery }, invoice })
  /** The box starts again: the store is opened from its file, with no crash armed. */
  const restart = () => {
    store.close()
    store = new CrashingStore(path)
  }
  return {
    btcpay,
    card,
    ecash,
    nostr,
    apply,
    restart,
    ctx,
    store: () => store,
  }
}

describe('who gets a reward, and how', () => {
  it('follows the rule and the customer the sale names', () => {
    expect(rewardMethodFor('auto', { card: CARD })).toEqual({ method: 'card', target: CARD })
    expect(rewardMethodFor('auto', { npub: NPUB })).toEqual({ method: 'nostr', target: NPUB })
    expect(rewardMethodFor('auto', undefined)).toEqual({ method: 'claim', target: null })
    expect(rewardMethodFor('claim', { card: CARD })).toEqual({ method: 'claim', target: null })
    expect(rewardMethodFor('card', undefined)).toEqual({ method: 'card', target: null })
    expect(rewardMethodFor('nostr', { card: CARD })).toEqual({ method: 'nostr', target: null })
  })
})

describe('reward onto the customer’s Flash Card', () => {
  it('tops the card up once with the share of what was paid in bitcoin', async () => {
    const w = world()
    const entry = await w.apply(sale({ reward_to: `card:${CARD}` }))
    // 5% of 0.0002 BTC = 1000 sat.
    expect(entry).toMatchObject({
      method: 'card',
      state: 'issued',
      rewardSat: 1000,
      to: CARD,
      reference: 'card-pp-1',
    })
    expect(w.card.balance.get(CARD)).toBe(2000)
    expect(await w.apply(sale({ reward_to: `card:${CARD}` }))).toBeNull()
    expect(w.card.calls()).toBe(1)
    expect(ledgerCsv(w.store().rewards())).toContain(
      'inv1,9,EUR,5,0.45,1000,card,0123456789abcdef,issued,card-pp-1,',
    )
  })

  it('a crash after the top-up and before its record: the restart finds it, the card is paid once', async () => {
    const w = world()
    w.store().crashOn = (p) => p.state === 'issued'
    await expect(w.apply(sale({ reward_to: `card:${CARD}` }))).rejects.toBeInstanceOf(Crash)
    w.restart()
    expect(w.store().reward('inv1')).toMatchObject({ state: 'pending', step: 'topping-up' })
    const entry = await w.apply(sale({ reward_to: `card:${CARD}` }))
    expect(entry).toMatchObject({ state: 'issued', reference: 'card-pp-1' })
    expect(w.card.balance.get(CARD)).toBe(2000)
  })

  it('a sale that names no card fails in plain words; the owner picks the card and retries', async () => {
    const w = world('card')
    const failed = await w.apply(sale())
    expect(failed).toMatchObject({ state: 'failed', method: 'card' })
    expect(failed!.reason).toMatch(/names no Flash Card.*press Retry/)
    const done = await retryReward(w.ctx(), 'inv1', { card: CARD })
    expect(done).toMatchObject({ state: 'issued', to: CARD })
    expect(w.card.balance.get(CARD)).toBe(2000)
    await expect(retryReward(w.ctx(), 'inv1')).rejects.toMatchObject({
      code: 'merchant.reward_delivered',
    })
  })
})

describe('reward as eCash in a NIP-17 message', () => {
  const nostrSale = () => sale({ reward_to: NPUB })

  it('mints, sends one token and messages it to the npub', async () => {
    const w = world()
    const entry = await w.apply(nostrSale())
    expect(entry).toMatchObject({
      method: 'nostr',
      state: 'issued',
      rewardSat: 1000,
      to: NPUB,
      reference: 'msg1',
    })
    expect(w.ecash.sends).toHaveLength(1)
    expect(w.ecash.sends[0]).toMatchObject({ amount: 1000, memo: rewardMemo('inv1') })
    expect(w.nostr.messages).toHaveLength(1)
    expect(w.nostr.messages[0]!.to).toBe(NPUB)
    expect(w.nostr.messages[0]!.text).toContain(w.ecash.sends[0]!.token)
    expect(w.nostr.messages[0]!.text).toContain('Corner Café')
    // The token itself is never in the merchant's own record.
    expect(JSON.stringify(w.store().reward('inv1'))).not.toContain('cashuB')
  })

  // Each crash point: the record that would have followed the step is never written.
  const crashPoints: [string, (p: RewardProgress) => boolean][] = [
    ['after asking the mint for a quote', (p) => p.step === 'minting'],
    ['after paying the mint and minting', (p) => p.step === 'sending'],
    ['after making the token', (p) => p.step === 'messaging'],
    ['after sending the message', (p) => p.state === 'issued'],
  ]
  it.each(crashPoints)('a crash %s: the restart pays once and sends one token', async (_, at) => {
    const w = world()
    w.store().crashOn = at
    await expect(w.apply(nostrSale())).rejects.toBeInstanceOf(Crash)
    w.restart()
    expect(w.store().reward('inv1')!.state).toBe('pending')
    const entry = await w.apply(nostrSale())
    expect(entry).toMatchObject({ state: 'issued', method: 'nostr' })
    // Lightning paid one quote once; the wallet made one token; every message carries that token.
    expect([...w.ecash.paid.values()]).toEqual([1])
    expect(w.ecash.sends).toHaveLength(1)
    expect(w.nostr.messages.length).toBeGreaterThanOrEqual(1)
    for (const m of w.nostr.messages) expect(m.text).toContain(w.ecash.sends[0]!.token)
    // What the crash left behind is at most an unpaid quote; the wallet keeps no extra eCash.
    expect(w.ecash.balance()).toBe(0)
    // BTCPay delivering the webhook again changes nothing.
    expect(await w.apply(nostrSale())).toBeNull()
    expect(w.ecash.sends).toHaveLength(1)
  })

  it('a message that cannot be sent is shown failed with its reason and retried by the owner', async () => {
    const w = world()
    w.nostr.refuse('The box’s Nostr key is locked.')
    const failed = await w.apply(nostrSale())
    expect(failed).toMatchObject({ state: 'failed', step: 'messaging' })
    expect(failed!.reason).toBe('The box’s Nostr key is locked. Unlock it on the Messages page.')
    // Started: it cannot be sent somewhere else any more.
    await expect(retryReward(w.ctx(), 'inv1', { card: CARD })).rejects.toMatchObject({
      code: 'merchant.reward_on_its_way',
    })
    w.nostr.refuse(undefined)
    const done = await retryReward(w.ctx(), 'inv1')
    expect(done).toMatchObject({ state: 'issued', reference: 'msg1' })
    expect(w.ecash.sends).toHaveLength(1)
    expect([...w.ecash.paid.values()]).toEqual([1])
  })

  it('with nothing paid in bitcoin the sat amount is refused plainly and a claim QR can be chosen', async () => {
    const w = world()
    ;(w.btcpay.client as unknown as { call: unknown }).call = async (
      method: string,
      path: string,
      body: { name: string } | undefined,
    ) => {
      if (path.endsWith('/payment-methods')) return [{ totalPaid: '0' }]
      if (method === 'GET') return []
      return { id: 'ppX', name: body!.name, viewLink: 'http://x/ppX' }
    }
    const failed = await w.apply(nostrSale())
    expect(failed).toMatchObject({ state: 'failed' })
    expect(failed!.reason).toMatch(/no bitcoin paid/)
    const done = await retryReward(w.ctx(), 'inv1', { claim: true })
    expect(done).toMatchObject({ state: 'issued', method: 'claim', pullPaymentId: 'ppX' })
    expect(w.ecash.sends).toHaveLength(0)
  })
})
