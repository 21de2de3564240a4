// The eCash wallet's proofs and tokens at rest: sealed per row under the box key (row key as
// associated data), plain rows from before the password sealed on unlock with no plain copy left
// in the database or its WAL, rows that cannot be swapped, and a locked box that keeps balances
// readable but refuses to hand out anything spendable.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { randomBytes } from 'node:crypto'
import { Amount, type Proof } from '@cashu/cashu-ts'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BoxKey } from '../secrets/box-key'
import { EcashStore } from './store'

const MINT = 'http://127.0.0.1:3338'
let dir: string
let boxDir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecash-at-rest-'))
  boxDir = mkdtempSync(join(tmpdir(), 'ecash-at-rest-box-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(boxDir, { recursive: true, force: true })
})

const proof = (amount: number): Proof => ({
  id: '00ad268c4d1f5826',
  amount: Amount.from(amount),
  secret: randomBytes(32).toString('hex'),
  C: '02' + randomBytes(32).toString('hex'),
  dleq: { e: randomBytes(32).toString('hex'), s: randomBytes(32).toString('hex') },
})

/** The wallet's files as bytes (database, WAL), to look for a value in clear. */
function onDisk(): Buffer {
  const files = ['wallet.sqlite', 'wallet.sqlite-wal'].map((f) => join(dir, f))
  return Buffer.concat(files.filter(existsSync).map((f) => readFileSync(f)))
}

describe('eCash store at rest', () => {
  it('seals rows from before the password on unlock, new rows at once, and opens them again', async () => {
    const box = new BoxKey(boxDir)
    const store = new EcashStore(dir, box)
    const before = [proof(8), proof(2)]
    store.addMint(MINT, true)
    store.insertProofs(MINT, before, 'unspent')
    const token = 'cashuB' + randomBytes(40).toString('base64url')
    const op = store.createOperation({
      kind: 'send',
      state: 'sent',
      mintUrl: MINT,
      amount: 10,
      token,
      data: { inputSecrets: before.map((p) => p.secret) },
    })
    // No owner password yet: stored as they are (and the scan below proves it can see them).
    expect(onDisk().includes(before[0]!.C)).toBe(true)
    expect(onDisk().includes(token)).toBe(true)

    await box.enterPassword('owner password') // unlocks: the wallet seals what it holds
    const after = [proof(4)]
    store.insertProofs(MINT, after, 'unspent')
    for (const p of [...before, ...after]) {
      expect(onDisk().includes(p.C)).toBe(false)
      expect(onDisk().includes(p.dleq!.e)).toBe(false)
    }
    expect(onDisk().includes(token)).toBe(false)
    // Read back through the box key, unchanged.
    const listed = store.listProofs(MINT, 'unspent')
    expect(listed.map((p) => p.C).sort()).toEqual([...before, ...after].map((p) => p.C).sort())
    expect(store.proofsBySecrets([before[0]!.secret])[0]).toMatchObject({
      C: before[0]!.C,
      dleq: before[0]!.dleq,
    })
    expect(store.getOperation(op.id)).toMatchObject({
      token,
      data: { inputSecrets: before.map((p) => p.secret) },
    })
    store.close()
  })

  it('refuses a sealed value moved to another row, and keeps spendable data shut while locked', async () => {
    const box = new BoxKey(boxDir)
    await box.enterPassword('owner password')
    const store = new EcashStore(dir, box)
    store.addMint(MINT, true)
    const [a, b] = [proof(1), proof(2)]
    store.insertProofs(MINT, [a!, b!], 'unspent')
    store.close()

    // Someone with the disk copies row a's sealed C over row b's: it does not open as b's.
    const raw = new DatabaseSync(join(dir, 'wallet.sqlite'))
    const sealedA = raw.prepare('SELECT c FROM proofs WHERE secret = ?').get(a!.secret) as {
      c: string
    }
    raw.prepare('UPDATE proofs SET c = ? WHERE secret = ?').run(sealedA.c, b!.secret)
    raw.close()
    const reopened = new EcashStore(dir, box)
    expect(reopened.proofsBySecrets([a!.secret])[0]?.C).toBe(a!.C)
    expect(() => reopened.proofsBySecrets([b!.secret])).toThrow(
      expect.objectContaining({ code: 'box.sealed_damaged' }),
    )
    reopened.close()

    // After a restart, before the owner password: balances show, nothing spendable comes out.
    const locked = new EcashStore(dir, new BoxKey(boxDir))
    expect(locked.balances()).toEqual([{ mintUrl: MINT, spendable: 3, pending: 0 }])
    expect(() => locked.listProofs(MINT, 'unspent')).toThrow(
      expect.objectContaining({ code: 'box.locked' }),
    )
    expect(() => locked.insertProofs(MINT, [proof(1)], 'unspent')).toThrow(
      expect.objectContaining({ code: 'box.locked' }),
    )
    locked.close()

    // A new password re-wraps the box key only: the rows open with it.
    await box.changePassword('owner password', 'new owner password')
    const next = new BoxKey(boxDir)
    await next.enterPassword('new owner password')
    const afterChange = new EcashStore(dir, next)
    expect(afterChange.proofsBySecrets([a!.secret])[0]?.C).toBe(a!.C)
    afterChange.close()
  })
})
