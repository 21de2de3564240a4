// The relay over real WebSockets: NIP-01 (filters, ordering, replaceable/ephemeral/addressable,
// subscriptions), NIP-09, NIP-11, NIP-13, NIP-40, NIP-45, NIP-62 — with nostr-tools as the
// independent client and a raw client where the exact frames matter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Relay as NtRelay } from 'nostr-tools/relay'
import { SimplePool } from 'nostr-tools/pool'
import { getPow, minePow } from 'nostr-tools/nip13'
import { finalizeEvent } from 'nostr-tools/pure'
import { newKey, now, RawClient, sign, tempRelay, type TestRelay } from './relay-harness'

let relay: TestRelay
let c: RawClient

beforeAll(async () => {
  relay = await tempRelay()
  c = await RawClient.open(relay.url)
})
afterAll(async () => {
  c?.close()
  await relay?.stop()
})

describe('NIP-01 with nostr-tools as the client', () => {
  it('publishes, subscribes to stored events with EOSE, and receives live events', async () => {
    const pool = new SimplePool()
    const alice = newKey()
    const ev = finalizeEvent(
      { kind: 1, created_at: now(), tags: [['t', 'pizza']], content: 'gm' },
      alice.sk,
    )
    await Promise.all(pool.publish([relay.url], ev))
    const got = await pool.querySync([relay.url], { authors: [alice.pk] })
    expect(got.map((e) => e.id)).toEqual([ev.id])

    const live: string[] = []
    const nt = await NtRelay.connect(relay.url)
    await new Promise<void>((resolve) => {
      nt.subscribe([{ '#t': ['pizza'], since: now() - 5 }], {
        onevent: (e) => live.push(e.id),
        oneose: () => resolve(),
      })
    })
    const ev2 = finalizeEvent(
      { kind: 1, created_at: now(), tags: [['t', 'pizza']], content: 'live' },
      alice.sk,
    )
    await nt.publish(ev2)
    await expect.poll(() => live.includes(ev2.id)).toBe(true)
    nt.close()
    pool.close([relay.url])
  })
})

