import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  DevicePairing,
  PAIRING_CODE_MAX_TRIES,
  PAIRING_CODE_TTL_MS,
  normalizePairingCode,
} from './device-pairing'

describe('device pairing codes', () => {
  const dirs: string[] = []
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'flashbox-pairing-'))
    dirs.push(d)
    return d
  }
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('a code pairs one device once; the box keeps only a hash, 0600', () => {
    const d = dir()
    const p = new DevicePairing(d)
    const { code } = p.issue()
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/)
    const r = p.redeem(code.toLowerCase().replace('-', ' '))
    expect(r.ok).toBe(true)
    const token = r.ok ? r.deviceToken : ''
    expect(p.known(token)).toBe(true)
    expect(p.known(token + 'x')).toBe(false)
    expect(p.known(undefined)).toBe(false)
    // Single use.
    expect(p.redeem(code)).toEqual({ ok: false, reason: 'none' })
    const file = join(d, 'reach', 'paired-devices.json')
    expect(readFileSync(file, 'utf8')).not.toContain(token)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    // A new instance (restart) still knows the device.
    expect(new DevicePairing(d).known(token)).toBe(true)
  })

  it('expires', () => {
    let now = 1_000_000
    const p = new DevicePairing(dir(), () => now)
    const { code } = p.issue()
    expect(p.pending()?.code).toBe(code)
    now += PAIRING_CODE_TTL_MS
    expect(p.pending()).toBeNull()
    expect(p.redeem(code)).toEqual({ ok: false, reason: 'expired' })
  })

  it('a few wrong codes void the code, even the right one after them', () => {
    const p = new DevicePairing(dir())
    const { code } = p.issue()
    const wrong = code === 'AAAA-AAAA' ? 'BBBB-BBBB' : 'AAAA-AAAA'
    for (let i = 0; i < PAIRING_CODE_MAX_TRIES; i++)
      expect(p.redeem(wrong)).toEqual({ ok: false, reason: 'wrong' })
    expect(p.redeem(code)).toEqual({ ok: false, reason: 'none' })
  })

  it('a new code replaces the old one; forgetting unpairs every device', () => {
    const p = new DevicePairing(dir())
    const first = p.issue().code
    const second = p.issue().code
    if (first !== second) expect(p.redeem(first).ok).toBe(false)
    const r = p.redeem(second)
    expect(r.ok).toBe(true)
    expect(p.count()).toBe(1)
    p.forgetAll()
    expect(p.known(r.ok ? r.deviceToken : '')).toBe(false)
  })

  it('forgives look-alike letters, spaces and case', () => {
    expect(normalizePairingCode(' 7kq2 m9xo ')).toBe('7KQ2-M9X0')
    expect(normalizePairingCode('1il0-oooo')).toBe('1110-0000')
  })
})
