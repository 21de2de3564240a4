// The mint's seed: 64 random bytes from which every keyset is derived (nut01-keys.ts).
// At rest it is encrypted (AES-256-GCM) in <dir>/seed.enc. The encryption key is either
//   - derived with scrypt from an operator passphrase (MINT_SEED_PASSPHRASE), when given, or
//   - a random 32-byte key in <dir>/seed.key, mode 0600.
// The key file keeps the seed out of database dumps; the passphrase mode protects it even from
// someone holding the whole disk. Flash Box's engine passes a passphrase derived from its box key
// (src/core/secrets/box-key.ts) once the owner has set a password; a seed sealed with a key file
// is then re-sealed under it and the key file removed.
// Secret files are written atomically (temp, fsync, rename, fsync dir) and never logged.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import { redact } from './log'

export function writeSecretFileAtomic(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  const dfd = openSync(dirname(path), 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

interface SealedSeed {
  v: 1
  kdf: 'keyfile' | 'scrypt'
  salt?: string
  iv: string
  tag: string
  data: string
}

function keyFor(
  dir: string,
  sealed: Pick<SealedSeed, 'kdf' | 'salt'>,
  passphrase: string | undefined,
  create: boolean,
): Buffer {
  if (sealed.kdf === 'scrypt') {
    if (!passphrase) throw new Error('The mint seed is protected by a passphrase; none was given.')
    return scryptSync(passphrase, Buffer.from(sealed.salt ?? '', 'hex'), 32, {
      N: 2 ** 15,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    })
  }
  const keyPath = join(dir, 'seed.key')
  if (!existsSync(keyPath)) {
    // A missing key for an existing seed is a lost key, never a reason to make a new one.
    if (!create) throw new Error('The mint seed could not be decrypted: its key file is missing.')
    writeSecretFileAtomic(keyPath, randomBytes(32).toString('hex'))
  }
  const key = Buffer.from(readFileSync(keyPath, 'utf8').trim(), 'hex')
  if (key.length !== 32) throw new Error('The mint seed key file is damaged.')
  return key
}

/**
 * Load the seed from `dir`, creating it on first use — only when `mayCreate` (the caller knows
 * there is no mint database yet: a new seed next to existing eCash would orphan it).
 */
export function loadOrCreateSeed(dir: string, passphrase?: string, mayCreate = true): Uint8Array {
  const path = join(dir, 'seed.enc')
  if (passphrase) redact(passphrase)
  if (existsSync(path)) {
    const sealed = JSON.parse(readFileSync(path, 'utf8')) as SealedSeed
    const key = keyFor(dir, sealed, passphrase, false)
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'hex'))
    decipher.setAuthTag(Buffer.from(sealed.tag, 'hex'))
    let seed: Buffer
    try {
      seed = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'hex')), decipher.final()])
    } catch {
      throw new Error('The mint seed could not be decrypted: wrong passphrase or damaged key file.')
    }
    redact(seed.toString('hex'))
    if (sealed.kdf === 'keyfile' && passphrase) {
      // The engine now gives a key (derived from its box key): seal the seed under it and drop
      // the key file that sat beside it. The new seed.enc replaces the old one in one rename; a
      // crash before the key file is removed leaves a stale key that opens nothing.
      writeSealedSeed(path, seed, passphrase)
      rmSync(join(dir, 'seed.key'), { force: true })
    } else if (sealed.kdf === 'scrypt') {
      rmSync(join(dir, 'seed.key'), { force: true })
    }
    return new Uint8Array(seed)
  }
  if (!mayCreate)
    throw new Error(
      'The mint seed could not be decrypted: seed.enc is missing but the mint database exists.',
    )
  const seed = randomBytes(64)
  redact(seed.toString('hex'))
  writeSealedSeed(path, seed, passphrase)
  return new Uint8Array(seed)
}

function writeSealedSeed(path: string, seed: Buffer, passphrase: string | undefined): void {
  const sealedBase: Pick<SealedSeed, 'kdf' | 'salt'> = passphrase
    ? { kdf: 'scrypt', salt: randomBytes(16).toString('hex') }
    : { kdf: 'keyfile' }
  const key = keyFor(dirname(path), sealedBase, passphrase, true)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const data = Buffer.concat([cipher.update(seed), cipher.final()])
  const sealed: SealedSeed = {
    v: 1,
    ...sealedBase,
    iv: iv.toString('hex'),
    tag: cipher.getAuthTag().toString('hex'),
    data: data.toString('hex'),
  } as SealedSeed
  writeSecretFileAtomic(path, JSON.stringify(sealed))
}
