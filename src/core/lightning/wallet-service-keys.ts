// The wallet service's keys (one NWC service key per connection, and the zapper key that signs zap
// receipts), in <dataDir>/secrets/wallet-service-keys.json (0600, written atomically). They are
// sealed under the box key (purpose 'nwc.keys'); only the zapper's public key stays readable,
// because the Lightning address announces it even while the box is locked. While locked, NWC
// requests are not answered (the keys that decrypt them are shut) and zap receipts wait.
//
// Version 1 kept the keys in clear. It stays in use while the box has no owner password (no box
// key to seal with) and is sealed on the next unlock.
import { existsSync, readFileSync } from 'node:fs'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { z } from 'zod'
import { FlashError } from '../errors'
import { redact } from '../log'
import { isSealed, lockedError, type BoxKey } from '../secrets/box-key'
import { writeSecretFileAtomic } from '../secrets/secret-file'

export const NWC_KEYS_PURPOSE = 'nwc.keys'

const Hex32 = z.string().regex(/^[0-9a-f]{64}$/)
const KeysSchema = z.object({
  zapper: Hex32,
  connections: z.record(z.string(), Hex32),
})
export type WalletServiceKeySet = z.infer<typeof KeysSchema>
const FileSchema = z.discriminatedUnion('version', [
  KeysSchema.extend({ version: z.literal(1) }),
  z.object({
    version: z.literal(2),
    zapperPubkey: Hex32,
    /** JSON { zapper, connections } sealed under the box key. */
    sealed: z.string().refine(isSealed),
  }),
])
type KeysFile = z.infer<typeof FileSchema>

/** What the store needs of the box key. */
export type WalletServiceKeyBox = Pick<BoxKey, 'state' | 'unlocked' | 'seal' | 'open'>

export class WalletServiceKeys {
  private cache: WalletServiceKeySet | null = null

  constructor(
    readonly path: string,
    private readonly box: WalletServiceKeyBox,
  ) {}

  private read(): KeysFile | undefined {
    if (!existsSync(this.path)) return undefined
    try {
      return FileSchema.parse(JSON.parse(readFileSync(this.path, 'utf8')))
    } catch (err) {
      throw new FlashError(
        'walletService.keys_damaged',
        'The file with the keys of your wallet connections (secrets/wallet-service-keys.json) is damaged.',
        'Restore it from a backup in Settings → Backup; without it, apps connected by NWC must be connected again.',
        { cause: err },
      )
    }
  }

  /** The keys, made the first time; null while the box is locked (they are sealed). */
  get(): WalletServiceKeySet | null {
    if (this.cache && this.box.unlocked) return this.cache
    const file = this.read()
    if (!file) {
      if (this.box.state === 'locked') return null
      return this.write({ zapper: bytesToHex(generateSecretKey()), connections: {} })
    }
    let keys: WalletServiceKeySet
    if (file.version === 1) {
      keys = { zapper: file.zapper, connections: file.connections }
    } else {
      if (!this.box.unlocked) return null
      keys = KeysSchema.parse(JSON.parse(this.box.open(NWC_KEYS_PURPOSE, file.sealed).toString()))
    }
    redactKeys(keys)
    this.cache = keys
    return keys
  }

  /** The keys, or box.locked in plain words. */
  require(): WalletServiceKeySet {
    const keys = this.get()
    if (!keys) throw lockedError()
    return keys
  }

  /** The zapper's public key (readable while locked); undefined before it was made. */
  zapperPubkey(): string | undefined {
    const file = this.read()
    if (file?.version === 2) return file.zapperPubkey
    const keys = this.get()
    return keys ? getPublicKey(hexToBytes(keys.zapper)) : undefined
  }

  /** Adds a connection's service key (needs the box unlocked once it has a password). */
  addConnection(id: string, serviceKeyHex: string): void {
    const keys = this.require()
    this.write({ ...keys, connections: { ...keys.connections, [id]: serviceKeyHex } })
  }

  /** Seals a version 1 file under the box key (on unlock). Returns whether it did. */
  sealPlainFile(): boolean {
    if (!this.box.unlocked || this.read()?.version !== 1) return false
    this.write(this.require())
    return true
  }

  private write(keys: WalletServiceKeySet): WalletServiceKeySet {
    redactKeys(keys)
    const file: KeysFile = this.box.unlocked
      ? {
          version: 2,
          zapperPubkey: getPublicKey(hexToBytes(keys.zapper)),
          sealed: this.box.seal(NWC_KEYS_PURPOSE, JSON.stringify(keys)),
        }
      : this.box.state === 'none'
        ? { version: 1, ...keys }
        : (() => {
            throw lockedError()
          })()
    writeSecretFileAtomic(this.path, JSON.stringify(file) + '\n')
    this.cache = keys
    return keys
  }
}

function redactKeys(keys: WalletServiceKeySet): void {
  redact(keys.zapper)
  for (const k of Object.values(keys.connections)) redact(k)
}
