// The NWC connections' keys and the zapper key under the box key: sealed with only the zapper's
// public key readable, shut while locked, the file the same across a password change, and a
// plain file of the first version sealed on unlock.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BoxKey } from '../secrets/box-key'
import { WalletServiceKeys } from './wallet-service-keys'

let dir: string
let path: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nwc-keys-'))
  path = join(dir, 'secrets', 'wallet-service-keys.json')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('wallet service keys under the box key', () => {
  it('are sealed, shut while locked, and untouched by a password change', async () => {
    const box = new BoxKey(dir)
    await box.enterPassword('owner password 1')
    const store = new WalletServiceKeys(path, box)
    const service = bytesToHex(generateSecretKey())
    store.addConnection('c1', service)
    const keys = store.require()
    const before = readFileSync(path)
    const text = before.toString()
    expect(JSON.parse(text)).toMatchObject({
      version: 2,
      zapperPubkey: getPublicKey(hexToBytes(keys.zapper)),
    })
    expect(text).not.toContain(service)
    expect(text).not.toContain(keys.zapper)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700)

    await box.changePassword('owner password 1', 'owner password 2')
    expect(readFileSync(path).equals(before)).toBe(true)

    const locked = new BoxKey(dir) // after a restart
    const shut = new WalletServiceKeys(path, locked)
    expect(shut.get()).toBeNull()
    expect(shut.zapperPubkey()).toBe(getPublicKey(hexToBytes(keys.zapper)))
    expect(() => shut.require()).toThrow(expect.objectContaining({ code: 'box.locked' }))
    expect(() => shut.addConnection('c2', service)).toThrow(
      expect.objectContaining({ code: 'box.locked' }),
    )
    await locked.enterPassword('owner password 2')
    expect(shut.get()).toEqual({ zapper: keys.zapper, connections: { c1: service } })
    expect(readFileSync(path).equals(before)).toBe(true)
  }, 60_000)

  it('keeps a plain file before the password and seals it on unlock', async () => {
    const box = new BoxKey(dir)
    const store = new WalletServiceKeys(path, box)
    const service = bytesToHex(generateSecretKey())
    store.addConnection('c1', service)
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(1)
    expect(store.sealPlainFile()).toBe(false)
    const zapper = store.require().zapper
    await box.enterPassword('owner password 1')
    expect(store.sealPlainFile()).toBe(true)
    const text = readFileSync(path, 'utf8')
    expect(JSON.parse(text).version).toBe(2)
    expect(text).not.toContain(service)
    expect(text).not.toContain(zapper)
    expect(new WalletServiceKeys(path, box).get()).toEqual({ zapper, connections: { c1: service } })
  }, 60_000)
})
