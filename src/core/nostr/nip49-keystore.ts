// The box's Nostr key, at rest only as a NIP-49 ncryptsec (scrypt log_n ≥ 16, XChaCha20-Poly1305)
// in a 0600 file written atomically. Unlocking decrypts it into memory; the passphrase itself is
// never stored. https://github.com/nostr-protocol/nips/blob/master/49.md
// Key generation and NIP-06 derivation are nostr-tools' (no crypto of our own here).
// Once the owner has a password, the ncryptsec is also sealed under the box key (purpose
// 'nostr.identity', src/core/secrets/box-key.ts; file version 2): someone holding the disk then
// needs both the owner's password and the key's passphrase. A version 1 file is sealed the first
// time the box is unlocked. While the box is locked the key cannot be unlocked (box.locked).
import { existsSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { bech32 } from '@scure/base'
import { bytesToHex } from '@noble/hashes/utils.js'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import * as nip19 from 'nostr-tools/nip19'
import * as nip49 from 'nostr-tools/nip49'
import * as nip06 from 'nostr-tools/nip06'
import { z } from 'zod'
import { FlashError } from '../errors'
import { redact } from '../log'
import type { Identity } from '../../shared/api/nostr'
import { writeSecretFileAtomic } from '../secrets/secret-file'
import { isSealed, type BoxKey } from '../secrets/box-key'

/** The box-key purpose the ncryptsec is sealed for. */
export const NOSTR_IDENTITY_PURPOSE = 'nostr.identity'

/** NIP-49 key security byte. */
export const KeySecurity = { insecure: 0x00, secure: 0x01, unknown: 0x02 } as const
export type KeySecurityName = keyof typeof KeySecurity

const MIN_LOG_N = 16
/** An imported ncryptsec asking for more than 2^22 scrypt rounds (4 GiB) is refused, not run. */
const MAX_LOG_N = 22

const IdentityFileV1 = z.object({
  version: z.literal(1),
  ncryptsec: z.string().startsWith('ncryptsec1'),
  pubkey: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
})
const IdentityFileV2 = z.object({
  version: z.literal(2),
  /** The ncryptsec, sealed under the box key. */
  sealed: z.string().refine(isSealed),
  pubkey: z.string().regex(/^[0-9a-f]{64}$/),
  /** The ncryptsec's NIP-49 key security byte, readable while the box is locked. */
  keySecurity: z.enum(['insecure', 'secure', 'unknown']),
  createdAt: z.string(),
})
const IdentityFile = z.discriminatedUnion('version', [IdentityFileV1, IdentityFileV2])
type IdentityFile = z.infer<typeof IdentityFile>

/** Reads the header of an ncryptsec without decrypting it: version, log_n, key security byte. */
export function ncryptsecHeader(ncryptsec: string): { logN: number; keySecurity: number } {
  let bytes: Uint8Array
  try {
    const { prefix, words } = bech32.decode(ncryptsec as `${string}1${string}`, 5000)
    if (prefix !== 'ncryptsec') throw new Error('prefix')
    bytes = bech32.fromWords(words)
  } catch (err) {
    throw new FlashError(
      'nostr.bad_ncryptsec',
      'This is not a valid encrypted Nostr key (ncryptsec).',
      'Copy the whole text starting with ncryptsec1 and try again.',
      { cause: err },
    )
  }
  if (bytes.length !== 91 || bytes[0] !== 0x02) {
    throw new FlashError(
      'nostr.bad_ncryptsec',
      'This encrypted Nostr key uses a format this app does not know.',
      'Export the key again from the other app as a NIP-49 ncryptsec (version 2).',
    )
  }
  return { logN: bytes[1]!, keySecurity: bytes[2 + 16 + 24]! }
}

function securityName(byte: number): KeySecurityName {
  return byte === 0x00 ? 'insecure' : byte === 0x01 ? 'secure' : 'unknown'
}

export class Nip49KeyStore {
  private readonly path: string
  private file: IdentityFile | null = null
  private secret: Uint8Array | null = null
  private readonly stopWatchingUnlock: () => void

  constructor(
    dir: string,
    private readonly logN = MIN_LOG_N,
    /** The box key: the ncryptsec is sealed under it once the owner has a password. */
    private readonly box?: BoxKey,
  ) {
    if (logN < MIN_LOG_N) throw new Error(`NIP-49 log_n must be at least ${MIN_LOG_N}`)
    this.path = join(dir, 'identity.json')
    this.file = this.read()
    const unwatch = box?.onUnlock(() => void this.sealUnderBoxKey())
    this.stopWatchingUnlock = () => void unwatch?.()
  }

  /** Stops following the box key's unlocks (the module stopped). */
  dispose(): void {
    this.stopWatchingUnlock()
  }

  /** Migration: a version 1 file (ncryptsec only) is sealed under the box key, same content. */
  sealUnderBoxKey(): boolean {
    const file = this.read()
    if (!file || file.version !== 1 || !this.box?.unlocked) return false
    this.write(file.ncryptsec, file.pubkey, file.createdAt)
    return true
  }

  identity(): Identity {
    if (!this.file) return { state: 'none' }
    return {
      state: this.secret ? 'unlocked' : 'locked',
      pubkey: this.file.pubkey,
      npub: nip19.npubEncode(this.file.pubkey),
      keySecurity:
        this.file.version === 2
          ? this.file.keySecurity
          : securityName(ncryptsecHeader(this.file.ncryptsec).keySecurity),
      createdAt: this.file.createdAt,
    }
  }

  get pubkey(): string | undefined {
    return this.file?.pubkey
  }

  /** The unlocked secret key; throws a clear error while locked. */
  secretKey(): Uint8Array {
    if (!this.secret) {
      throw new FlashError(
        this.file ? 'nostr.locked' : 'nostr.no_key',
        this.file ? 'Your Nostr key is locked.' : 'This box has no Nostr key yet.',
        this.file
          ? 'Unlock it with your passphrase on the Messages page.'
          : 'Create or import a key on the Messages page.',
      )
    }
    return this.secret
  }

  get unlocked(): boolean {
    return this.secret !== null
  }

  /** A fresh key; with `recoveryWords`, derived from new NIP-06 words that are returned once. */
  create(passphrase: string, opts: { recoveryWords: boolean; replace: boolean }) {
    this.requireBoxOpen()
    this.refuseOverwrite(opts.replace)
    let words: string | undefined
    let sk: Uint8Array
    if (opts.recoveryWords) {
      words = nip06.generateSeedWords()
      redact(words)
      sk = nip06.privateKeyFromSeedWords(words)
    } else {
      sk = generateSecretKey()
    }
    // Words shown on screen are "handled", so the key is no longer provably secure.
    this.store(sk, passphrase, words ? 'unknown' : 'secure')
    return { identity: this.identity(), ...(words ? { recoveryWords: words } : {}) }
  }

  /** Imports nsec, ncryptsec (+ its passphrase) or NIP-06 words; stores it under `passphrase`. */
  import(
    passphrase: string,
    secret: string,
    opts: { secretPassphrase?: string; replace: boolean },
  ): Identity {
    this.requireBoxOpen()
    this.refuseOverwrite(opts.replace)
    redact(secret)
    const text = secret.trim()
    let sk: Uint8Array
    let security: KeySecurityName = 'unknown'
    if (text.startsWith('nsec1')) {
      try {
        const d = nip19.decode(text)
        if (d.type !== 'nsec') throw new Error('not nsec')
        sk = d.data
      } catch (err) {
        throw new FlashError(
          'nostr.bad_nsec',
          'This is not a valid nsec key.',
          'Copy the whole key starting with nsec1 and try again.',
          { cause: err },
        )
      }
      // It was pasted in plain text.
      security = 'insecure'
    } else if (text.startsWith('ncryptsec1')) {
      const header = ncryptsecHeader(text)
      if (header.logN > MAX_LOG_N) {
        throw new FlashError(
          'nostr.ncryptsec_too_costly',
          'This encrypted key asks for more memory to open than this box allows.',
          'Export it again from the other app with a lower security level, or import the nsec.',
        )
      }
      sk = decryptOrFail(text, opts.secretPassphrase ?? passphrase)
      security = securityName(header.keySecurity)
    } else {
      const words = text.toLowerCase().split(/\s+/).join(' ')
      if (!nip06.validateWords(words)) {
        throw new FlashError(
          'nostr.bad_secret',
          'This is not an nsec, an ncryptsec, or valid recovery words.',
          'Paste the key starting with nsec1 or ncryptsec1, or the 12 or 24 recovery words in order.',
        )
      }
      sk = nip06.privateKeyFromSeedWords(words, opts.secretPassphrase)
    }
    this.store(sk, passphrase, security)
    return this.identity()
  }

  unlock(passphrase: string): Identity {
    if (!this.file) {
      throw new FlashError(
        'nostr.no_key',
        'This box has no Nostr key yet.',
        'Create or import a key on the Messages page.',
      )
    }
    redact(passphrase)
    const sk = decryptOrFail(this.ncryptsec(), passphrase)
    if (getPublicKey(sk) !== this.file.pubkey) {
      throw new FlashError(
        'nostr.key_mismatch',
        'The stored key does not match its public key: the key file is damaged.',
        'Import your key again from your backup (nsec or recovery words).',
      )
    }
    this.secret = sk
    redact(bytesToHex(sk))
    return this.identity()
  }

  lock(): Identity {
    this.secret?.fill(0)
    this.secret = null
    return this.identity()
  }

  /** The nsec, after re-checking the passphrase. The stored key is then marked 'insecure'. */
  export(passphrase: string): string {
    if (!this.file) this.secretKey()
    const sk = decryptOrFail(this.ncryptsec(), passphrase)
    const nsec = nip19.nsecEncode(sk)
    redact(nsec)
    // NIP-49: the key has now been handled in plain text; record that in its security byte.
    const wasUnlocked = this.unlocked
    this.store(sk, passphrase, 'insecure', this.file!.createdAt)
    if (!wasUnlocked) this.lock()
    return nsec
  }

  private refuseOverwrite(replace: boolean) {
    if (!this.file) return
    if (!replace) {
      throw new FlashError(
        'nostr.key_exists',
        'This box already has a Nostr key.',
        'Export and keep the current key first; then confirm that you want to replace it.',
      )
    }
    // Nothing the user owns is ever lost: the old (still encrypted) key is kept beside the new.
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    renameSync(this.path, join(this.path, '..', `identity.replaced-${stamp}.json`))
    this.file = null
    this.lock()
  }

  private store(sk: Uint8Array, passphrase: string, security: KeySecurityName, createdAt?: string) {
    redact(passphrase)
    redact(bytesToHex(sk))
    this.write(
      nip49.encrypt(sk, passphrase, this.logN, KeySecurity[security]),
      getPublicKey(sk),
      createdAt ?? new Date().toISOString(),
    )
    this.secret = sk
  }

  /** Writes the file: sealed under the box key when there is one (version 2), else version 1. */
  private write(ncryptsec: string, pubkey: string, createdAt: string) {
    const file: IdentityFile =
      this.box && this.box.state !== 'none'
        ? {
            version: 2,
            sealed: this.box.seal(NOSTR_IDENTITY_PURPOSE, ncryptsec),
            pubkey,
            keySecurity: securityName(ncryptsecHeader(ncryptsec).keySecurity),
            createdAt,
          }
        : { version: 1, ncryptsec, pubkey, createdAt }
    writeSecretFileAtomic(this.path, JSON.stringify(file, null, 2) + '\n')
    this.file = file
  }

  /** The stored ncryptsec (opened with the box key for a version 2 file; box.locked otherwise). */
  private ncryptsec(): string {
    const f = this.file!
    if (f.version === 1) return f.ncryptsec
    if (!this.box) {
      throw new FlashError(
        'nostr.identity_needs_box',
        'The Nostr key is sealed under the box key, which this part of Flash Box was not given.',
        'This is a bug; please report it.',
      )
    }
    return this.box.open(NOSTR_IDENTITY_PURPOSE, f.sealed).toString('utf8')
  }

  /** With an owner password set, the box must be unlocked to store a key under it. */
  private requireBoxOpen() {
    if (this.box && this.box.state === 'locked') this.box.requireUnlocked()
  }

  private read(): IdentityFile | null {
    if (!existsSync(this.path)) return null
    let raw: unknown
    try {
      raw = JSON.parse(readFileSync(this.path, 'utf8'))
    } catch {
      raw = undefined
    }
    const parsed = IdentityFile.safeParse(raw)
    if (!parsed.success) {
      throw new FlashError(
        'nostr.identity_damaged',
        'The Nostr key file is damaged.',
        `Restore ${this.path} from a backup, or import your key again.`,
      )
    }
    return parsed.data
  }
}

function decryptOrFail(ncryptsec: string, passphrase: string): Uint8Array {
  try {
    return nip49.decrypt(ncryptsec, passphrase)
  } catch (err) {
    throw new FlashError(
      'nostr.wrong_passphrase',
      'That passphrase does not open this key.',
      'Check the passphrase (it is case-sensitive) and try again.',
      { cause: err },
    )
  }
}
