// NIP-42 AUTH (before and after REQ), NIP-59 gift wraps, NIP-70 protected events, the operator's
// policies (members-only, restricted reads, kinds, sizes, rate limits) and NIP-86 management.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Relay as NtRelay } from 'nostr-tools/relay'
import { wrapEvent } from 'nostr-tools/nip59'
import { getToken } from 'nostr-tools/nip98'
import { finalizeEvent } from 'nostr-tools/pure'
import { newKey, now, RawClient, sign, tempRelay, type Key, type TestRelay } from './relay-harness'

let relay: TestRelay
let admin: Key
beforeAll(async () => {
  admin = newKey()
  relay = await tempRelay({ adminPubkeys: [admin.pk] })
})
afterAll(async () => {
  await relay?.stop()
})

describe('NIP-42 and NIP-59 gift wraps', () => {
  it('serves a gift wrap only to its authenticated recipient (nostr-tools wrap + auth)', async () => {
    const sender = newKey()
    const bob = newKey()
    const eve = newKey()
    const wrap = wrapEvent(
      { kind: 14, content: 'the safe code is 1234', tags: [['p', bob.pk]], created_at: now() },
      sender.sk,
      bob.pk,
    )
    const pub = await RawClient.open(relay.url)
    expect(await pub.publish(wrap)).toEqual([true, ''])

    // Unauthenticated: asking for gift wraps is refused with auth-required:, others never see them.
    const anon = await RawClient.open(relay.url)
    expect(await anon.req('dm', { kinds: [1059], '#p': [bob.pk] })).toEqual({
      closed: expect.stringMatching(/^auth-required: /),
    })
    expect(await anon.query({ ids: [wrap.id] })).toEqual([])
    expect(await anon.count({ ids: [wrap.id] })).toBe(0)

    // Someone else authenticated: still invisible.
    const ec = await RawClient.open(relay.url)
    expect(await ec.auth(eve, relay.url)).toEqual([true, ''])
    expect(await ec.query({ kinds: [1059], '#p': [bob.pk] })).toEqual([])

    // AUTH after the refused REQ: the same REQ now succeeds for the recipient (re-evaluated).
    expect(await anon.auth(bob, relay.url)).toEqual([true, ''])
    expect((await anon.query({ kinds: [1059], '#p': [bob.pk] })).map((e) => e.id)).toEqual([
      wrap.id,
    ])
    expect(await anon.count({ ids: [wrap.id] })).toBe(1)

    // nostr-tools with onauth, authenticating up front.
    const nt = await NtRelay.connect(relay.url)
    nt.onauth = async (t) => finalizeEvent(t, bob.sk)
    await new Promise((r) => setTimeout(r, 50))
    await nt.auth(async (t) => finalizeEvent(t, bob.sk))
    const seen: string[] = []
    await new Promise<void>((resolve) => {
      nt.subscribe([{ kinds: [1059], '#p': [bob.pk] }], {
        onevent: (e) => seen.push(e.id),
        oneose: () => resolve(),
      })
    })
    expect(seen).toEqual([wrap.id])
    nt.close()
    for (const x of [pub, anon, ec]) x.close()
  })

  it('re-evaluates a live subscription after AUTH: gift wraps flow once the recipient signs in', async () => {
    const bob = newKey()
    const c = await RawClient.open(relay.url)
    await c.req('all', { '#p': [bob.pk] })
    const w1 = wrapEvent(
      { kind: 14, content: 'one', tags: [['p', bob.pk]], created_at: now() },
      newKey().sk,
      bob.pk,
    )
    const pub = await RawClient.open(relay.url)
    expect((await pub.publish(w1))[0]).toBe(true)
    const plain = sign(newKey(), { kind: 1, tags: [['p', bob.pk]] })
    expect((await pub.publish(plain))[0]).toBe(true)
    const m = await c.next((f) => f[0] === 'EVENT' && f[1] === 'all')
    expect((m[2] as { id: string }).id).toBe(plain.id)
    expect(await c.auth(bob, relay.url)).toEqual([true, ''])
    const w2 = wrapEvent(
      { kind: 14, content: 'two', tags: [['p', bob.pk]], created_at: now() },
      newKey().sk,
      bob.pk,
    )
    expect((await pub.publish(w2))[0]).toBe(true)
    const m2 = await c.next((f) => f[0] === 'EVENT' && f[1] === 'all')
    expect((m2[2] as { id: string }).id).toBe(w2.id)
    expect(c.frames.some((f) => f[0] === 'EVENT' && (f[2] as { id: string }).id === w1.id)).toBe(
      false,
    )
    c.close()
    pub.close()
  })

  it('refuses AUTH with a wrong challenge, wrong relay or wrong kind', async () => {
    const k = newKey()
    const c = await RawClient.open(relay.url)
    const bad = (tags: string[][], kind = 22242) => sign(k, { kind, tags })
    for (const ev of [
      bad([
        ['relay', relay.url],
        ['challenge', 'nope'],
      ]),
      bad([
        ['relay', 'wss://elsewhere.example'],
        ['challenge', c.challenge],
      ]),
      bad(
        [
          ['relay', relay.url],
          ['challenge', c.challenge],
        ],
        1,
      ),
    ]) {
      c.send(['AUTH', ev])
      const ok = await c.next((m) => m[0] === 'OK' && m[1] === ev.id)
      expect(ok[2]).toBe(false)
      expect(ok[3]).toMatch(/^invalid: /)
    }
    c.close()
  })
})

