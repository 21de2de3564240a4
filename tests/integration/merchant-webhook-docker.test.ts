// BTCPay's webhooks reach the box from a container, on the REAL Docker Engine. The merchant
// module finds the stack network's gateway (here a test network), listens there, and the set-up
// registers that address with BTCPay (the Greenfield simulator). A container on the network — a
// stand-in for BTCPay's, built locally on the node base image — posts a signed webhook, which the
// box accepts and acts on; the same post with a bad HMAC is refused and logged; a container on
// another network is refused even with the right HMAC; nothing listens on 127.0.0.1. (A process
// on this host reaching the gateway address may come from another of the host's addresses and is
// refused too: only the stack network's containers are answered.)
// Everything made here is labelled io.flashbox.test=1 and removed.
import { execFile } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Engine } from '../../src/core/engine/engine'
import { createLogger } from '../../src/core/log'
import { boxKeyFor } from '../../src/core/secrets/box-key'
import type { MerchantModule } from '../../src/core/merchant/merchant-module'
import { readCredentials, readSetupRecord } from '../../src/core/merchant/btcpay-setup-saga'
import { inSubnet, stackGateway, type StackGateway } from '../../src/core/merchant/webhook-route'
import type { EngineEvent } from '../../src/shared/api/events'
import type { MerchantInvoice, MerchantStatus } from '../../src/shared/api/merchant'
import { buildTestImage, TEST_LABEL, type BuiltImage } from '../images/build'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { CTX, startMerchantEngine } from './merchant-harness'

const run = promisify(execFile)
const tag = randomBytes(4).toString('hex')
const stackNet = `flashbox-test-webhook-${tag}`
const otherNet = `flashbox-test-webhook-other-${tag}`

/** What the stand-in for BTCPay's container runs: posts each request, prints each status. */
const POSTER = `
const url = process.env.URL
for (const r of JSON.parse(process.env.REQUESTS)) {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(r.sig ? { 'BTCPay-Sig': r.sig } : {}) },
      body: r.body,
      signal: AbortSignal.timeout(5000),
    })
    console.log(JSON.stringify({ name: r.name, status: res.status }))
  } catch (err) {
    console.log(JSON.stringify({ name: r.name, error: String(err.cause?.code ?? err.message) }))
  }
}
`

const docker = new Docker()
let dir: string
let net: LightningNetwork
let btcpay: BtcpaySimulator
let engine: Engine
let image: BuiltImage
let gateway: StackGateway
const logLines: string[] = []
const events: EngineEvent[] = []

const call = <T>(procedure: string, input: unknown = {}) =>
  engine.call('merchant', procedure, input, CTX) as Promise<T>

/** Runs the poster in a fresh container on `network`; its output lines. */
async function post(
  network: string,
  url: string,
  requests: { name: string; body: string; sig?: string }[],
) {
  const { stdout } = await run(
    'docker',
    [
      'run',
      '--rm',
      '--name',
      `flashbox-test-webhook-poster-${randomBytes(4).toString('hex')}`,
      '--label',
      `${TEST_LABEL}=1`,
      '--network',
      network,
      '-e',
      `URL=${url}`,
      '-e',
      `REQUESTS=${JSON.stringify(requests)}`,
      image.tag,
    ],
    { timeout: 20_000 },
  )
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; status?: number; error?: string })
}

beforeAll(async () => {
  for (const name of [stackNet, otherNet])
    await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { [TEST_LABEL]: '1' } })
  gateway = (await stackGateway(docker, stackNet))!
  image = buildTestImage(`webhook-poster`, {
    files: { '/app/post.mjs': POSTER },
    cmd: ['/usr/local/bin/node', '/app/post.mjs'],
  })
  dir = mkdtempSync(join(tmpdir(), 'flashbox-webhook-docker-'))
  net = await startLightningNetwork({
    chain: new Chain(),
    dir: join(dir, 'ln'),
    nodes: ['shop'],
    channels: [],
    log: () => undefined,
  })
  btcpay = await startBtcpaySimulator({})
  engine = await startMerchantEngine({
    engineDir: join(dir, 'engine'),
    btcpayUrl: btcpay.url,
    shop: net.nodes.shop!,
    log: createLogger('test', { level: 'debug', sink: (l) => logLines.push(JSON.stringify(l)) }),
    // The test network stands in for the stack's (flashbox-net).
    merchant: { webhookNetwork: () => stackGateway(docker, stackNet) },
  })
  engine.events.subscribe((e) => events.push(e))
  await call('setup', { shopName: 'Corner Café', currency: 'EUR' })
}, 60_000)

