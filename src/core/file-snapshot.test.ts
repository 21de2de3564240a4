import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { writeFileAtomicSync } from './atomic-file'
import { fileSnapshot } from './file-snapshot'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))

describe('fileSnapshot', () => {
  it('reads again only when the file changed, and every time while it is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'snapshot-'))
    dirs.push(dir)
    const path = join(dir, 'setup.json')
    let reads = 0
    const snap = fileSnapshot(path, () => {
      reads++
      try {
        return JSON.parse(readFileSync(path, 'utf8')) as { n: number }
      } catch {
        return null
      }
    })
    expect(snap.get()).toBeNull()
    expect(snap.get()).toBeNull()
    expect(reads).toBe(2)
    writeFileAtomicSync(path, '{"n":1}', 0o600)
    expect(snap.get()).toEqual({ n: 1 })
    expect(snap.get()).toEqual({ n: 1 })
    expect(reads).toBe(3)
    // An atomic rewrite (a new file renamed into place) and an in-place write are both seen.
    writeFileAtomicSync(path, '{"n":2}', 0o600)
    expect(snap.get()).toEqual({ n: 2 })
    writeFileSync(path, '{"n":33}')
    expect(snap.get()).toEqual({ n: 33 })
    expect(reads).toBe(5)
    snap.forget()
    snap.get()
    expect(reads).toBe(6)
  })
})
