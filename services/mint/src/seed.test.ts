import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadOrCreateSeed } from './seed'
import { scrub } from './log'

let dir = ''
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('mint seed at rest', () => {
  it('is created once, encrypted with a 0600 key file, and reloads to the same bytes', () => {
    dir = mkdtempSync(join(tmpdir(), 'mint-seed-'))
    const a = loadOrCreateSeed(dir)
    expect(a).toHaveLength(64)
    const sealed = readFileSync(join(dir, 'seed.enc'), 'utf8')
    expect(sealed).not.toContain(hex(a))
    expect(JSON.parse(sealed).kdf).toBe('keyfile')
    expect(statSync(join(dir, 'seed.enc')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'seed.key')).mode & 0o777).toBe(0o600)
    expect(hex(loadOrCreateSeed(dir))).toBe(hex(a))
    // Registered for redaction: it can never reach a log line.
    expect(scrub(`seed=${hex(a)}`)).not.toContain(hex(a))
  })

  it('with a passphrase: scrypt, no key file, and the wrong passphrase is refused', () => {
    dir = mkdtempSync(join(tmpdir(), 'mint-seed-'))
    const a = loadOrCreateSeed(dir, 'correct horse battery staple')
    expect(JSON.parse(readFileSync(join(dir, 'seed.enc'), 'utf8')).kdf).toBe('scrypt')
    expect(() => statSync(join(dir, 'seed.key'))).toThrow()
    expect(hex(loadOrCreateSeed(dir, 'correct horse battery staple'))).toBe(hex(a))
    expect(() => loadOrCreateSeed(dir, 'wrong passphrase')).toThrow(/could not be decrypted/)
    expect(() => loadOrCreateSeed(dir)).toThrow(/passphrase/)
  })

  it('never makes a new seed or key over existing eCash', () => {
    dir = mkdtempSync(join(tmpdir(), 'mint-seed-'))
    expect(() => loadOrCreateSeed(dir, undefined, false)).toThrow(/missing/)
    const a = loadOrCreateSeed(dir)
    rmSync(join(dir, 'seed.key'))
    expect(() => loadOrCreateSeed(dir)).toThrow(/key file is missing/)
    expect(() => statSync(join(dir, 'seed.key'))).toThrow()
    expect(a).toHaveLength(64)
  })

  it('a seed sealed with a key file is re-sealed under a passphrase given later; the key file goes', () => {
    dir = mkdtempSync(join(tmpdir(), 'mint-seed-'))
    const a = loadOrCreateSeed(dir)
    const key = readFileSync(join(dir, 'seed.key'), 'utf8').trim()
    expect(hex(loadOrCreateSeed(dir, 'key from the engine box key', false))).toBe(hex(a))
    expect(JSON.parse(readFileSync(join(dir, 'seed.enc'), 'utf8')).kdf).toBe('scrypt')
    expect(() => statSync(join(dir, 'seed.key'))).toThrow()
    expect(readFileSync(join(dir, 'seed.enc'), 'utf8')).not.toContain(key)
    expect(hex(loadOrCreateSeed(dir, 'key from the engine box key', false))).toBe(hex(a))
    expect(() => loadOrCreateSeed(dir, undefined, false)).toThrow(/passphrase/)
  })
})
