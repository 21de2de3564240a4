// Flash Cards programmed and reset with the Boltcard NFC Programmer app (Boltcard docs/DEEPLINK.md):
// the box's real engine and HTTP server, the BTCPay Greenfield SIMULATOR (Boltcard registration),
// an NTAG 424 DNA emulator on the "phone", and a client that speaks the app's protocol. The link
// gives the keys once; a second request, an expired link and an unknown one are refused with a
// plain sentence; a link survives a restart of the engine; the link's token is kept neither on
// disk nor in any log, and the keys reach neither the renderer's answers nor the logs.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OwnerPassword } from '../../src/core/api/http/owner-password'
import { startHttpApi, type HttpApi } from '../../src/core/api/http/server'
import { boltcardModule } from '../../src/core/boltcard/boltcard-module'
import { BtcpayCardFunds } from '../../src/core/boltcard/card-funds'
import { readCardUrl } from '../../src/core/boltcard/card-programming'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { createLogger } from '../../src/core/log'
import { GreenfieldClient } from '../../src/core/merchant/greenfield-client'
import { boxKeyFor } from '../../src/core/secrets/box-key'
import type { FlashCardView, ProgrammingLink } from '../../src/shared/api/boltcard'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import {
  parseBoltcardLink,
  phone,
  programWithApp,
  requestKeys,
  resetWithApp,
} from '../simulators/boltcard-programmer-app'
import { Ntag424Emulator } from '../simulators/ntag424-emulator'
import { storeWithKey } from './btcpay-store'

const OWNER = 'the owner of a small shop'
const CTX = { transport: 'internal' as const }
const MINUTE = 60_000

let dir: string
let engineDir: string
let btcpay: BtcpaySimulator
let engine: Engine
let api: HttpApi
let port = 0
let clock = Date.now()
let storeId = ''
let onReader: Ntag424Emulator | undefined
let apiKey = ''
const logLines: string[] = []
/** Everything the renderer got back from the engine (the API answers), as JSON. */
const shownToRenderer: string[] = []

async function start(): Promise<void> {
  engine = await createEngine({
    dataDir: engineDir,
    log: createLogger('test', { level: 'debug', sink: (l) => logLines.push(JSON.stringify(l)) }),
    modules: [
      boltcardModule({
        funds: new BtcpayCardFunds(
          () => new GreenfieldClient(btcpay.url, { kind: 'token', apiKey }),
          () => storeId,
        ),
        baseUrl: () => `http://127.0.0.1:${port}`,
        now: () => clock,
        // The computer's NFC reader, with whichever emulated card the test holds on it.
        connect: async () => {
          if (!onReader) throw new Error('no card on the reader')
          return { ...phone(onReader), close: () => undefined }
        },
      }),
    ],
  })
  api = await startHttpApi(engine, { host: '127.0.0.1', port, dataDir: engineDir })
  port = Number(new URL(api.url).port)
}

async function stop(): Promise<void> {
  await api?.close()
  await engine?.stop()
}

async function call<T>(procedure: string, input: unknown = {}): Promise<T> {
  const out = (await engine.call('boltcard', procedure, input, CTX)) as T
  shownToRenderer.push(JSON.stringify(out))
  return out
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-boltcard-app-'))
  engineDir = join(dir, 'engine')
  btcpay = await startBtcpaySimulator({ network: 'regtest' })
  ;({ storeId, apiKey } = await storeWithKey(btcpay.url))
  await new OwnerPassword(engineDir).create(OWNER)
  await boxKeyFor(engineDir).enterPassword(OWNER)
  await start()
}, 60_000)

