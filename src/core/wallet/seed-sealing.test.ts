// The on-chain wallet's seed under the box key: a password change leaves its file byte for byte
// and it still opens (with the new password only); showing it needs the password; a file of the
// first scheme (sealed to the seed vault) is moved under the box key on unlock or on the password.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { OwnerPassword } from '../api/http/owner-password'
import { seedVaultPath } from '../lightning/lightning-module'
import { backupModule } from '../backup/backup-module'
import { createEngine } from '../engine/engine'
import { silentLogger } from '../log'
import { walletModule } from './wallet-module'
import {
  createSeedVault,
  readSeedVault,
  sealToVault,
  storeOnce,
  type SeedVaultFile,
} from '../lightning/seed-vault'
import { boxKeyFor, forgetBoxKey } from '../secrets/box-key'
import {
  migrateWalletSeedOnUnlock,
  migrateWalletSeedWithPassword,
  openWalletSeed,
  sealWalletSeed,
  walletSeedInfo,
  walletSeedPath,
} from './seed-sealing'

const OLD = 'first owner password'
const NEW = 'second owner password'
const WORDS = {
  mnemonic: 'legal winner thank year wave sausage worth useful legal winner thank yellow',
  passphrase: 'TREZOR passphrase',
}
let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wallet-seed-'))
})
afterEach(() => {
  forgetBoxKey(dir)
  rmSync(dir, { recursive: true, force: true })
})

/** The engine restarted: the box key is on disk, not in memory. */
const restart = () => {
  forgetBoxKey(dir)
  return boxKeyFor(dir)
}

/** A version 1 file, as issue 11's first scheme wrote it. */
function writeV1(vault: SeedVaultFile) {
  const file = {
    v: 1,
    hasPassphrase: true,
    sealed: sealToVault(
      vault,
      Buffer.from(JSON.stringify(WORDS)),
      Buffer.from('flashbox onchain wallet seed v1'),
    ),
  }
  storeOnce(walletSeedPath(dir), file as never)
}