describe('NIP-01 filters and ordering', () => {
  const a = newKey()
  const b = newKey()
  const t0 = now() - 1000
  const evs = [
    sign(a, { kind: 1, created_at: t0 + 1, tags: [['t', 'x']] }),
    sign(a, {
      kind: 1,
      created_at: t0 + 2,
      tags: [
        ['t', 'y'],
        ['e', 'f'.repeat(64)],
      ],
    }),
    sign(b, { kind: 7, created_at: t0 + 3, tags: [['t', 'x']] }),
    sign(b, { kind: 1, created_at: t0 + 4, tags: [['p', a.pk]] }),
    sign(a, { kind: 1, created_at: t0 + 4, content: 'same second' }),
  ]
  beforeAll(async () => {
    for (const e of evs) expect(await c.publish(e)).toEqual([true, ''])
  })
  const ids = (l: { id: string }[]) => l.map((e) => e.id)
  const since = { since: t0 }

  it('matches every filter field', async () => {
    expect(ids(await c.query({ ids: [evs[2]!.id] }))).toEqual([evs[2]!.id])
    expect(new Set(ids(await c.query({ authors: [b.pk], ...since })))).toEqual(
      new Set([evs[2]!.id, evs[3]!.id]),
    )
    expect(ids(await c.query({ kinds: [7], authors: [b.pk] }))).toEqual([evs[2]!.id])
    expect(new Set(ids(await c.query({ '#t': ['x'], ...since })))).toEqual(
      new Set([evs[0]!.id, evs[2]!.id]),
    )
    expect(ids(await c.query({ '#p': [a.pk] }))).toEqual([evs[3]!.id])
    expect(ids(await c.query({ '#e': ['f'.repeat(64)] }))).toEqual([evs[1]!.id])
    expect(ids(await c.query({ '#t': ['x'], '#e': ['f'.repeat(64)] }))).toEqual([])
    expect(ids(await c.query({ authors: [a.pk], since: t0 + 2, until: t0 + 2 }))).toEqual([
      evs[1]!.id,
    ])
    expect(await c.query({ ids: [] })).toEqual([])
  })

  it('orders newest first, ties by lowest id, and applies limit after ordering', async () => {
    const all = await c.query({ authors: [a.pk, b.pk], ...since })
    const tie = [evs[3]!.id, evs[4]!.id].sort()
    expect(ids(all)).toEqual([...tie, evs[2]!.id, evs[1]!.id, evs[0]!.id])
    expect(ids(await c.query({ authors: [a.pk, b.pk], limit: 2, ...since }))).toEqual(tie)
    expect(await c.query({ authors: [a.pk], limit: 0 })).toEqual([])
  })

  it('combines several filters in one REQ (union, no duplicates)', async () => {
    const got = await c.query(
      { kinds: [7], authors: [b.pk] },
      { '#t': ['x'], ...since },
      { ids: [evs[1]!.id] },
    )
    expect(ids(got)).toEqual([evs[2]!.id, evs[1]!.id, evs[0]!.id])
  })

  it('accepts subscription ids up to 64 characters and refuses longer ones', async () => {
    expect(Array.isArray(await c.req('s'.repeat(64), { ids: [evs[0]!.id] }))).toBe(true)
    const r = await c.req('s'.repeat(65), { ids: [evs[0]!.id] })
    expect(r).toEqual({ closed: expect.stringMatching(/^invalid: /) })
  })

  it('refuses malformed filters with CLOSED invalid:', async () => {
    expect(await c.req('bad1', { kinds: ['1'] })).toEqual({
      closed: expect.stringMatching(/^invalid: /),
    })
    expect(await c.req('bad2', { authors: ['nothex'] })).toEqual({
      closed: expect.stringMatching(/^invalid: /),
    })
    expect(await c.req('bad3', 'x')).toEqual({ closed: expect.stringMatching(/^invalid: /) })
    expect(await c.req('bad4')).toEqual({ closed: expect.stringMatching(/^invalid: /) })
  })

  it('NIP-45 COUNT counts matches across filters', async () => {
    expect(await c.count({ authors: [a.pk], ...since })).toBe(3)
    expect(await c.count({ authors: [a.pk], ...since }, { kinds: [7], authors: [b.pk] })).toBe(4)
  })

  it('delivers live events to matching subscriptions only, until CLOSE', async () => {
    const sub = 'live-' + Math.random().toString(36).slice(2)
    await c.req(sub, { authors: [a.pk], kinds: [42] })
    const other = await RawClient.open(relay.url)
    const e1 = sign(a, { kind: 42 })
    const e2 = sign(a, { kind: 43 })
    expect((await other.publish(e2))[0]).toBe(true)
    expect((await other.publish(e1))[0]).toBe(true)
    const m = await c.next((f) => f[0] === 'EVENT' && f[1] === sub)
    expect((m[2] as { id: string }).id).toBe(e1.id)
    c.send(['CLOSE', sub])
    const e3 = sign(a, { kind: 42, content: 'after close' })
    expect((await other.publish(e3))[0]).toBe(true)
    // A later query round-trip proves ordering: nothing for `sub` arrived meanwhile.
    await c.query({ ids: [e3.id] })
    expect(c.frames.some((f) => f[0] === 'EVENT' && f[1] === sub)).toBe(false)
    other.close()
  })
})

