import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { listFolders } from './folders'

const root = mkdtempSync(join(tmpdir(), 'fb-folders-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('folder browser', () => {
  it('lists only folders (and links to folders), never files or hidden folders', () => {
    mkdirSync(join(root, 'b-data'))
    mkdirSync(join(root, 'a-usb'))
    mkdirSync(join(root, '.hidden'))
    writeFileSync(join(root, 'secret.txt'), 'never listed')
    symlinkSync(join(root, 'a-usb'), join(root, 'c-link'))
    symlinkSync(join(root, 'secret.txt'), join(root, 'd-file-link'))
    const l = listFolders(root, '/home/owner')
    expect(l.folders.map((f) => f.name)).toEqual(['a-usb', 'b-data', 'c-link'])
    expect(l.folders[0]!.path).toBe(join(root, 'a-usb'))
    expect(l.parent).toBe(tmpdir())
    expect(l.writable).toBe(true)
    expect(l.home).toBe('/home/owner')
    expect(JSON.stringify(l)).not.toContain('never listed')
  })

  it('refuses relative paths, files and folders that do not exist, in plain words', () => {
    expect(() => listFolders('relative/path')).toThrow(/is not a full path/)
    expect(() => listFolders(join(root, 'secret.txt'))).toThrow(/is a file, not a folder/)
    expect(() => listFolders(join(root, 'nope'))).toThrow(/There is no folder/)
  })

  it('starts at the home folder and has no parent at the top', () => {
    expect(listFolders(undefined, root).path).toBe(root)
    expect(listFolders('/').parent).toBeUndefined()
  })
})
