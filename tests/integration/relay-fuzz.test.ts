// Fuzzing the relay over real WebSockets.
//  1. Thousands of malformed and hostile frames from several connections (bounded in count and
//     time) while a well-behaved client keeps publishing and querying: it must keep getting
//     answers, and the relay must answer hostile input with NOTICE/OK/CLOSED, never crash.
//  2. Random events and random filters: the relay's answers are compared with a NAIVE IN-MEMORY
//     MATCHER written below (the reference model of NIP-01, independent of the relay's SQL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { newKey, RawClient, sign, tempRelay, type Key, type TestRelay } from './relay-harness'
import type { NostrEvent } from '../../services/relay/src/nip01'

/** Deterministic PRNG (mulberry32) so a failure can be replayed with the same seed. */
function rng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!
  const subset = <T>(xs: readonly T[]): T[] => xs.filter(() => next() < 0.4)
  return { next, int, pick, subset }
}

let relay: TestRelay
beforeAll(async () => {
  relay = await tempRelay({ policies: { limits: { maxMessageBytes: 128 * 1024 } } })
})
afterAll(async () => {
  await relay?.stop()
})

describe('hostile input', () => {
  it('survives thousands of malformed frames while another client keeps being served', async () => {
    const r = rng(0xf1a5b0c5)
    const valid = sign(newKey(), { kind: 1, content: 'valid' })
    const hex = (n: number) =>
      Array.from({ length: n }, () => '0123456789abcdef'[r.int(16)]).join('')
    const generators: (() => string | Buffer)[] = [
      () => Buffer.from(Array.from({ length: 1 + r.int(200) }, () => r.int(256))),
      () => JSON.stringify(['EVENT', valid]).slice(0, 1 + r.int(200)),
      () =>
        JSON.stringify([r.pick(['EVENT', 'REQ', 'COUNT', 'CLOSE', 'AUTH', 'HELLO', '', 42, null])]),
      () => JSON.stringify(['EVENT', r.pick([1, 'x', null, [], {}, { id: hex(64) }, true])]),
      () =>
        JSON.stringify([
          'EVENT',
          {
            ...valid,
            [r.pick(['id', 'pubkey', 'sig', 'kind', 'created_at', 'tags', 'content'])]: r.pick([
              -1,
              'zz',
              null,
              [[1]],
              {},
              1.5,
              1e300,
            ]),
          },
        ]),
      () => JSON.stringify(['EVENT', { ...valid, sig: hex(128) }]),
      () => JSON.stringify(['EVENT', { ...valid, content: 'tampered' }]),
      () =>
        JSON.stringify([
          'REQ',
          r.pick(['', 'x'.repeat(65), 1, null, 'ok']),
          r.pick([
            {},
            { kinds: ['1'] },
            { limit: -1 },
            { since: 'yesterday' },
            { '#e': [1] },
            { ids: ['xyz'] },
            'filter',
            null,
            [],
          ]),
        ]),
      () => JSON.stringify(['REQ', 'many', ...Array.from({ length: 20 }, () => ({ kinds: [1] }))]),
      () =>
        JSON.stringify(['REQ', 'wide', { authors: Array.from({ length: 1500 }, () => hex(64)) }]),
      () => JSON.stringify(['COUNT', 'c', r.pick([{ kinds: 'x' }, 5, { '#t': 'x' }])]),
      () => JSON.stringify(['CLOSE', r.pick([1, null, {}, 'nope'])]),
      () => JSON.stringify(['AUTH', r.pick([1, {}, valid, { ...valid, kind: 22242 }])]),
      () => '['.repeat(2000 + r.int(2000)) + ']'.repeat(r.int(2000)),
      () => JSON.stringify({ __proto__: { polluted: true }, constructor: { prototype: { x: 1 } } }),
      () => JSON.stringify(['REQ', 's' + r.int(1000), { kinds: [1], limit: 1 }]),
      () => '"' + 'x'.repeat(1000 + r.int(5000)) + '"',
    ]

    const good = await RawClient.open(relay.url)
    const gk = newKey()
    const hostile = await Promise.all([0, 1, 2].map(() => RawClient.open(relay.url)))
    const deadline = Date.now() + 60_000
    const FRAMES = 3000
    let goodRounds = 0
    const goodLoop = (async () => {
      while (goodRounds < 15 && Date.now() < deadline) {
        const ev = sign(gk, { kind: 1, content: `still here ${goodRounds}` })
        expect(await good.publish(ev)).toEqual([true, ''])
        expect((await good.query({ ids: [ev.id] })).map((e) => e.id)).toEqual([ev.id])
        goodRounds++
      }
    })()
    for (let i = 0; i < FRAMES && Date.now() < deadline; i++) {
      const h = hostile[i % hostile.length]!
      if (h.ws.readyState !== WebSocket.OPEN) continue
      const f = r.pick(generators)()
      h.ws.send(f)
      // Yield now and then so the good client's frames interleave with the flood.
      if (i % 50 === 0) await new Promise((res) => setImmediate(res))
    }
    await goodLoop
    expect(goodRounds).toBe(15)

    // An oversized frame (> maxPayload) closes only that connection.
    const big = await RawClient.open(relay.url)
    const closed = new Promise<number>((res) => big.ws.once('close', (code) => res(code)))
    big.ws.send(JSON.stringify(['EVENT', { ...valid, content: 'x'.repeat(140 * 1024) }]))
    expect(await closed).toBe(1009)

    // Hostile connections got answers with machine-readable prefixes, and still work.
    const answers = hostile
      .flatMap((h) => h.frames)
      .filter((m) => m[0] !== 'EVENT' && m[0] !== 'EOSE')
    expect(answers.length).toBeGreaterThan(100)
    const prefix = /^(invalid|blocked|rate-limited|auth-required|restricted|duplicate|error|pow): /
    for (const m of answers) {
      if (m[0] === 'NOTICE') expect(m[1]).toMatch(prefix)
      if (m[0] === 'CLOSED') expect(m[2]).toMatch(prefix)
      if (m[0] === 'OK' && m[2] === false) expect(m[3]).toMatch(prefix)
    }
    for (const h of hostile) {
      if (h.ws.readyState === WebSocket.OPEN)
        expect(await h.count({ limit: 1 })).toEqual(expect.any(Number))
    }
    const fresh = await RawClient.open(relay.url)
    expect((await fresh.query({ authors: [gk.pk] })).length).toBe(15)
    for (const c of [good, fresh, ...hostile]) c.close()
  })
})

