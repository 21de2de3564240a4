// Two engines (separate data dirs and keys) talk through the box's relay (services/relay) over
// real WebSockets: a NIP-17 conversation, a NIP-29 group, AUTH on demand, and reconnection
// after the relay restarts. The relay's own SQLite is inspected to prove it only ever held gift
// wraps for the private messages, and an outsider's key cannot open them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import WebSocket from 'ws'
import {
  finalizeEvent,
  generateSecretKey,
  getPublicKey,
  verifyEvent,
  type Event,
} from 'nostr-tools/pure'
import * as nip59 from 'nostr-tools/nip59'
import * as nip04 from 'nostr-tools/nip04'
import { AbstractRelay } from 'nostr-tools/abstract-relay'
import { startRelay, type RunningRelay } from '../../services/relay/src/index'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { silentLogger } from '../../src/core/log'
import { nostrModuleWith } from '../../src/core/nostr/nostr-module'
import { EXPORT_KEY_CONFIRMATION } from '../../src/shared/api/nostr'
import type {
  ConversationSummary,
  Identity,
  Message,
  RelayHealth,
  SendResult,
} from '../../src/shared/api/nostr'

const internal = { transport: 'internal' as const }

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000) {
  const until = Date.now() + ms
  let last: unknown
  while (Date.now() < until) {
    try {
      const v = await fn()
      if (v) return v
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}

let root: string
let relay: RunningRelay
let relayPort: number
let relayDb: string
const engines: Engine[] = []

async function startEngine(name: string): Promise<Engine> {
  const engine = await createEngine({
    dataDir: join(root, name),
    log: silentLogger,
    modules: [
      nostrModuleWith({
        boxRelayUrl: () => `ws://127.0.0.1:${relayPort}`,
        pool: {
          backoff: { initialMs: 200, maxMs: 2000 },
          connectTimeoutMs: 5000,
          publishTimeoutMs: 8000,
          queryTimeoutMs: 5000,
        },
      }),
    ],
  })
  engines.push(engine)
  return engine
}

const call = <T>(e: Engine, procedure: string, input: unknown = {}) =>
  e.call('nostr', procedure, input, internal) as Promise<T>

async function launchRelay() {
  relay = await startRelay({
    port: relayPort,
    host: '127.0.0.1',
    dbPath: relayDb,
    // AUTH before publishing anything: every write below goes through AUTH on demand.
    policies: { authForWrites: true, groups: { enabled: true, whoCanCreate: 'anyone' } },
  })
  relayPort = Number(new URL(relay.url).port)
}

let alice: Engine
let bob: Engine
let aliceId: Identity
let bobId: Identity

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'nostr-it-'))
  relayDb = join(root, 'relay', 'relay.sqlite')
  relayPort = 0
  await launchRelay()
  alice = await startEngine('alice')
  bob = await startEngine('bob')
  aliceId = (
    await call<{ identity: Identity }>(alice, 'createKey', { passphrase: 'alice passphrase' })
  ).identity
  bobId = (await call<{ identity: Identity }>(bob, 'createKey', { passphrase: 'bob passphrase' }))
    .identity
})

afterAll(async () => {
  for (const e of engines) await e.stop()
  await relay?.close()
  rmSync(root, { recursive: true, force: true })
})

function relayKinds(): number[] {
  const db = new DatabaseSync(relayDb, { readOnly: true })
  try {
    return (db.prepare('SELECT DISTINCT kind FROM events').all() as { kind: number }[]).map(
      (r) => r.kind,
    )
  } finally {
    db.close()
  }
}

function relayGiftWraps(): Event[] {
  const db = new DatabaseSync(relayDb, { readOnly: true })
  try {
    return (
      db.prepare('SELECT raw AS e FROM events WHERE kind = 1059').all() as { e: string }[]
    ).map((r) => JSON.parse(r.e) as Event)
  } finally {
    db.close()
  }
}

