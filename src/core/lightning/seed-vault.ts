// The LND recovery words (aezeed), kept encrypted under the owner's password.
//
// The box creates LND's wallet on its own the first time LND starts, when the owner is not there
// to type a password. So the seed is sealed to a public key (X25519, ECIES-style: ephemeral key,
// ECDH, HKDF-SHA256, ChaCha20-Poly1305), and the matching private key is itself sealed under a key
// derived from the owner's password (scrypt → ChaCha20-Poly1305). The vault is made the first time
// the engine sees the owner's password (setting it, logging in, or on the Lightning page);
// opening the seed always needs the password again. Neither file ever holds a word in plain text.
//
// Version 2 of the vault keeps the private key sealed under the box key instead (purpose
// 'lnd.seed-vault', src/core/secrets/box-key.ts), so changing the owner's password re-wraps the box
// key alone and every seed, wallet seed and channel backup sealed to this vault still opens. A
// version 1 vault is moved under the box key the next time the owner types the password
// (sealVaultUnderBoxKey); the key pair stays the same. Opening still checks the password.
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  scrypt,
  type KeyObject,
} from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { z } from 'zod'
import { FlashError } from '../errors'
import { isSealed, type BoxKey } from '../secrets/box-key'
import { createSecretFileExclusive, writeSecretFileAtomic } from '../secrets/secret-file'

const VAULT_AAD = Buffer.from('flashbox seed vault v1')
const SEED_INFO = Buffer.from('flashbox lnd seed v1')
/** The box-key purpose of a version 2 vault's private key. */
export const SEED_VAULT_PURPOSE = 'lnd.seed-vault'

/** What the vault needs of the box key. */
export type VaultBoxKey = Pick<BoxKey, 'unlocked' | 'seal' | 'open' | 'checkPassword'>

// The same cost as the owner's login password (src/core/api/http/owner-password.ts).
const SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const

const b64 = z.string().regex(/^[A-Za-z0-9+/]+=*$/)
const Sealed = z.object({ nonce: b64, ciphertext: b64, tag: b64 })
type SealedBox = z.infer<typeof Sealed>

export const SeedVaultFileV1Schema = z.object({
  v: z.literal(1),
  kdf: z.literal('scrypt'),
  N: z
    .number()
    .int()
    .min(2 ** 10)
    .max(2 ** 22),
  r: z.number().int().min(1).max(32),
  p: z.number().int().min(1).max(16),
  salt: b64,
  /** X25519 public key, raw 32 bytes, base64. */
  publicKey: b64,
  /** The X25519 private key (raw 32 bytes), sealed under scrypt(owner password). */
  privateKey: Sealed,
})
export const SeedVaultFileV2Schema = z.object({
  v: z.literal(2),
  kdf: z.literal('box-key'),
  /** X25519 public key, raw 32 bytes, base64. */
  publicKey: b64,
  /** The X25519 private key (raw 32 bytes), sealed under the box key (SEED_VAULT_PURPOSE). */
  privateKey: z.string().refine(isSealed),
})
export const SeedVaultFileSchema = z.discriminatedUnion('v', [
  SeedVaultFileV1Schema,
  SeedVaultFileV2Schema,
])
export type SeedVaultFileV1 = z.infer<typeof SeedVaultFileV1Schema>
export type SeedVaultFile = z.infer<typeof SeedVaultFileSchema>

export const SealedSeedSchema = z.object({
  v: z.literal(1),
  /** The vault public key it was sealed to (base64), to catch a vault that was replaced. */
  to: b64,
  ephemeralPublicKey: b64,
  box: Sealed,
})
export type SealedSeed = z.infer<typeof SealedSeedSchema>

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): SealedBox {
  const nonce = randomBytes(12)
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
  c.setAAD(aad, { plaintextLength: plaintext.length })
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()])
  return {
    nonce: nonce.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: c.getAuthTag().toString('base64'),
  }
}

/** Null when the key or the data is wrong (the tag does not verify). */
function open(key: Buffer, box: SealedBox, aad: Buffer): Buffer | null {
  const ciphertext = Buffer.from(box.ciphertext, 'base64')
  const d = createDecipheriv('chacha20-poly1305', key, Buffer.from(box.nonce, 'base64'), {
    authTagLength: 16,
  })
  d.setAAD(aad, { plaintextLength: ciphertext.length })
  d.setAuthTag(Buffer.from(box.tag, 'base64'))
  try {
    return Buffer.concat([d.update(ciphertext), d.final()])
  } catch {
    return null
  }
}

function passwordKey(password: string, salt: Buffer, p: { N: number; r: number; p: number }) {
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      32,
      { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  )
}

