// The send saga's steps only move forward from the states they name; coins stay held while a
// review is live or a signed send waits, and are free again after expiry, discard or refusal.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { SendReview } from '../../../shared/api/wallet-send'
import { REVIEW_TTL_MS, SendStore } from './send-saga'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function store(): { s: SendStore; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'send-saga-'))
  dirs.push(dir)
  const path = join(dir, 'sends.sqlite')
  return { s: new SendStore(path), path }
}
const review = {} as SendReview

describe('send saga store', () => {
  it('draft → reviewed → signed → broadcast → seen, each step once', () => {
    const { s } = store()
    const id = s.draft({ accountId: 'a', kind: 'send', coins: ['t:0'] })
    expect(s.signed(id, 'p', 'hex', 'txid')).toBe(false) // not reviewed yet
    s.reviewed(id, review, 'unsigned', 'txid')
    expect(s.signed(id, 'signed', 'hex', 'txid')).toBe(true)
    expect(s.signed(id, 'signed', 'hex', 'txid')).toBe(false)
    expect(s.broadcast(id)).toBe(true)
    expect(s.discard(id)).toBe(false) // a sent transaction cannot be discarded
    expect(s.seen(id)).toBe(true)
    expect(s.get(id)).toMatchObject({ state: 'seen', psbt: 'signed', raw_hex: 'hex', txid: 'txid' })
    s.close()
  })

  it('holds coins of live reviews and signed sends, across a restart; frees them after expiry, discard or refusal', () => {
    const { s, path } = store()
    const a = s.draft({ accountId: 'a', kind: 'send', coins: ['t:0'] })
    s.reviewed(a, review, 'u', undefined)
    const b = s.draft({ accountId: 'a', kind: 'send', coins: ['t:1'] })
    s.reviewed(b, review, 'u', 'x')
    s.signed(b, 's', 'hex', 'x')
    const c = s.draft({ accountId: 'a', kind: 'send', coins: ['t:2'] })
    s.reviewed(c, review, 'u', undefined)
    s.discard(c)
    s.close()

    const again = new SendStore(path)
    expect([...again.heldCoins('a')].sort()).toEqual(['t:0', 't:1'])
    expect([...again.heldCoins('a', Date.now() + REVIEW_TTL_MS + 1)]).toEqual(['t:1'])
    expect(again.unresolved().map((r) => r.id)).toEqual([b])
    expect(again.failed(b, 'refused')).toBe(true)
    expect([...again.heldCoins('a')]).toEqual(['t:0'])
    // A refused send may be broadcast again (the same transaction) once the reason is gone.
    expect(again.broadcast(b)).toBe(true)
    again.close()
  })
})
