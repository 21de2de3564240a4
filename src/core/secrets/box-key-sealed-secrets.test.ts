// The LND recovery words (through the seed vault) and the Nostr key sealed under the box key:
// files made before the owner had a password are moved under it on unlock, a locked box keeps
// them shut, and changing the owner's password re-wraps the box key alone — every one still opens
// with the new password, and their files are not touched.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as nip19 from 'nostr-tools/nip19'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BoxKey } from './box-key'
import {
  createSeedVault,
  migrateSeedVaultFile,
  openSeed,
  readSeedVault,
  rewrapSeedVault,
  sealSeed,
  storeOnce,
} from '../lightning/seed-vault'
import { Nip49KeyStore } from '../nostr/nip49-keystore'

const OLD = 'first owner password'
const NEW = 'second owner password'
const WORDS =
  'abandon ability able about above absent absorb abstract absurd abuse access accident acoustic acquire across act action actor actress actual adapt add addict address'.split(
    ' ',
  )
let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'box-sealed-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** A fresh engine's view of the box key: the file exists, the key is not in memory. */
const restarted = () => new BoxKey(dir)

describe('LND recovery words under the box key', () => {
  it('moves a password vault under the box key, keeps it shut while locked, survives a password change', async () => {
    const vaultPath = join(dir, 'secrets', 'seed-vault.json')
    // Issue 10's vault, made from the password before the box key existed.
    storeOnce(vaultPath, await createSeedVault(OLD))
    const v1 = readSeedVault(vaultPath)!
    expect(v1.v).toBe(1)
    const sealed = sealSeed(v1, WORDS)

    const box = new BoxKey(dir)
    await box.enterPassword(OLD)
    expect(
      await migrateSeedVaultFile(vaultPath, 'not the password', box).catch((e) => e.code),
    ).toBe('lightning.wrong_password')
    expect(await migrateSeedVaultFile(vaultPath, OLD, box)).toBe(true)
    const v2 = readSeedVault(vaultPath)!
    expect(v2).toMatchObject({ v: 2, kdf: 'box-key', publicKey: v1.publicKey })
    // The same key pair: the words sealed before still open, now through the box key.
    expect(await openSeed(v2, sealed, OLD, box)).toEqual(WORDS)
    await expect(openSeed(v2, sealed, 'wrong', box)).rejects.toMatchObject({
      code: 'lightning.wrong_password',
    })
    // Without the box key the password alone opens nothing.
    await expect(openSeed(v2, sealed, OLD)).rejects.toMatchObject({
      code: 'lightning.vault_needs_box',
    })
    const locked = restarted()
    await expect(openSeed(v2, sealed, OLD, locked)).rejects.toMatchObject({ code: 'box.locked' })

    // Changing the password: the box key is re-wrapped; the vault file stays byte for byte.
    const before = readFileSync(vaultPath)
    await box.changePassword(OLD, NEW)
    expect(await rewrapSeedVault(v2, OLD, NEW)).toEqual(v2)
    expect(readFileSync(vaultPath).equals(before)).toBe(true)
    const after = restarted()
    await after.enterPassword(NEW)
    expect(await openSeed(readSeedVault(vaultPath)!, sealed, NEW, after)).toEqual(WORDS)
    await expect(openSeed(v2, sealed, OLD, after)).rejects.toMatchObject({
      code: 'lightning.wrong_password',
    })
  })

  it('a vault made after the password is under the box key from the start', async () => {
    const box = new BoxKey(dir)
    await box.enterPassword(OLD)
    const vault = await createSeedVault(OLD, box)
    expect(vault.v).toBe(2)
    expect(JSON.stringify(vault)).not.toContain('salt')
    expect(await openSeed(vault, sealSeed(vault, WORDS), OLD, box)).toEqual(WORDS)
  })
})

describe('Nostr key under the box key', () => {
  it('seals a key made before the password on unlock; locked stays shut; opens after a password change', async () => {
    const nostrDir = join(dir, 'nostr')
    const box = new BoxKey(dir)
    const keys = new Nip49KeyStore(nostrDir, 16, box)
    keys.create('nostr passphrase', { recoveryWords: false, replace: false })
    const sk = keys.secretKey()
    const pubkey = keys.pubkey
    const identityPath = join(nostrDir, 'identity.json')
    const v1 = JSON.parse(readFileSync(identityPath, 'utf8'))
    expect(v1.version).toBe(1)

    await box.enterPassword(OLD) // the owner sets a password: the box unlocks, the file is sealed
    const v2 = JSON.parse(readFileSync(identityPath, 'utf8'))
    expect(v2).toMatchObject({ version: 2, pubkey, keySecurity: 'secure' })
    expect(JSON.stringify(v2)).not.toContain(v1.ncryptsec)
    expect(JSON.stringify(v2)).not.toContain('ncryptsec1')
    keys.dispose()

    // After a restart, before the owner password: the key cannot be unlocked, but who it is shows.
    const locked = restarted()
    const lockedKeys = new Nip49KeyStore(nostrDir, 16, locked)
    expect(lockedKeys.identity()).toMatchObject({ state: 'locked', pubkey })
    expect(() => lockedKeys.unlock('nostr passphrase')).toThrow(
      expect.objectContaining({ code: 'box.locked' }),
    )
    expect(() =>
      lockedKeys.create('x'.repeat(12), { recoveryWords: false, replace: true }),
    ).toThrow(expect.objectContaining({ code: 'box.locked' }))
    lockedKeys.dispose()

    // The password changes: the identity file is not touched and the key opens with the new one.
    const before = readFileSync(identityPath)
    await box.changePassword(OLD, NEW)
    expect(readFileSync(identityPath).equals(before)).toBe(true)
    const after = restarted()
    const afterKeys = new Nip49KeyStore(nostrDir, 16, after)
    await expect(after.enterPassword(OLD)).rejects.toMatchObject({ code: 'box.wrong_password' })
    await after.enterPassword(NEW)
    afterKeys.unlock('nostr passphrase')
    expect(Buffer.from(afterKeys.secretKey()).equals(Buffer.from(sk))).toBe(true)
    expect(() => afterKeys.unlock('wrong passphrase')).toThrow(
      expect.objectContaining({ code: 'nostr.wrong_passphrase' }),
    )
    // Export still needs the passphrase, and the re-written file stays sealed.
    expect(afterKeys.export('nostr passphrase')).toBe(nip19.nsecEncode(sk))
    expect(JSON.parse(readFileSync(identityPath, 'utf8'))).toMatchObject({
      version: 2,
      keySecurity: 'insecure',
    })
    afterKeys.dispose()
  })
})