const rawPublic = (k: KeyObject) =>
  Buffer.from((k.export({ format: 'jwk' }) as { x: string }).x, 'base64url')
const rawPrivate = (k: KeyObject) =>
  Buffer.from((k.export({ format: 'jwk' }) as { d: string }).d, 'base64url')
const publicFromRaw = (raw: Buffer) =>
  createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') },
    format: 'jwk',
  })
function privateFromRaw(raw: Buffer): KeyObject {
  // PKCS#8 DER of an X25519 key is a fixed 16-byte prefix and the 32 raw bytes (RFC 8410).
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), raw])
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
}

/**
 * A new vault (the caller stores it once, 0600): under the box key when it is unlocked, else
 * under this password (version 1, moved under the box key later).
 */
export async function createSeedVault(password: string, box?: VaultBoxKey): Promise<SeedVaultFile> {
  const { publicKey, privateKey } = generateKeyPairSync('x25519')
  if (box?.unlocked) {
    return {
      v: 2,
      kdf: 'box-key',
      publicKey: rawPublic(publicKey).toString('base64'),
      privateKey: box.seal(SEED_VAULT_PURPOSE, rawPrivate(privateKey)),
    }
  }
  const salt = randomBytes(16)
  const key = await passwordKey(password, salt, SCRYPT)
  return {
    v: 1,
    kdf: 'scrypt',
    ...SCRYPT,
    salt: salt.toString('base64'),
    publicKey: rawPublic(publicKey).toString('base64'),
    privateKey: seal(key, rawPrivate(privateKey), VAULT_AAD),
  }
}

function seedKey(shared: Buffer, ephemeralPub: Buffer, vaultPub: Buffer, info: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeralPub, vaultPub]), info, 32))
}

/** Seals bytes to the vault's public key (needs no password); `info` binds them to a purpose. */
export function sealToVault(vault: SeedVaultFile, data: Buffer, info: Buffer): SealedSeed {
  const vaultPub = Buffer.from(vault.publicKey, 'base64')
  const eph = generateKeyPairSync('x25519')
  const ephPub = rawPublic(eph.publicKey)
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: publicFromRaw(vaultPub) })
  const key = seedKey(shared, ephPub, vaultPub, info)
  return {
    v: 1,
    to: vault.publicKey,
    ephemeralPublicKey: ephPub.toString('base64'),
    box: seal(key, data, info),
  }
}

/** Opens what sealToVault sealed, with the owner's password; null when the data is damaged. */
export async function openFromVault(
  vault: SeedVaultFile,
  sealed: SealedSeed,
  password: string,
  info: Buffer,
  box?: VaultBoxKey,
): Promise<Buffer | null> {
  if (sealed.to !== vault.publicKey) {
    throw new FlashError(
      'lightning.seed_vault_mismatch',
      'The saved recovery data was locked with a different owner password vault than the one on this box.',
      'Restore the file secrets/seed-vault.json that belongs to it from your backup.',
    )
  }
  return openWithVaultKey(vault, sealed, await openSeedVault(vault, password, box), info)
}

function openWithVaultKey(
  vault: SeedVaultFile,
  sealed: SealedSeed,
  privateKey: KeyObject,
  info: Buffer,
): Buffer | null {
  const ephPub = Buffer.from(sealed.ephemeralPublicKey, 'base64')
  const shared = diffieHellman({ privateKey, publicKey: publicFromRaw(ephPub) })
  const key = seedKey(shared, ephPub, Buffer.from(vault.publicKey, 'base64'), info)
  return open(key, sealed.box, info)
}

/**
 * For moving a sealed value under the box key while it is unlocked, without asking the password
 * again (it never reaches the owner): only a version 2 vault, whose key is under the box key
 * already, opens this way. Undefined for a version 1 vault or a value sealed to another vault;
 * null when the data is damaged.
 */
export function openFromUnlockedVault(
  vault: SeedVaultFile,
  sealed: SealedSeed,
  info: Buffer,
  box: VaultBoxKey,
): Buffer | null | undefined {
  if (vault.v !== 2 || !box.unlocked || sealed.to !== vault.publicKey) return undefined
  const privateKey = privateFromRaw(box.open(SEED_VAULT_PURPOSE, vault.privateKey))
  return openWithVaultKey(vault, sealed, privateKey, info)
}

/** Seals the recovery words to the vault's public key; needs no password. */
export function sealSeed(vault: SeedVaultFile, words: readonly string[]): SealedSeed {
  return sealToVault(vault, Buffer.from(words.join(' '), 'utf8'), SEED_INFO)
}

function wrongPassword(): FlashError {
  return new FlashError(
    'lightning.wrong_password',
    'That is not the owner password.',
    'Type the password you use to log in to Flash Box.',
  )
}

