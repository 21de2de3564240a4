// NWC connection strings name the box's relay where an app on a phone reaches it: the relay URL
// Settings → Reachability publishes. The service itself keeps reaching its own relay over the
// local URL (never out through the front door and back in).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CreatedNwcConnection, NwcConnectionView } from '../../shared/api/wallet-service'
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

  it('the address changes: a connection made before is still served on the box’s relay, never through its old address, and says where the relay is now', async () => {
    withReach({ publicAddress: { baseUrl: 'https://shop.example.com', tlsBeforeBox: true } })
    const before = await connect()
    expect(before.connection.boxRelayNow).toBeUndefined()
    withReach({ publicAddress: { baseUrl: 'https://new.example.org', tlsBeforeBox: true } })
    const after = await connect()
    expect(relayParams(after.uri)).toEqual(['wss://new.example.org'])
    // The service holds its own relay over the local URL only: not the old address, not the new.
    const pool = await poolRelays()
    expect(pool).toContain(LOCAL_RELAY.replace(/\/?$/, '/'))
    expect(pool.some((u) => /shop\.example\.com|new\.example\.org/.test(u))).toBe(false)
    const listed = (await engine.call(
      'walletService',
      'connections',
      {},
      CTX,
    )) as NwcConnectionView[]
    const old = listed.find((c) => c.id === before.connection.id)!
    expect(old.relays).toEqual(['wss://shop.example.com'])
    expect(old.boxRelayNow).toBe('wss://new.example.org')
    expect(listed.find((c) => c.id === after.connection.id)!.boxRelayNow).toBeUndefined()
    // Revoked, there is nothing to tell.
    const revoked = (await engine.call(
      'walletService',
      'revokeConnection',
      { id: before.connection.id },
      CTX,
    )) as NwcConnectionView[]
    expect(revoked.find((c) => c.id === before.connection.id)!.boxRelayNow).toBeUndefined()
  })

  it('a connection made before the box kept which relay is its own is recognised while the address is unchanged', async () => {
    withReach({ publicAddress: { baseUrl: 'https://shop.example.com', tlsBeforeBox: true } })
    const made = await connect()
    // As an earlier version stored it: no record of which relay is the box's.
    const db = new DatabaseSync(join(dir, 'lightning', 'nwc.db'))
    db.prepare('UPDATE connections SET box_relay = NULL').run()
    db.close()
    // The service's next pass (here: the next connection made) recognises it by today's address.
    await connect()
    withReach({ publicAddress: { baseUrl: 'https://new.example.org', tlsBeforeBox: true } })
    await connect()
    expect((await poolRelays()).some((u) => u.includes('shop.example.com'))).toBe(false)
    const listed = (await engine.call(
      'walletService',
      'connections',
      {},
      CTX,
    )) as NwcConnectionView[]
    expect(listed.find((c) => c.id === made.connection.id)!.boxRelayNow).toBe(
      'wss://new.example.org',
    )
  })

  it('nothing published: the local relay, which only apps on this computer reach', async () => {
    const made = await connect()
    expect(relayParams(made.uri)).toEqual([LOCAL_RELAY])
  })
})
