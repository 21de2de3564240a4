// The on-chain wallet's BIP39 seed (and passphrase) at rest: sealed under the box key
// (src/core/secrets/box-key.ts, purpose 'wallet.seed') in secrets/wallet-seed.json (0600, in the
// 0700 secrets folder). Changing the owner's password re-wraps the box key alone, so this file is
// never rewritten by it. Opening the seed (to show the words, or to sign) still needs the owner's
// password typed again: it is checked against the box key before the seed is opened.
//
// Version 1 of the file (issue 11's first scheme) sealed the seed to the Lightning seed vault
// (src/core/lightning/seed-vault.ts). It is moved to version 2 when the box is unlocked and the
// vault's key is under the box key already, or else the next time the owner types the password.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { OwnerPassword } from '../api/http/owner-password'
import { FlashError } from '../errors'
import { seedVaultPath } from '../lightning/lightning-module'
import { boxKeyFor, isSealed, noBoxKeyError, type BoxKey } from '../secrets/box-key'
import {
  openFromUnlockedVault,
  openFromVault,
  readSeedVault,
  SealedSeedSchema,
} from '../lightning/seed-vault'
import { redact } from '../log'
import { createSecretFileExclusive, writeSecretFileAtomic } from '../secrets/secret-file'

/** The box-key purpose the seed is sealed for. */
export const WALLET_SEED_PURPOSE = 'wallet.seed'
/** Version 1's purpose string (sealed to the seed vault). */
const V1_PURPOSE = Buffer.from('flashbox onchain wallet seed v1')

const WalletSeedFileV1Schema = z.object({
  v: z.literal(1),
  /** Not secret: lets the status say so without the password. */
  hasPassphrase: z.boolean(),
  sealed: SealedSeedSchema,
})
const WalletSeedFileV2Schema = z.object({
  v: z.literal(2),
  hasPassphrase: z.boolean(),
  purpose: z.literal(WALLET_SEED_PURPOSE),
  /** JSON { mnemonic, passphrase } sealed under the box key. */
  sealed: z.string().refine(isSealed),
})
const WalletSeedFileSchema = z.discriminatedUnion('v', [
  WalletSeedFileV1Schema,
  WalletSeedFileV2Schema,
])
type WalletSeedFile = z.infer<typeof WalletSeedFileSchema>

const PlainSchema = z.object({ mnemonic: z.string().min(1), passphrase: z.string() })
export type WalletSeedWords = z.infer<typeof PlainSchema>

export function walletSeedPath(dataDir: string): string {
  return join(dataDir, 'secrets', 'wallet-seed.json')
}

export function walletSeedInfo(dataDir: string): { stored: boolean; hasPassphrase: boolean } {
  const path = walletSeedPath(dataDir)
  if (!existsSync(path)) return { stored: false, hasPassphrase: false }
  return { stored: true, hasPassphrase: readSeedFile(path).hasPassphrase }
}

/**
 * Checks the owner's password and leaves the box key unlocked with it. The box key is the
 * authority once it exists. Before that, a box whose login password was set before the box key
 * existed gets its box key from that password (as logging in does); with no owner password at
 * all the seed cannot be sealed, and the owner is asked to choose one first.
 */
async function unlockWithPassword(dataDir: string, password: string): Promise<BoxKey> {
  const box = boxKeyFor(dataDir)
  if (box.state === 'none') {
    const owner = new OwnerPassword(dataDir)
    if (!(await owner.isSet())) throw noBoxKeyError()
    if (!(await owner.verify(password))) throw wrongPassword()
  }
  try {
    await box.enterPassword(password) // checks it again when already unlocked
  } catch (err) {
    if (err instanceof FlashError && err.code === 'box.wrong_password') throw wrongPassword()
    throw err
  }
  return box
}

function v2File(box: BoxKey, words: WalletSeedWords): string {
  const file: WalletSeedFile = {
    v: 2,
    hasPassphrase: words.passphrase !== '',
    purpose: WALLET_SEED_PURPOSE,
    sealed: box.seal(WALLET_SEED_PURPOSE, JSON.stringify(words)),
  }
  return JSON.stringify(file) + '\n'
}

