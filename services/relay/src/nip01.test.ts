import { describe, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure'
import { matchFilters, type Filter as NtFilter } from 'nostr-tools/filter'
import {
  compareEvents,
  eventShapeProblem,
  kindClass,
  matchFilter,
  parseFilter,
  replaces,
  type Filter,
  type NostrEvent,
} from './nip01'

const sk = generateSecretKey()
const ev = (kind: number, tags: string[][] = [], created_at = 100) =>
  finalizeEvent({ kind, tags, content: '', created_at }, sk) as NostrEvent

describe('NIP-01', () => {
  it('classifies kinds', () => {
    expect([0, 3, 10000, 19999].map(kindClass)).toEqual(Array(4).fill('replaceable'))
    expect([20000, 29999].map(kindClass)).toEqual(['ephemeral', 'ephemeral'])
    expect([30000, 39999].map(kindClass)).toEqual(['addressable', 'addressable'])
    expect([1, 5, 1059, 9999, 40000].map(kindClass)).toEqual(Array(5).fill('regular'))
  })

  it('replacement: newer wins, on a tie the lowest id', () => {
    expect(replaces({ ...ev(0), created_at: 2, id: 'b' }, { created_at: 1, id: 'a' })).toBe(true)
    expect(replaces({ ...ev(0), created_at: 1, id: 'a' }, { created_at: 1, id: 'b' })).toBe(true)
    expect(replaces({ ...ev(0), created_at: 1, id: 'b' }, { created_at: 1, id: 'a' })).toBe(false)
    const a = { ...ev(1), created_at: 5, id: 'a'.repeat(64) }
    const b = { ...ev(1), created_at: 5, id: 'b'.repeat(64) }
    const c = { ...ev(1), created_at: 6, id: 'c'.repeat(64) }
    expect([b, a, c].sort(compareEvents).map((e) => e.id[0])).toEqual(['c', 'a', 'b'])
  })

  it('parses filters strictly and ignores unknown keys', () => {
    expect(parseFilter({ kinds: [1], '#t': ['x'], since: 1, search: 'x' })).toEqual({
      kinds: [1],
      since: 1,
      tags: { t: ['x'] },
    })
    for (const bad of [
      null,
      [],
      'x',
      { kinds: [1.5] },
      { authors: ['AB'] },
      { limit: -1 },
      { '#e': [1] },
    ])
      expect(typeof parseFilter(bad)).toBe('string')
  })

  it('checks event shape', () => {
    expect(eventShapeProblem(ev(1))).toBeUndefined()
    expect(eventShapeProblem({ ...ev(1), tags: [[]] })).toMatch(/tag/)
    expect(eventShapeProblem({ ...ev(1), kind: 70000 })).toMatch(/kind/)
    expect(eventShapeProblem({ ...ev(1), id: 'A'.repeat(64) })).toMatch(/id/)
  })

  it('matches like nostr-tools’ matcher', () => {
    const events = [
      ev(1, [['t', 'a']], 10),
      ev(
        7,
        [
          ['p', 'x'],
          ['t', 'b'],
        ],
        20,
      ),
      ev(1, [], 30),
    ]
    const filters: Filter[] = [
      { kinds: [1] },
      { tags: { t: ['a', 'b'] } },
      { since: 15, until: 25 },
      { tags: { t: ['b'], p: ['x'] } },
      { tags: { t: ['b'], p: ['y'] } },
      { ids: [events[0]!.id] },
    ]
    for (const f of filters) {
      const nt: Record<string, unknown> = { ...f }
      delete nt.tags
      for (const [k, v] of Object.entries(f.tags ?? {})) nt[`#${k}`] = v
      for (const e of events) expect(matchFilter(f, e)).toBe(matchFilters([nt as NtFilter], e))
    }
  })
})