describe('NIP-70 protected events', () => {
  it('accepts a ["-"] event only from its authenticated author', async () => {
    const k = newKey()
    const ev = sign(k, { kind: 1, tags: [['-']], content: 'only from me' })
    const c = await RawClient.open(relay.url)
    expect(await c.publish(ev)).toEqual([false, expect.stringMatching(/^auth-required: /)])
    expect(await c.auth(newKey(), relay.url)).toEqual([true, ''])
    expect(await c.publish(ev)).toEqual([false, expect.stringMatching(/^restricted: /)])
    expect(await c.auth(k, relay.url)).toEqual([true, ''])
    expect(await c.publish(ev)).toEqual([true, ''])
    c.close()
  })
})

describe('NIP-09 deletion of a gift wrap by its recipient (NIP-59)', () => {
  it('lets the p-tagged recipient delete a gift wrap with kind 5; nobody else, and it cannot come back', async () => {
    const sender = newKey()
    const bob = newKey()
    const eve = newKey()
    const wrap = wrapEvent(
      { kind: 14, content: 'read and forget', tags: [['p', bob.pk]], created_at: now() },
      sender.sk,
      bob.pk,
    )
    const c = await RawClient.open(relay.url)
    expect(await c.publish(wrap)).toEqual([true, ''])
    // Someone who is not the recipient: the request is stored, the wrap stays.
    expect((await c.publish(sign(eve, { kind: 5, tags: [['e', wrap.id]] })))[0]).toBe(true)
    expect(relay.relay.store.has(wrap.id)).toBe(true)
    // The recipient: gone.
    expect(await c.publish(sign(bob, { kind: 5, tags: [['e', wrap.id]] }))).toEqual([true, ''])
    expect(relay.relay.store.has(wrap.id)).toBe(false)
    const again = await c.publish(wrap)
    expect(again[0]).toBe(false)
    expect(relay.relay.store.has(wrap.id)).toBe(false)
    c.close()
  })
})

describe('NIP-70 and NIP-18 reposts', () => {
  it('refuses a repost (kind 6 or 16) that embeds a protected event, from anyone but its author', async () => {
    const author = newKey()
    const fan = newKey()
    const original = sign(author, { kind: 1, tags: [['-']], content: 'members only' })
    const c = await RawClient.open(relay.url)
    await c.auth(fan, relay.url)
    for (const kind of [6, 16]) {
      const repost = sign(fan, {
        kind,
        tags: [
          ['e', original.id, relay.url],
          ['p', original.pubkey],
          ...(kind === 16 ? [['k', '1']] : []),
        ],
        content: JSON.stringify(original),
      })
      const res = await c.publish(repost)
      expect(res[0]).toBe(false)
      expect(res[1]).toMatch(/^blocked: .*protected/)
    }
    // A repost of an ordinary event is fine.
    const plain = sign(author, { kind: 1, content: 'for everyone' })
    expect(
      await c.publish(
        sign(fan, {
          kind: 6,
          tags: [
            ['e', plain.id, relay.url],
            ['p', plain.pubkey],
          ],
          content: JSON.stringify(plain),
        }),
      ),
    ).toEqual([true, ''])
    c.close()
  })
})

