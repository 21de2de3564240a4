// The Greenfield simulator against its own documentation: first admin without auth, API keys
// with permissions enforced (403 missing-permission), a store on the world LND over lnd-rest with
// a pinned certificate, an invoice paid over Lightning → Settled → webhook signed with BTCPay-Sig
// and redelivered after a failure, pull payments and payouts.
import { createHash, createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Chain } from '../world/chain'
import { startLightningNetwork, type LightningNetwork } from '../world/lightning-network'
import { catalogImages } from '../../../src/core/stack/images'
import { startBtcpaySimulator, type BtcpaySimulator } from './index'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
// A BIP84 regtest account xpub (vpub) of the standard test mnemonic ("abandon … about").
const VPUB =
  'vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc'

let dir: string
let net: LightningNetwork
let btcpay: BtcpaySimulator
let hook: Server
let hookUrl = ''
const received: { body: string; sig: string }[] = []
let failNext = 0

async function gf<T = unknown>(
  method: string,
  path: string,
  auth: string | null,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(btcpay.url + path, {
    method,
    headers: {
      ...(auth ? { authorization: auth } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T }
}

const basic = (email: string, pw: string) =>
  `Basic ${Buffer.from(`${email}:${pw}`).toString('base64')}`
const token = (k: string) => `token ${k}`

async function until<T>(
  fn: () => T | undefined | Promise<T | undefined>,
  what: string,
): Promise<T> {
  const end = Date.now() + 15_000
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-btcpay-sim-'))
  net = await startLightningNetwork({
    chain: new Chain(),
    dir,
    nodes: ['shop', 'customer'],
    channels: [['customer', 'shop', 1_000_000]],
    log: () => undefined,
  })
  btcpay = await startBtcpaySimulator({ webhookRetryDelaysMs: [50, 50] })
  hook = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({
        body: Buffer.concat(chunks).toString('utf8'),
        sig: String(req.headers['btcpay-sig']),
      })
      res.writeHead(failNext-- > 0 ? 500 : 200).end()
    })
  })
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`
}, 60_000)

afterAll(async () => {
  await btcpay?.close()
  hook?.closeAllConnections()
  await new Promise((r) => hook?.close(r))
  await net?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('BTCPay Greenfield simulator', () => {
  const email = 'owner@shop.test'
  const password = 'a long generated password'
  let adminKey = ''
  let storeId = ''

  it('creates the first administrator without authentication, then refuses anonymous users', async () => {
    const first = await gf<{ id: string; roles: string[] }>('POST', '/api/v1/users', null, {
      email,
      password,
      isAdministrator: true,
    })
    expect(first.status).toBe(201)
    expect(first.json.roles).toEqual(['ServerAdmin'])
    const second = await gf<{ code: string }>('POST', '/api/v1/users', null, {
      email: 'x@y.z',
      password,
    })
    expect(second.status).toBe(401)
    expect(second.json.code).toBe('unauthenticated')
    expect((await gf('GET', '/api/v1/users/me', basic(email, 'wrong'))).status).toBe(401)
  })

  it('reports the pinned BTCPay version it imitates in server/info', async () => {
    const info = await gf<{ version: string }>('GET', '/api/v1/server/info', basic(email, password))
    expect(info.status).toBe(200)
    expect(info.json.version).toBe(`${catalogImages.btcpay.tag}-simulator`)
  })

  it('enforces each API key’s permissions with the documented 403 body', async () => {
    const k = await gf<{ apiKey: string; permissions: string[] }>(
      'POST',
      '/api/v1/api-keys',
      basic(email, password),
      {
        label: 'view only',
        permissions: ['btcpay.store.canviewstoresettings'],
      },
    )
    expect(k.status).toBe(200)
    const denied = await gf<{ code: string; missingPermission: string; message: string }>(
      'POST',
      '/api/v1/stores',
      token(k.json.apiKey),
      { name: 'x' },
    )
    expect(denied.status).toBe(403)
    expect(denied.json.code).toBe('missing-permission')
    expect(denied.json.missingPermission).toBe('btcpay.store.canmodifystoresettings')
    // A limited key cannot make keys (that needs `unrestricted`).
    expect(
      (await gf('POST', '/api/v1/api-keys', token(k.json.apiKey), { permissions: [] })).status,
    ).toBe(403)
    const bad = await gf<{ path: string }[]>('POST', '/api/v1/api-keys', basic(email, password), {
      permissions: ['not a permission'],
    })
    expect(bad.status).toBe(422)
    const admin = await gf<{ apiKey: string }>('POST', '/api/v1/api-keys', basic(email, password), {
      label: 'setup',
      permissions: ['btcpay.store.canmodifystoresettings'],
    })
    adminKey = admin.json.apiKey
    const store = await gf<{ id: string; name: string; defaultCurrency: string }>(
      'POST',
      '/api/v1/stores',
      token(adminKey),
      {
        name: 'Corner Café',
        defaultCurrency: 'EUR',
      },
    )
    expect(store.status).toBe(200)
    expect(store.json.defaultCurrency).toBe('EUR')
    storeId = store.json.id
    // canmodifystoresettings includes canviewinvoices but not cancreateinvoice's sibling of
    // another store: a key scoped to one store cannot touch another.
    const other = await gf<{ id: string }>('POST', '/api/v1/stores', token(adminKey), {
      name: 'Other',
    })
    const scoped = await gf<{ apiKey: string }>(
      'POST',
      '/api/v1/api-keys',
      basic(email, password),
      {
        permissions: [`btcpay.store.canviewinvoices:${storeId}`],
      },
    )
    expect(
      (await gf('GET', `/api/v1/stores/${storeId}/invoices`, token(scoped.json.apiKey))).status,
    ).toBe(200)
    const forbidden = await gf<{ code: string }>(
      'GET',
      `/api/v1/stores/${other.json.id}/invoices`,
      token(scoped.json.apiKey),
    )
    expect(forbidden.status).toBe(403)
    expect(forbidden.json.code).toBe('missing-permission')
    expect(
      (
        await gf('POST', `/api/v1/stores/${storeId}/invoices`, token(scoped.json.apiKey), {
          amount: '1',
        })
      ).status,
    ).toBe(403)
  })

  it('connects Lightning by lnd-rest with the pinned certificate and refuses a wrong thumbprint', async () => {
    const shop = net.nodes.shop!
    const thumb = createHash('sha256').update(new X509Certificate(shop.cert).raw).digest('hex')
    const cs = (t: string) =>
      `type=lnd-rest;server=${shop.restUrl}/;macaroon=${shop.macaroons.invoice.toString('hex')};certthumbprint=${t}`
    const wrong = await gf(
      'PUT',
      `/api/v1/stores/${storeId}/payment-methods/BTC-LN`,
      token(adminKey),
      {
        enabled: true,
        config: { connectionString: cs('00'.repeat(32)) },
      },
    )
    expect(wrong.status).toBe(200) // BTCPay accepts it; it fails when an invoice needs LND
    const fails = await gf<{ code: string; message: string }>(
      'POST',
      `/api/v1/stores/${storeId}/invoices`,
      token(adminKey),
      { amount: '1', currency: 'EUR' },
    )
    expect(fails.status).toBe(400)
    expect(fails.json.message).toMatch(/thumbprint/)
    const badCs = await gf<{ path: string }[]>(
      'PUT',
      `/api/v1/stores/${storeId}/payment-methods/BTC-LN`,
      token(adminKey),
      {
        config: { connectionString: 'type=lnd-rest;server=http://x/' },
      },
    )
    expect(badCs.status).toBe(422)
    const right = await gf<{ enabled: boolean; config: { connectionString: string } }>(
      'PUT',
      `/api/v1/stores/${storeId}/payment-methods/BTC-LN`,
      token(adminKey),
      {
        enabled: true,
        config: { connectionString: cs(thumb) },
      },
    )
    expect(right.status).toBe(200)
    const chain = await gf(
      'PUT',
      `/api/v1/stores/${storeId}/payment-methods/BTC-CHAIN`,
      token(adminKey),
      {
        enabled: true,
        config: { derivationScheme: VPUB, label: 'box wallet' },
      },
    )
    expect(chain.status).toBe(200)
    const xprv = await gf(
      'PUT',
      `/api/v1/stores/${storeId}/payment-methods/BTC-CHAIN`,
      token(adminKey),
      {
        config: {
          derivationScheme:
            'tprv8ZgxMBicQKsPd7Uf69XL1XwhmjHopUGep8GuEiJDZmbQz6o58LninorQAfcKZWARbtRtfnLcJ5MQ2AtHcQJCCRUcMRvmDUjyEmNUWwx8UbK',
        },
      },
    )
    expect(xprv.status).toBe(422)
  })

  it('settles an invoice paid over Lightning and delivers signed webhooks, retrying failures', async () => {
    const wh = await gf<{ id: string; secret: string }>(
      'POST',
      `/api/v1/stores/${storeId}/webhooks`,
      token(adminKey),
      {
        url: hookUrl,
        secret: 'hook secret',
        authorizedEvents: { everything: false, specificEvents: ['InvoiceSettled'] },
      },
    )
    expect(wh.json.secret).toBe('hook secret')
    failNext = 1
    const inv = await gf<{ id: string; status: string; amount: string }>(
      'POST',
      `/api/v1/stores/${storeId}/invoices`,
      token(adminKey),
      {
        amount: '9', // EUR at 90 000 → 10 000 sat
        currency: 'EUR',
        metadata: { orderId: 'order-1', itemDesc: 'Coffee' },
      },
    )
    expect(inv.status).toBe(200)
    expect(inv.json.status).toBe('New')
    const pms = await gf<{ paymentMethodId: string; destination: string; amount: string }[]>(
      'GET',
      `/api/v1/invoices/${inv.json.id}/payment-methods`,
      token(adminKey),
    )
    const lnPm = pms.json.find((p) => p.paymentMethodId === 'BTC-LN')!
    expect(lnPm.amount).toBe('0.0001')
    expect(pms.json.find((p) => p.paymentMethodId === 'BTC-CHAIN')!.destination).toMatch(/^bcrt1q/)
    const customer = ln.authenticatedLndGrpc(net.nodes.customer!.lnServiceAuth()).lnd
    await ln.pay({ lnd: customer, request: lnPm.destination })
    await until(async () => {
      const r = await gf<{ status: string }>(
        'GET',
        `/api/v1/invoices/${inv.json.id}`,
        token(adminKey),
      )
      return r.json.status === 'Settled' ? r : undefined
    }, 'settled')
    // First delivery answered 500, the redelivery 200: two requests, same event, valid HMACs.
    await until(() => (received.length >= 2 ? true : undefined), 'redelivery')
    for (const r of received) {
      expect(r.sig).toBe(
        `sha256=${createHmac('sha256', 'hook secret').update(r.body).digest('hex')}`,
      )
      const e = JSON.parse(r.body) as {
        type: string
        invoiceId: string
        metadata: { orderId: string }
      }
      expect(e.type).toBe('InvoiceSettled')
      expect(e.invoiceId).toBe(inv.json.id)
    }
    const [a, b] = received.map(
      (r) =>
        JSON.parse(r.body) as {
          deliveryId: string
          originalDeliveryId: string
          isRedelivery: boolean
        },
    )
    expect(b!.isRedelivery).toBe(true)
    expect(b!.originalDeliveryId).toBe(a!.deliveryId)
    const deliveries = await gf<{ status: string }[]>(
      'GET',
      `/api/v1/webhooks/${wh.json.id}/deliveries`,
      token(adminKey),
    )
    expect(deliveries.json.map((d) => d.status)).toEqual(['HttpSuccess', 'HttpError'])
    const search = await gf<{ id: string }[]>(
      'GET',
      `/api/v1/stores/${storeId}/invoices?textSearch=order-1&status=Settled`,
      token(adminKey),
    )
    expect(search.json.map((i) => i.id)).toEqual([inv.json.id])
  })

  it('marks an invoice Settled by the store path (markInvoiceStatus) with the box’s key only', async () => {
    const key = async (permission: string) =>
      (
        await gf<{ apiKey: string }>('POST', '/api/v1/api-keys', basic(email, password), {
          permissions: [permission],
        })
      ).json.apiKey
    // The box's key: canmodifystoresettings on its one store, which includes canmodifyinvoices.
    const box = await key(`btcpay.store.canmodifystoresettings:${storeId}`)
    const viewer = await key(`btcpay.store.canviewinvoices:${storeId}`)
    const inv = await gf<{ id: string }>(
      'POST',
      `/api/v1/stores/${storeId}/invoices`,
      token(adminKey),
      { amount: '1000', currency: 'SATS' },
    )
    const path = `/api/v1/stores/${storeId}/invoices/${inv.json.id}/status`
    const refused = await gf<{ code: string }>('POST', path, token(viewer), { status: 'Settled' })
    expect(refused.status).toBe(403)
    expect(refused.json.code).toBe('missing-permission')
    const other = await gf<{ id: string }>('POST', '/api/v1/stores', token(adminKey), {
      name: 'Another shop',
    })
    expect(
      (
        await gf(
          'POST',
          `/api/v1/stores/${other.json.id}/invoices/${inv.json.id}/status`,
          token(adminKey),
          {
            status: 'Settled',
          },
        )
      ).status,
    ).toBe(404)
    const marked = await gf<{ status: string; additionalStatus: string }>(
      'POST',
      path,
      token(box),
      {
        status: 'Settled',
      },
    )
    expect(marked.status).toBe(200)
    expect(marked.json).toMatchObject({ status: 'Settled', additionalStatus: 'Marked' })
    // Marking it Settled again is refused as BTCPay does (the state would not change).
    const again = await gf<{ code: string }>('POST', path, token(box), { status: 'Settled' })
    expect(again.status).toBe(400)
    expect(again.json.code).toBe('invoice-state-unchanged')
  })

  it('marks invoices, refunds through a pull payment, and pays out after approval', async () => {
    const inv = await gf<{ id: string }>(
      'POST',
      `/api/v1/stores/${storeId}/invoices`,
      token(adminKey),
      { amount: '1000', currency: 'SATS' },
    )
    const marked = await gf<{ status: string; additionalStatus: string }>(
      'POST',
      `/api/v1/invoices/${inv.json.id}/status`,
      token(adminKey),
      { status: 'Settled' },
    )
    expect(marked.json).toMatchObject({ status: 'Settled', additionalStatus: 'Marked' })
    const refund = await gf<{
      id: string
      amount: string
      currency: string
      autoApproveClaims: boolean
    }>('POST', `/api/v1/invoices/${inv.json.id}/refund`, token(adminKey), {
      refundVariant: 'Fiat',
      payoutMethodId: 'BTC-CHAIN',
    })
    expect(refund.json).toMatchObject({ amount: '1000', currency: 'SATS' })
    const claim = await gf<{ state: string }>(
      'POST',
      `/api/v1/pull-payments/${refund.json.id}/payouts`,
      null,
      {
        destination: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080',
        payoutMethodId: 'BTC-CHAIN',
        amount: '2000',
      },
    )
    expect(claim.status).toBe(422) // over the limit
    const pp = await gf<{ id: string }>(
      'POST',
      `/api/v1/stores/${storeId}/pull-payments`,
      token(adminKey),
      { name: 'Reward', amount: '500', currency: 'SATS' },
    )
    const payout = await gf<{ id: string; state: string; revision: number }>(
      'POST',
      `/api/v1/pull-payments/${pp.json.id}/payouts`,
      null,
      {
        destination: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080',
        payoutMethodId: 'BTC-CHAIN',
      },
    )
    expect(payout.json.state).toBe('AwaitingApproval')
    const approved = await gf<{ state: string; payoutAmount: string }>(
      'POST',
      `/api/v1/stores/${storeId}/payouts/${payout.json.id}`,
      token(adminKey),
      { revision: 0 },
    )
    expect(approved.json).toMatchObject({ state: 'AwaitingPayment', payoutAmount: '0.000005' })
    expect(
      (
        await gf(
          'POST',
          `/api/v1/stores/${storeId}/payouts/${payout.json.id}/mark-paid`,
          token(adminKey),
        )
      ).status,
    ).toBe(200)
    const done = await gf<{ state: string }>(
      'GET',
      `/api/v1/payouts/${payout.json.id}`,
      token(adminKey),
    )
    expect(done.json.state).toBe('Completed')
    const pos = await gf<{ id: string; appType: string }>(
      'POST',
      `/api/v1/stores/${storeId}/apps/pos`,
      token(adminKey),
      { appName: 'Till', currency: 'EUR' },
    )
    expect(pos.json.appType).toBe('PointOfSale')
    expect((await fetch(`${btcpay.url}/apps/${pos.json.id}/pos`)).status).toBe(200)
  })
})
