// The backup domain: the box key that keeps the box's secrets encrypted at rest (set, unlock,
// change the password, the OS keychain), whole-box backups (now, daily, retention, a test-restore
// check of the last archive) and restoring one on a fresh install.
import { z } from 'zod'
import type { UserError } from '../errors'
import { mutation, query } from './procedure'

export interface BackupArchiveView {
  readonly file: string
  readonly bytes: number
  readonly createdAt: string
}

export interface BackupTargetView {
  readonly path: string
  readonly label: string
  /** A removable drive the box found under /media, /run/media or /Volumes. */
  readonly removable: boolean
  readonly freeBytes?: number
}

export interface BackupCheck {
  readonly file: string
  readonly at: string
  readonly ok: boolean
  readonly files?: number
  readonly problem?: UserError
}

export interface BackupStatus {
  /** none: no owner password yet (secrets not encrypted); locked: after a restart, until unlocked. */
  readonly box: 'none' | 'locked' | 'unlocked'
  readonly keychain: { readonly available: boolean; readonly enabled: boolean }
  /**
   * The box key wrapped by the HSM set up in Settings → HSM: configured = an HSM is set up there;
   * enabled = the box opens only with the password and that HSM (tokenSerial names it).
   */
  readonly hsmWrap?: {
    readonly configured: boolean
    readonly enabled: boolean
    readonly tokenSerial?: string
  }
  readonly target: string | null
  readonly schedule: 'off' | 'daily'
  readonly keep: number
  readonly running: boolean
  readonly archives: readonly BackupArchiveView[]
  readonly lastBackup?: BackupArchiveView
  readonly lastCheck?: BackupCheck
  readonly lastProblem?: UserError
  /**
   * LND's static channel backup (sealed) copied into the backup folder: written again on every
   * channel change, so a restore has channels opened after the last archive.
   */
  readonly channelBackupCopy?: { readonly at: string; readonly channels: number }
  /** A restore that was prepared and is applied when Flash Box starts next. */
  readonly pendingRestore?: { readonly archive: string; readonly createdAt: string }
}

export interface BackupProgress {
  readonly phase: 'copying' | 'finishing' | 'checking' | 'restoring'
  readonly doneBytes: number
  readonly totalBytes: number
}

export interface RestorePrepared {
  readonly createdAt: string
  readonly appVersion: string
  readonly files: number
  /** What was not in the backup, and why (e.g. LND's live channel database). */
  readonly skipped: readonly { readonly what: string; readonly why: string }[]
}

const Password = z.string().min(1, 'Type the password.').max(1024)
const HsmPin = z.string().max(256)
const NewPassword = z.string().min(10, 'Use at least 10 characters.').max(1024)
const AbsolutePath = z
  .string()
  .trim()
  .min(1, 'Choose a folder.')
  .max(4096)
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'), {
    message: 'must be a full path that starts at the top of the disk (like /home/you/…)',
  })

export const backupApi = {
  status: query<BackupStatus>()(z.object({})),
  /** Removable drives the box can see, and the default folder. */
  targets: query<readonly BackupTargetView[]>()(z.object({})),
  /** Desktop (no login password): choose the owner password that makes the box key. */
  setPassword: mutation<BackupStatus>()(z.object({ password: NewPassword })),
  /** `pin`: the HSM's PIN, when the box key is wrapped by an HSM whose PIN is not remembered. */
  unlock: mutation<BackupStatus>()(z.object({ password: Password, pin: HsmPin.optional() })),
  changePassword: mutation<BackupStatus>()(
    z.object({ oldPassword: Password, newPassword: NewPassword }),
  ),
  /** Keep a copy of the box key in the OS keychain (desktop only), so it starts unattended. */
  setKeychain: mutation<BackupStatus>()(z.object({ enabled: z.boolean(), password: Password })),
  /**
   * Wrap the box key with the HSM set up in Settings → HSM (or stop): the box then opens only with
   * the password and that HSM plugged in. Needs the HSM present both ways; `pin` when not remembered.
   */
  setHsmWrap: mutation<BackupStatus>()(
    z.object({ enabled: z.boolean(), password: Password, pin: HsmPin.optional() }),
  ),
  configure: mutation<BackupStatus>()(
    z.object({
      target: AbsolutePath.nullable().optional(),
      schedule: z.enum(['off', 'daily']).optional(),
      keep: z.number().int().min(1).max(365).optional(),
    }),
  ),
  backupNow: mutation<BackupArchiveView>()(z.object({})),
  /** Decrypts the archive (default: the newest) and checks every file against its manifest. */
  check: mutation<BackupCheck>()(z.object({ file: AbsolutePath.optional() })),
  /** Decrypts and checks the archive into a staging folder; applied when Flash Box restarts. */
  restore: mutation<RestorePrepared>()(z.object({ file: AbsolutePath, password: Password })),
}

export type BackupEvent =
  | { topic: 'backup'; type: 'progress'; progress: BackupProgress }
  | { topic: 'backup'; type: 'status'; status: BackupStatus }