afterAll(async () => {
  await stop()
  await btcpay?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const tokenOf = (deepLink: string) => parseBoltcardLink(deepLink).url.split('/').pop()!
const cardRow = async (id: string) =>
  (await call<{ cards: FlashCardView[] }>('cards')).cards.find((c) => c.id === id)!

describe('Flash Cards with the Boltcard NFC Programmer app (DEEPLINK.md)', () => {
  const card = new Ntag424Emulator()
  let issued: FlashCardView
  const keysSeen: string[] = []
  const tokens: string[] = []

  it('the app gets the keys once for its card, programs it, and the card taps', async () => {
    issued = await call<FlashCardView>('issue', {
      name: 'Alice',
      amountSat: 40_000,
      perTapSat: 10_000,
      perDaySat: 20_000,
    })
    const link = await call<ProgrammingLink>('programmingLink', {
      id: issued.id,
      action: 'program',
    })
    expect(link.deepLink).toMatch(
      new RegExp(
        `^boltcard://program\\?url=http%3A%2F%2F127\\.0\\.0\\.1%3A${port}%2Fboltcard%2Fkeys%2F[0-9a-f]{32}$`,
      ),
    )
    expect(link.qr).toMatch(/^data:image\/svg\+xml;base64,/)
    expect(Date.parse(link.expiresAt) - clock).toBe(15 * MINUTE)
    tokens.push(tokenOf(link.deepLink))

    const answer = await programWithApp(link.deepLink, card)
    expect(answer.status).toBe(200)
    expect(answer.body.LNURLW).toBe(`lnurlw://127.0.0.1:${port}/boltcard/tap`)
    for (const k of ['K0', 'K1', 'K2', 'K3', 'K4']) {
      expect(answer.body[k]).toMatch(/^[0-9A-F]{32}$/)
      keysSeen.push(String(answer.body[k]))
    }
    expect(card.isFactory).toBe(false)
    expect((await cardRow(issued.id)).state).toBe('programmed')

    // The same link again (the app retried, or someone copied the QR): refused in plain words.
    const again = await requestKeys(parseBoltcardLink(link.deepLink).url, {
      UID: '04AABBCCDDEEFF',
    })
    expect(again.status).toBe(410)
    expect(again.body.status).toBe('ERROR')
    expect(again.body.reason).toMatch(
      /^This link was used already, at \d\d:\d\d:\d\d: it gives a card's keys only once\. Make a new one on Merchant → Flash Cards\.$/,
    )

    // The programmed card taps: the terminal's LNURL-withdraw request is accepted.
    const tap = (await readCardUrl(phone(card)))!
    expect(tap).toMatch(
      /^lnurlw:\/\/127\.0\.0\.1:\d+\/boltcard\/tap\?p=[0-9A-F]{32}&c=[0-9A-F]{16}$/,
    )
    const offer = (await (await fetch(tap.replace(/^lnurlw:/, 'http:'))).json()) as {
      tag?: string
      maxWithdrawable?: number
    }
    expect(offer.tag).toBe('withdrawRequest')
    expect(offer.maxWithdrawable).toBe(10_000_000)
  })

  it('an expired link is refused in plain words, and a newer link replaces an older one', async () => {
    const link = await call<ProgrammingLink>('programmingLink', { id: issued.id, action: 'reset' })
    tokens.push(tokenOf(link.deepLink))
    clock += 16 * MINUTE
    const lnurlw = (await readCardUrl(phone(card)))!
    const late = await requestKeys(parseBoltcardLink(link.deepLink).url, { LNURLW: lnurlw })
    expect(late.status).toBe(410)
    expect(late.body.reason).toMatch(
      /^This link expired at \d\d:\d\d:\d\d\. Make a new one on Merchant → Flash Cards\.$/,
    )
    const older = await call<ProgrammingLink>('programmingLink', { id: issued.id, action: 'reset' })
    const newer = await call<ProgrammingLink>('programmingLink', { id: issued.id, action: 'reset' })
    tokens.push(tokenOf(older.deepLink), tokenOf(newer.deepLink))
    const replaced = await requestKeys(parseBoltcardLink(older.deepLink).url, { LNURLW: lnurlw })
    expect(replaced.body.reason).toMatch(/^This link expired at/)
    const unknown = await requestKeys(`http://127.0.0.1:${port}/boltcard/keys/${'0'.repeat(32)}`, {
      LNURLW: lnurlw,
    })
    expect(unknown.status).toBe(404)
    expect(unknown.body).toEqual({
      status: 'ERROR',
      reason: 'This link is not one this box made. Make a new one on Merchant → Flash Cards.',
    })
  })

  it('a reset link survives a restart of the engine, refuses another card, and resets its own once', async () => {
    const link = await call<ProgrammingLink>('programmingLink', { id: issued.id, action: 'reset' })
    tokens.push(tokenOf(link.deepLink))
    await stop()
    boxKeyFor(engineDir).lock()
    await boxKeyFor(engineDir).enterPassword(OWNER)
    await start()

    // A card of another shop (programmed with other keys by hand) is not this link's card, and
    // the refusal does not use the link up.
    const stranger = new Ntag424Emulator()
    const other = await call<FlashCardView>('issue', {
      name: 'Bob',
      amountSat: 1_000,
      perTapSat: 1_000,
      perDaySat: 1_000,
    })
    const bobLink = await call<ProgrammingLink>('programmingLink', {
      id: other.id,
      action: 'program',
    })
    tokens.push(tokenOf(bobLink.deepLink))
    expect((await programWithApp(bobLink.deepLink, stranger)).status).toBe(200)
    const wrong = await resetWithApp(link.deepLink, stranger)
    expect(wrong.status).toBe(400)
    expect(wrong.body.reason).toBe('This is not the card “Alice” of this link.')

    const answer = await resetWithApp(link.deepLink, card)
    expect(answer.status).toBe(200)
    expect(answer.body.K0).toBe(keysSeen[0])
    expect(card.isFactory).toBe(true)
    expect(await readCardUrl(phone(card))).toBeUndefined()
    // The box did not see the app wipe the card: the reset waits for a confirmation.
    const waiting = await cardRow(issued.id)
    expect(waiting.state).toBe('programmed')
    expect(waiting.resetPendingSince).toBe(new Date(clock).toISOString())
    // On the computer's reader: a card that still has keys, then a blank card that is not this
    // one, are refused and change nothing.
    onReader = stranger
    await expect(call('confirmReset', { id: issued.id, how: 'reader' })).rejects.toMatchObject({
      code: 'boltcard.reset_not_done',
    })
    onReader = new Ntag424Emulator()
    await expect(call('confirmReset', { id: issued.id, how: 'reader' })).rejects.toMatchObject({
      code: 'boltcard.other_card',
    })
    expect((await cardRow(issued.id)).resetPendingSince).toBeDefined()
    // This card answers with the factory keys: wiped.
    onReader = card
    const wiped = await call<FlashCardView>('confirmReset', { id: issued.id, how: 'reader' })
    expect(wiped.state).toBe('reset')
    expect(wiped.resetPendingSince).toBeUndefined()
    onReader = undefined
    const again = await requestKeys(parseBoltcardLink(link.deepLink).url, {
      LNURLW: 'lnurlw://x/boltcard/tap?p=00000000000000000000000000000000&c=0000000000000000',
    })
    expect(again.status).toBe(410)
    expect(again.body.reason).toMatch(/^This link was used already/)
  })

  it('keeps the links’ tokens off the disk and out of the logs, and the keys away from the renderer', () => {
    expect(tokens.length).toBeGreaterThanOrEqual(6)
    const files = ['cards.sqlite', 'cards.sqlite-wal', 'card-keys.json']
      .map((f) => join(engineDir, 'boltcard', f))
      .filter((f) => existsSync(f))
    expect(files.length).toBeGreaterThanOrEqual(2)
    const disk = files.map((f) => readFileSync(f).toString('latin1')).join('\n')
    const logs = logLines.join('\n')
    expect(logs).toContain('Boltcard app link used')
    for (const t of tokens) {
      expect(disk).not.toContain(t)
      expect(logs).not.toContain(t)
    }
    const renderer = shownToRenderer.join('\n').toUpperCase()
    for (const k of keysSeen) {
      expect(disk.toUpperCase()).not.toContain(k)
      expect(logs.toUpperCase()).not.toContain(k)
      expect(renderer).not.toContain(k)
    }
  })
})