describe('NIP-01 replaceable, ephemeral and addressable events', () => {
  it('keeps only the newest replaceable event; on a created_at tie the lowest id wins', async () => {
    const k = newKey()
    const t = now() - 100
    const x = sign(k, { kind: 0, created_at: t, content: '{"name":"x"}' })
    const y = sign(k, { kind: 0, created_at: t, content: '{"name":"y"}' })
    const [low, high] = x.id < y.id ? [x, y] : [y, x]
    expect((await c.publish(high))[0]).toBe(true)
    expect(await c.publish(low)).toEqual([true, ''])
    expect((await c.query({ kinds: [0], authors: [k.pk] })).map((e) => e.id)).toEqual([low.id])
    // The higher id at the same second does not come back.
    const again = await c.publish(high)
    expect(again[1]).toMatch(/^duplicate: /)
    const older = sign(k, { kind: 0, created_at: t - 1, content: '{"name":"old"}' })
    expect((await c.publish(older))[1]).toMatch(/^duplicate: /)
    const newer = sign(k, { kind: 0, created_at: t + 1, content: '{"name":"new"}' })
    expect(await c.publish(newer)).toEqual([true, ''])
    expect((await c.query({ kinds: [0], authors: [k.pk] })).map((e) => e.id)).toEqual([newer.id])
    // kind 3 and 10000–19999 are replaceable too.
    const l1 = sign(k, { kind: 10002, created_at: t })
    const l2 = sign(k, { kind: 10002, created_at: t + 5 })
    await c.publish(l1)
    await c.publish(l2)
    expect((await c.query({ kinds: [10002], authors: [k.pk] })).map((e) => e.id)).toEqual([l2.id])
  })

  it('replaces addressable events by kind, pubkey and d tag', async () => {
    const k = newKey()
    const t = now() - 50
    const a1 = sign(k, { kind: 30023, created_at: t, tags: [['d', 'menu']] })
    const b1 = sign(k, { kind: 30023, created_at: t, tags: [['d', 'hours']] })
    const a2 = sign(k, { kind: 30023, created_at: t + 1, tags: [['d', 'menu']] })
    for (const e of [a1, b1, a2]) expect((await c.publish(e))[0]).toBe(true)
    const got = await c.query({ kinds: [30023], authors: [k.pk] })
    expect(new Set(got.map((e) => e.id))).toEqual(new Set([a2.id, b1.id]))
  })

  it('delivers ephemeral events live and never stores them', async () => {
    const k = newKey()
    const sub = 'eph'
    await c.req(sub, { kinds: [20001], authors: [k.pk] })
    const other = await RawClient.open(relay.url)
    const e = sign(k, { kind: 20001, content: 'typing…' })
    expect(await other.publish(e)).toEqual([true, ''])
    const m = await c.next((f) => f[0] === 'EVENT' && f[1] === sub)
    expect((m[2] as { id: string }).id).toBe(e.id)
    expect(await c.query({ ids: [e.id] })).toEqual([])
    c.send(['CLOSE', sub])
    other.close()
  })
})

describe('NIP-09 deletion', () => {
  it("deletes the author's own events, ignores others', and refuses re-adding a deleted event", async () => {
    const alice = newKey()
    const mallory = newKey()
    const note = sign(alice, { kind: 1, content: 'oops' })
    const keep = sign(alice, { kind: 1, content: 'keep' })
    await c.publish(note)
    await c.publish(keep)
    const forged = sign(mallory, { kind: 5, tags: [['e', keep.id]] })
    expect((await c.publish(forged))[0]).toBe(true)
    expect((await c.query({ ids: [keep.id] })).length).toBe(1)

    const del = sign(alice, { kind: 5, tags: [['e', note.id]] })
    expect(await c.publish(del)).toEqual([true, ''])
    expect(await c.query({ ids: [note.id] })).toEqual([])
    expect((await c.query({ ids: [del.id] })).length).toBe(1)
    const again = await c.publish(note)
    expect(again[0]).toBe(false)
    expect(again[1]).toMatch(/^blocked: /)
    // Deleting a deletion request has no effect.
    await c.publish(sign(alice, { kind: 5, tags: [['e', del.id]] }))
    expect((await c.query({ ids: [del.id] })).length).toBe(1)
  })

  it('deletes addressable events by a tag up to the deletion created_at', async () => {
    const k = newKey()
    const t = now() - 20
    const v1 = sign(k, { kind: 30000, created_at: t, tags: [['d', 'staff']] })
    await c.publish(v1)
    const del = sign(k, { kind: 5, created_at: t + 1, tags: [['a', `30000:${k.pk}:staff`]] })
    expect((await c.publish(del))[0]).toBe(true)
    expect(await c.query({ kinds: [30000], authors: [k.pk] })).toEqual([])
    const old = sign(k, { kind: 30000, created_at: t + 1, tags: [['d', 'staff']], content: 'old' })
    expect((await c.publish(old))[1]).toMatch(/^blocked: /)
    const fresh = sign(k, { kind: 30000, created_at: t + 2, tags: [['d', 'staff']] })
    expect(await c.publish(fresh)).toEqual([true, ''])
  })
})

