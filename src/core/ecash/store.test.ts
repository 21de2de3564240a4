// The ledger's guarantees: proof-state moves are all-or-nothing and guarded by the expected
// state; committed data survives a reopen; counters are never handed out twice.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Amount, type Proof } from '@cashu/cashu-ts'
import { FlashError } from '../errors'
import { EcashStore } from './store'

const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'ecash-store-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const MINT = 'http://mint.test'
const proof = (secret: string, amount: number): Proof => ({
  id: '00ad268c4d1f5826',
  amount: Amount.from(amount),
  secret,
  C: '02' + 'ab'.repeat(32),
})

describe('EcashStore', () => {
  it('keeps balances per mint and state, and its file is private (0600)', () => {
    const store = new EcashStore(tmp())
    store.addMint(MINT, true)
    store.insertProofs(MINT, [proof('a', 1), proof('b', 2), proof('c', 8)], 'unspent')
    store.moveProofs(['c'], 'unspent', 'pending-send', 'op1')
    expect(store.balances()).toEqual([{ mintUrl: MINT, spendable: 3, pending: 8 }])
    expect(statSync(store.path).mode & 0o777).toBe(0o600)
    store.close()
  })

  it('moves proofs all or nothing: one already taken aborts the whole move', () => {
    const store = new EcashStore(tmp())
    store.addMint(MINT)
    store.insertProofs(MINT, [proof('a', 1), proof('b', 2)], 'unspent')
    store.moveProofs(['b'], 'unspent', 'pending-melt', 'melt1')
    let err: unknown
    try {
      store.moveProofs(['a', 'b'], 'unspent', 'pending-send', 'send1')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(FlashError)
    expect((err as FlashError).code).toBe('ecash.proof_busy')
    // 'a' was not moved although it came first.
    expect(store.listProofs(MINT, 'unspent').map((p) => p.secret)).toEqual(['a'])
    expect(store.proofsByOp('melt1').map((p) => p.secret)).toEqual(['b'])
    store.close()
  })

  it('rolls back an operation and its proof moves together', () => {
    const store = new EcashStore(tmp())
    store.addMint(MINT)
    store.insertProofs(MINT, [proof('a', 4)], 'unspent')
    expect(() =>
      store.transaction(() => {
        const op = store.createOperation({
          kind: 'send',
          state: 'swapping',
          mintUrl: MINT,
          amount: 4,
        })
        store.moveProofs(['a'], 'unspent', 'pending-send', op.id)
        throw new Error('crash before commit')
      }),
    ).toThrow('crash before commit')
    expect(store.listOperations()).toEqual([])
    expect(store.listProofs(MINT, 'unspent')).toHaveLength(1)
    store.close()
  })

  it('never turns a spent proof back into money when it is inserted again', () => {
    const store = new EcashStore(tmp())
    store.addMint(MINT)
    store.insertProofs(MINT, [proof('a', 4)], 'unspent')
    store.moveProofs(['a'], 'unspent', 'spent')
    store.insertProofs(MINT, [proof('a', 4)], 'unspent')
    expect(store.balances()[0]!.spendable).toBe(0)
    store.close()
  })

  it('finishes an operation only from the state it expects', () => {
    const store = new EcashStore(tmp())
    const op = store.createOperation({ kind: 'melt', state: 'paying', mintUrl: MINT, amount: 10 })
    expect(store.updateOperation(op.id, { state: 'done' }, 'paying')).toBe(true)
    expect(store.updateOperation(op.id, { state: 'failed' }, 'paying')).toBe(false)
    expect(store.getOperation(op.id)!.state).toBe('done')
    store.close()
  })

  it('survives a reopen with everything committed, and counters continue where they were', async () => {
    const dir = tmp()
    const a = new EcashStore(dir)
    a.addMint(MINT)
    a.insertProofs(MINT, [proof('x', 16)], 'unspent')
    const op = a.createOperation({
      kind: 'receive',
      state: 'unclaimed',
      mintUrl: MINT,
      amount: 5,
      token: 'cashuBxyz',
      data: { k: [1, 2] },
    })
    const c = a.counterSource()
    expect(await c.reserve('ks', 3)).toEqual({ start: 0, count: 3 })
    expect(await c.reserve('ks', 2)).toEqual({ start: 3, count: 2 })
    await expect(c.reserveAt!('ks', 4, 1)).rejects.toThrow(/already used/)
    a.close()

    const b = new EcashStore(dir)
    expect(b.balances()[0]!.spendable).toBe(16)
    expect(b.getOperation(op.id)).toMatchObject({
      state: 'unclaimed',
      token: 'cashuBxyz',
      data: { k: [1, 2] },
    })
    const c2 = b.counterSource()
    expect(await c2.reserve('ks', 1)).toEqual({ start: 5, count: 1 })
    await c2.advanceToAtLeast('ks', 2)
    expect(await c2.snapshot!()).toEqual({ ks: 6 })
    await c2.advanceToAtLeast('ks', 50)
    expect(await c2.snapshot!()).toEqual({ ks: 50 })
    b.close()
  })
})
