// The box key: made from the owner's password, unwrapped only by it, re-wrapped on a password
// change without touching what is sealed under it, and purpose-bound sealing.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BoxKey, type BoxKeychain } from './box-key'
import { readSealedFile, writeSealedFile } from './box-key-file'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tmp() {
  const d = mkdtempSync(join(tmpdir(), 'box-key-'))
  dirs.push(d)
  return d
}
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: { code?: string }) => e.code,
  )

describe('box key', () => {
  it('is made at the first password, opened only by it, and kept 0600', async () => {
    const dir = tmp()
    const box = new BoxKey(dir)
    expect(box.state).toBe('none')
    expect(() => box.seal('x', 'y')).toThrow(/no owner password/)
    await box.enterPassword('correct horse battery')
    expect(box.state).toBe('unlocked')
    expect(statSync(box.path).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700)
    const sealed = box.seal('ecash.seed', 'abandon abandon about')
    expect(sealed).not.toContain('abandon')

    const again = new BoxKey(dir) // after a restart: locked
    expect(again.state).toBe('locked')
    expect(() => again.open('ecash.seed', sealed)).toThrow(/locked/)
    expect(await codeOf(again.enterPassword('wrong password!!'))).toBe('box.wrong_password')
    await again.enterPassword('correct horse battery')
    expect(again.open('ecash.seed', sealed).toString()).toBe('abandon abandon about')
    // Bound to its purpose, and any changed byte is refused.
    expect(() => again.open('nostr.identity', sealed)).toThrow(/cannot be decrypted/)
    // Flip one bit of the decoded bytes (a changed base64 letter may only touch padding bits).
    const raw = Buffer.from(sealed.slice('fbx1.'.length), 'base64')
    raw.writeUInt8(raw.readUInt8(raw.length - 5) ^ 0x01, raw.length - 5)
    const flipped = 'fbx1.' + raw.toString('base64')
    expect(() => again.open('ecash.seed', flipped)).toThrow(/cannot be decrypted/)
  })

  it('a password change re-wraps the key only: sealed files stay byte for byte', async () => {
    const dir = tmp()
    const box = new BoxKey(dir)
    await box.enterPassword('first password 1')
    const file = join(dir, 'ecash', 'seed.json')
    writeSealedFile(box, file, 'ecash.seed', 'the words')
    const before = readFileSync(file)
    const wrappedBefore = box.readWrapped()!

    expect(await codeOf(box.changePassword('not the password', 'second password 2'))).toBe(
      'box.wrong_password',
    )
    await box.changePassword('first password 1', 'second password 2')
    expect(readFileSync(file).equals(before)).toBe(true)
    const wrappedAfter = box.readWrapped()!
    expect(wrappedAfter.keyId).toBe(wrappedBefore.keyId)
    expect(wrappedAfter.wrapped).not.toBe(wrappedBefore.wrapped)

    const restarted = new BoxKey(dir)
    expect(await codeOf(restarted.enterPassword('first password 1'))).toBe('box.wrong_password')
    await restarted.enterPassword('second password 2')
    expect(readSealedFile(restarted, file, 'ecash.seed')!.toString()).toBe('the words')
  })

  it('unlocks from a keychain only with the same key', async () => {
    const dir = tmp()
    let kept: Uint8Array | null = null
    const keychain: BoxKeychain = {
      available: () => true,
      load: () => kept,
      store: (k) => {
        kept = Uint8Array.from(k)
      },
      clear: () => {
        kept = null
      },
    }
    const box = new BoxKey(dir)
    box.useKeychain(keychain)
    expect(box.keychainStatus()).toEqual({ available: true, enabled: false })
    await box.enterPassword('a good password')
    box.setKeychain(true)
    expect(box.keychainStatus().enabled).toBe(true)

    const after = new BoxKey(dir)
    after.useKeychain(keychain)
    expect(await after.unlockFromKeychain()).toBe(true)
    expect(after.state).toBe('unlocked')

    kept = new Uint8Array(32).fill(7) // someone else's key
    const other = new BoxKey(dir)
    other.useKeychain(keychain)
    expect(await other.unlockFromKeychain()).toBe(false)
    expect(other.state).toBe('locked')

    const headless = new BoxKey(dir)
    expect(headless.keychainStatus()).toEqual({ available: false, enabled: false })
    expect(() => headless.setKeychain(true)).toThrow(/no protected keychain/)
  })

  it('refuses a damaged key file plainly', async () => {
    const dir = tmp()
    const box = new BoxKey(dir)
    await box.enterPassword('a good password')
    writeFileSync(box.path, '{"v":1}')
    expect(() => new BoxKey(dir).readWrapped()).toThrow(/damaged/)
  })
})
