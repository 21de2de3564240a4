// The box key: one random 256-bit key that wraps every secret the box stores at rest.
//
// On disk (<engine data>/secrets/box-key.json, 0600) it is only ever wrapped: ChaCha20-Poly1305
// under scrypt(owner password, salt). It is made when the owner sets the password, unwrapped when
// the password is typed (setup, login, unlock) and then held in memory until the engine stops.
// Changing the password re-wraps this one key; nothing sealed under it is touched.
//
// Each use gets its own subkey, HKDF-SHA256(box key, info = "flashbox box-key v1 " + purpose), so
// a sealed value can only be opened for the purpose it was sealed for. Optionally the desktop app
// keeps a copy of the key in the OS keychain (BoxKeychain, implemented in src/main only) so the
// box can start unattended after a reboot.
//
// With an HSM (src/core/hardware/pkcs11/box-key-hsm.ts), the box key is first wrapped by an AES key
// that never leaves the token (CKM_AES_KEY_WRAP_PAD) and only that blob is wrapped under the
// password: the box then opens only with the password and the HSM present. A password change
// re-wraps the blob and needs no HSM.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { FlashError } from '../errors'
import { writeSecretFileAtomic } from './secret-file'

const KEY_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16
const WRAP_AAD = Buffer.from('flashbox box-key wrap v1')
const SUBKEY_INFO = 'flashbox box-key v1 '
/** Sealed values start with this, so a plain value is never mistaken for a sealed one. */
const SEALED_PREFIX = 'fbx1.'

// The same cost as the owner's login password (src/core/api/http/owner-password.ts).
export const BOX_KEY_SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const

const b64 = z.string().regex(/^[A-Za-z0-9+/]+=*$/)
export const WrappedBoxKeySchema = z.object({
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
  nonce: b64,
  /** The box key sealed under scrypt(password): ciphertext followed by the 16-byte tag. */
  wrapped: b64,
  /** SHA-256 of HKDF(box key, "id"), to recognise the right key from the keychain. */
  keyId: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  /** Set when `wrapped` holds the box key as wrapped by this HSM key, not the key itself. */
  hsm: z
    .object({
      tokenSerial: z.string().min(1).max(64),
      keyLabel: z.string().min(1).max(128),
    })
    .optional(),
})
export type WrappedBoxKey = z.infer<typeof WrappedBoxKeySchema>

/**
 * Where the desktop app keeps a copy of the box key (Electron safeStorage). Core only sees this
 * interface; headless mode has none.
 */
export interface BoxKeyHsm {
  /** Which token and key wrap the box key (recorded in box-key.json, no secret). */
  readonly tokenSerial: string
  readonly keyLabel: string
  /** Wraps the box key with the token's AES key (throws when the token is absent). */
  wrap(key: Uint8Array): Buffer
  /** Unwraps it (throws hsm.* errors: token absent, wrong token or key). */
  unwrap(blob: Uint8Array): Buffer
}

export interface BoxKeychain {
  /** False where the OS offers no protected storage (then the owner cannot choose it). */
  available(): boolean
  load(): Uint8Array | null
  store(key: Uint8Array): void
  clear(): void
}

export function scryptKey(
  password: string,
  salt: Buffer,
  p: { N: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((res, rej) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      KEY_BYTES,
      { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + 1024 * 1024 },
      (err, key) => (err ? rej(err) : res(key)),
    ),
  )
}

function aeadSeal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) {
  const nonce = randomBytes(NONCE_BYTES)
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES })
  c.setAAD(aad, { plaintextLength: plaintext.length })
  const body = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()])
  return { nonce, body }
}

function aeadOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  body: Uint8Array,
  aad: Uint8Array,
): Buffer | null {
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) return null
  const ct = body.subarray(0, body.length - TAG_BYTES)
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES })
  d.setAAD(aad, { plaintextLength: ct.length })
  d.setAuthTag(body.subarray(body.length - TAG_BYTES))
  try {
    return Buffer.concat([d.update(ct), d.final()])
  } catch {
    return null
  }
}

export function keyIdOf(key: Uint8Array): string {
  return createHash('sha256').update(subkey(key, 'id')).digest('hex')
}

function subkey(key: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), SUBKEY_INFO + purpose, KEY_BYTES))
}

/** Wraps `key` under the password (a new salt each time). */
export async function wrapBoxKey(
  key: Uint8Array,
  password: string,
  createdAt = new Date().toISOString(),
): Promise<WrappedBoxKey> {
  return wrapUnderPassword(key, keyIdOf(key), password, createdAt)
}

