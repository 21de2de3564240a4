// A Flash Card tap whose box dies in the middle of its settlement (SIGKILL of the child process
// that is the box, at a chosen step: boltcard-tap-crash-child.ts) is, after the box starts again,
// neither paid twice nor lost track of. The card's money is a pull payment in the Greenfield
// simulator; the box's LND is bob in the regtest world, paying carol. Three taps, three boxes:
//   - killed after BTCPay booked the payout, before paying: the payout is cancelled, the money is
//     back on the card, carol is not paid;
//   - killed after the payment succeeded, before the box recorded it: paid once, payout completed;
//   - killed with the payment in flight (carol holds the HTLC): still tracked after the restart,
//     then paid once when carol settles, payout completed; no tap can be paid again.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BtcpayCardFunds } from '../../src/core/boltcard/card-funds'
import { CardStore, type TapRow } from '../../src/core/boltcard/card-store'
import { GreenfieldClient } from '../../src/core/merchant/greenfield-client'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { eventually, ln } from './wallet-service-harness'

let dir: string
let btcpay: BtcpaySimulator
let net: LightningNetwork
let funds: BtcpayCardFunds
let store: CardStore
let env: Record<string, string>
let pullPaymentId = ''
const CARD = 'card-alice'
const children: ChildProcess[] = []

async function gf<T>(method: string, path: string, auth: string | null, body?: unknown) {
  const res = await fetch(btcpay.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return (await res.json()) as T
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-tap-crash-'))
  btcpay = await startBtcpaySimulator({ network: 'regtest' })
  const basic = `Basic ${Buffer.from('owner@shop.test:a long generated password').toString('base64')}`
  await gf('POST', '/api/v1/users', null, {
    email: 'owner@shop.test',
    password: 'a long generated password',
    isAdministrator: true,
  })
  const setupKey = await gf<{ apiKey: string }>('POST', '/api/v1/api-keys', basic, {
    label: 'setup',
    permissions: ['btcpay.store.canmodifystoresettings'],
  })
  const storeId = (
    await gf<{ id: string }>('POST', '/api/v1/stores', `token ${setupKey.apiKey}`, {
      name: 'Corner Café',
      defaultCurrency: 'EUR',
    })
  ).id
  const apiKey = (
    await gf<{ apiKey: string }>('POST', '/api/v1/api-keys', basic, {
      label: 'Flash Box',
      permissions: [`btcpay.store.canmodifystoresettings:${storeId}`],
    })
  ).apiKey
  funds = new BtcpayCardFunds(
    () => new GreenfieldClient(btcpay.url, { kind: 'token', apiKey }),
    () => storeId,
  )
  net = await startLightningNetwork({
    chain: new Chain(),
    dir,
    nodes: ['bob', 'carol'],
    channels: [['bob', 'carol', 1_000_000, { pushSat: 200_000 }]],
    rest: false,
    log: () => {},
  })
  await eventually(async () => {
    const { channels } = await ln.getChannels({ lnd: lndOf('bob') })
    return channels.some((c) => c.is_active) ? true : undefined
  }, 'bob–carol channel active')

  pullPaymentId = await funds.createPullPayment('Flash Card Alice', 50_000)
  store = new CardStore(join(dir, 'cards.sqlite'))
  store.create({
    id: CARD,
    name: 'Alice',
    pull_payment_id: pullPaymentId,
    per_tap_sat: 20_000,
    per_day_sat: 45_000,
  })
  store.programmed(CARD, 'uid-hash', 1)
  const bob = net.nodes.bob!.lnServiceAuth()
  env = {
    CARD_DB: join(dir, 'cards.sqlite'),
    PAY_DB: join(dir, 'payments.sqlite'),
    BTCPAY_URL: btcpay.url,
    API_KEY: apiKey,
    STORE_ID: storeId,
    LND_SOCKET: bob.socket,
    LND_CERT: bob.cert,
    LND_MACAROON: bob.macaroon,
  }
}, 90_000)

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  store?.close()
  await net?.close()
  await btcpay?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
}, 30_000)

const lndOf = (name: 'bob' | 'carol') =>
  ln.authenticatedLndGrpc(net.nodes[name]!.lnServiceAuth()).lnd

/** The tap's first half (withdrawRequest): an offer the terminal's callback takes. */
let counter = 0
function offer(): string {
  const k1 = randomBytes(32).toString('hex')
  store.offer({
    k1,
    card_id: CARD,
    counter: ++counter,
    max_sat: 20_000,
    expires_at: Date.now() + 300_000,
  })
  return k1
}

