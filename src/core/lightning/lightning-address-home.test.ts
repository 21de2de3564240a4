// The Lightning address follows the one reach setting (Settings → Reachability), and is offered
// only where wallets look it up: `name@domain` on port 443. Elsewhere the owner reads why.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LightningAddressView } from '../../shared/api/wallet-service'
import { ReachSettingsSchema } from '../../shared/reach'
import { defaultSettings } from '../../shared/settings'
import { createEngine, type Engine } from '../engine/engine'
import { saveSettingsFile } from '../engine/stack-module'
import { silentLogger } from '../log'
import { walletServiceModule, type WalletServiceModule } from './wallet-service-module'

const CTX = { transport: 'internal' } as const
let dir = ''
let engine: Engine

const withReach = (reach: unknown) =>
  saveSettingsFile(dir, {
    ...defaultSettings(join(dir, 'stack')),
    reach: ReachSettingsSchema.parse(reach),
  })
const address = async () =>
  (await engine.call('walletService', 'lightningAddress', {}, CTX)) as LightningAddressView

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ln-address-home-'))
  engine = await createEngine({
    dataDir: dir,
    log: silentLogger,
    modules: [walletServiceModule({ loopMs: 60_000 })],
  })
  await engine.call(
    'walletService',
    'setLightningAddress',
    { enabled: true, name: 'shop', minSendableSat: 1, maxSendableSat: 100_000 },
    CTX,
  )
})
afterEach(async () => {
  await engine.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('the Lightning address follows Settings → Reachability', () => {
  it('name@<public address>, also when the headless server listens elsewhere', async () => {
    ;(engine.module('walletService') as WalletServiceModule).servedAt('http://127.0.0.1:8347')
    withReach({ publicAddress: { baseUrl: 'https://shop.example.com', tlsBeforeBox: true } })
    const v = await address()
    expect(v.address).toBe('shop@shop.example.com')
    expect(v.url).toBe('https://shop.example.com/.well-known/lnurlp/shop')
    expect(v.problem).toBeUndefined()
    const pay = await (engine.module('walletService') as WalletServiceModule).lnurlpResponse('shop')
    expect(pay.status).toBe(200)
    expect(JSON.parse(pay.body)).toMatchObject({
      callback: 'https://shop.example.com/lnurlp/shop/callback',
    })
  })

  it('name@<name>.local in LAN mode on port 443', async () => {
    withReach({ lan: { interface: 'eth0', name: 'shop', port: 443 } })
    expect((await address()).address).toBe('shop@shop.local')
  })

  it('none on LAN port 8443: the owner reads why and what to change; LNURL answers 404', async () => {
    withReach({ lan: { interface: 'eth0', name: 'shop', port: 8443 } })
    const v = await address()
    expect(v.address).toBeUndefined()
    expect(v.qr).toBeUndefined()
    expect(v.problem?.code).toBe('reach.names_need_standard_port')
    expect(v.problem?.hint).toBe(
      'To offer them on the shop’s Wi-Fi, set the shop port to 443 under Settings → Reachability.',
    )
    const pay = await (engine.module('walletService') as WalletServiceModule).lnurlpResponse('shop')
    expect(pay.status).toBe(404)
  })
})