describe('NIP-17 private messages between two engines', () => {
  let dm: SendResult

  it('delivers a message to the recipient’s inbox relay with a per-relay result', async () => {
    // Bob's kind 10050 is published when he unlocks; sending waits until it can be found.
    dm = await waitFor('bob’s inbox relays', async () =>
      call<SendResult>(alice, 'sendDirectMessage', {
        to: bobId.npub,
        text: 'Hello Bob, 2 loaves?',
      }),
    )
    expect(dm.delivery).toHaveLength(1)
    expect(dm.delivery[0]).toMatchObject({ status: 'ok' })

    const convs = await waitFor('bob to receive it', async () => {
      const list = await call<ConversationSummary[]>(bob, 'conversations')
      return list.length && list[0]!.unread === 1 ? list : undefined
    })
    expect(convs[0]!.peers[0]!.pubkey).toBe(aliceId.pubkey)
    const msgs = await call<Message[]>(bob, 'messages', { conversationId: convs[0]!.id })
    expect(msgs.map((m) => [m.text, m.fromMe, m.kind, m.legacy])).toEqual([
      ['Hello Bob, 2 loaves?', false, 14, false],
    ])

    await call(bob, 'sendDirectMessage', { to: convs[0]!.id, text: 'Yes, ready at 5.' })
    const back = await waitFor('alice to receive the reply', async () => {
      const m = await call<Message[]>(alice, 'messages', { conversationId: dm.conversationId })
      return m.length === 2 ? m : undefined
    })
    expect(back.map((m) => m.text)).toEqual(['Hello Bob, 2 loaves?', 'Yes, ready at 5.'])
    expect(back[0]!.delivery[0]!.status).toBe('ok')

    await call(bob, 'markRead', { conversationId: convs[0]!.id })
    expect((await call<ConversationSummary[]>(bob, 'conversations'))[0]!.unread).toBe(0)
  })

  it('asked for AUTH only when the relay required it, and got it', async () => {
    const health = await call<RelayHealth[]>(bob, 'relayHealth')
    expect(health[0]).toMatchObject({ connected: true, auth: 'authenticated' })
  })

  it('left only gift wraps on the relay — no kind 14, no kind 13 — that an outsider cannot open', async () => {
    const kinds = relayKinds()
    expect(kinds).toContain(1059)
    expect(kinds).not.toContain(14)
    expect(kinds).not.toContain(13)
    const wraps = relayGiftWraps()
    // Two messages × (recipient + own copy).
    expect(wraps.length).toBeGreaterThanOrEqual(4)
    const outsider = generateSecretKey()
    for (const w of wraps) {
      expect(w.content).not.toContain('loaves')
      expect(() => nip59.unwrapEvent(w, outsider)).toThrow()
    }
  })

  it('an outsider, signed in to the relay, is not served Bob’s gift wraps; their legacy NIP-04 message shows as legacy', async () => {
    // An independent nostr-tools client with its own key.
    const carol = generateSecretKey()
    const outsider = new AbstractRelay(relay.url, {
      verifyEvent: (e) => verifyEvent(e),
      websocketImplementation: WebSocket as unknown as typeof globalThis.WebSocket,
    })
    outsider.onauth = async (t) => finalizeEvent(t, carol)
    await outsider.connect()
    try {
      const seen: Event[] = []
      await new Promise<void>((resolve) => {
        const sub = outsider.subscribe([{ kinds: [1059], '#p': [bobId.pubkey!] }], {
          onevent: (e) => seen.push(e),
          oneose: () => {
            sub.close()
            resolve()
          },
          onclose: () => resolve(),
        })
      })
      expect(seen).toEqual([])
      const legacy = finalizeEvent(
        {
          kind: 4,
          created_at: Math.floor(Date.now() / 1000),
          tags: [['p', bobId.pubkey!]],
          content: nip04.encrypt(carol, bobId.pubkey!, 'old-style hello'),
        },
        carol,
      )
      await waitFor('the relay to accept the legacy message', async () => {
        await outsider.publish(legacy)
        return true
      })
    } finally {
      outsider.close()
    }
    const conversationId = `dm:${getPublicKey(carol)}`
    const m = await waitFor('bob to read the legacy message', async () => {
      const list = await call<Message[]>(bob, 'messages', { conversationId })
      return list.length ? list : undefined
    })
    expect(m.map((x) => [x.text, x.legacy, x.kind])).toEqual([['old-style hello', true, 4]])
  })

  it('keeps history across a restart; locked, it shows nothing', async () => {
    await call(bob, 'lock')
    await expect(call(bob, 'conversations')).rejects.toMatchObject({ code: 'nostr.locked' })
    await bob.stop()
    bob = await startEngine('bob')
    await expect(call(bob, 'unlock', { passphrase: 'wrong passphrase' })).rejects.toMatchObject({
      code: 'nostr.wrong_passphrase',
    })
    await call(bob, 'unlock', { passphrase: 'bob passphrase' })
    const msgs = await call<Message[]>(bob, 'messages', { conversationId: `dm:${aliceId.pubkey}` })
    const convs = await call<ConversationSummary[]>(bob, 'conversations')
    expect(convs.find((c) => c.id === `dm:${aliceId.pubkey}`)!.unread).toBe(0)
    expect(msgs.map((m) => m.text)).toEqual(['Hello Bob, 2 loaves?', 'Yes, ready at 5.'])
  })

  it('exports the key only with the confirmation sentence', async () => {
    await expect(
      call(bob, 'exportKey', { passphrase: 'bob passphrase', confirm: 'yes' }),
    ).rejects.toMatchObject({ code: 'api.bad_input' })
    const { nsec } = await call<{ nsec: string }>(bob, 'exportKey', {
      passphrase: 'bob passphrase',
      confirm: EXPORT_KEY_CONFIRMATION,
    })
    expect(nsec).toMatch(/^nsec1/)
  })
})

