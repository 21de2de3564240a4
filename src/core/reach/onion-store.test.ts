// The onion keys' stored copy under the box key: sealed with only the addresses readable, the same
// across a password change (file byte for byte), a plain file of the first version sealed on
// unlock, and Tor's runtime copy reused while the box is locked (a new key needs it unlocked).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BoxKey } from '../secrets/box-key'
import {
  loadOrCreateOnionKeys,
  onionKeysPath,
  prepareHiddenServiceDirs,
  sealOnionKeysFile,
  storedOnionHostnames,
} from './onion-store'

let dir: string
let hs: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'onion-store-'))
  hs = join(dir, 'tor', 'hs')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('onion keys under the box key', () => {
  it('stores them sealed, survives a password change, and reuses Tor’s copy while locked', async () => {
    const box = new BoxKey(dir)
    await box.enterPassword('owner password 1')
    prepareHiddenServiceDirs(dir, hs, ['mint', 'relay'], box)
    const keys = loadOrCreateOnionKeys(dir, ['mint', 'relay'], box)
    const path = onionKeysPath(dir)
    const before = readFileSync(path)
    const file = JSON.parse(before.toString())
    expect(file.version).toBe(2)
    expect(file.hostnames).toEqual({ mint: keys.mint.hostname, relay: keys.relay.hostname })
    for (const k of Object.values(keys)) {
      expect(before.toString()).not.toContain(bytesToHex(k.seed))
      expect(before.toString()).not.toContain(Buffer.from(k.seed).toString('base64').slice(0, 20))
    }
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700)
    expect(readFileSync(join(hs, 'mint', 'hostname'), 'utf8').trim()).toBe(keys.mint.hostname)
    expect(storedOnionHostnames(dir).relay).toBe(keys.relay.hostname)

    await box.changePassword('owner password 1', 'owner password 2')
    expect(readFileSync(path).equals(before)).toBe(true)

    // After a restart (locked), Tor's runtime copy is used as it is.
    const locked = new BoxKey(dir)
    const secret = readFileSync(join(hs, 'mint', 'hs_ed25519_secret_key'))
    prepareHiddenServiceDirs(dir, hs, ['mint', 'relay'], locked)
    expect(readFileSync(join(hs, 'mint', 'hs_ed25519_secret_key')).equals(secret)).toBe(true)
    // A service without a key yet needs the box unlocked; nothing is written in clear meanwhile.
    expect(() => prepareHiddenServiceDirs(dir, hs, ['mint', 'frontdoor'], locked)).toThrow(
      expect.objectContaining({ code: 'box.locked' }),
    )
    expect(readFileSync(path).equals(before)).toBe(true)
    await locked.enterPassword('owner password 2')
    prepareHiddenServiceDirs(dir, hs, ['mint', 'relay', 'frontdoor'], locked)
    const after = loadOrCreateOnionKeys(dir, ['mint', 'relay', 'frontdoor'], locked)
    expect(after.mint.hostname).toBe(keys.mint.hostname)
    expect(after.relay.hostname).toBe(keys.relay.hostname)
    expect(readFileSync(join(hs, 'frontdoor', 'hostname'), 'utf8').trim()).toBe(
      after.frontdoor.hostname,
    )
  }, 60_000)

  it('seals a plain file of the first version on unlock, with the same addresses', async () => {
    // Before the owner had a password: version 1, seeds in clear.
    const plain = loadOrCreateOnionKeys(dir, ['mint', 'relay'])
    expect(JSON.parse(readFileSync(onionKeysPath(dir), 'utf8')).version).toBe(1)
    const box = new BoxKey(dir)
    expect(sealOnionKeysFile(dir, box)).toBe(false) // no box key yet
    await box.enterPassword('owner password 1')
    expect(sealOnionKeysFile(dir, box)).toBe(true)
    const text = readFileSync(onionKeysPath(dir), 'utf8')
    expect(JSON.parse(text).version).toBe(2)
    expect(text).not.toContain(bytesToHex(plain.mint.seed))
    expect(sealOnionKeysFile(dir, box)).toBe(false)
    const sealed = loadOrCreateOnionKeys(dir, ['mint', 'relay'], box)
    expect(sealed.mint.hostname).toBe(plain.mint.hostname)
    expect(sealed.relay.hostname).toBe(plain.relay.hostname)
    // Without the box key the sealed file cannot be opened.
    expect(() => loadOrCreateOnionKeys(dir, ['mint'])).toThrow(
      expect.objectContaining({ code: 'box.locked' }),
    )
  }, 60_000)
})
