// The payment saga's store: attempts are on disk before anything is sent, once per hash.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PaymentStore } from './payment-saga'

const dirs: string[] = []
const open = () => {
  const dir = mkdtempSync(join(tmpdir(), 'flashbox-payments-'))
  dirs.push(dir)
  return { path: join(dir, 'payments.db'), store: new PaymentStore(join(dir, 'payments.db')) }
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const attempt = (hash: string) => ({
  hash,
  request: `lnbcrt-${hash}`,
  amount_sat: 1000,
  fee_limit_sat: 10,
  destination: '02'.padEnd(66, 'a'),
  description: 'coffee',
})

describe('PaymentStore', () => {
  it('attempts started together are written together, and a hash starts only once', async () => {
    const { path, store } = open()
    const started = await Promise.all([
      store.begin(attempt('a'.repeat(64))),
      store.begin(attempt('b'.repeat(64))),
      store.begin(attempt('a'.repeat(64))),
    ])
    expect(started).toEqual([true, true, false])
    store.finish('a'.repeat(64), 'succeeded', { fee: 1 })
    store.finish('b'.repeat(64), 'failed', { failure: 'no_route' })
    // Paid: never again. Failed: may be tried again.
    expect(await store.begin(attempt('a'.repeat(64)))).toBe(false)
    expect(await store.begin(attempt('b'.repeat(64)))).toBe(true)
    store.close()
    const again = new PaymentStore(path)
    expect(again.get('a'.repeat(64))).toMatchObject({ state: 'succeeded', fee_sat: 1 })
    expect(again.unresolved().map((r) => r.hash)).toEqual(['b'.repeat(64)])
    again.close()
  })

  it('attempts still queued when the store closes were never recorded: their callers hear so', async () => {
    const { path, store } = open()
    const pending = store.begin(attempt('c'.repeat(64)))
    store.close()
    await expect(pending).rejects.toMatchObject({ code: 'lightning.stopping' })
    const again = new PaymentStore(path)
    expect(again.get('c'.repeat(64))).toBeUndefined()
    again.close()
  })
})
