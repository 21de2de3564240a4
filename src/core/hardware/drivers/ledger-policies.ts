// BIP388 wallet-policy registrations made on Ledgers: for each device (master fingerprint) and
// policy id (sha256 of the serialized policy), the 32-byte HMAC the device returned. The device
// needs it back with every later use of the policy, and losing it means registering (and
// approving on the device) again. It authorises use of the policy without a new approval, so it
// is kept like a secret: <dataDir>/secrets/ledger-policies.json, 0600, written atomically.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { writeSecretFileAtomic } from '../../secrets/secret-file'

const Hex32 = z.string().regex(/^[0-9a-f]{64}$/)
const FileSchema = z.record(
  z.string().regex(/^[0-9a-f]{8}$/),
  z.record(Hex32, z.object({ name: z.string(), hmac: Hex32 })),
)

export interface PolicyRegistrations {
  hmac(fingerprint: string, policyId: string): Uint8Array | undefined
  save(fingerprint: string, policyId: string, name: string, hmac: Uint8Array): void
}

export class LedgerPolicyStore implements PolicyRegistrations {
  private readonly path: string

  constructor(dataDir: string) {
    this.path = join(dataDir, 'secrets', 'ledger-policies.json')
  }

  private load(): z.infer<typeof FileSchema> {
    if (!existsSync(this.path)) return {}
    const parsed = FileSchema.safeParse(JSON.parse(readFileSync(this.path, 'utf8')))
    return parsed.success ? parsed.data : {}
  }

  hmac(fingerprint: string, policyId: string): Uint8Array | undefined {
    const hex = this.load()[fingerprint]?.[policyId]?.hmac
    return hex ? Uint8Array.from(Buffer.from(hex, 'hex')) : undefined
  }

  save(fingerprint: string, policyId: string, name: string, hmac: Uint8Array): void {
    const all = this.load()
    all[fingerprint] = {
      ...all[fingerprint],
      [policyId]: { name, hmac: Buffer.from(hmac).toString('hex') },
    }
    writeSecretFileAtomic(this.path, JSON.stringify(all, null, 2) + '\n')
  }
}
