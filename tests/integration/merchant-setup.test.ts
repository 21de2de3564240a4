// The box sets up BTCPay (the Greenfield SIMULATOR, tests/simulators/btcpay) through its saga,
// with Lightning on a world LND over lnd-rest. The saga runs in a child process that is SIGKILLed
// between steps; re-runs continue and BTCPay ends with one store, one key, one webhook, one PoS.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readSetupRecord, SETUP_STEPS } from '../../src/core/merchant/btcpay-setup-saga'
import { boxKeyFor } from '../../src/core/secrets/box-key'
import { readCredentials } from '../../src/core/merchant/btcpay-setup-saga'
import { startBtcpaySimulator, type BtcpaySimulator } from '../simulators/btcpay'
import { appsOf } from '../simulators/btcpay/apps'
import { storesOf } from '../simulators/btcpay/stores'
import { methodsOf } from '../simulators/btcpay/payment-methods'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OWNER = 'correct horse battery staple'
const VPUB =
  'vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc'

let dir: string
let net: LightningNetwork
let btcpay: BtcpaySimulator
const children = new Set<ChildProcessWithoutNullStreams>()

function env(): Record<string, string> {
  const shop = net.nodes.shop!
  return {
    DATA_DIR: join(dir, 'box'),
    MERCHANT_DIR: join(dir, 'box', 'merchant'),
    OWNER_PASSWORD: OWNER,
    BTCPAY_URL: btcpay.url,
    LND_SERVER: `${shop.restUrl}/`,
    MACAROON_HEX: shop.macaroons.invoice.toString('hex'),
    THUMBPRINT: createHash('sha256').update(new X509Certificate(shop.cert).raw).digest('hex'),
    SCHEME: VPUB,
    WEBHOOK_URL: 'http://127.0.0.1:9/merchant/btcpay-webhook',
    SHOP: 'Corner Café',
  }
}

/** Runs the saga in a child; with `killAfter`, SIGKILLs it while it waits after that step. */
function runSaga(killAfter?: string): Promise<string[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tests/integration/merchant-setup-child.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env(), PAUSE: killAfter ? '1' : '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  children.add(child)
  const seen: string[] = []
  let buf = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`saga child timed out; saw ${seen.join(', ')}; ${err}`))
    }, 60_000)
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        seen.push(line)
        if (killAfter && line === `done ${killAfter}`) child.kill('SIGKILL')
        else if (killAfter && line.startsWith('done ')) child.stdin.write('go\n')
      }
    })
    child.on('exit', () => {
      clearTimeout(timer)
      children.delete(child)
      resolve(seen)
    })
  })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-merchant-setup-'))
  net = await startLightningNetwork({
    chain: new Chain(),
    dir: join(dir, 'ln'),
    nodes: ['shop'],
    log: () => undefined,
  })
  btcpay = await startBtcpaySimulator({ network: 'regtest' })
}, 120_000)

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await btcpay?.close()
  await net?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('BTCPay set-up saga (Greenfield simulator)', () => {
  it('continues after SIGKILLs between steps and leaves no duplicate store, key, webhook or PoS', async () => {
    const first = await runSaga('store')
    expect(first).toEqual(['done admin', 'done store'])
    expect(readSetupRecord(join(dir, 'box', 'merchant'))!.done).toEqual(['admin', 'store'])

    const second = await runSaga('webhook')
    // The re-run starts at the first step not recorded.
    expect(second).toEqual(['done apiKey', 'done lightning', 'done onchain', 'done webhook'])

    const third = await runSaga()
    expect(third).toEqual(['done pointOfSale', 'finished'])
    expect(await runSaga()).toEqual(['finished']) // a fourth run has nothing left to do

    const sim = btcpay.sim
    expect(sim.users.size).toBe(1)
    expect(storesOf(sim).size).toBe(1)
    expect(sim.apiKeys.size).toBe(1)
    expect(appsOf(sim).size).toBe(1)
    const hooks = (await (
      await fetch(`${btcpay.url}/api/v1/stores/${[...storesOf(sim).keys()][0]}/webhooks`, {
        headers: { authorization: `token ${[...sim.apiKeys.keys()][0]}` },
      })
    ).json()) as {
      url: string
      authorizedEvents: { everything: boolean; specificEvents: string[] }
    }[]
    expect(hooks).toHaveLength(1)
    // Only the invoice events the box acts on: one signed delivery per paid sale, not four.
    expect(hooks[0]!.authorizedEvents).toEqual({
      everything: false,
      specificEvents: ['InvoiceProcessing', 'InvoiceSettled', 'InvoiceExpired', 'InvoiceInvalid'],
    })

    const rec = readSetupRecord(join(dir, 'box', 'merchant'))!
    expect(rec.done).toEqual([...SETUP_STEPS])
    expect(storesOf(sim).get(rec.storeId!)!.name).toBe('Corner Café')
    expect(storesOf(sim).get(rec.storeId!)!.defaultCurrency).toBe('EUR')
  }, 180_000)

  it('keeps the credentials sealed, the key limited to the store, and Lightning pinned', async () => {
    const mdir = join(dir, 'box', 'merchant')
    const file = join(mdir, 'btcpay-credentials.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const box = boxKeyFor(join(dir, 'box'))
    await box.enterPassword(OWNER)
    const creds = readCredentials(box, mdir)!
    const onDisk = readFileSync(file, 'utf8') + readFileSync(join(mdir, 'setup.json'), 'utf8')
    for (const s of [creds.adminPassword, creds.apiKey!, creds.webhookSecret!])
      expect(onDisk).not.toContain(s)

    const key = btcpay.sim.apiKeys.get(creds.apiKey!)!
    const storeId = readSetupRecord(mdir)!.storeId!
    expect(key.permissions).toEqual([`btcpay.store.canmodifystoresettings:${storeId}`])
    const asBox = (path: string, method = 'GET', body?: unknown) =>
      fetch(btcpay.url + path, {
        method,
        headers: { authorization: `token ${creds.apiKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    // No server rights, no other store.
    const users = await asBox('/api/v1/users')
    expect(users.status).toBe(403)
    expect(((await users.json()) as { code: string }).code).toBe('missing-permission')
    expect((await asBox('/api/v1/stores', 'POST', { name: 'Another' })).status).toBe(403)

    const ln = methodsOf(btcpay.sim).get(storeId)!.get('BTC-LN')!
    expect(ln.kind).toBe('ln')
    const cs = (ln as { connectionString: string }).connectionString
    expect(cs).toMatch(
      /^type=lnd-rest;server=https:\/\/.*;macaroon=[0-9a-f]+;certthumbprint=[0-9a-f]{64}$/,
    )
    expect(cs).not.toMatch(/allowinsecure/i)
    const chain = methodsOf(btcpay.sim).get(storeId)!.get('BTC-CHAIN') as {
      derivationScheme: string
    }
    expect(chain.derivationScheme).toBe(VPUB)
  })
})
