// The headless owner's password: scrypt with a random per-password salt, stored 0600 and written
// atomically under the data directory. The password itself is never stored or logged.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { FlashError } from '../../errors'
import { createSecretFileExclusive, writeSecretFileAtomic } from '../../secrets/secret-file'

export const PASSWORD_MIN = 10
export const PASSWORD_MAX = 1024

// OWASP's scrypt floor is N=2^17,r=8,p=1; 2^15 keeps a login near 100 ms on a small box while
// the login throttle bounds guessing online. Parameters are stored, so they can be raised later.
const DEFAULT_PARAMS = { N: 2 ** 15, r: 8, p: 1, keylen: 32 } as const

const StoredSchema = z.object({
  v: z.literal(1),
  kdf: z.literal('scrypt'),
  N: z
    .number()
    .int()
    .min(2 ** 10)
    .max(2 ** 22),
  r: z.number().int().min(1).max(32),
  p: z.number().int().min(1).max(16),
  salt: z.string().min(16),
  hash: z.string().min(16),
})
type Stored = z.infer<typeof StoredSchema>

export const PasswordSchema = z
  .string()
  .min(PASSWORD_MIN, `Use at least ${PASSWORD_MIN} characters.`)
  .max(PASSWORD_MAX)

function derive(
  password: string,
  salt: Buffer,
  p: { N: number; r: number; p: number },
  keylen: number,
) {
  const opts: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + 1024 * 1024 }
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, keylen, opts, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  )
}

export class OwnerPassword {
  readonly path: string
  private cached: Stored | null = null

  constructor(dataDir: string) {
    this.path = join(dataDir, 'secrets', 'owner-password.json')
  }

  private async load(): Promise<Stored | null> {
    if (this.cached) return this.cached
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = null
    }
    const r = StoredSchema.safeParse(parsed)
    if (!r.success) {
      throw new FlashError(
        'auth.password_file_damaged',
        'The owner password file is damaged.',
        `Stop Flash Box, delete ${this.path} and start it again to choose a new password.`,
      )
    }
    this.cached = r.data
    return r.data
  }

  async isSet(): Promise<boolean> {
    return (await this.load()) !== null
  }

  /** First run only: refuses when a password exists (also when two browsers race). */
  async create(password: string): Promise<void> {
    PasswordSchema.parse(password)
    if (await this.isSet()) throw alreadySet()
    const salt = randomBytes(16)
    const hash = await derive(password, salt, DEFAULT_PARAMS, DEFAULT_PARAMS.keylen)
    const stored: Stored = {
      v: 1,
      kdf: 'scrypt',
      N: DEFAULT_PARAMS.N,
      r: DEFAULT_PARAMS.r,
      p: DEFAULT_PARAMS.p,
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
    }
    if (!createSecretFileExclusive(this.path, JSON.stringify(stored) + '\n')) throw alreadySet()
    this.cached = stored
  }

  /** Replaces the password (the old one must match). */
  async change(oldPassword: string, newPassword: string): Promise<void> {
    PasswordSchema.parse(newPassword)
    if (!(await this.verify(oldPassword))) throw wrongOwnerPassword()
    const salt = randomBytes(16)
    const hash = await derive(newPassword, salt, DEFAULT_PARAMS, DEFAULT_PARAMS.keylen)
    const stored: Stored = {
      v: 1,
      kdf: 'scrypt',
      N: DEFAULT_PARAMS.N,
      r: DEFAULT_PARAMS.r,
      p: DEFAULT_PARAMS.p,
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
    }
    writeSecretFileAtomic(this.path, JSON.stringify(stored) + '\n')
    this.cached = stored
  }

  async verify(password: string): Promise<boolean> {
    const s = await this.load()
    if (!s || password.length > PASSWORD_MAX) return false
    const want = Buffer.from(s.hash, 'base64')
    const got = await derive(password, Buffer.from(s.salt, 'base64'), s, want.length)
    return got.length === want.length && timingSafeEqual(got, want)
  }
}

function alreadySet() {
  return new FlashError(
    'auth.already_set',
    'The owner password is already set.',
    'Log in with it. If it is lost, stop Flash Box and delete secrets/owner-password.json under the data folder.',
  )
}

function wrongOwnerPassword() {
  return new FlashError(
    'auth.wrong_password',
    'That is not the owner password.',
    'Type the password you use now. Check Caps Lock.',
  )
}