describe('wallet seed under the box key', () => {
  it('survives a password change byte for byte and still needs the password to open', async () => {
    await boxKeyFor(dir).enterPassword(OLD)
    await expect(sealWalletSeed(dir, 'not the password', WORDS)).rejects.toMatchObject({
      code: 'wallet.wrong_password',
    })
    await sealWalletSeed(dir, OLD, WORDS)
    const path = walletSeedPath(dir)
    const before = readFileSync(path)
    expect(JSON.parse(before.toString())).toMatchObject({ v: 2, purpose: 'wallet.seed' })
    expect(before.toString()).not.toContain('legal winner')
    expect(before.toString()).not.toContain('TREZOR')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700)
    expect(walletSeedInfo(dir)).toEqual({ stored: true, hasPassphrase: true })
    await expect(sealWalletSeed(dir, OLD, WORDS)).rejects.toMatchObject({
      code: 'wallet.seed_exists',
    })

    await boxKeyFor(dir).changePassword(OLD, NEW)
    expect(readFileSync(path).equals(before)).toBe(true)
    // After a restart the box is locked; the new password opens the seed (and unlocks the box).
    const box = restart()
    await expect(openWalletSeed(dir, OLD)).rejects.toMatchObject({
      code: 'wallet.wrong_password',
    })
    expect(box.unlocked).toBe(false)
    expect(await openWalletSeed(dir, NEW)).toEqual(WORDS)
    // Unlocked, showing the words still needs the password again.
    await expect(openWalletSeed(dir, OLD)).rejects.toMatchObject({
      code: 'wallet.wrong_password',
    })
    expect(await openWalletSeed(dir, NEW)).toEqual(WORDS)
    expect(readFileSync(path).equals(before)).toBe(true)
  }, 60_000)

  it('needs an owner password; a login password set before the box key makes it', async () => {
    await expect(sealWalletSeed(dir, OLD, WORDS)).rejects.toMatchObject({
      code: 'box.no_password',
    })
    expect(boxKeyFor(dir).state).toBe('none')
    await new OwnerPassword(dir).create(OLD)
    await expect(sealWalletSeed(dir, NEW, WORDS)).rejects.toMatchObject({
      code: 'wallet.wrong_password',
    })
    expect(boxKeyFor(dir).state).toBe('none')
    await sealWalletSeed(dir, OLD, WORDS)
    expect(boxKeyFor(dir).unlocked).toBe(true)
    expect(await boxKeyFor(dir).checkPassword(OLD)).toBe(true)
    restart()
    expect(await openWalletSeed(dir, OLD)).toEqual(WORDS)
  }, 60_000)

  it('moves a file sealed to a box-key vault on unlock, without the password', async () => {
    await boxKeyFor(dir).enterPassword(OLD)
    storeOnce(seedVaultPath(dir), await createSeedVault(OLD, boxKeyFor(dir)))
    writeV1(readSeedVault(seedVaultPath(dir))!)
    const box = restart()
    expect(migrateWalletSeedOnUnlock(dir, box)).toBe(false) // locked: nothing happens
    expect(JSON.parse(readFileSync(walletSeedPath(dir), 'utf8')).v).toBe(1)
    await box.enterPassword(OLD)
    expect(migrateWalletSeedOnUnlock(dir, box)).toBe(true)
    const after = readFileSync(walletSeedPath(dir))
    expect(JSON.parse(after.toString())).toMatchObject({ v: 2, hasPassphrase: true })
    expect(statSync(walletSeedPath(dir)).mode & 0o777).toBe(0o600)
    expect(migrateWalletSeedOnUnlock(dir, box)).toBe(false)
    await box.changePassword(OLD, NEW)
    expect(await openWalletSeed(dir, NEW)).toEqual(WORDS)
    expect(readFileSync(walletSeedPath(dir)).equals(after)).toBe(true)
  }, 60_000)

  it('moves a file sealed to a password vault when the password is typed', async () => {
    // Made before the box key existed: the vault is under the password alone.
    storeOnce(seedVaultPath(dir), await createSeedVault(OLD))
    writeV1(readSeedVault(seedVaultPath(dir))!)
    await boxKeyFor(dir).enterPassword(OLD)
    expect(migrateWalletSeedOnUnlock(dir, boxKeyFor(dir))).toBe(false) // needs the password
    await expect(migrateWalletSeedWithPassword(dir, 'wrong password')).rejects.toMatchObject({
      code: 'wallet.wrong_password',
    })
    expect(await migrateWalletSeedWithPassword(dir, OLD)).toBe(true)
    expect(JSON.parse(readFileSync(walletSeedPath(dir), 'utf8')).v).toBe(2)
    const after = readFileSync(walletSeedPath(dir))
    await boxKeyFor(dir).changePassword(OLD, NEW)
    restart()
    expect(await openWalletSeed(dir, NEW)).toEqual(WORDS)
    expect(readFileSync(walletSeedPath(dir)).equals(after)).toBe(true)
  }, 60_000)

  it('the engine moves a file of the first scheme when the owner sets the password', async () => {
    // A box from before the box key: the vault and the seed under the password alone.
    storeOnce(seedVaultPath(dir), await createSeedVault(OLD))
    writeV1(readSeedVault(seedVaultPath(dir))!)
    const engine = await createEngine({
      dataDir: dir,
      log: silentLogger,
      modules: [backupModule(), walletModule()],
    })
    try {
      const ctx = { transport: 'internal' } as const
      await engine.call('backup', 'setPassword', { password: OLD }, ctx)
      const after = readFileSync(walletSeedPath(dir))
      expect(JSON.parse(after.toString())).toMatchObject({ v: 2, purpose: 'wallet.seed' })
      await engine.call('backup', 'changePassword', { oldPassword: OLD, newPassword: NEW }, ctx)
      expect(readFileSync(walletSeedPath(dir)).equals(after)).toBe(true)
      expect(await openWalletSeed(dir, NEW)).toEqual(WORDS)
    } finally {
      await engine.stop()
    }
  }, 60_000)
})