describe('operator policies', () => {
  it('members-only writes with restricted reads; the allow-list is managed at runtime', async () => {
    const r = await tempRelay({
      adminPubkeys: [admin.pk],
      policies: { writes: 'allow-list', reads: 'allow-list' },
    })
    const member = newKey()
    const stranger = newKey()
    const c = await RawClient.open(r.url)
    expect(await c.publish(sign(member, { kind: 1 }))).toEqual([
      false,
      expect.stringMatching(/^restricted: /),
    ])
    r.relay.managementOps!.allowPubkey(member.pk, 'staff')
    expect(await c.publish(sign(member, { kind: 1 }))).toEqual([true, ''])
    expect(await c.publish(sign(stranger, { kind: 1 }))).toEqual([
      false,
      expect.stringMatching(/^restricted: /),
    ])
    // A gift wrap for a member is accepted although signed by a throwaway key.
    const wrap = wrapEvent(
      { kind: 14, content: 'hi', tags: [['p', member.pk]], created_at: now() },
      stranger.sk,
      member.pk,
    )
    expect(await c.publish(wrap)).toEqual([true, ''])
    expect(await c.req('r1', { kinds: [1] })).toEqual({
      closed: expect.stringMatching(/^auth-required: /),
    })
    await c.auth(stranger, r.url)
    expect(await c.req('r2', { kinds: [1] })).toEqual({
      closed: expect.stringMatching(/^restricted: /),
    })
    await c.auth(member, r.url)
    expect((await c.query({ kinds: [1] })).length).toBe(1)
    r.relay.managementOps!.banPubkey(member.pk, 'left the shop')
    expect(await c.publish(sign(member, { kind: 1, content: 'after ban' }))).toEqual([
      false,
      expect.stringMatching(/^blocked: /),
    ])
    c.close()
    await r.stop()
  })

  it('AUTH required for writes, allowed kinds, sizes', async () => {
    const r = await tempRelay({
      policies: {
        authForWrites: true,
        kinds: { allowed: [1, 7], blocked: [] },
        limits: { maxContentBytes: 100 },
      },
    })
    const k = newKey()
    const c = await RawClient.open(r.url)
    expect(await c.publish(sign(k, { kind: 1 }))).toEqual([
      false,
      expect.stringMatching(/^auth-required: /),
    ])
    await c.auth(k, r.url)
    expect(await c.publish(sign(k, { kind: 1 }))).toEqual([true, ''])
    expect(await c.publish(sign(k, { kind: 4 }))).toEqual([
      false,
      expect.stringMatching(/^blocked: /),
    ])
    expect(await c.publish(sign(k, { kind: 1, content: 'x'.repeat(101) }))).toEqual([
      false,
      expect.stringMatching(/^invalid: /),
    ])
    expect(await c.publish(sign(newKey(), { kind: 1 }))).toEqual([
      false,
      expect.stringMatching(/^restricted: /),
    ])
    c.close()
    await r.stop()
  })

  it('rate-limits writes and queries with token buckets, per connection and per IP', async () => {
    const r = await tempRelay()
    r.relay.setPolicy({
      rateLimits: {
        eventsPerConnection: { perMinute: 1, burst: 3 },
        eventsPerPubkey: null,
        eventsPerIp: null,
        queriesPerConnection: null,
        queriesPerIp: { perMinute: 1, burst: 2 },
      },
    })
    const k = newKey()
    const c = await RawClient.open(r.url)
    const results = []
    for (let i = 0; i < 5; i++)
      results.push(await c.publish(sign(k, { kind: 1, content: String(i) })))
    expect(results.slice(0, 3).every(([ok]) => ok)).toBe(true)
    expect(results[3]).toEqual([false, expect.stringMatching(/^rate-limited: /)])
    // Another connection has its own bucket.
    const c2 = await RawClient.open(r.url)
    expect((await c2.publish(sign(k, { kind: 1, content: 'other conn' })))[0]).toBe(true)
    // Queries: per IP across both connections.
    expect(Array.isArray(await c.req('a', { kinds: [1] }))).toBe(true)
    expect(Array.isArray(await c2.req('b', { kinds: [1] }))).toBe(true)
    expect(await c.req('c', { kinds: [1] })).toEqual({
      closed: expect.stringMatching(/^rate-limited: /),
    })
    expect(r.relay.rejections().some((x) => x.reason.startsWith('rate-limited:'))).toBe(true)
    c.close()
    c2.close()
    await r.stop()
  })
})

describe('retention and blocked addresses', () => {
  it('deletes events past their kind’s retention, keeps the rest', async () => {
    const r = await tempRelay({ policies: { retention: [{ kinds: [7], maxAgeDays: 1 }] } })
    const c = await RawClient.open(r.url)
    const k = newKey()
    const oldReaction = sign(k, { kind: 7, created_at: now() - 2 * 86400 })
    const newReaction = sign(k, { kind: 7 })
    const oldNote = sign(k, { kind: 1, created_at: now() - 2 * 86400 })
    for (const e of [oldReaction, newReaction, oldNote]) expect((await c.publish(e))[0]).toBe(true)
    expect(r.relay.purge()).toBe(1)
    expect((await c.query({ authors: [k.pk] })).map((e) => e.id).sort()).toEqual(
      [newReaction.id, oldNote.id].sort(),
    )
    c.close()
    await r.stop()
  })

  it('refuses connections from a blocked address and says why in the log of refusals', async () => {
    const r = await tempRelay()
    r.relay.managementOps!.blockIp('127.0.0.1', 'test')
    await expect(RawClient.open(r.url)).rejects.toThrow(/403/)
    expect(r.relay.rejections()[0]).toMatchObject({
      what: 'connection',
      reason: 'blocked: your address is blocked',
    })
    r.relay.managementOps!.unblockIp('127.0.0.1')
    const c = await RawClient.open(r.url)
    expect(Array.isArray(await c.req('ok', { limit: 1 }))).toBe(true)
    c.close()
    await r.stop()
  })
})

