// The box's Lightning address on the headless server's public routes: an LNURL-pay client
// resolves `name@host` (LUD-16), checks the invoice commits to the metadata (LUD-06 description
// hash) and pays it from carol's node; a zap (NIP-57) gets an invoice committing to the zap request
// and, once carol pays, a valid zap receipt (kind 9735) on the box's relay. Bad amounts and bad
// zap requests are refused with LUD-06 errors.
import { createHash } from 'node:crypto'
import WebSocket from 'ws'
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure'
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay'
import type { Event } from 'nostr-tools/pure'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHttpApi, type HttpApi } from '../../src/core/api/http/server'
import { relayUrlOf } from '../../src/core/nostr/nostr-module'
import type { LightningAddressView } from '../../src/shared/api/wallet-service'
import {
  eventually,
  ln,
  walletServiceWorld,
  type WalletServiceWorld,
} from './wallet-service-harness'

useWebSocketImplementation(WebSocket)

let w: WalletServiceWorld
let api: HttpApi
let address: LightningAddressView
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')

beforeAll(async () => {
  w = await walletServiceWorld()
  api = await startHttpApi(w.box.engine, {
    host: '127.0.0.1',
    port: 0,
    dataDir: w.box.engineDir,
  })
  address = await w.call<LightningAddressView>('setLightningAddress', {
    enabled: true,
    name: 'shop',
    minSendableSat: 10,
    maxSendableSat: 100_000,
  })
}, 60_000)

afterAll(async () => {
  await api?.close()
  await w?.close()
})

/** A LUD-16 client: name@host → the pay request (http, since the test box is on loopback). */
async function resolveAddress(addr: string) {
  const [name, host] = addr.split('@') as [string, string]
  const res = await fetch(`http://${host}/.well-known/lnurlp/${name}`)
  return {
    status: res.status,
    cors: res.headers.get('access-control-allow-origin'),
    body: (await res.json()) as Record<string, unknown>,
  }
}