// ----------------------------------------------------------------------------------------------
// The naive reference model: a list of events with NIP-01 storage rules and a filter matcher
// written directly from the spec text (no SQL, no indexes, no shared code with the relay).

type TestFilter = {
  ids?: string[]
  authors?: string[]
  kinds?: number[]
  since?: number
  until?: number
  limit?: number
  [tag: `#${string}`]: string[]
}

class NaiveStore {
  events: NostrEvent[] = []
  private static replaceKey(e: NostrEvent): string | undefined {
    if (e.kind === 0 || e.kind === 3 || (e.kind >= 10000 && e.kind < 20000))
      return `${e.kind}:${e.pubkey}`
    if (e.kind >= 30000 && e.kind < 40000)
      return `${e.kind}:${e.pubkey}:${e.tags.find((t) => t[0] === 'd')?.[1] ?? ''}`
    return undefined
  }
  add(e: NostrEvent): void {
    if (e.kind >= 20000 && e.kind < 30000) return // ephemeral: never stored
    if (this.events.some((x) => x.id === e.id)) return
    const key = NaiveStore.replaceKey(e)
    if (key !== undefined) {
      const cur = this.events.find((x) => NaiveStore.replaceKey(x) === key)
      if (cur) {
        const newer =
          e.created_at > cur.created_at || (e.created_at === cur.created_at && e.id < cur.id)
        if (!newer) return
        this.events = this.events.filter((x) => x !== cur)
      }
    }
    this.events.push(e)
  }
  static matches(f: TestFilter, e: NostrEvent): boolean {
    if (f.ids && !f.ids.includes(e.id)) return false
    if (f.authors && !f.authors.includes(e.pubkey)) return false
    if (f.kinds && !f.kinds.includes(e.kind)) return false
    if (f.since !== undefined && e.created_at < f.since) return false
    if (f.until !== undefined && e.created_at > f.until) return false
    for (const [k, values] of Object.entries(f)) {
      if (!k.startsWith('#')) continue
      const name = k.slice(1)
      if (!e.tags.some((t) => t[0] === name && (values as string[]).includes(t[1]!))) return false
    }
    return true
  }
  static order = (a: NostrEvent, b: NostrEvent) =>
    b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  query(filters: TestFilter[]): string[] {
    const out = new Map<string, NostrEvent>()
    for (const f of filters) {
      const hits = this.events.filter((e) => NaiveStore.matches(f, e)).sort(NaiveStore.order)
      for (const e of hits.slice(0, f.limit ?? hits.length)) out.set(e.id, e)
    }
    return [...out.values()].sort(NaiveStore.order).map((e) => e.id)
  }
  count(filters: TestFilter[]): number {
    return this.events.filter((e) => filters.some((f) => NaiveStore.matches(f, e))).length
  }
}

