// The relay module inside a real engine: API calls validated by the shared contract, policies
// persisted, lists, rejections, an online backup, and a clear problem when the port is taken.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { createEngine, type Engine } from '../engine/engine'
import { silentLogger } from '../log'
import type { EngineEvent } from '../../shared/api/events'
import type { RelayBackup, RelayLists, RelayRejection, RelayStatus } from '../../shared/api/relay'
import { relayModule } from './relay-module'
import { saveSettingsFile } from '../engine/stack-module'
import { defaultSettings } from '../../shared/settings'

const ctx = { transport: 'internal' as const }
const dirs: string[] = []
const engines: Engine[] = []
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function engine(dataDir?: string, port = 0) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'flashbox-relaymod-'))
  if (!dataDir) dirs.push(dir)
  const e = await createEngine({
    dataDir: dir,
    log: silentLogger,
    modules: [relayModule({ port, restartBaseMs: 100 })],
  })
  engines.push(e)
  return { e, dir }
}

function publish(url: string, ev: object): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.on('open', () => ws.send(JSON.stringify(['EVENT', ev])))
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as unknown[]
      if (m[0] === 'OK') {
        ws.close()
        resolve(m)
      }
    })
    ws.on('error', reject)
  })
}

describe('relay engine module', () => {
  it('runs the relay in its own process, and restarts it when it dies', async () => {
    const { e } = await engine()
    const s = (await e.call('relay', 'status', {}, ctx)) as RelayStatus
    expect(s.running).toBe(true)
    const pid = s.process?.pid
    // Not the engine: the relay that faces the internet never holds the engine's keys.
    expect(pid).toBeGreaterThan(0)
    expect(pid).not.toBe(process.pid)
    expect(s.process?.restarts).toBe(0)
    const key = generateSecretKey()
    const ev = finalizeEvent(
      { kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content: 'before' },
      key,
    )
    expect((await publish(s.url!, ev))[2]).toBe(true)

    process.kill(pid!, 'SIGKILL')
    await expect
      .poll(
        async () => {
          const now = (await e.call('relay', 'status', {}, ctx)) as RelayStatus
          return now.running && now.process?.pid !== pid ? now.process : undefined
        },
        { timeout: 30_000, interval: 200 },
      )
      .toMatchObject({ running: true, restarts: 1, lastExit: { signal: 'SIGKILL' } })
    const after = (await e.call('relay', 'status', {}, ctx)) as RelayStatus
    expect(after.eventsStored).toBeGreaterThanOrEqual(1)
    // Same database, same key, new process.
    expect(after.relayPubkey).toBe(s.relayPubkey)
  }, 60_000) // the restart is polled for up to 30 s: a loaded machine needs more than the 20 s default

  it('runs the relay and reports status, policies, lists, rejections and events', async () => {
    const { e, dir } = await engine()
    const events: EngineEvent[] = []
    e.events.subscribe((ev) => events.push(ev), ['relay'])
    const s = (await e.call('relay', 'status', {}, ctx)) as RelayStatus
    expect(s.running).toBe(true)
    expect(s.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    expect(s.supportedNips).toContain(29)

    const sk = generateSecretKey()
    const pk = getPublicKey(sk)
    const ok = await publish(
      s.url!,
      finalizeEvent(
        { kind: 1, content: 'hi', tags: [], created_at: Math.floor(Date.now() / 1000) },
        sk,
      ),
    )
    expect(ok[2]).toBe(true)
    expect(((await e.call('relay', 'status', {}, ctx)) as RelayStatus).eventsStored).toBe(1)

    // Members-only writes, then a refusal shows up with its reason, as an API answer and an event.
    await e.call('relay', 'setPolicies', { policies: { writes: 'allow-list' } }, ctx)
    const refused = await publish(
      s.url!,
      finalizeEvent(
        { kind: 1, content: 'no', tags: [], created_at: Math.floor(Date.now() / 1000) },
        sk,
      ),
    )
    expect(refused[2]).toBe(false)
    const rej = (await e.call('relay', 'rejections', {}, ctx)) as RelayRejection[]
    expect(rej[0]).toMatchObject({
      what: 'event',
      reason: expect.stringMatching(/^restricted: /),
      pubkey: pk,
    })
    expect(events.some((x) => x.topic === 'relay' && x.type === 'rejection')).toBe(true)

    const lists = (await e.call(
      'relay',
      'editList',
      { list: 'allowed-pubkey', action: 'add', value: pk, reason: 'owner' },
      ctx,
    )) as RelayLists
    expect(lists.allowedPubkeys.map((x) => x.value)).toEqual([pk])
    const again = await publish(
      s.url!,
      finalizeEvent(
        { kind: 1, content: 'yes', tags: [], created_at: Math.floor(Date.now() / 1000) },
        sk,
      ),
    )
    expect(again[2]).toBe(true)

    // Bad input is refused at the edge.
    await expect(
      e.call(
        'relay',
        'editList',
        { list: 'allowed-pubkey', action: 'add', value: 'npub1xyz' },
        ctx,
      ),
    ).rejects.toMatchObject({ code: 'api.bad_input' })
    await expect(
      e.call('relay', 'setPolicies', { policies: { writes: 'everyone' } }, ctx),
    ).rejects.toMatchObject({ code: 'api.bad_input' })

    // Online backup: a consistent copy that opens on its own.
    const target = join(dir, 'backup.db')
    const b = (await e.call('relay', 'backup', { path: target }, ctx)) as RelayBackup
    expect(b.events).toBe(2)
    const copy = new DatabaseSync(target, { readOnly: true })
    expect((copy.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(2)
    copy.close()
    await expect(e.call('relay', 'backup', { path: target }, ctx)).rejects.toMatchObject({
      code: 'relay.backup_exists',
    })
    await expect(e.call('relay', 'backup', { path: 'relative.db' }, ctx)).rejects.toMatchObject({
      code: 'api.bad_input',
    })
  })

  it('keeps policies and lists across a restart', async () => {
    const { e, dir } = await engine()
    const firstPubkey = ((await e.call('relay', 'status', {}, ctx)) as RelayStatus).relayPubkey
    expect(firstPubkey).toMatch(/^[0-9a-f]{64}$/)
    await e.call(
      'relay',
      'setPolicies',
      { policies: { reads: 'authenticated', minPowDifficulty: 4 } },
      ctx,
    )
    await e.call('relay', 'setAdmins', { pubkeys: ['a'.repeat(64)] }, ctx)
    await e.call(
      'relay',
      'editList',
      { list: 'blocked-ip', action: 'add', value: '203.0.113.7', reason: 'abuse' },
      ctx,
    )
    await e.stop()
    engines.pop()
    // Before setup, the relay's data is in the suggested stack data folder (<engine>/stack).
    const keyFile = join(dir, 'stack', 'relay', 'relay.key')
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    const { e: e2 } = await engine(dir)
    const s = (await e2.call('relay', 'status', {}, ctx)) as RelayStatus
    // The relay key is generated once and kept.
    expect(s.relayPubkey).toBe(firstPubkey)
    expect(s.policies.reads).toBe('authenticated')
    expect(s.policies.minPowDifficulty).toBe(4)
    expect(s.adminPubkeys).toEqual(['a'.repeat(64)])
    const l = (await e2.call('relay', 'lists', {}, ctx)) as RelayLists
    expect(l.blockedIps).toEqual([
      expect.objectContaining({ value: '203.0.113.7', reason: 'abuse' }),
    ])
  })

  it('follows the settings: off when the relay is disabled or runs as a container', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flashbox-relaymod-'))
    dirs.push(dir)
    const s = defaultSettings(dir)
    saveSettingsFile(dir, { ...s, services: { ...s.services, relay: false } })
    const { e } = await engine(dir)
    const st = (await e.call('relay', 'status', {}, ctx)) as RelayStatus
    expect(st).toMatchObject({ running: false, problem: { code: 'relay.disabled' } })
    await e.stop()
    engines.pop()
    saveSettingsFile(dir, { ...s, ownServices: 'container' })
    const { e: e2 } = await engine(dir)
    expect(await e2.call('relay', 'status', {}, ctx)).toMatchObject({
      running: false,
      problem: { code: 'relay.in_container' },
    })
    // Level-triggered: the relay follows a settings change on the next stack report.
    saveSettingsFile(dir, s)
    e2.events.publish({ topic: 'stack', type: 'sync', sync: {} })
    // Starting the relay's own process takes a moment.
    await expect
      .poll(async () => ((await e2.call('relay', 'status', {}, ctx)) as RelayStatus).running, {
        timeout: 30_000,
      })
      .toBe(true)
    saveSettingsFile(dir, { ...s, services: { ...s.services, relay: false } })
    e2.events.publish({ topic: 'stack', type: 'sync', sync: {} })
    await expect
      .poll(
        async () => ((await e2.call('relay', 'status', {}, ctx)) as RelayStatus).problem?.code,
        { timeout: 30_000 },
      )
      .toBe('relay.disabled')
  })

  it('says so in plain words when its port is taken', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    const port = (blocker.address() as { port: number }).port
    try {
      const { e } = await engine(undefined, port)
      const s = (await e.call('relay', 'status', {}, ctx)) as RelayStatus
      expect(s.running).toBe(false)
      expect(s.problem).toMatchObject({
        code: 'relay.port_taken',
        message: expect.stringContaining(String(port)),
      })
      await expect(e.call('relay', 'lists', {}, ctx)).rejects.toMatchObject({
        code: 'relay.port_taken',
      })
    } finally {
      blocker.close()
    }
  })
})