/** `inner` (the box key, or its HSM-wrapped blob) under scrypt(password). */
async function wrapUnderPassword(
  inner: Uint8Array,
  keyId: string,
  password: string,
  createdAt: string,
  hsm?: WrappedBoxKey['hsm'],
): Promise<WrappedBoxKey> {
  const salt = randomBytes(16)
  const kek = await scryptKey(password, salt, BOX_KEY_SCRYPT)
  const { nonce, body } = aeadSeal(kek, inner, WRAP_AAD)
  kek.fill(0)
  return {
    v: 1,
    kdf: 'scrypt',
    ...BOX_KEY_SCRYPT,
    salt: salt.toString('base64'),
    nonce: nonce.toString('base64'),
    wrapped: body.toString('base64'),
    keyId,
    createdAt,
    ...(hsm ? { hsm } : {}),
  }
}

/** What the password opens: the box key, or (with an HSM) its wrapped blob; null when wrong. */
async function openPasswordLayer(w: WrappedBoxKey, password: string): Promise<Buffer | null> {
  const kek = await scryptKey(password, Buffer.from(w.salt, 'base64'), w)
  const inner = aeadOpen(
    kek,
    Buffer.from(w.nonce, 'base64'),
    Buffer.from(w.wrapped, 'base64'),
    WRAP_AAD,
  )
  kek.fill(0)
  return inner
}

/**
 * The box key, or null when the password is wrong (or the file was altered). With an HSM-wrapped
 * key, `hsm` must be given; without it this throws box.hsm_missing.
 */
export async function unwrapBoxKey(
  w: WrappedBoxKey,
  password: string,
  hsm?: BoxKeyHsm | null,
): Promise<Buffer | null> {
  const inner = await openPasswordLayer(w, password)
  if (!inner) return null
  let key = inner
  if (w.hsm) {
    if (!hsm || hsm.tokenSerial !== w.hsm.tokenSerial || hsm.keyLabel !== w.hsm.keyLabel)
      throw hsmMissingError()
    key = hsm.unwrap(inner)
  }
  if (key.length !== KEY_BYTES || keyIdOf(key) !== w.keyId) return null
  return key
}

export function hsmMissingError(): FlashError {
  return new FlashError(
    'box.hsm_missing',
    'The box key is locked by the HSM, and the HSM is not connected.',
    'Plug in the HSM the box was set up with (Settings → HSM), then enter the owner password again.',
  )
}

export function lockedError(): FlashError {
  return new FlashError(
    'box.locked',
    'The box is locked: its secrets stay encrypted until the owner password is entered after a restart.',
    'Enter the owner password in Settings → Backup (or log in again) to unlock the box.',
  )
}

export function noBoxKeyError(): FlashError {
  return new FlashError(
    'box.no_password',
    'The box has no owner password yet, so its secrets cannot be encrypted.',
    'Choose an owner password in Settings → Backup.',
  )
}

export function wrongPasswordError(): FlashError {
  return new FlashError(
    'box.wrong_password',
    'That is not the owner password.',
    'Type the password you use to log in to Flash Box. Check Caps Lock.',
  )
}

export type BoxKeyState = 'none' | 'locked' | 'unlocked'

export class BoxKey {
  readonly path: string
  private key: Buffer | null = null
  private readonly unlockListeners = new Set<(box: BoxKey) => void | Promise<void>>()
  private keychain: BoxKeychain | null = null
  private hsm: BoxKeyHsm | null = null

  constructor(readonly dataDir: string) {
    this.path = join(dataDir, 'secrets', 'box-key.json')
  }

  /** The wrapped key on disk, or null before the owner set a password. */
  readWrapped(): WrappedBoxKey | null {
    if (!existsSync(this.path)) return null
    let raw: unknown
    try {
      raw = JSON.parse(readFileSync(this.path, 'utf8'))
    } catch {
      raw = undefined
    }
    const r = WrappedBoxKeySchema.safeParse(raw)
    if (!r.success) {
      throw new FlashError(
        'box.key_file_damaged',
        'The file that holds the box key (secrets/box-key.json) is damaged.',
        'Restore the box from a backup in Settings → Backup. Do not delete the file.',
      )
    }
    return r.data
  }

  get state(): BoxKeyState {
    if (this.key) return 'unlocked'
    return existsSync(this.path) ? 'locked' : 'none'
  }

  get unlocked(): boolean {
    return this.key !== null
  }

  requireUnlocked(): void {
    if (this.key) return
    throw this.state === 'none' ? noBoxKeyError() : lockedError()
  }

