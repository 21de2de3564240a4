// Flash Cards, the full loop on the regtest world: a card is issued (a BTCPay pull payment in the
// Greenfield simulator), programmed through the real pcscd + vpcd (NTAG 424 emulator), tapped by
// a terminal over the box's public HTTP routes (LNURL-withdraw), carol's invoice is paid by the
// box's LND, the card's balance in BTCPay drops, and a replayed tap (same counter) is refused.
// The card emulator runs in a process of its own (ntag424-card-process.ts), the box's PC/SC
// binding in its own thread (pcsc-worker.ts): neither can block the other.
import { rmSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHttpApi, type HttpApi } from '../../src/core/api/http/server'
import { boltcardModule } from '../../src/core/boltcard/boltcard-module'
import { BtcpayCardFunds } from '../../src/core/boltcard/card-funds'
import { readCardUrl } from '../../src/core/boltcard/card-programming'
import { connectCard, stopPcsc } from '../../src/core/boltcard/pcsc-reader'
import { GreenfieldClient } from '../../src/core/merchant/greenfield-client'
import { boxKeyFor } from '../../src/core/secrets/box-key'
import type { FlashCardsView, FlashCardView } from '../../src/shared/api/boltcard'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import { Ntag424CardProcess } from '../simulators/ntag424-card-process'
import { startPcscdWithVpcd, type PcscdVpcd } from '../simulators/pcscd-vpcd'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { startWorldLnd, type WorldLnd } from '../simulators/world/lnd-rpc'
import { CTX, lightningBox, OWNER, type LightningBox } from './lightning-harness'
import { eventually, ln } from './wallet-service-harness'

let dir: string
let net: LightningNetwork
let box: LightningBox
let boxLnd: WorldLnd | undefined
let btcpay: BtcpaySimulator
let api: HttpApi
let pcsc: PcscdVpcd
let card: Ntag424CardProcess
let storeId = ''
let apiKey = ''

const call = <T>(procedure: string, input: unknown = {}) =>
  box.engine.call('boltcard', procedure, input, CTX) as Promise<T>