/** Seals the seed once under the box key (0600, never overwritten). */
export async function sealWalletSeed(
  dataDir: string,
  password: string,
  words: WalletSeedWords,
): Promise<void> {
  const box = await unlockWithPassword(dataDir, password)
  if (!createSecretFileExclusive(walletSeedPath(dataDir), v2File(box, words))) {
    throw new FlashError(
      'wallet.seed_exists',
      'This box already has an on-chain wallet seed.',
      'Open the Wallet page to use it, or add another account.',
    )
  }
}

/** Opens the seed with the owner's password (moving a version 1 file under the box key). */
export async function openWalletSeed(dataDir: string, password: string): Promise<WalletSeedWords> {
  const path = walletSeedPath(dataDir)
  if (!existsSync(path)) {
    throw new FlashError(
      'wallet.no_seed',
      'This box has no on-chain wallet seed yet.',
      'Create or restore one on the Wallet page.',
    )
  }
  const box = await unlockWithPassword(dataDir, password)
  const file = readSeedFile(path)
  const words = file.v === 2 ? openV2(box, file) : await openV1(dataDir, file, password, box)
  if (file.v === 1) writeSecretFileAtomic(path, v2File(box, words))
  return words
}

/**
 * Moves a version 1 file under the box key, if there is one and it can be opened without the
 * password (the box is unlocked and the seed vault is under the box key). Returns whether it did.
 */
export function migrateWalletSeedOnUnlock(dataDir: string, box: BoxKey): boolean {
  const path = walletSeedPath(dataDir)
  if (!box.unlocked || !existsSync(path)) return false
  const file = readSeedFile(path)
  if (file.v !== 1) return false
  const vault = readSeedVault(seedVaultPath(dataDir))
  if (!vault) return false
  const plain = openFromUnlockedVault(vault, file.sealed, V1_PURPOSE, box)
  if (plain === undefined) return false
  if (plain === null) throw damaged()
  writeSecretFileAtomic(path, v2File(box, parsePlain(plain)))
  return true
}

/** The owner typed the password: a version 1 file that still needs it is moved now. */
export async function migrateWalletSeedWithPassword(
  dataDir: string,
  password: string,
): Promise<boolean> {
  const path = walletSeedPath(dataDir)
  if (!existsSync(path) || readSeedFile(path).v !== 1) return false
  await openWalletSeed(dataDir, password)
  return true
}

function openV2(box: BoxKey, file: z.infer<typeof WalletSeedFileV2Schema>): WalletSeedWords {
  return parsePlain(box.open(WALLET_SEED_PURPOSE, file.sealed))
}

async function openV1(
  dataDir: string,
  file: z.infer<typeof WalletSeedFileV1Schema>,
  password: string,
  box: BoxKey,
): Promise<WalletSeedWords> {
  const vault = readSeedVault(seedVaultPath(dataDir))
  if (!vault) {
    throw new FlashError(
      'wallet.vault_missing',
      'The key that protects the wallet seed (secrets/seed-vault.json) is missing.',
      'Restore the secrets folder from your backup.',
    )
  }
  let plain: Buffer | null
  try {
    plain = await openFromVault(vault, file.sealed, password, V1_PURPOSE, box)
  } catch (err) {
    if (err instanceof FlashError && err.code === 'lightning.wrong_password') throw wrongPassword()
    throw err
  }
  if (!plain) throw damaged()
  return parsePlain(plain)
}

function parsePlain(plain: Buffer): WalletSeedWords {
  let words: WalletSeedWords
  try {
    words = PlainSchema.parse(JSON.parse(plain.toString('utf8')))
  } catch {
    throw damaged()
  }
  redact(words.mnemonic)
  if (words.passphrase) redact(words.passphrase)
  return words
}

function readSeedFile(path: string): WalletSeedFile {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    raw = undefined
  }
  const parsed = WalletSeedFileSchema.safeParse(raw)
  if (!parsed.success) {
    throw new FlashError(
      'wallet.seed_damaged',
      'The saved wallet seed file is damaged.',
      'Restore secrets/wallet-seed.json from your backup. Do not delete it: it holds your funds.',
    )
  }
  return parsed.data
}

function damaged(): FlashError {
  return new FlashError(
    'wallet.seed_damaged',
    'The saved wallet seed cannot be decrypted: the file is damaged.',
    'Restore secrets/wallet-seed.json from your backup.',
  )
}

function wrongPassword(): FlashError {
  return new FlashError(
    'wallet.wrong_password',
    'That is not the owner password.',
    'Type the password you use to log in to Flash Box.',
  )
}