  /**
   * The owner typed their password (set it, logged in, or unlocked): make the box key the first
   * time, otherwise unwrap it. Throws box.wrong_password when it does not open the key.
   */
  async enterPassword(password: string): Promise<void> {
    const wrapped = this.readWrapped()
    if (!wrapped) {
      const key = randomBytes(KEY_BYTES)
      const w = await wrapBoxKey(key, password)
      // Another caller may have made it meanwhile: only the first file counts.
      if (this.readWrapped()) return this.enterPassword(password)
      writeSecretFileAtomic(this.path, JSON.stringify(w) + '\n')
      await this.becomeUnlocked(key)
      return
    }
    if (this.key) {
      // Already open: still check the password (callers use this to re-confirm it).
      if (!(await openPasswordLayer(wrapped, password))) throw wrongPasswordError()
      return
    }
    if (!(await openPasswordLayer(wrapped, password))) throw wrongPasswordError()
    const key = await unwrapBoxKey(wrapped, password, this.hsm)
    if (!key) throw wrongPasswordError()
    await this.becomeUnlocked(key)
  }

  /** True when `password` opens the stored box key's password layer (does not change the state). */
  async checkPassword(password: string): Promise<boolean> {
    const wrapped = this.readWrapped()
    return wrapped !== null && (await openPasswordLayer(wrapped, password)) !== null
  }

