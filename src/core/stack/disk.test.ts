import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { probeDataDir } from './disk'

const root = mkdtempSync(join(tmpdir(), 'flashbox-disk-'))
afterAll(() => {
  chmodSync(root, 0o700)
  rmSync(root, { recursive: true, force: true })
})

describe('probeDataDir', () => {
  it('creates a missing folder, proves it writable and leaves nothing behind', () => {
    const dir = join(root, 'a', 'b', 'data')
    const p = probeDataDir(dir)
    expect(p).toMatchObject({ path: dir, exists: true, writable: true })
    expect(p.error).toBeUndefined()
    expect(p.freeBytes).toBeGreaterThan(0)
    expect(p.totalBytes).toBeGreaterThanOrEqual(p.freeBytes)
    expect(readdirSync(dir)).toEqual([])
  })

  it.runIf(process.platform !== 'win32' && process.getuid?.() !== 0)(
    'reports a folder it cannot write to, with the free space of the disk',
    () => {
      const locked = join(root, 'locked')
      probeDataDir(locked)
      chmodSync(locked, 0o500)
      try {
        const p = probeDataDir(join(locked, 'inner'))
        expect(p.writable).toBe(false)
        expect(p.error).toBe('EACCES')
        expect(p.exists).toBe(false)
        expect(p.freeBytes).toBeGreaterThan(0)
      } finally {
        chmodSync(locked, 0o700)
      }
    },
  )

  it('reports a path that cannot be a folder', () => {
    const p = probeDataDir('/dev/null/flashbox')
    expect(p.writable).toBe(false)
    expect(p.error).toBeDefined()
    expect(existsSync('/dev/null/flashbox')).toBe(false)
  })
})
