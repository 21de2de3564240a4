// The kind 10050 inbox list (NIP-17) as it leaves the engine: other relays never get a loopback or
// LAN address; the box's own local relay gets the whole list. The relay pool makes no connection
// here: its publish is spied on and answers at once, and it connects to nothing.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Event } from 'nostr-tools/pure'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EventBus } from '../events'
import { silentLogger } from '../log'
import { KIND_DM_RELAYS } from './nip17'
import { NostrClient } from './nostr-client'
import { RelayPool } from './relay-pool'

const BOX = 'ws://127.0.0.1:7777/'
const PUBLIC = 'wss://relay.example.com/'
let dir = ''
let client: NostrClient | undefined
const sent: { event: Event; relays: readonly string[] }[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nostr-inbox-'))
  sent.length = 0
  vi.spyOn(RelayPool.prototype, 'publish').mockImplementation(async (event, relays = []) => {
    sent.push({ event, relays })
    return relays.map((relay) => ({ relay, status: 'ok' as const }))
  })
  vi.spyOn(RelayPool.prototype, 'setRelays').mockImplementation(() => {})
  vi.spyOn(RelayPool.prototype, 'subscribe').mockImplementation(() => {})
})
afterEach(() => {
  client?.stop()
  client = undefined
  vi.restoreAllMocks()
  rmSync(dir, { recursive: true, force: true })
})

const inboxLists = () =>
  sent
    .filter((s) => s.event.kind === KIND_DM_RELAYS)
    .map((s) => ({
      to: [...s.relays],
      lists: s.event.tags.filter((t) => t[0] === 'relay').map((t) => t[1]),
    }))

describe('kind 10050 inbox relay list', () => {
  it('never announces the loopback box relay to other relays; the box relay gets the whole list', async () => {
    client = new NostrClient({
      dir,
      log: silentLogger,
      events: new EventBus(),
      boxRelayUrl: () => BOX,
      logN: 16,
    })
    client.start()
    await client.createKey({ passphrase: 'a long passphrase', recoveryWords: false })
    await vi.waitFor(() => expect(inboxLists().length).toBeGreaterThan(0))
    // Only the box relay so far: it is local, so nothing goes to any other relay.
    expect(inboxLists()).toEqual([{ to: [BOX], lists: [BOX] }])

    sent.length = 0
    const relays = await client.addRelay('wss://relay.example.com')
    expect(relays.map((r) => [r.url, r.announced])).toEqual([
      [BOX, false],
      [PUBLIC, true],
    ])
    await vi.waitFor(() => expect(inboxLists().length).toBe(2))
    for (const { to, lists } of inboxLists()) {
      if (to.includes(PUBLIC)) {
        expect(to).toEqual([PUBLIC])
        expect(lists).toEqual([PUBLIC])
      } else {
        expect(to).toEqual([BOX])
        expect(lists).toEqual([BOX, PUBLIC])
      }
    }
  })
})

describe('kind 10050 with the box’s public address (Settings → Reachability)', () => {
  it('announces the box relay by its published address, and still delivers to it over loopback', async () => {
    const PUBLISHED = 'wss://shop.example.com/'
    client = new NostrClient({
      dir,
      log: silentLogger,
      events: new EventBus(),
      boxRelayUrl: () => BOX,
      publishedBoxRelayUrl: () => 'wss://shop.example.com',
      logN: 16,
    })
    client.start()
    await client.createKey({ passphrase: 'a long passphrase', recoveryWords: false })
    await vi.waitFor(() => expect(inboxLists().length).toBeGreaterThan(0))
    expect(inboxLists()).toEqual([{ to: [BOX], lists: [PUBLISHED] }])
  })
})
