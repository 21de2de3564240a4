// Static channel backups (SCB): LND sends a new multi-channel backup on every channel change
// (SubscribeChannelBackups); the box seals each one to the owner's vault (X25519 + HKDF +
// ChaCha20-Poly1305, the same as the recovery words) and replaces the backup file atomically.
// LND's SCB is already encrypted with a key from the wallet's seed; the box's layer keeps it
// unreadable without the owner's password too. With the 24 words, this file lets LND ask the
// channel peers to force close and return the funds (LND's “restore from SCB”).
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import { z } from 'zod'
import { writeFileAtomicSync } from '../atomic-file'
import { lndError } from '../clients/lnd'
import type { Logger } from '../log'
import {
  openFromVault,
  SealedSeedSchema,
  sealToVault,
  type SeedVaultFile,
  type VaultBoxKey,
} from './seed-vault'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
const SCB_INFO = Buffer.from('flashbox lnd channel backup v1')

const BackupFileSchema = z.object({
  v: z.literal(1),
  at: z.string(),
  /** Funding outpoints of the channels in this backup (public on chain). */
  channels: z.array(z.string()),
  sealed: SealedSeedSchema,
})
export type ChannelBackupFile = z.infer<typeof BackupFileSchema>

export interface ChannelBackupInfo {
  readonly at: string
  readonly channels: number
}

export function readBackupInfo(path: string): ChannelBackupInfo | undefined {
  if (!existsSync(path)) return undefined
  try {
    const f = BackupFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')))
    return { at: f.at, channels: f.channels.length }
  } catch {
    return undefined
  }
}

/** LND's multi-channel backup bytes from the file, with the owner's password. */
export async function openChannelBackup(
  path: string,
  vault: SeedVaultFile,
  password: string,
  box?: VaultBoxKey,
): Promise<Buffer | null> {
  const f = BackupFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')))
  return openFromVault(vault, f.sealed, password, SCB_INFO, box)
}

export function writeChannelBackup(
  path: string,
  vault: SeedVaultFile,
  backupHex: string,
  channels: readonly string[],
  now = new Date(),
): ChannelBackupInfo {
  const file: ChannelBackupFile = {
    v: 1,
    at: now.toISOString(),
    channels: [...channels],
    sealed: sealToVault(vault, Buffer.from(backupHex, 'hex'), SCB_INFO),
  }
  writeFileAtomicSync(path, JSON.stringify(file) + '\n', 0o600)
  return { at: file.at, channels: channels.length }
}

interface BackupEvent {
  backup: string
  channels: { transaction_id: string; transaction_vout: number }[]
}

/**
 * Follows LND's backup stream. Returns a stop function; `onError` is told when the stream ends
 * (LND restarted) so the caller subscribes again on its next pass.
 */
export function followChannelBackups(opts: {
  lnd: Lightning.AuthenticatedLnd
  path: string
  vault: () => SeedVaultFile | null
  log: Logger
  onWritten: (info: ChannelBackupInfo) => void
  onError: () => void
}): () => void {
  const sub = ln.subscribeToBackups({ lnd: opts.lnd })
  const write = (e: BackupEvent) => {
    const vault = opts.vault()
    if (!vault) {
      opts.log.warn('channel backup not written: the owner password vault is missing')
      return
    }
    const info = writeChannelBackup(
      opts.path,
      vault,
      e.backup,
      e.channels.map((c) => `${c.transaction_id}:${c.transaction_vout}`),
    )
    opts.log.info(`channel backup written (${info.channels} channels)`)
    opts.onWritten(info)
  }
  sub.on('backup', (e: BackupEvent) => {
    try {
      write(e)
    } catch (err) {
      opts.log.error('channel backup could not be written', { error: (err as Error).message })
    }
  })
  sub.on('error', (err: unknown) => {
    sub.removeAllListeners()
    opts.log.warn('channel backup updates from LND stopped', {
      error: lndError('subscribeToBackups', err).message,
    })
    opts.onError()
  })
  return () => sub.removeAllListeners()
}