async function callback(url: string, params: Record<string, string>) {
  const res = await fetch(`${url}?${new URLSearchParams(params).toString()}`)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('Lightning address (LUD-16/06/12) on the headless server', () => {
  it('the address is name@<the server’s own host> with a QR', () => {
    expect(address.address).toBe(`shop@${new URL(api.url).host}`)
    expect(address.url).toBe(`${api.url}/.well-known/lnurlp/shop`)
    expect(address.qr).toMatch(/^data:image\/svg\+xml;base64,/)
    expect(address.zapperPubkey).toMatch(/^[0-9a-f]{64}$/)
  })

  it('an LNURL-pay client resolves it, gets an invoice committing to the metadata, and pays it', async () => {
    const pay = await resolveAddress(address.address!)
    expect(pay.status).toBe(200)
    expect(pay.cors).toBe('*')
    expect(pay.body).toMatchObject({
      tag: 'payRequest',
      callback: `${api.url}/lnurlp/shop/callback`,
      minSendable: 10_000,
      maxSendable: 100_000_000,
      commentAllowed: 255,
      allowsNostr: true,
      nostrPubkey: address.zapperPubkey,
    })
    const metadata = JSON.parse(pay.body.metadata as string) as string[][]
    expect(metadata).toContainEqual(['text/identifier', address.address!])
    expect(metadata.find((m) => m[0] === 'text/plain')).toBeDefined()

    const inv = await callback(pay.body.callback as string, {
      amount: '21000000',
      comment: 'for the coffee',
    })
    expect(inv.status).toBe(200)
    expect(inv.body.routes).toEqual([])
    const pr = inv.body.pr as string
    const carol = w.lndOf('carol')
    const decoded = await ln.decodePaymentRequest({ lnd: carol, request: pr })
    expect(decoded.tokens).toBe(21_000)
    expect(decoded.description_hash).toBe(sha256(pay.body.metadata as string))
    await ln.pay({ lnd: carol, request: pr })
    const settled = await ln.getInvoice({ lnd: w.appLnd(), id: decoded.id })
    expect(settled.is_confirmed).toBe(true)
  })

  it('refuses amounts out of range, bad amounts, long comments and unknown names', async () => {
    const cb = `${api.url}/lnurlp/shop/callback`
    const low = await callback(cb, { amount: '9000' })
    expect(low).toMatchObject({ status: 400, body: { status: 'ERROR' } })
    expect(low.body.reason).toMatch(/between 10 and 100000 sat/)
    const high = await callback(cb, { amount: '100000001' })
    expect(high.body).toMatchObject({ status: 'ERROR' })
    const fraction = await callback(cb, { amount: '10000.5' })
    expect(fraction.body.reason).toMatch(/whole number/)
    const long = await callback(cb, { amount: '20000', comment: 'x'.repeat(300) })
    expect(long.body.reason).toMatch(/comment/)
    const unknown = await resolveAddress(`nobody@${new URL(api.url).host}`)
    expect(unknown.status).toBe(404)
    expect(unknown.body.status).toBe('ERROR')
  })
})

describe('zaps (NIP-57)', () => {
  const sender = generateSecretKey()
  const recipient = getPublicKey(generateSecretKey())
  const zapped = 'a'.repeat(64)
  const zapRequest = (relay: string, amount: string, tags: string[][] = []) =>
    JSON.stringify(
      finalizeEvent(
        {
          kind: 9734,
          created_at: Math.floor(Date.now() / 1000),
          content: 'great post',
          tags: [['p', recipient], ['e', zapped], ['relays', relay], ['amount', amount], ...tags],
        },
        sender,
      ),
    )

  it('a paid zap gets a valid zap receipt (9735) on the box’s relay, signed by the zapper key', async () => {
    const relayUrl = relayUrlOf(w.box.engine.module('relay'))!
    const json = zapRequest(relayUrl, '5000000')
    const inv = await callback(`${api.url}/lnurlp/shop/callback`, {
      amount: '5000000',
      nostr: json,
    })
    expect(inv.status).toBe(200)
    const pr = inv.body.pr as string
    const carol = w.lndOf('carol')
    const decoded = await ln.decodePaymentRequest({ lnd: carol, request: pr })
    expect(decoded.description_hash).toBe(sha256(json))
    await ln.pay({ lnd: carol, request: pr })

    const relay = await Relay.connect(relayUrl)
    try {
      const receipt = await eventually(async () => {
        const found: Event[] = []
        await new Promise<void>((resolve) => {
          const sub = relay.subscribe([{ kinds: [9735], '#p': [recipient] }], {
            onevent: (e) => found.push(e),
            oneose: () => {
              sub.close()
              resolve()
            },
          })
        })
        return found[0]
      }, 'zap receipt on the box relay')
      expect(verifyEvent(receipt)).toBe(true)
      expect(receipt.pubkey).toBe(address.zapperPubkey)
      const tag = (n: string) => receipt.tags.find((t) => t[0] === n)?.[1]
      expect(tag('bolt11')).toBe(pr)
      expect(tag('description')).toBe(json)
      expect(sha256(tag('description')!)).toBe(decoded.description_hash)
      expect(tag('P')).toBe(getPublicKey(sender))
      expect(tag('e')).toBe(zapped)
      expect(tag('p')).toBe(recipient)
      const preimage = tag('preimage')!
      expect(createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex')).toBe(
        decoded.id,
      )
      // Published once: another pass of the loop does not publish it again.
      const module = w.box.engine.module('walletService') as unknown as { tick(): Promise<void> }
      await module.tick()
      const again: Event[] = []
      await new Promise<void>((resolve) => {
        const sub = relay.subscribe([{ kinds: [9735], '#p': [recipient] }], {
          onevent: (e) => again.push(e),
          oneose: () => {
            sub.close()
            resolve()
          },
        })
      })
      expect(again).toHaveLength(1)
    } finally {
      relay.close()
    }
  })

  it('refuses bad zap requests with a LUD-06 error and makes no invoice', async () => {
    const cb = `${api.url}/lnurlp/shop/callback`
    const relayUrl = relayUrlOf(w.box.engine.module('relay'))!
    const mismatch = await callback(cb, {
      amount: '6000000',
      nostr: zapRequest(relayUrl, '5000000'),
    })
    expect(mismatch).toMatchObject({ status: 400, body: { status: 'ERROR' } })
    expect(mismatch.body.reason).toMatch(/amount tag/)
    const tampered = JSON.parse(zapRequest(relayUrl, '5000000')) as Event
    tampered.content = 'changed after signing'
    const forged = await callback(cb, { amount: '5000000', nostr: JSON.stringify(tampered) })
    expect(forged.body.reason).toMatch(/signature/)
    const twoRecipients = await callback(cb, {
      amount: '5000000',
      nostr: zapRequest(relayUrl, '5000000', [['p', getPublicKey(generateSecretKey())]]),
    })
    expect(twoRecipients.body.reason).toMatch(/exactly one recipient/)
    const { invoices } = await ln.getInvoices({ lnd: w.appLnd() })
    expect(invoices.filter((i) => i.tokens === 6000)).toHaveLength(0)
  })

  it('a disabled address is not served', async () => {
    await w.call('setLightningAddress', {
      enabled: false,
      name: 'shop',
      minSendableSat: 10,
      maxSendableSat: 100_000,
    })
    const res = await fetch(`${api.url}/.well-known/lnurlp/shop`)
    expect(res.status).toBe(404)
  })
})
