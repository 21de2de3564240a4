import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SqliteMintStore } from './sqlite-store'
import { describeMintStoreConformance } from './store.conformance'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describeMintStoreConformance('sqlite (file, WAL)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mint-store-'))
  dirs.push(dir)
  return new SqliteMintStore(join(dir, 'mint.sqlite'))
})

describeMintStoreConformance('sqlite (memory)', async () => new SqliteMintStore(':memory:'))

describe('sqlite store durability', () => {
  it('keeps spent proofs across a reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mint-store-'))
    dirs.push(dir)
    const path = join(dir, 'mint.sqlite')
    const a = new SqliteMintStore(path)
    const y = '02' + 'ab'.repeat(32)
    await a.swap(
      [{ y, keysetId: 'k', amount: 1, secret: 's', C: '02', witness: '{"signatures":[]}' }],
      [],
    )
    await a.close()
    const b = new SqliteMintStore(path)
    expect((await b.proofStates([y])).get(y)).toEqual({
      state: 'SPENT',
      witness: '{"signatures":[]}',
    })
    await b.close()
  })
})
