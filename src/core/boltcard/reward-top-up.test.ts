// A shop reward onto a Flash Card: the card moves to a new pull payment (balance left + reward)
// named after the reward, once, whatever crashes between BTCPay making it and the box moving the
// card onto it, and a later top-up of the owner does not bring the reward back a second time.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventBus } from '../events'
import { silentLogger } from '../log'
import { createBoltcardModule } from './boltcard-module'
import type { CardFunds } from './card-funds'

class Crash extends Error {}

/** BTCPay's pull payments as the card sees them; `crashAfter` dies right after that call's effect. */
function fakeFunds() {
  const pps = new Map<string, { name: string; amount: number; archived: boolean }>()
  let crashAfter: 'create' | 'archive' | undefined
  const funds: CardFunds = {
    async createPullPayment(name, amountSat) {
      const id = `pp${pps.size + 1}`
      pps.set(id, { name, amount: amountSat, archived: false })
      if (crashAfter === 'create') throw new Crash('power cut')
      return id
    },
    async findPullPayment(name) {
      for (const [id, p] of pps) if (p.name === name) return { id, archived: p.archived }
      return undefined
    },
    async register() {
      throw new Error('not used')
    },
    async remainingSat(id) {
      return pps.get(id)!.amount
    },
    async archive(id) {
      pps.get(id)!.archived = true
      if (crashAfter === 'archive') throw new Crash('power cut')
    },
    async findPayout() {
      throw new Error('not used')
    },
    async claim() {
      throw new Error('not used')
    },
    async markPaid() {},
    async cancel() {},
  }
  return {
    funds,
    pps,
    crash: (at: typeof crashAfter) => (crashAfter = at),
    open: () => [...pps.entries()].filter(([, p]) => !p.archived),
  }
}

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function box(funds: CardFunds, dataDir?: string) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'flashbox-card-reward-'))
  if (!dataDir) dirs.push(dir)
  const m = createBoltcardModule(
    { dataDir: dir, log: silentLogger, events: new EventBus(), modules: new Map() },
    { funds, baseUrl: () => undefined },
  )
  return { m, dir }
}

const CTX = { transport: 'internal' } as const

describe('a reward onto a Flash Card', () => {
  it('adds the reward once per reference', async () => {
    const f = fakeFunds()
    const { m } = box(f.funds)
    const card = await m.handlers.issue(
      { name: 'Ada', amountSat: 5000, perTapSat: 1000, perDaySat: 5000 },
      CTX,
    )
    const pp = await m.rewardTopUp(card.id, 250, 'reward inv1')
    const again = await m.rewardTopUp(card.id, 250, 'reward inv1')
    expect(again).toBe(pp)
    expect(f.open()).toEqual([
      [pp, { name: 'Flash Card Ada · reward inv1', amount: 5250, archived: false }],
    ])
    expect(m.cardName(card.id)).toBe('Ada')
    // The owner tops the card up afterwards: the reward's pull payment is archived, and the
    // reward applied again (a late redelivery) does not add it a second time.
    await m.handlers.topUp({ id: card.id, amountSat: 100 }, CTX)
    expect(await m.rewardTopUp(card.id, 250, 'reward inv1')).toBe(pp)
    expect(f.open().map(([, p]) => p.amount)).toEqual([5350])
  })

  it.each(['create', 'archive'] as const)(
    'a crash right after the %s call: the card ends on one reward pull payment',
    async (at) => {
      const f = fakeFunds()
      const first = box(f.funds)
      const card = await first.m.handlers.issue(
        { name: 'Bo', amountSat: 1000, perTapSat: 500, perDaySat: 1000 },
        CTX,
      )
      f.crash(at)
      await expect(first.m.rewardTopUp(card.id, 300, 'reward inv2')).rejects.toBeInstanceOf(Crash)
      await first.m.stop()
      f.crash(undefined)
      const second = box(f.funds, first.dir)
      const pp = await second.m.rewardTopUp(card.id, 300, 'reward inv2')
      await second.m.stop()
      // One pull payment made for the reward, holding the balance plus the reward once; the
      // card's old one is archived.
      const made = [...f.pps.values()].filter((p) => p.name.endsWith('reward inv2'))
      expect(made).toHaveLength(1)
      expect(f.open()).toEqual([
        [pp, { name: 'Flash Card Bo · reward inv2', amount: 1300, archived: false }],
      ])
    },
  )
})