describe('queries against a naive in-memory matcher', () => {
  it('returns exactly what the reference model returns for random events and filters', async () => {
    // A relay of its own: the model must know every stored event.
    const relay = await tempRelay()
    const r = rng(0x5eed1)
    const keys: Key[] = [newKey(), newKey(), newKey(), newKey()]
    const base = Math.floor(Date.now() / 1000) - 10_000
    const words = ['a', 'b', 'c', 'd']
    const kinds = [1, 1, 1, 7, 1111, 0, 10002, 30000, 30000, 20001]
    const events: NostrEvent[] = []
    for (let i = 0; i < 300; i++) {
      const k = r.pick(keys)
      const kind = r.pick(kinds)
      const tags: string[][] = []
      for (const w of r.subset(words)) tags.push(['t', w])
      if (r.next() < 0.3) tags.push(['p', r.pick(keys).pk])
      if (kind === 30000) tags.push(['d', r.pick(['x', 'y', ''])])
      // A narrow time range makes created_at ties (and replacement ties) common.
      events.push(sign(k, { kind, tags, content: `n${i}`, created_at: base + r.int(40) }))
    }
    const model = new NaiveStore()
    const c = await RawClient.open(relay.url)
    for (const e of events) {
      const [ok] = await c.publish(e)
      expect(ok).toBe(true)
      model.add(e)
    }

    const randomFilter = (): TestFilter => {
      const f: TestFilter = {}
      if (r.next() < 0.15)
        f.ids = [
          ...r
            .subset(events)
            .map((e) => e.id)
            .slice(0, 20),
          'f'.repeat(64),
        ]
      if (r.next() < 0.4) f.authors = r.subset(keys).map((k) => k.pk)
      if (r.next() < 0.4) f.kinds = r.subset([0, 1, 7, 1111, 10002, 20001, 30000])
      if (r.next() < 0.3) f['#t'] = r.subset(words)
      if (r.next() < 0.15) f['#p'] = r.subset(keys).map((k) => k.pk)
      if (r.next() < 0.1) f['#d'] = r.subset(['x', 'y', ''])
      if (r.next() < 0.3) f.since = base + r.int(40)
      if (r.next() < 0.3) f.until = base + r.int(40)
      if (r.next() < 0.5) f.limit = r.int(30)
      return f
    }
    for (let i = 0; i < 250; i++) {
      const filters = Array.from({ length: 1 + r.int(3) }, randomFilter)
      const got = (
        await c.query(...filters).catch((e) => {
          console.log(JSON.stringify(filters), c.frames)
          throw e
        })
      ).map((e) => e.id)
      expect({ filters, got }).toEqual({ filters, got: model.query(filters) })
      if (i % 5 === 0) expect(await c.count(...filters)).toBe(model.count(filters))
    }
    c.close()
    await relay.stop()
  })
})
