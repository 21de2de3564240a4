// BIP388 wallet-policy registrations made on Ledgers: for each device (master fingerprint) and
// policy id (sha256 of the serialized policy), the 32-byte HMAC the device returned. The device
// needs it back with every later use of the policy, and losing it means registering (and
// approving on the device) again. It authorises use of the policy without a new approval, so it
// is kept like a secret: <dataDir>/secrets/ledger-policies.json, 0600, written atomically, and
// sealed under the box key (purpose 'hardware.ledger-policies') with the vault names and which
// devices hold which policies, so none of it is readable at rest. While the box is locked the
// Ledger cannot be used for a vault (the box says so, and never asks to register it again).
//
// The first version of the file was the plain map. It stays in use while the box has no owner
// password (no box key to seal with) and is sealed on the next unlock.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { isSealed, lockedError, type BoxKey } from '../../secrets/box-key'
import { writeSecretFileAtomic } from '../../secrets/secret-file'

export const LEDGER_POLICIES_PURPOSE = 'hardware.ledger-policies'

const Hex32 = z.string().regex(/^[0-9a-f]{64}$/)
const PlainSchema = z.record(
  z.string().regex(/^[0-9a-f]{8}$/),
  z.record(Hex32, z.object({ name: z.string(), hmac: Hex32 })),
)
type Registrations = z.infer<typeof PlainSchema>
const SealedSchema = z.object({
  version: z.literal(2),
  purpose: z.literal(LEDGER_POLICIES_PURPOSE),
  sealed: z.string().refine(isSealed),
})

export interface PolicyRegistrations {
  /** The HMAC, or undefined when not registered. Throws box.locked while the box is locked. */
  hmac(fingerprint: string, policyId: string): Uint8Array | undefined
  save(fingerprint: string, policyId: string, name: string, hmac: Uint8Array): void
}

/** What the store needs of the box key. */
export type LedgerPolicyBox = Pick<BoxKey, 'state' | 'unlocked' | 'seal' | 'open'>

export class LedgerPolicyStore implements PolicyRegistrations {
  private readonly path: string

  /** Without `box` (tests of the driver) the plain first version is kept. */
  constructor(
    dataDir: string,
    private readonly box?: LedgerPolicyBox,
  ) {
    this.path = join(dataDir, 'secrets', 'ledger-policies.json')
  }

  private load(): { sealed: boolean; all: Registrations } {
    if (!existsSync(this.path)) return { sealed: false, all: {} }
    const raw: unknown = JSON.parse(readFileSync(this.path, 'utf8'))
    const sealed = SealedSchema.safeParse(raw)
    if (sealed.success) {
      if (!this.box?.unlocked) throw lockedError()
      const plain: unknown = JSON.parse(
        this.box.open(LEDGER_POLICIES_PURPOSE, sealed.data.sealed).toString('utf8'),
      )
      return { sealed: true, all: PlainSchema.parse(plain) }
    }
    const parsed = PlainSchema.safeParse(raw)
    return { sealed: false, all: parsed.success ? parsed.data : {} }
  }

  private write(all: Registrations): void {
    const box = this.box
    if (box && box.state !== 'none' && !box.unlocked) throw lockedError()
    const text = box?.unlocked
      ? JSON.stringify({
          version: 2,
          purpose: LEDGER_POLICIES_PURPOSE,
          sealed: box.seal(LEDGER_POLICIES_PURPOSE, JSON.stringify(all)),
        })
      : JSON.stringify(all, null, 2)
    writeSecretFileAtomic(this.path, text + '\n')
  }

  hmac(fingerprint: string, policyId: string): Uint8Array | undefined {
    const hex = this.load().all[fingerprint]?.[policyId]?.hmac
    return hex ? Uint8Array.from(Buffer.from(hex, 'hex')) : undefined
  }

  save(fingerprint: string, policyId: string, name: string, hmac: Uint8Array): void {
    const { all } = this.load()
    all[fingerprint] = {
      ...all[fingerprint],
      [policyId]: { name, hmac: Buffer.from(hmac).toString('hex') },
    }
    this.write(all)
  }

  /** Seals a plain file of the first version (on unlock). Returns whether it did. */
  sealPlainFile(): boolean {
    if (!this.box?.unlocked || !existsSync(this.path)) return false
    const { sealed, all } = this.load()
    if (sealed) return false
    this.write(all)
    return true
  }
}
