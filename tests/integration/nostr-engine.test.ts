// The production wiring of the nostr module inside one engine, beside the embedded relay module:
// it finds the box relay by itself, lists it as the box's own (not removable), makes the box's
// identity a relay admin (so it may create staff groups under the default policy), publishes
// the business profile, and answers NIP-05 for the configured names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { silentLogger } from '../../src/core/log'
import { relayModule } from '../../src/core/relay/relay-module'
import { nostrModule, type NostrModule } from '../../src/core/nostr/nostr-module'
import type { ConversationSummary, Identity, RelayInfo } from '../../src/shared/api/nostr'
import { eventually } from './eventually'

const internal = { transport: 'internal' as const }
let dir: string
let engine: Engine
const call = <T>(procedure: string, input: unknown = {}, domain = 'nostr') =>
  engine.call(domain, procedure, input, internal) as Promise<T>

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nostr-engine-'))
  engine = await createEngine({
    dataDir: dir,
    log: silentLogger,
    modules: [relayModule({ port: 0 }), nostrModule],
  })
})

afterAll(async () => {
  await engine?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('nostr module in the engine', () => {
  let me: Identity

  it('uses the embedded relay as the box relay', async () => {
    me = (await call<{ identity: Identity }>('createKey', { passphrase: 'shop passphrase' }))
      .identity
    const relays = await eventually(
      async () => {
        const r = await call<RelayInfo[]>('relays')
        return r.length === 1 && r[0]!.health.connected ? r : undefined
      },
      'the box relay to connect',
      { retryErrors: true },
    )
    expect(relays[0]!.role).toBe('box')
    expect(relays[0]!.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+/)
    await expect(call('removeRelay', { url: relays[0]!.url })).rejects.toMatchObject({
      code: 'nostr.box_relay',
    })
  })

  it('makes the box identity a relay admin, so it can create a staff group', async () => {
    await eventually(
      async () => {
        const s = await call<{ adminPubkeys: string[] }>('status', {}, 'relay')
        return s.adminPubkeys.includes(me.pubkey!)
      },
      'admin registration',
      { retryErrors: true },
    )
    const group = await call<ConversationSummary>('createGroup', { name: 'Staff' })
    expect(group.title).toBe('Staff')
  })

  it('publishes the business profile and answers NIP-05', async () => {
    const out = await call<{ delivery: { status: string }[] }>('setProfile', {
      name: 'Corner Bakery',
      about: 'Bread and coffee',
      nip05: 'shop@bakery.example',
      lud16: 'shop@bakery.example',
    })
    expect(out.delivery.map((d) => d.status)).toEqual(['ok'])
    expect((await call<{ profile: { name: string } }>('getProfile')).profile.name).toBe(
      'Corner Bakery',
    )
    await expect(call('setProfile', { website: 'javascript:alert(1)' })).rejects.toMatchObject({
      code: 'api.bad_input',
    })
    await call('setNip05Names', { names: { shop: me.pubkey } })
    const mod = engine.module('nostr') as NostrModule
    const res = mod.nip05Response('shop')
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body).names).toEqual({ shop: me.pubkey })
  })
})
