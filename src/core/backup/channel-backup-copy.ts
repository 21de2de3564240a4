// LND's static channel backup beside the archives. A daily archive can be up to a day older than
// the last channel change, and an SCB that misses a channel cannot recover it. So every time LND
// sends a new SCB (a channel opened or closed), the box's sealed copy (sealed to the owner's
// vault, src/core/lightning/channel-backup.ts) is also written into the backup folder, and a
// restore takes that copy when it is newer than the one inside the archive and sealed to the
// same vault.
import { copyFileSync, existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { z } from 'zod'
import { writeFileAtomicSync } from '../atomic-file'
import { stackPaths } from '../stack/paths'

export const CHANNEL_BACKUP_COPY = 'flashbox-lnd-channel-backup.json'
const SEALED_NAME = 'lnd-channel-backup.json'

const SealedScbSchema = z.object({
  v: z.literal(1),
  at: z.string(),
  channels: z.array(z.string()),
  sealed: z.object({ to: z.string() }).passthrough(),
})

function readSealed(path: string): z.infer<typeof SealedScbSchema> | undefined {
  if (!existsSync(path)) return undefined
  try {
    return SealedScbSchema.parse(JSON.parse(readFileSync(path, 'utf8')))
  } catch {
    return undefined
  }
}

/** The sealed SCB under the stack's secrets folder. */
export function sealedChannelBackupPath(stackDir: string): string {
  return join(stackPaths(stackDir).secretsDir, SEALED_NAME)
}

/**
 * Writes the box's sealed SCB into the backup folder (atomically, 0600). Returns what was copied,
 * or undefined when there is no readable SCB yet.
 */
export function copyChannelBackupTo(
  stackDir: string,
  targetDir: string,
): { at: string; channels: number; file: string } | undefined {
  const source = sealedChannelBackupPath(stackDir)
  const scb = readSealed(source)
  if (!scb) return undefined
  const file = join(targetDir, CHANNEL_BACKUP_COPY)
  writeFileAtomicSync(file, readFileSync(source), 0o600)
  return { at: scb.at, channels: scb.channels.length, file }
}

/**
 * During a restore: if the folder holding the archive has an SCB copy newer than the staged one
 * and sealed to the staged vault's key, it replaces the staged one. Returns whether it did.
 */
export function takeNewerChannelBackup(opts: {
  archive: string
  /** The staged sealed SCB (stack/secrets/lnd-channel-backup.json in the staging folder). */
  staged: string
  /** The staged seed vault's public key (base64), which the SCB must be sealed to. */
  vaultPublicKey: string | undefined
}): boolean {
  const besideFile = join(dirname(opts.archive), CHANNEL_BACKUP_COPY)
  const beside = readSealed(besideFile)
  if (!beside || !opts.vaultPublicKey || beside.sealed.to !== opts.vaultPublicKey) return false
  const staged = readSealed(opts.staged)
  if (staged && Date.parse(staged.at) >= Date.parse(beside.at)) return false
  copyFileSync(besideFile, opts.staged)
  return true
}