/** Starts the box as a child; resolves with it once a line of its output matches `until`. */
function box(extra: Record<string, string>, until: RegExp) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tests/integration/boltcard-tap-crash-child.ts'],
    {
      env: { ...process.env, ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  children.push(child)
  let out = ''
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const line = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${String(until)} in time:\n${out}`)),
      60_000,
    )
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = out.split('\n').find((l) => until.test(l))
      if (m) {
        clearTimeout(timer)
        resolve(m)
      }
    })
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    void exited.then(() => {
      setTimeout(() => {
        clearTimeout(timer)
        reject(new Error(`the box exited before ${String(until)}:\n${out}`))
      }, 50)
    })
  })
  return { child, line, exited }
}

async function kill(b: ReturnType<typeof box>) {
  b.child.kill('SIGKILL')
  await b.exited
}

/** The box started again: it reconciles, then prints the rows of the taps. */
async function restart(...k1s: string[]): Promise<TapRow[]> {
  const b = box({ MODE: 'reconcile', K1: k1s.join(',') }, /^taps /)
  const rows = JSON.parse((await b.line).slice(5)) as TapRow[]
  expect(await b.exited).toBe(0)
  return rows
}

async function payout(bolt11: string) {
  const all = await gf<{ id: string; state: string; destination: string }[]>(
    'GET',
    `/api/v1/pull-payments/${pullPaymentId}/payouts?includeCancelled=true`,
    null,
  )
  return all.filter((p) => p.destination === bolt11)
}

const paymentsTo = async (hash: string) =>
  (await ln.getPayments({ lnd: lndOf('bob') })).payments.filter((p) => p.id === hash)

describe('Flash Card taps whose box dies mid-settlement', { timeout: 150_000 }, () => {
  it('are neither paid twice nor lost track of after the restart', async () => {
    // Three taps, three boxes, each killed at its own step.
    const early = await ln.createInvoice({ lnd: lndOf('carol'), tokens: 7_000 })
    const late = await ln.createInvoice({ lnd: lndOf('carol'), tokens: 12_000 })
    const secret = randomBytes(32)
    const heldId = createHash('sha256').update(secret).digest('hex')
    const held = await ln.createHodlInvoice({ lnd: lndOf('carol'), id: heldId, tokens: 9_000 })
    const [k1Early, k1Late, k1Held] = [offer(), offer(), offer()]
    // One after the other: each box has the box's SQLite files to itself while it writes (a
    // paused box holds no lock).
    const boxes: ReturnType<typeof box>[] = []
    for (const [extra, until] of [
      // after BTCPay booked the payout, before paying
      [{ K1: k1Early, BOLT11: early.request, PAUSE_AT: 'claimed' }, /^step claimed/],
      // after the payment succeeded, before the box recorded it
      [{ K1: k1Late, BOLT11: late.request, PAUSE_AT: 'outcome' }, /^step outcome/],
      // with the payment in flight (carol holds the HTLC)
      [{ K1: k1Held, BOLT11: held.request }, /^step sending/],
    ] as const) {
      const b = box(extra, until)
      boxes.push(b)
      await b.line
    }
    await eventually(async () => {
      const inv = await ln.getInvoice({ lnd: lndOf('carol'), id: heldId })
      return inv.is_held ? true : undefined
    }, 'carol holds the HTLC')
    await Promise.all(boxes.map(kill))
    expect((await payout(early.request)).map((p) => p.state)).toEqual(['AwaitingPayment'])
    expect(store.tap(k1Late)).toMatchObject({ state: 'paying', payment_hash: late.id })

    const [afterEarly, afterLate, inFlight] = await restart(k1Early, k1Late, k1Held)

    // Never sent: the payout is cancelled and the money is back on the card.
    expect(afterEarly).toMatchObject({ state: 'failed', reason: 'interrupted before paying' })
    expect((await payout(early.request)).map((p) => p.state)).toEqual(['Cancelled'])
    expect((await ln.getInvoice({ lnd: lndOf('carol'), id: early.id })).is_confirmed).toBe(false)
    expect(await paymentsTo(early.id)).toEqual([])

    // Paid before the crash: recorded as paid, once.
    expect(afterLate).toMatchObject({ state: 'paid', amount_sat: 12_000 })
    expect((await payout(late.request)).map((p) => p.state)).toEqual(['Completed'])
    expect((await ln.getInvoice({ lnd: lndOf('carol'), id: late.id })).received).toBe(12_000)
    expect(await paymentsTo(late.id)).toHaveLength(1)

    // In flight: neither failed nor forgotten, its payout still booked.
    expect(inFlight).toMatchObject({ state: 'paying', payment_hash: heldId, amount_sat: 9_000 })
    expect((await payout(held.request)).map((p) => p.state)).toEqual(['AwaitingPayment'])
    expect(await funds.remainingSat(pullPaymentId)).toBe(50_000 - 12_000 - 9_000)

    // Carol settles; the next pass of the box records it as paid, once.
    await ln.settleHodlInvoice({ lnd: lndOf('carol'), secret: secret.toString('hex') })
    await eventually(async () => {
      const [p] = await paymentsTo(heldId)
      return p?.is_confirmed ? true : undefined
    }, 'bob’s payment settled')
    const [settled] = await restart(k1Held)
    expect(settled).toMatchObject({ state: 'paid', amount_sat: 9_000 })
    expect((await payout(held.request)).map((p) => p.state)).toEqual(['Completed'])
    expect(await paymentsTo(heldId)).toHaveLength(1)
    expect((await ln.getInvoice({ lnd: lndOf('carol'), id: heldId })).received).toBe(9_000)
    expect(await funds.remainingSat(pullPaymentId)).toBe(29_000)

    // No tap can be taken again, and the day's spending counts each paid tap once.
    for (const k1 of [k1Early, k1Late, k1Held]) expect(store.take(k1)).toBeUndefined()
    expect(store.spentSince(CARD, 0)).toBe(21_000)
  })
})
