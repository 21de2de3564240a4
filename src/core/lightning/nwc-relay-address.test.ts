// NWC connection strings name the box's relay where an app on a phone reaches it: the relay URL
// Settings → Reachability publishes. The service itself keeps reaching its own relay over the
// local URL (never out through the front door and back in).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CreatedNwcConnection } from '../../shared/api/wallet-service'
import { ReachSettingsSchema } from '../../shared/reach'
import { defaultSettings } from '../../shared/settings'
import { createEngine, type Engine } from '../engine/engine'
import type { EngineModule } from '../engine/module'
import { saveSettingsFile } from '../engine/stack-module'
import { silentLogger } from '../log'
import { walletServiceModule } from './wallet-service-module'

const CTX = { transport: 'internal' } as const
// Nothing listens there: the pool only has to be told which relays to hold.
const LOCAL_RELAY = 'ws://127.0.0.1:9'
let dir = ''
let engine: Engine

const relayModule = (): EngineModule =>
  ({
    name: 'relay',
    url: LOCAL_RELAY,
    start: async () => {},
    stop: async () => {},
    handlers: {},
  }) as unknown as EngineModule
const withReach = (reach: unknown) =>
  saveSettingsFile(dir, {
    ...defaultSettings(join(dir, 'stack')),
    reach: ReachSettingsSchema.parse(reach),
  })
const connect = async () =>
  (await engine.call(
    'walletService',
    'createConnection',
    { name: 'Phone', methods: ['get_balance'], budgetSat: 1000, budgetPeriod: 'daily' },
    CTX,
  )) as CreatedNwcConnection
const relayParams = (uri: string) =>
  new URL(uri.replace('nostr+walletconnect://', 'http://')).searchParams.getAll('relay')
const poolRelays = async () =>
  (
    (await engine.call('walletService', 'status', {}, CTX)) as {
      relays: { url: string }[]
    }
  ).relays.map((r) => r.url)

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nwc-relay-address-'))
  engine = await createEngine({
    dataDir: dir,
    log: silentLogger,
    modules: [() => relayModule(), walletServiceModule({ loopMs: 60_000 })],
  })
})
afterEach(async () => {
  await engine.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('the NWC relay follows Settings → Reachability', () => {
  it('a public address: the app gets wss://<public address>, the service stays on the local relay', async () => {
    withReach({ publicAddress: { baseUrl: 'https://shop.example.com', tlsBeforeBox: true } })
    const made = await connect()
    expect(relayParams(made.uri)).toEqual(['wss://shop.example.com'])
    expect(made.connection.relays).toEqual(['wss://shop.example.com'])
    const pool = await poolRelays()
    expect(pool).toContain(LOCAL_RELAY.replace(/\/?$/, '/'))
    expect(pool.some((u) => u.includes('shop.example.com'))).toBe(false)
  })

  it('LAN mode: the app gets the LAN name and port', async () => {
    withReach({ lan: { interface: 'eth0', name: 'flashbox', port: 8443 } })
    const made = await connect()
    expect(relayParams(made.uri)).toEqual(['wss://flashbox.local:8443'])
    expect((await poolRelays()).some((u) => u.includes('flashbox.local'))).toBe(false)
  })

  it('nothing published: the local relay, which only apps on this computer reach', async () => {
    const made = await connect()
    expect(relayParams(made.uri)).toEqual([LOCAL_RELAY])
  })
})