  /**
   * Re-wraps the box key under a new password. The data sealed under it is left untouched; an
   * HSM-wrapped key stays HSM-wrapped (its blob is re-wrapped, so the HSM is not needed for this).
   */
  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    const wrapped = this.readWrapped()
    if (!wrapped) throw noBoxKeyError()
    const inner = await openPasswordLayer(wrapped, oldPassword)
    if (!inner) throw wrongPasswordError()
    const next = await wrapUnderPassword(
      inner,
      wrapped.keyId,
      newPassword,
      wrapped.createdAt,
      wrapped.hsm,
    )
    writeSecretFileAtomic(this.path, JSON.stringify(next) + '\n')
    if (!this.key && !wrapped.hsm) await this.becomeUnlocked(inner)
  }

  // --- HSM ----------------------------------------------------------------------------------

  /** The HSM that can wrap the box key (the hardware module gives it; null: none). */
  useHsm(hsm: BoxKeyHsm | null): void {
    this.hsm = hsm
  }

  /** Which HSM key wraps the box key, if one does. */
  hsmStatus(): WrappedBoxKey['hsm'] | undefined {
    return this.readWrapped()?.hsm
  }

  /**
   * Wraps the stored box key with the HSM (owner's password again): from now on the box opens
   * only with the password and this HSM present. The key itself, and all sealed data, stay.
   */
  async wrapWithHsm(password: string): Promise<void> {
    const wrapped = this.readWrapped()
    if (!wrapped) throw noBoxKeyError()
    if (wrapped.hsm) return
    const hsm = this.hsm
    if (!hsm) throw hsmMissingError()
    if (this.keychainStatus().enabled) {
      throw new FlashError(
        'box.hsm_with_keychain',
        'The box key is kept in this computer’s keychain, which would open the box without the HSM.',
        'Turn off “keep the box key in the keychain” in Settings → Backup first.',
      )
    }
    const key = await unwrapBoxKey(wrapped, password)
    if (!key) throw wrongPasswordError()
    const blob = hsm.wrap(key)
    // Check the round trip before the only copy of the key depends on it.
    if (!hsm.unwrap(blob).equals(key))
      throw new FlashError(
        'box.hsm_wrap_failed',
        'The HSM did not give the box key back unchanged, so it was not used.',
        'Check the HSM in Settings → HSM, then try again.',
      )
    const next = await wrapUnderPassword(blob, wrapped.keyId, password, wrapped.createdAt, {
      tokenSerial: hsm.tokenSerial,
      keyLabel: hsm.keyLabel,
    })
    writeSecretFileAtomic(this.path, JSON.stringify(next) + '\n')
    if (!this.key) await this.becomeUnlocked(key)
  }

  /** Stops wrapping the box key with the HSM (needs the HSM present, and the password). */
  async unwrapFromHsm(password: string): Promise<void> {
    const wrapped = this.readWrapped()
    if (!wrapped) throw noBoxKeyError()
    if (!wrapped.hsm) return
    if (!(await openPasswordLayer(wrapped, password))) throw wrongPasswordError()
    const key = await unwrapBoxKey(wrapped, password, this.hsm)
    if (!key) throw wrongPasswordError()
    writeSecretFileAtomic(
      this.path,
      JSON.stringify(await wrapBoxKey(key, password, wrapped.createdAt)) + '\n',
    )
  }

  /** Forgets the key in memory (the engine stops, or the owner locks the box). */
  lock(): void {
    this.key?.fill(0)
    this.key = null
  }

  // --- OS keychain (desktop only) -----------------------------------------------------------

  useKeychain(keychain: BoxKeychain | null): void {
    this.keychain = keychain
  }

  keychainStatus(): { available: boolean; enabled: boolean } {
    const kc = this.keychain
    if (!kc || !kc.available()) return { available: false, enabled: false }
    return { available: true, enabled: kc.load() !== null }
  }

  /** Keeps (or drops) a copy of the unlocked key in the OS keychain. */
  setKeychain(enabled: boolean): void {
    const kc = this.keychain
    if (!kc || !kc.available()) {
      throw new FlashError(
        'box.keychain_unavailable',
        'This computer offers no protected keychain to Flash Box, so the box must be unlocked with the password after every restart.',
        'Nothing to change: unlock the box with the owner password after a restart.',
      )
    }
    if (!enabled) return kc.clear()
    this.requireUnlocked()
    if (this.readWrapped()?.hsm) {
      throw new FlashError(
        'box.hsm_with_keychain',
        'The box key is locked by the HSM; a copy in the keychain would open the box without it.',
        'Keep unlocking the box with the password and the HSM.',
      )
    }
    kc.store(this.key!)
  }

  /** At start: unlock from the keychain when the owner chose it. Returns whether it did. */
  async unlockFromKeychain(): Promise<boolean> {
    const kc = this.keychain
    if (this.key || !kc || !kc.available()) return this.key !== null
    const key = kc.load()
    const wrapped = this.readWrapped()
    if (!key || !wrapped || key.length !== KEY_BYTES || keyIdOf(key) !== wrapped.keyId) return false
    await this.becomeUnlocked(Buffer.from(key))
    return true
  }

  // --- using the key ------------------------------------------------------------------------

  /** Runs `fn` now if unlocked, and on every later unlock. Returns a function that stops it. */
  onUnlock(fn: (box: BoxKey) => void | Promise<void>): () => void {
    this.unlockListeners.add(fn)
    if (this.key) void Promise.resolve(fn(this)).catch(() => undefined)
    return () => this.unlockListeners.delete(fn)
  }

  /** A key for one purpose, derived from the box key (HKDF-SHA256). */
  subkey(purpose: string): Buffer {
    this.requireUnlocked()
    return subkey(this.key!, purpose)
  }

  /**
   * Seals bytes for `purpose`: "fbx1." + base64(nonce ‖ ciphertext ‖ tag). With `rowId` (a database
   * row's key) it is bound into the associated data too, so a sealed value copied into another row
   * does not open there.
   */
  seal(purpose: string, plaintext: Uint8Array | string, rowId?: string): string {
    const k = this.subkey(purpose)
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext
    const { nonce, body } = aeadSeal(k, data, associatedData(purpose, rowId))
    return SEALED_PREFIX + Buffer.concat([nonce, body]).toString('base64')
  }

  /** Opens what seal() made for the same purpose (and row); throws box.sealed_damaged otherwise. */
  open(purpose: string, sealed: string, rowId?: string): Buffer {
    const k = this.subkey(purpose)
    const raw = isSealed(sealed) ? Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64') : null
    const plain =
      raw &&
      aeadOpen(
        k,
        raw.subarray(0, NONCE_BYTES),
        raw.subarray(NONCE_BYTES),
        associatedData(purpose, rowId),
      )
    if (!plain) {
      throw new FlashError(
        'box.sealed_damaged',
        'A secret stored on this box cannot be decrypted: it was damaged or sealed under another box key.',
        'Restore the box from a backup in Settings → Backup.',
      )
    }
    return plain
  }

  /** The raw key, for the backup archive header and the keychain only. */
  exportKey(): Buffer {
    this.requireUnlocked()
    return Buffer.from(this.key!)
  }

  /** True when `key` is this box's key (compares in constant time). */
  isKey(key: Uint8Array): boolean {
    const w = this.readWrapped()
    if (!w) return false
    const a = Buffer.from(keyIdOf(key), 'hex')
    return timingSafeEqual(a, Buffer.from(w.keyId, 'hex'))
  }

  private async becomeUnlocked(key: Buffer): Promise<void> {
    this.key = key
    for (const fn of [...this.unlockListeners]) {
      try {
        await fn(this)
      } catch {
        // A listener's failure (e.g. one migration) must not keep the box locked; it reports it.
      }
    }
  }
}

function associatedData(purpose: string, rowId: string | undefined): Buffer {
  return Buffer.from(rowId === undefined ? purpose : `${purpose}\0row\0${rowId}`)
}

export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX)
}

const boxes = new Map<string, BoxKey>()

/** The one BoxKey of an engine data folder (shared by the modules and the HTTP server). */
export function boxKeyFor(dataDir: string): BoxKey {
  const k = resolve(dataDir)
  let box = boxes.get(k)
  if (!box) {
    box = new BoxKey(k)
    boxes.set(k, box)
  }
  return box
}

/** Forgets the data folder's key in memory (the engine stopped). */
export function forgetBoxKey(dataDir: string): void {
  const k = resolve(dataDir)
  boxes.get(k)?.lock()
  boxes.delete(k)
}