/**
 * Opens the vault's private key with the owner's password (version 2: the password is checked
 * against the box key, which must be unlocked, and the key opened with it).
 */
export async function openSeedVault(
  vault: SeedVaultFile,
  password: string,
  box?: VaultBoxKey,
): Promise<KeyObject> {
  if (vault.v === 2) {
    if (!box) {
      throw new FlashError(
        'lightning.vault_needs_box',
        'The recovery data is sealed under the box key, which this part of Flash Box was not given.',
        'This is a bug; please report it.',
      )
    }
    if (!(await box.checkPassword(password))) throw wrongPassword()
    // open() throws box.locked while the box is locked (after a restart, before the password).
    return privateFromRaw(box.open(SEED_VAULT_PURPOSE, vault.privateKey))
  }
  const key = await passwordKey(password, Buffer.from(vault.salt, 'base64'), vault)
  const raw = open(key, vault.privateKey, VAULT_AAD)
  if (!raw) throw wrongPassword()
  return privateFromRaw(raw)
}

/**
 * The same vault (same key pair: every seed and channel backup sealed to it still opens) with its
 * private key moved from the password to the box key. Throws lightning.wrong_password.
 */
export async function sealVaultUnderBoxKey(
  vault: SeedVaultFile,
  password: string,
  box: VaultBoxKey,
): Promise<SeedVaultFile> {
  if (vault.v === 2) return vault
  const privateKey = await openSeedVault(vault, password)
  return {
    v: 2,
    kdf: 'box-key',
    publicKey: vault.publicKey,
    privateKey: box.seal(SEED_VAULT_PURPOSE, rawPrivate(privateKey)),
  }
}

/**
 * The same vault (same key pair, so every sealed seed and backup still opens) with its private
 * key re-sealed under a new owner password. Throws lightning.wrong_password on a wrong old one.
 */
export async function rewrapSeedVault(
  vault: SeedVaultFile,
  oldPassword: string,
  newPassword: string,
): Promise<SeedVaultFile> {
  // Under the box key: the caller re-wrapped the box key; nothing here depends on the password.
  if (vault.v === 2) return vault
  const privateKey = await openSeedVault(vault, oldPassword)
  const salt = randomBytes(16)
  const key = await passwordKey(newPassword, salt, SCRYPT)
  return {
    ...vault,
    ...SCRYPT,
    salt: salt.toString('base64'),
    privateKey: seal(key, rawPrivate(privateKey), VAULT_AAD),
  }
}

/** The recovery words, with the vault opened by the owner's password. */
export async function openSeed(
  vault: SeedVaultFile,
  sealed: SealedSeed,
  password: string,
  box?: VaultBoxKey,
): Promise<string[]> {
  const plain = await openFromVault(vault, sealed, password, SEED_INFO, box)
  if (!plain) {
    throw new FlashError(
      'lightning.seed_damaged',
      'The saved Lightning recovery words cannot be decrypted: the file is damaged.',
      'Restore secrets/lnd-seed.json from your backup.',
    )
  }
  return plain.toString('utf8').split(' ')
}

// --- files ------------------------------------------------------------------------------------

function readJson<T>(path: string, schema: z.ZodType<T>, what: string): T | null {
  if (!existsSync(path)) return null
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    raw = undefined
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    throw new FlashError(
      'lightning.file_damaged',
      `The file with ${what} (${path}) is damaged.`,
      'Restore it from your backup. Do not delete it: it is needed to recover your Lightning funds.',
    )
  }
  return parsed.data
}

export function readSeedVault(path: string): SeedVaultFile | null {
  return readJson(path, SeedVaultFileSchema, 'the key that protects your recovery words')
}

export function readSealedSeed(path: string): SealedSeed | null {
  return readJson(path, SealedSeedSchema, 'your Lightning recovery words')
}

/**
 * Migration when the owner types the password: a version 1 vault file is moved under the box key
 * (same key pair). Returns whether it changed the file. Throws lightning.wrong_password.
 */
export async function migrateSeedVaultFile(
  path: string,
  password: string,
  box: VaultBoxKey,
): Promise<boolean> {
  const vault = readSeedVault(path)
  if (!vault || vault.v === 2 || !box.unlocked) return false
  writeSecretFileAtomic(
    path,
    JSON.stringify(await sealVaultUnderBoxKey(vault, password, box)) + '\n',
  )
  return true
}

/** Creates the file once (0600, atomic); returns false when one already exists (kept as is). */
export function storeOnce(path: string, value: SeedVaultFile | SealedSeed): boolean {
  return createSecretFileExclusive(path, JSON.stringify(value) + '\n')
}