afterAll(async () => {
  await engine?.stop()
  await btcpay?.close()
  await net?.close()
  // Only what this file made: its poster containers (already --rm), image and networks.
  const left = await docker.listContainers({
    all: true,
    filters: { label: [`${TEST_LABEL}=1`], name: ['flashbox-test-webhook-poster-'] },
  })
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true })
  if (image)
    await docker
      .getImage(image.tag)
      .remove()
      .catch(() => undefined)
  for (const name of [stackNet, otherNet])
    await docker
      .getNetwork(name)
      .remove()
      .catch(() => undefined)
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('BTCPay webhook from the stack network (real Docker Engine)', () => {
  it('registers the gateway address with BTCPay and listens only there', async () => {
    const m = engine.module('merchant') as unknown as MerchantModule
    const url = new URL(m.webhookUrl())
    expect(url.hostname).toBe(gateway.gateway)
    expect(url.pathname).toBe('/merchant/btcpay-webhook')
    const rec = readSetupRecord(join(dir, 'engine', 'merchant'))!
    expect(rec.webhookUrl).toBe(m.webhookUrl())
    // Not on the host's loopback.
    await expect(
      fetch(`http://127.0.0.1:${url.port}${url.pathname}`, { method: 'POST', body: '{}' }),
    ).rejects.toThrow()
  })

  it('a container on the network posts a signed webhook: accepted; a bad HMAC: refused and logged; a container on another network: refused even with the right HMAC', async () => {
    const sale = await call<MerchantInvoice>('createInvoice', { amount: '4.00' })
    const engineDir = join(dir, 'engine')
    const secret = readCredentials(
      boxKeyFor(engineDir),
      join(engineDir, 'merchant'),
    )!.webhookSecret!
    const event = (id: string) =>
      JSON.stringify({
        deliveryId: id,
        webhookId: 'w',
        originalDeliveryId: id,
        isRedelivery: false,
        type: 'InvoiceProcessing',
        timestamp: Math.floor(Date.now() / 1000),
        storeId: readSetupRecord(join(engineDir, 'merchant'))!.storeId,
        invoiceId: sale.id,
      })
    const sign = (key: string, body: string) =>
      `sha256=${createHmac('sha256', key).update(body).digest('hex')}`
    const good = event('from-container')
    const forged = event('forged')
    const outsider = event('outsider')
    const before = (await call<MerchantStatus>('status')).webhooks
    const m = engine.module('merchant') as unknown as MerchantModule
    const [inside, [outside]] = await Promise.all([
      post(stackNet, m.webhookUrl(), [
        { name: 'signed', body: good, sig: sign(secret, good) },
        { name: 'bad hmac', body: forged, sig: sign('not the secret', forged) },
        { name: 'unsigned', body: forged },
      ]),
      post(otherNet, m.webhookUrl(), [
        { name: 'outsider', body: outsider, sig: sign(secret, outsider) },
      ]),
    ])
    expect(inside).toEqual([
      { name: 'signed', status: 200 },
      { name: 'bad hmac', status: 401 },
      { name: 'unsigned', status: 401 },
    ])
    // The box acted on the signed one only: the sale shows as paid, confirming.
    expect(
      events.some(
        (e) =>
          e.topic === 'merchant' &&
          e.type === 'invoice' &&
          e.invoice.id === sale.id &&
          e.invoice.status === 'Processing',
      ),
    ).toBe(true)
    const after = (await call<MerchantStatus>('status')).webhooks
    expect(after.received).toBeGreaterThanOrEqual(before.received + 1)
    // Each refusal is logged with its reason and where it came from (never the body or secret).
    const refusals = logLines
      .map((l) => JSON.parse(l) as { msg: string; fields?: { reason?: string; from?: string } })
      .filter((l) => l.msg === 'BTCPay webhook refused')
      .map((l) => l.fields!)
    const fromStack = refusals.filter((r) => inSubnet(r.from, gateway.subnet))
    expect(fromStack.map((r) => r.reason)).toEqual(['bad signature', 'no signature'])
    expect(logLines.join('\n')).not.toContain(secret)
    // The other network's container: refused by the subnet check (403), or not even routed to
    // the box by the Engine's rules; either way it was not handled.
    expect(outside!.status === 403 || outside!.error !== undefined).toBe(true)
    if (outside!.status === 403) {
      const other = (await stackGateway(docker, otherNet))!
      expect(refusals.filter((r) => inSubnet(r.from, other.subnet)).map((r) => r.reason)).toEqual([
        'not from the stack network',
      ])
    }
    expect(after.refused).toBeGreaterThanOrEqual(before.refused + 2)
  })
})
