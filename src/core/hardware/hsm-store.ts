// Where the HSM choice lives: the module path, token serial and key label in
// <dataDir>/hardware/hsm.json (not secret), and, only when the owner asks the box to remember it,
// the PIN in <dataDir>/secrets/hsm-pin (0600, written atomically). Otherwise the PIN is asked at
// each unlock and kept only inside the open PKCS#11 session.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { writeFileAtomicSync } from '../atomic-file'
import { redact } from '../log'
import { writeSecretFileAtomic } from '../secrets/secret-file'

const HsmConfigSchema = z.object({
  modulePath: z.string().min(1),
  tokenSerial: z.string().min(1),
  keyLabel: z.string().min(1),
})
export type HsmConfig = z.infer<typeof HsmConfigSchema>

export class HsmStore {
  private readonly configPath: string
  private readonly pinPath: string

  constructor(dataDir: string) {
    this.configPath = join(dataDir, 'hardware', 'hsm.json')
    this.pinPath = join(dataDir, 'secrets', 'hsm-pin')
  }

  config(): HsmConfig | undefined {
    if (!existsSync(this.configPath)) return undefined
    const parsed = HsmConfigSchema.safeParse(JSON.parse(readFileSync(this.configPath, 'utf8')))
    return parsed.success ? parsed.data : undefined
  }

  saveConfig(config: HsmConfig): void {
    writeFileAtomicSync(this.configPath, JSON.stringify(config, null, 2) + '\n', 0o644)
  }

  rememberedPin(): string | undefined {
    if (!existsSync(this.pinPath)) return undefined
    const pin = readFileSync(this.pinPath, 'utf8')
    redact(pin)
    return pin
  }

  rememberPin(pin: string): void {
    writeSecretFileAtomic(this.pinPath, pin)
  }

  forgetPin(): void {
    rmSync(this.pinPath, { force: true })
  }

  forgetAll(): void {
    this.forgetPin()
    rmSync(this.configPath, { force: true })
  }
}
