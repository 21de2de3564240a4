// The wallet seed: a BIP-39 mnemonic, generated once, kept in dataDir/ecash/seed.json (0600,
// written atomically: temp file, fsync, rename, fsync dir), sealed under the box key
// (src/core/secrets/box-key.ts) once the owner has set a password. A file written before that is
// plain JSON and is sealed in place (one atomic rename) the first time the box is unlocked.
// Every value derived from it is
// registered with redact() so it can never reach a log line. From it come the NUT-13
// deterministic secrets (wallet restore) and the wallet's P2PK key (NUT-11).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { HDKey } from '@scure/bip32'
import { bytesToHex } from '@noble/hashes/utils.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { z } from 'zod'
import { FlashError } from '../errors'
import { redact } from '../log'
import type { BoxKey } from '../secrets/box-key'
import { isSealedFile, readSealedFile, writeSealedFile } from '../secrets/box-key-file'
import { writeSecretFileAtomic } from '../secrets/secret-file'

const SEAL_PURPOSE = 'ecash.seed'

/**
 * Where the wallet's P2PK key lives under the seed. Not a NUT (none defines one yet); fixed
 * here so a wallet restored from the same words on another Flash Box has the same key and
 * can still claim tokens locked to it. Hardened, under NUT-13's purpose 129372'.
 */
export const P2PK_DERIVATION_PATH = "m/129372'/10'/0'/0'"

const SeedFileSchema = z.object({
  version: z.literal(1),
  mnemonic: z.string().min(20),
  createdAt: z.string(),
  backedUpAt: z.string().optional(),
})
type SeedFile = z.infer<typeof SeedFileSchema>

export interface WalletSeed {
  /** BIP-39 seed bytes (NUT-13 input). */
  readonly seed: Uint8Array
  /** P2PK private key, hex. */
  readonly p2pkPrivkey: string
  /** P2PK public key, compressed hex (02/03…). */
  readonly p2pkPubkey: string
  readonly backedUp: boolean
}

export function isValidMnemonic(mnemonic: string): boolean {
  return validateMnemonic(mnemonic, wordlist)
}

export function deriveWalletSeed(mnemonic: string, backedUp = false): WalletSeed {
  const seed = mnemonicToSeedSync(mnemonic)
  const key = HDKey.fromMasterSeed(seed).derive(P2PK_DERIVATION_PATH)
  if (!key.privateKey) throw new Error('P2PK key derivation failed')
  const p2pkPrivkey = bytesToHex(key.privateKey)
  const p2pkPubkey = bytesToHex(secp256k1.getPublicKey(key.privateKey, true))
  redact(mnemonic)
  redact(p2pkPrivkey)
  redact(bytesToHex(seed))
  return { seed, p2pkPrivkey, p2pkPubkey, backedUp }
}

/** The seed file of one wallet directory. */
export class SeedFileStore {
  readonly path: string

  constructor(
    dir: string,
    private readonly box?: BoxKey,
  ) {
    this.path = join(dir, 'seed.json')
  }

  /** True when the file on disk is still plain JSON (written before the box had a key). */
  isPlain(): boolean {
    return this.exists() && !isSealedFile(this.path)
  }

  /** Seals a plain seed file in place (one atomic rename: the old file or the new, never none). */
  migrate(): boolean {
    if (!this.box?.unlocked || !this.isPlain()) return false
    this.write(this.read())
    return true
  }

  exists(): boolean {
    return existsSync(this.path)
  }

  /** Loads the seed, creating (and saving) a new 12-word one the first time. */
  loadOrCreate(): { mnemonic: string; backedUp: boolean; created: boolean } {
    if (this.exists()) {
      const f = this.read()
      return { mnemonic: f.mnemonic, backedUp: !!f.backedUpAt, created: false }
    }
    const mnemonic = generateMnemonic(wordlist, 128)
    redact(mnemonic)
    this.write({ version: 1, mnemonic, createdAt: new Date().toISOString() })
    return { mnemonic, backedUp: false, created: true }
  }

  read(): SeedFile {
    let raw: string
    try {
      if (isSealedFile(this.path)) {
        if (!this.box) throw new Error('sealed seed file and no box key')
        this.box.requireUnlocked()
        raw = readSealedFile(this.box, this.path, SEAL_PURPOSE)!.toString('utf8')
      } else {
        raw = readFileSync(this.path, 'utf8')
      }
    } catch (err) {
      if (err instanceof FlashError) throw err
      throw new FlashError(
        'ecash.seed_unreadable',
        'The eCash wallet’s recovery words could not be read.',
        'Check that the data folder is readable by Flash Box. If the file is gone, restore the wallet from your written-down words.',
        { cause: err },
      )
    }
    const parsed = SeedFileSchema.safeParse(safeJson(raw))
    if (!parsed.success || !isValidMnemonic(parsed.data.mnemonic)) {
      throw new FlashError(
        'ecash.seed_corrupt',
        'The eCash wallet’s recovery-words file is damaged.',
        'Restore the wallet from your written-down recovery words (eCash → Restore).',
      )
    }
    redact(parsed.data.mnemonic)
    return parsed.data
  }

  /** Replaces the seed (restore). The old file is overwritten atomically. */
  replace(mnemonic: string, backedUp: boolean): void {
    redact(mnemonic)
    this.write({
      version: 1,
      mnemonic,
      createdAt: new Date().toISOString(),
      ...(backedUp ? { backedUpAt: new Date().toISOString() } : {}),
    })
  }

  markBackedUp(): void {
    const f = this.read()
    if (f.backedUpAt) return
    this.write({ ...f, backedUpAt: new Date().toISOString() })
  }

  private write(file: SeedFile): void {
    const text = JSON.stringify(file, null, 2) + '\n'
    if (this.box && this.box.state !== 'none') {
      // Once the owner has a password, a seed is never written in clear again.
      this.box.requireUnlocked()
      writeSealedFile(this.box, this.path, SEAL_PURPOSE, text)
      return
    }
    writeSecretFileAtomic(this.path, text)
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    return undefined
  }
}