describe('NIP-40 expiration', () => {
  it('refuses already-expired events and hides events once they expire, then purges them', async () => {
    const k = newKey()
    const expired = sign(k, { kind: 1, tags: [['expiration', String(now() - 1)]] })
    const r = await c.publish(expired)
    expect(r[0]).toBe(false)
    expect(r[1]).toMatch(/^invalid: /)
    const soon = sign(k, { kind: 1, tags: [['expiration', String(now() + 2)]] })
    expect(await c.publish(soon)).toEqual([true, ''])
    expect((await c.query({ ids: [soon.id] })).length).toBe(1)
    await new Promise((res) => setTimeout(res, 3100))
    expect(await c.query({ ids: [soon.id] })).toEqual([])
    expect(await c.count({ ids: [soon.id] })).toBe(0)
    expect(relay.relay.purge()).toBeGreaterThanOrEqual(1)
    expect(relay.relay.store.has(soon.id)).toBe(false)
  })
})

describe('NIP-62 request to vanish', () => {
  it('deletes everything of the pubkey up to created_at and refuses re-adds', async () => {
    const k = newKey()
    const t = now() - 10
    const n1 = sign(k, { kind: 1, created_at: t })
    const wrapForK = sign(newKey(), { kind: 1059, created_at: t, tags: [['p', k.pk]] })
    await c.publish(n1)
    await c.publish(wrapForK)
    const elsewhere = sign(k, { kind: 62, tags: [['relay', 'wss://other.example']] })
    expect((await c.publish(elsewhere))[1]).toMatch(/^invalid: /)
    const vanish = sign(k, { kind: 62, created_at: t + 1, tags: [['relay', relay.url]] })
    expect(await c.publish(vanish)).toEqual([true, ''])
    expect(await c.query({ authors: [k.pk], kinds: [1] })).toEqual([])
    expect(relay.relay.store.has(wrapForK.id)).toBe(false)
    expect((await c.publish(n1))[1]).toMatch(/^blocked: /)
    const later = sign(k, { kind: 1, created_at: t + 2 })
    expect(await c.publish(later)).toEqual([true, ''])
  })
})

describe('NIP-11, NIP-13 and bad input', () => {
  it('serves the relay information document on Accept: application/nostr+json', async () => {
    const res = await fetch(relay.url.replace('ws', 'http'), {
      headers: { Accept: 'application/nostr+json' },
    })
    expect(res.headers.get('content-type')).toContain('application/nostr+json')
    const info = (await res.json()) as Record<string, unknown>
    expect(info.supported_nips).toEqual(
      expect.arrayContaining([1, 9, 11, 29, 40, 42, 45, 59, 62, 70, 86]),
    )
    expect(info.self).toBe(relay.relay.key.pubkey)
    expect(info.limitation).toMatchObject({ max_subid_length: 64, max_limit: 500 })
  })

  it('requires proof of work when configured', async () => {
    const pow = await tempRelay({ policies: { minPowDifficulty: 8 } })
    const pc = await RawClient.open(pow.url)
    const k = newKey()
    const weak = sign(k, { kind: 1, content: 'no work' })
    if (getPow(weak.id) < 8) expect((await pc.publish(weak))[1]).toMatch(/^pow: /)
    const mined = finalizeEvent(
      minePow({ kind: 1, content: 'work', tags: [], created_at: now(), pubkey: k.pk }, 8),
      k.sk,
    )
    expect(await pc.publish(mined)).toEqual([true, ''])
    pc.close()
    await pow.stop()
  })

  it('answers bad ids and signatures with OK false invalid:', async () => {
    const k = newKey()
    const e = sign(k, { kind: 1, content: 'real' })
    // Stored first: a forgery reusing a stored id is still refused (not taken for a duplicate).
    expect(await c.publish(e)).toEqual([true, ''])
    expect(await c.publish({ ...e, content: 'tampered' })).toEqual([
      false,
      expect.stringMatching(/^invalid: /),
    ])
    expect(await c.publish({ ...e, sig: 'a'.repeat(128) })).toEqual([
      false,
      expect.stringMatching(/^invalid: /),
    ])
    expect(await c.publish({ ...e, kind: 'one' })).toEqual([
      false,
      expect.stringMatching(/^invalid: /),
    ])
    c.send('not json')
    expect((await c.next((m) => m[0] === 'NOTICE'))[1]).toMatch(/^invalid: /)
  })
})