describe('NIP-29 group on the box relay', () => {
  let group: ConversationSummary

  it('creates a closed private group, invites with a code, and both post', async () => {
    group = await call<ConversationSummary>(alice, 'createGroup', {
      name: 'Bakery staff',
      about: 'Shifts and orders',
    })
    expect(group.kind).toBe('group')
    const { code } = await call<{ code: string }>(alice, 'inviteToGroup', {
      conversationId: group.id,
    })
    expect(code).toBeTruthy()

    // Without the code, a closed group refuses Bob.
    await expect(
      call(bob, 'joinGroup', { reference: group.group!.reference }),
    ).rejects.toMatchObject({ code: 'nostr.group_refused' })
    const joined = await call<ConversationSummary>(bob, 'joinGroup', {
      reference: group.group!.reference,
      code,
    })
    expect(joined.id).toBe(group.id)

    const post = await call<SendResult>(alice, 'postToGroup', {
      conversationId: group.id,
      text: 'Welcome!',
    })
    expect(post.delivery[0]!.status).toBe('ok')
    await waitFor('bob to see the group post', async () => {
      const m = await call<Message[]>(bob, 'messages', { conversationId: group.id })
      return m.some((x) => x.text === 'Welcome!')
    })
    const reply = await call<SendResult>(bob, 'postToGroup', {
      conversationId: group.id,
      text: 'Thanks',
    })
    expect(reply.delivery[0]!.status).toBe('ok')
    await waitFor('alice to see bob’s post', async () => {
      const m = await call<Message[]>(alice, 'messages', { conversationId: group.id })
      return m.some((x) => x.text === 'Thanks')
    })
    await waitFor('the relay’s group name', async () => {
      const list = await call<ConversationSummary[]>(bob, 'conversations')
      return list.find((c) => c.id === group.id)?.title === 'Bakery staff'
    })
  })

  it('moderates: delete a message, remove a member (who can then no longer post)', async () => {
    const msgs = await call<Message[]>(alice, 'messages', { conversationId: group.id })
    const thanks = msgs.find((m) => m.text === 'Thanks')!
    await call(alice, 'moderateGroup', {
      action: 'delete-event',
      conversationId: group.id,
      eventId: thanks.id,
    })
    // Bob, not an admin, may not remove anyone.
    await expect(
      call(bob, 'moderateGroup', {
        action: 'remove-user',
        conversationId: group.id,
        pubkey: aliceId.npub,
      }),
    ).rejects.toMatchObject({ code: 'nostr.group_refused' })
    await call(alice, 'moderateGroup', {
      action: 'remove-user',
      conversationId: group.id,
      pubkey: bobId.npub,
    })
    const refused = await call<SendResult>(bob, 'postToGroup', {
      conversationId: group.id,
      text: 'still here?',
    })
    expect(refused.delivery[0]!.status).toBe('rejected')
    await waitFor('bob to drop the deleted message', async () => {
      const m = await call<Message[]>(bob, 'messages', { conversationId: group.id })
      return !m.some((x) => x.text === 'Thanks')
    })
  })
})

describe('relay restart', () => {
  it('reconnects with backoff and delivers again', async () => {
    await relay.close()
    await waitFor('alice to notice', async () => {
      const h = await call<RelayHealth[]>(alice, 'relayHealth')
      return !h[0]!.connected && h[0]!.lastError ? h : undefined
    })
    const down = (await call<RelayHealth[]>(alice, 'relayHealth'))[0]!
    expect(down.attempts).toBeGreaterThanOrEqual(1)
    await launchRelay()
    for (const e of [alice, bob]) {
      await waitFor('reconnection', async () => {
        const h = await call<RelayHealth[]>(e, 'relayHealth')
        return h[0]!.connected
      })
    }
    const sent = await call<SendResult>(alice, 'sendDirectMessage', {
      to: bobId.npub,
      text: 'Back online?',
    })
    expect(sent.delivery[0]!.status).toBe('ok')
    await waitFor('bob to receive after the restart', async () => {
      const m = await call<Message[]>(bob, 'messages', { conversationId: `dm:${aliceId.pubkey}` })
      return m.some((x) => x.text === 'Back online?')
    })
  })
})