async function gf<T>(method: string, path: string, auth: string | null, body?: unknown) {
  const res = await fetch(btcpay.url + path, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(auth ? { authorization: auth } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return (await res.json()) as T
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-boltcard-loop-'))
  pcsc = await startPcscdWithVpcd()
  card = await Ntag424CardProcess.start()
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
  storeId = (
    await gf<{ id: string }>('POST', '/api/v1/stores', `token ${setupKey.apiKey}`, {
      name: 'Corner Café',
      defaultCurrency: 'EUR',
    })
  ).id
  // The key the box keeps: one store, as the set-up saga makes it.
  apiKey = (
    await gf<{ apiKey: string }>('POST', '/api/v1/api-keys', basic, {
      label: 'Flash Box',
      permissions: [`btcpay.store.canmodifystoresettings:${storeId}`],
    })
  ).apiKey

  net = await startLightningNetwork({
    chain: new Chain(),
    dir,
    nodes: ['bob', 'carol'],
    channels: [['bob', 'carol', 1_000_000, { pushSat: 200_000 }]],
    rest: false,
    log: () => {},
  })
  let url = ''
  box = await lightningBox({
    extraModules: [
      boltcardModule({
        funds: new BtcpayCardFunds(
          () => new GreenfieldClient(btcpay.url, { kind: 'token', apiKey }),
          () => storeId,
        ),
        baseUrl: () => url,
        connect: (reader) => connectCard({ reader: reader ?? pcsc.readerName, timeoutMs: 10_000 }),
      }),
    ],
    startLnd: async (p, passwordFile) => {
      boxLnd = await startWorldLnd({
        world: net.world,
        alias: 'box',
        dir: p.lndDir,
        network: 'regtest',
        restPort: null,
        wallet: { mode: 'rpc', ...(passwordFile ? { passwordFile } : {}) },
        log: () => {},
      })
      return { socket: boxLnd.socket, close: () => boxLnd!.close() }
    },
  })
  await boxKeyFor(box.engineDir).enterPassword(OWNER)
  api = await startHttpApi(box.engine, { host: '127.0.0.1', port: 0, dataDir: box.engineDir })
  url = api.url.replace(/\/$/, '')
  const appLnd = () =>
    (
      box.engine.module('lightning') as unknown as {
        appLnd(): Lightning.AuthenticatedLnd | undefined
      }
    ).appLnd()!
  const bob = net.nodes.bob!.node!
  const me = boxLnd!.node!
  bob.connect(me.pubkey, me.p2pAddress)
  bob.openChannel({ peer: me.pubkey, localSat: 1_000_000n, pushSat: 300_000n, minConfs: 0 })
  net.mine(6)
  await eventually(async () => {
    const { channels } = await ln.getChannels({ lnd: appLnd() })
    return channels.some((c) => c.is_active) ? true : undefined
  }, 'box channel active')
}, 90_000)

afterAll(async () => {
  await stopPcsc()
  await card?.stop()
  await api?.close()
  await box?.close()
  await net?.close()
  await btcpay?.close()
  await pcsc?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
}, 30_000)

/** The shop's terminal: reads the card on the reader, then speaks LNURL-withdraw. */
async function readTap(): Promise<string> {
  const t = await connectCard({ reader: pcsc.readerName, timeoutMs: 10_000 })
  try {
    return (await readCardUrl(t))!
  } finally {
    t.close()
  }
}
const httpOf = (lnurlw: string) => lnurlw.replace(/^lnurlw:\/\//, 'http://')
async function getJson(u: string) {
  return (await (await fetch(u)).json()) as Record<string, unknown>
}
const carol = () => ln.authenticatedLndGrpc(net.nodes.carol!.lnServiceAuth()).lnd

describe('Flash Card full loop', { timeout: 40_000 }, () => {
  let issued: FlashCardView

  it('issues a card as a BTCPay pull payment and programs it through PC/SC', async () => {
    issued = await call<FlashCardView>('issue', {
      name: 'Alice',
      amountSat: 50_000,
      perTapSat: 20_000,
      perDaySat: 30_000,
    })
    expect(issued.state).toBe('issued')
    expect(issued.balanceSat).toBe(50_000)
    await card.insert(pcsc.port)
    const programmed = await call<FlashCardView>('program', { id: issued.id })
    expect(programmed.state).toBe('programmed')
    expect((await card.state()).isFactory).toBe(false)
    const list = await call<FlashCardsView>('cards')
    expect(list.tapUrl).toBe(
      `${api.url.replace(/^http:\/\//, 'lnurlw://').replace(/\/$/, '')}/boltcard/tap`,
    )
  })

  it('a tap pays carol’s invoice, the balance drops, and the same tap replayed is refused', async () => {
    const tapUrl = await readTap()
    expect(tapUrl).toMatch(/\/boltcard\/tap\?p=[0-9A-F]{32}&c=[0-9A-F]{16}$/)
    const offer = await getJson(httpOf(tapUrl))
    expect(offer.tag).toBe('withdrawRequest')
    expect(offer.maxWithdrawable).toBe(20_000_000)
    const invoice = await ln.createInvoice({ lnd: carol(), tokens: 12_000, description: 'coffee' })
    const cb = new URL(
      String(offer.callback).replace(/^https?:\/\/[^/]+/, api.url.replace(/\/$/, '')),
    )
    cb.searchParams.set('k1', String(offer.k1))
    cb.searchParams.set('pr', invoice.request)
    expect(await getJson(cb.toString())).toEqual({ status: 'OK' })
    await eventually(async () => {
      const inv = await ln.getInvoice({ lnd: carol(), id: invoice.id })
      return inv.is_confirmed ? true : undefined
    }, 'carol paid')
    const after = (await call<FlashCardsView>('cards')).cards[0]!
    expect(after.balanceSat).toBe(38_000)
    expect(after.spentTodaySat).toBe(12_000)
    expect(after.lastUsedAt).toBeDefined()
    // BTCPay's books: one completed Lightning payout on the card's pull payment.
    const payouts = await gf<{ state: string; destination: string }[]>(
      'GET',
      `/api/v1/pull-payments/${after.pullPaymentId}/payouts`,
      null,
    )
    expect(payouts.map((p) => p.state)).toEqual(['Completed'])

    // The same URL again (a copy of the tap): same counter, refused.
    const replay = await getJson(httpOf(tapUrl))
    expect(replay.status).toBe('ERROR')
    expect(String(replay.reason)).toMatch(/^Declined: this tap was already used/)
    // The offer's k1 is single-use too.
    expect((await getJson(cb.toString())).status).toBe('ERROR')
  })

  it('a tap over the day limit gets a clear decline for the terminal', async () => {
    const offer = await getJson(httpOf(await readTap()))
    // 30,000 a day, 12,000 spent: 18,000 left today.
    expect(offer.maxWithdrawable).toBe(18_000_000)
    const invoice = await ln.createInvoice({ lnd: carol(), tokens: 19_000 })
    const cb = new URL(String(offer.callback))
    const res = await getJson(
      `${api.url.replace(/\/$/, '')}${cb.pathname}?k1=${String(offer.k1)}&pr=${invoice.request}`,
    )
    expect(res.status).toBe('ERROR')
    expect(String(res.reason)).toMatch(
      /^Declined: 19000 sat is over the limit: the card's day limit of 30000 sat/,
    )
    expect((await call<FlashCardsView>('cards')).cards[0]!.balanceSat).toBe(38_000)
  })

  it('freezing archives the pull payment; a frozen card’s tap is declined', async () => {
    const frozen = await call<FlashCardView>('freeze', { id: issued.id })
    expect(frozen.state).toBe('frozen')
    const res = await getJson(httpOf(await readTap()))
    expect(res).toEqual({ status: 'ERROR', reason: 'Declined: this card is frozen.' })
  })

  it('reset wipes the card back to factory keys through PC/SC', async () => {
    const r = await call<FlashCardView>('reset', { id: issued.id })
    expect(r.state).toBe('reset')
    expect((await card.state()).isFactory).toBe(true)
  })
})