describe('connections per address', () => {
  it('refuses connections beyond the limit with 429 and admits again once one closes', async () => {
    const r = await tempRelay({ policies: { limits: { maxConnectionsPerIp: 2 } } })
    const a = await RawClient.open(r.url)
    const b = await RawClient.open(r.url)
    await expect(RawClient.open(r.url)).rejects.toThrow(/429/)
    expect(r.relay.rejections()[0]?.reason).toMatch(/^rate-limited: /)
    const closed = new Promise((res) => a.ws.once('close', res))
    a.close()
    await closed
    await expect.poll(() => r.relay.stats().connections).toBe(1)
    const c = await RawClient.open(r.url)
    expect(await c.count({ kinds: [1] })).toBe(0)
    for (const x of [b, c]) x.close()
    await r.stop()
  })
})

describe('NIP-86 management API (NIP-98 auth, box admin only)', () => {
  const httpUrl = () => relay.url.replace('ws://', 'http://')
  async function rpc(key: Key | null, method: string, params: unknown[] = []) {
    const body = JSON.stringify({ method, params })
    const headers: Record<string, string> = { 'Content-Type': 'application/nostr+json+rpc' }
    if (key)
      headers.Authorization = await getToken(
        httpUrl(),
        'POST',
        (e) => finalizeEvent(e, key.sk),
        true,
        JSON.parse(body),
      )
    const res = await fetch(httpUrl(), { method: 'POST', headers, body })
    return { status: res.status, body: (await res.json()) as { result?: unknown; error?: string } }
  }

  it('refuses callers without valid NIP-98 auth or who are not the admin', async () => {
    expect((await rpc(null, 'supportedmethods')).status).toBe(401)
    expect((await rpc(newKey(), 'supportedmethods')).status).toBe(401)
  })

  it('bans and allows pubkeys, events and IPs, and lists them', async () => {
    const sm = await rpc(admin, 'supportedmethods')
    expect(sm.status).toBe(200)
    expect(sm.body.result).toEqual(
      expect.arrayContaining(['banpubkey', 'listbannedpubkeys', 'banevent', 'blockip']),
    )
    const spammer = newKey()
    expect((await rpc(admin, 'banpubkey', [spammer.pk, 'spam'])).body.result).toBe(true)
    expect((await rpc(admin, 'listbannedpubkeys')).body.result).toEqual([
      { pubkey: spammer.pk, reason: 'spam' },
    ])
    const c = await RawClient.open(relay.url)
    expect(await c.publish(sign(spammer, { kind: 1 }))).toEqual([
      false,
      expect.stringMatching(/^blocked: /),
    ])
    expect((await rpc(admin, 'allowpubkey', [spammer.pk])).body.result).toBe(true)
    expect((await rpc(admin, 'listbannedpubkeys')).body.result).toEqual([])
    expect(await c.publish(sign(spammer, { kind: 1 }))).toEqual([true, ''])

    const bad = sign(newKey(), { kind: 1, content: 'illegal' })
    await c.publish(bad)
    expect((await rpc(admin, 'banevent', [bad.id, 'illegal'])).body.result).toBe(true)
    expect(await c.query({ ids: [bad.id] })).toEqual([])
    expect((await rpc(admin, 'listbannedevents')).body.result).toEqual([
      { id: bad.id, reason: 'illegal' },
    ])
    expect(await c.publish(bad)).toEqual([false, expect.stringMatching(/^blocked: /)])

    expect((await rpc(admin, 'blockip', ['203.0.113.9', 'abuse'])).body.result).toBe(true)
    expect((await rpc(admin, 'listblockedips')).body.result).toEqual([
      { ip: '203.0.113.9', reason: 'abuse' },
    ])
    expect((await rpc(admin, 'changerelayname', ['Corner Shop relay'])).body.result).toBe(true)
    const res = await fetch(httpUrl(), { headers: { Accept: 'application/nostr+json' } })
    const info = (await res.json()) as { name: string }
    expect(info.name).toBe('Corner Shop relay')
    expect((await rpc(admin, 'banpubkey', ['nothex'])).body.error).toMatch(/invalid params/)
    expect((await rpc(admin, 'nosuchmethod')).body.error).toMatch(/unsupported/)
    c.close()
  })
})
