// Pairing another device with the owner's UI on the LAN (issue 13 item 2). The owner's UI on the
// LAN needs the owner password, and a device's first use also needs a one-time pairing code that
// only the owner's local screen shows (Settings → Reachability):
//   - one code at a time, random (40 bits), valid for a few minutes, used once;
//   - a few wrong codes void it (the login throttle limits each client as well), so guessing
//     from many addresses gets nowhere;
//   - a paired device keeps a random token in an HttpOnly cookie; the box keeps only its SHA-256
//     (<engine data>/reach/paired-devices.json, 0600, atomic), so the file opens no session.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { writeSecretFileAtomic } from '../secrets/secret-file'

/** Crockford's base32 without look-alikes: what a person can copy from one screen to another. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
export const PAIRING_CODE_TTL_MS = 10 * 60_000
/** Wrong codes tried before the current code is voided. */
export const PAIRING_CODE_MAX_TRIES = 5
const MAX_DEVICES = 64

export interface PairingCode {
  /** e.g. `7KQ2-M9XD`. */
  readonly code: string
  readonly expiresAt: number
}

export type RedeemResult =
  | { readonly ok: true; readonly deviceToken: string }
  | { readonly ok: false; readonly reason: 'none' | 'wrong' | 'expired' }

const DevicesFile = z.object({
  version: z.literal(1),
  devices: z
    .array(z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/), pairedAt: z.number() }))
    .max(MAX_DEVICES),
})

function newCode(): string {
  const bytes = randomBytes(8)
  let s = ''
  for (let i = 0; i < 8; i++) s += ALPHABET[bytes[i]! & 31]
  return `${s.slice(0, 4)}-${s.slice(4)}`
}

/** What the person typed, in the code's own spelling (case, spaces, dashes and look-alikes forgiven). */
export function normalizePairingCode(typed: string): string {
  const s = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
  return s.length === 8 ? `${s.slice(0, 4)}-${s.slice(4)}` : s
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

export class DevicePairing {
  private current: (PairingCode & { tries: number }) | null = null
  private readonly path: string

  constructor(
    engineDataDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.path = join(engineDataDir, 'reach', 'paired-devices.json')
  }

  /** A fresh code (the previous one stops working). Shown only on the owner's local screen. */
  issue(): PairingCode {
    const code = { code: newCode(), expiresAt: this.now() + PAIRING_CODE_TTL_MS }
    this.current = { ...code, tries: 0 }
    return code
  }

  /** The code still waiting to be used, if any (for the owner's screen after a reload). */
  pending(): PairingCode | null {
    if (!this.current || this.current.expiresAt <= this.now()) return null
    return { code: this.current.code, expiresAt: this.current.expiresAt }
  }

  /** Spends the code: on success the device's new token (for its cookie). */
  redeem(typed: string): RedeemResult {
    const c = this.current
    if (!c) return { ok: false, reason: 'none' }
    if (c.expiresAt <= this.now()) {
      this.current = null
      return { ok: false, reason: 'expired' }
    }
    const given = Buffer.from(normalizePairingCode(typed))
    const want = Buffer.from(c.code)
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      c.tries += 1
      if (c.tries >= PAIRING_CODE_MAX_TRIES) this.current = null
      return { ok: false, reason: 'wrong' }
    }
    this.current = null
    const deviceToken = randomBytes(32).toString('base64url')
    const devices = this.read()
    devices.push({ hash: hashToken(deviceToken), pairedAt: this.now() })
    this.write(devices.slice(-MAX_DEVICES))
    return { ok: true, deviceToken }
  }

  /** Whether this cookie value belongs to a paired device. */
  known(token: string | undefined): boolean {
    if (!token || token.length > 128) return false
    const h = Buffer.from(hashToken(token), 'hex')
    return this.read().some((d) => timingSafeEqual(Buffer.from(d.hash, 'hex'), h))
  }

  count(): number {
    return this.read().length
  }

  /** Every paired device must pair again. */
  forgetAll(): void {
    this.write([])
    this.current = null
  }

  private read(): { hash: string; pairedAt: number }[] {
    if (!existsSync(this.path)) return []
    try {
      return DevicesFile.parse(JSON.parse(readFileSync(this.path, 'utf8'))).devices
    } catch {
      // A damaged list pairs nobody: every device pairs again, which is safe.
      return []
    }
  }

  private write(devices: { hash: string; pairedAt: number }[]): void {
    writeSecretFileAtomic(this.path, JSON.stringify({ version: 1, devices }) + '\n')
  }
}

const byDir = new Map<string, DevicePairing>()

/** One per engine data folder: the reach module issues codes, the web server redeems them. */
export function devicePairingFor(engineDataDir: string): DevicePairing {
  let p = byDir.get(engineDataDir)
  if (!p) {
    p = new DevicePairing(engineDataDir)
    byDir.set(engineDataDir, p)
  }
  return p
}
