// The on-chain wallet's BIP39 seed at rest: sealed to the owner's seed vault, the same scheme and
// the same vault file as the Lightning recovery words (src/core/lightning/seed-vault.ts: X25519 +
// ChaCha20-Poly1305, the vault's private key under scrypt(owner password)), bound to its own
// purpose string. Opening it always needs the owner's password. Only `sealWalletSeed` and
// `openWalletSeed` know the scheme, so moving to the box key (src/core/secrets/box-key.ts) later
// changes this file alone.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { OwnerPassword } from '../api/http/owner-password'
import { FlashError } from '../errors'
import { seedVaultPath } from '../lightning/lightning-module'
import { boxKeyFor } from '../secrets/box-key'
import {
  createSeedVault,
  openFromVault,
  openSeedVault,
  readSeedVault,
  SealedSeedSchema,
  sealToVault,
  storeOnce,
} from '../lightning/seed-vault'
import { redact } from '../log'
import { createSecretFileExclusive } from '../secrets/secret-file'

const PURPOSE = Buffer.from('flashbox onchain wallet seed v1')

const WalletSeedFileSchema = z.object({
  v: z.literal(1),
  /** Not secret: lets the status say so without the password. */
  hasPassphrase: z.boolean(),
  sealed: SealedSeedSchema,
})

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

/** The owner's password is the one they log in with (when one is set). */
async function checkOwnerPassword(dataDir: string, password: string): Promise<void> {
  const owner = new OwnerPassword(dataDir)
  if ((await owner.isSet()) && !(await owner.verify(password))) throw wrongPassword()
}

/** Seals the seed once (0600, never overwritten); makes the vault from the password if needed. */
export async function sealWalletSeed(
  dataDir: string,
  password: string,
  words: WalletSeedWords,
): Promise<void> {
  await checkOwnerPassword(dataDir, password)
  const vaultPath = seedVaultPath(dataDir)
  let vault = readSeedVault(vaultPath)
  const box = boxKeyFor(dataDir)
  if (vault)
    await openSeedVault(vault, password, box).catch((err: unknown) =>
      Promise.reject(
        err instanceof FlashError && err.code === 'box.locked' ? err : wrongPassword(),
      ),
    )
  else {
    storeOnce(vaultPath, await createSeedVault(password, box))
    vault = readSeedVault(vaultPath)!
  }
  const file = {
    v: 1 as const,
    hasPassphrase: words.passphrase !== '',
    sealed: sealToVault(vault, Buffer.from(JSON.stringify(words), 'utf8'), PURPOSE),
  }
  if (!createSecretFileExclusive(walletSeedPath(dataDir), JSON.stringify(file) + '\n')) {
    throw new FlashError(
      'wallet.seed_exists',
      'This box already has an on-chain wallet seed.',
      'Open the Wallet page to use it, or add another account.',
    )
  }
}

/** Opens the seed with the owner's password. */
export async function openWalletSeed(dataDir: string, password: string): Promise<WalletSeedWords> {
  const path = walletSeedPath(dataDir)
  if (!existsSync(path)) {
    throw new FlashError(
      'wallet.no_seed',
      'This box has no on-chain wallet seed yet.',
      'Create or restore one on the Wallet page.',
    )
  }
  const vault = readSeedVault(seedVaultPath(dataDir))
  if (!vault) {
    throw new FlashError(
      'wallet.vault_missing',
      'The key that protects the wallet seed (secrets/seed-vault.json) is missing.',
      'Restore the secrets folder from your backup.',
    )
  }
  const file = readSeedFile(path)
  let plain: Buffer | null
  try {
    plain = await openFromVault(vault, file.sealed, password, PURPOSE, boxKeyFor(dataDir))
  } catch (err) {
    if (err instanceof FlashError && err.code === 'lightning.wrong_password') throw wrongPassword()
    throw err
  }
  if (!plain) {
    throw new FlashError(
      'wallet.seed_damaged',
      'The saved wallet seed cannot be decrypted: the file is damaged.',
      'Restore secrets/wallet-seed.json from your backup.',
    )
  }
  const words = PlainSchema.parse(JSON.parse(plain.toString('utf8')))
  redact(words.mnemonic)
  if (words.passphrase) redact(words.passphrase)
  return words
}

function readSeedFile(path: string) {
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

function wrongPassword(): FlashError {
  return new FlashError(
    'wallet.wrong_password',
    'That is not the owner password.',
    'Type the password you use to log in to Flash Box.',
  )
}
