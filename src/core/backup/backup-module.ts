// The backup domain as an engine module: the box key's life (owner password set, unlock,
// change, OS keychain), whole-box backups (now and daily, with retention and a test-restore
// check of each new archive) and preparing a restore (applied at the next start, restore.ts).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import type {
  BackupArchiveView,
  BackupCheck,
  BackupStatus,
  backupApi,
} from '../../shared/api/backup'
import type { HandlersOf } from '../../shared/api/procedure'
import { OwnerPassword } from '../api/http/owner-password'
import type {
  EngineContext,
  EngineModule,
  EngineModuleFactory,
  RequestContext,
} from '../engine/module'
import { loadSettings } from '../engine/stack-module'
import { FlashError, toUserError } from '../errors'
import { readSeedVault, rewrapSeedVault } from '../lightning/seed-vault'
import { seedVaultPath } from '../lightning/lightning-module'
import { HsmStore } from '../hardware/hsm-store'
import { boxKeyHsm } from '../hardware/pkcs11/box-key-hsm'
import { boxKeyFor, wrongPasswordError, type BoxKeyHsm } from '../secrets/box-key'
import { ensureSecretDir, writeSecretFileAtomic } from '../secrets/secret-file'
import { stackDataDir } from '../stack/paths'
import { DEFAULT_PROJECT } from '../stack/render'
import { LABEL_PROJECT } from '../supervisor/labels'
import type { Supervisor } from '../supervisor/supervisor'
import { flashBoxVersion } from '../system/system-module'
import { createBackup, listArchives } from './backup'
import { dumpBtcpayDatabase, importBtcpayDatabase, type PostgresPick } from './btcpay-dump'
import { copyChannelBackupTo } from './channel-backup-copy'
import { freeBytes, removableDrives } from './removable-drives'
import { pendingRestore, prepareRestore, verifyArchive } from './restore'

const DAY_MS = 24 * 3600_000

const ArchiveView = z.object({ file: z.string(), bytes: z.number(), createdAt: z.string() })
const ConfigSchema = z.object({
  target: z.string().nullable().default(null),
  schedule: z.enum(['off', 'daily']).default('daily'),
  keep: z.number().int().min(1).max(365).default(7),
  lastBackup: ArchiveView.optional(),
  channelBackupCopy: z.object({ at: z.string(), channels: z.number() }).optional(),
  lastCheck: z
    .object({
      file: z.string(),
      at: z.string(),
      ok: z.boolean(),
      files: z.number().optional(),
      problem: z.object({ code: z.string(), message: z.string(), hint: z.string() }).optional(),
    })
    .optional(),
})
type Config = z.infer<typeof ConfigSchema>

export interface BackupModuleOptions {
  /** How often the daily schedule looks whether a backup is due. Default 10 minutes. */
  readonly scheduleCheckMs?: number
  /** The Flash Box version written into archives (default: package.json's). */
  readonly appVersion?: string
}

export function backupModule(options: BackupModuleOptions = {}): EngineModuleFactory {
  return (ctx) => createBackupModule(ctx, options)
}

export function createBackupModule(
  ctx: EngineContext,
  options: BackupModuleOptions = {},
): EngineModule<typeof backupApi> {
  const log = ctx.log.child('backup')
  const box = boxKeyFor(ctx.dataDir)
  const owner = new OwnerPassword(ctx.dataDir)
  const hsmStore = new HsmStore(ctx.dataDir)
  const configPath = join(ctx.dataDir, 'backup.json')
  const appVersion = options.appVersion ?? flashBoxVersion()
  let running = false
  let lastProblem: FlashError | undefined
  let timer: NodeJS.Timeout | undefined
  let unsubscribe: (() => void) | undefined
  let unsubscribeStack: (() => void) | undefined

  const loadConfig = (): Config => {
    try {
      return ConfigSchema.parse(JSON.parse(readFileSync(configPath, 'utf8')))
    } catch {
      return ConfigSchema.parse({})
    }
  }
  const saveConfig = (c: Config) => writeSecretFileAtomic(configPath, JSON.stringify(c, null, 2))

  const stackDir = () => {
    try {
      return stackDataDir(ctx.dataDir, loadSettings(ctx.dataDir))
    } catch {
      return stackDataDir(ctx.dataDir, null)
    }
  }

  const hsmWrapStatus = (): NonNullable<BackupStatus['hsmWrap']> => {
    let wrapped: ReturnType<typeof box.hsmStatus>
    try {
      wrapped = box.hsmStatus()
    } catch {
      wrapped = undefined // a damaged box-key.json is reported by unlock
    }
    return {
      configured: hsmStore.config() !== undefined,
      enabled: wrapped !== undefined,
      ...(wrapped ? { tokenSerial: wrapped.tokenSerial } : {}),
    }
  }

  /** The HSM set up in Settings → HSM, as the box key's wrapper (PIN typed now or remembered). */
  const hsmForBox = (pin: string | undefined): BoxKeyHsm => {
    const cfg = hsmStore.config()
    if (!cfg) {
      throw new FlashError(
        'box.hsm_not_configured',
        'No HSM is set up on this box, so it cannot lock the box key.',
        'Set up the HSM in Settings → HSM first, then come back here.',
      )
    }
    const p = pin || hsmStore.rememberedPin()
    if (!p) {
      throw new FlashError(
        'box.hsm_pin_needed',
        'The HSM needs its PIN for this.',
        'Type the HSM PIN next to the password (or let Settings → HSM remember it).',
      )
    }
    return boxKeyHsm({ modulePath: cfg.modulePath, tokenSerial: cfg.tokenSerial, pin: p })
  }

  const status = (): BackupStatus => {
    const c = loadConfig()
    const pending = pendingRestore(ctx.dataDir)
    return {
      box: box.state,
      keychain: box.keychainStatus(),
      hsmWrap: hsmWrapStatus(),
      target: c.target,
      schedule: c.schedule,
      keep: c.keep,
      running,
      archives: c.target
        ? listArchives(c.target).map((a) => ({
            file: a.file,
            bytes: a.bytes,
            createdAt: new Date(a.mtimeMs).toISOString(),
          }))
        : [],
      ...(c.lastBackup ? { lastBackup: c.lastBackup } : {}),
      ...(c.channelBackupCopy ? { channelBackupCopy: c.channelBackupCopy } : {}),
      ...(c.lastCheck ? { lastCheck: c.lastCheck } : {}),
      ...(lastProblem ? { lastProblem: toUserError(lastProblem) } : {}),
      ...(pending
        ? { pendingRestore: { archive: pending.archive, createdAt: pending.createdAt } }
        : {}),
    }
  }
  const publishStatus = () =>
    ctx.events.publish({ topic: 'backup', type: 'status', status: status() })

  const noTarget = () =>
    new FlashError(
      'backup.no_target',
      'No backup folder is chosen yet.',
      'Choose a folder or a removable drive in Settings → Backup.',
    )

  const supervisor = () =>
    (ctx.modules.get('stack') as unknown as { supervisor?: Supervisor } | undefined)?.supervisor
  const docker = () => supervisor()?.dockerClient()
  /**
   * BTCPay's database is this box's own postgres container (the stack's project), never another
   * stack's on the same Docker Engine (a second install, a test stack).
   */
  const ownPostgres = (): PostgresPick => ({
    labels: [`${LABEL_PROJECT}=${supervisor()?.getPlan()?.project ?? DEFAULT_PROJECT}`],
  })

  /** Copies LND's sealed channel backup into the backup folder (on every channel change). */
  const copyChannelBackup = (): void => {
    const c = loadConfig()
    if (!c.target) return
    try {
      ensureSecretDir(c.target)
      const copied = copyChannelBackupTo(stackDir(), c.target)
      if (!copied) return
      const at = { at: copied.at, channels: copied.channels }
      if (JSON.stringify(c.channelBackupCopy) === JSON.stringify(at)) return
      saveConfig({ ...loadConfig(), channelBackupCopy: at })
      log.info('channel backup copied to the backup folder', { channels: copied.channels })
      publishStatus()
    } catch (err) {
      lastProblem = new FlashError(
        'backup.channel_backup_not_copied',
        `The Lightning channel backup could not be copied to ${c.target}.`,
        'Check that the drive is plugged in and writable, or pick another folder in Settings → Backup.',
        { cause: err },
      )
      log.warn('channel backup not copied to the backup folder')
      publishStatus()
    }
  }

  /** A restored BTCPay database (stack/btcpay/pg_dumpall.sql) goes back once postgres runs. */
  let importing = false
  const importRestoredBtcpay = async (): Promise<void> => {
    if (importing) return
    importing = true
    try {
      const dump = join(stackDir(), 'btcpay', 'pg_dumpall.sql')
      if (!existsSync(dump)) return
      // Not before the supervisor finds postgres healthy: on a fresh install its first start runs
      // a temporary server on the socket only, which the entrypoint stops when its set-up scripts
      // are done — an import fed to it would be cut off, or meet those scripts half-way.
      const pg = supervisor()
        ?.serviceStatuses()
        .find((s) => s.id === 'postgres')
      if (pg?.state !== 'healthy') return
      if (await importBtcpayDatabase(docker(), dump, ownPostgres())) {
        log.info('BTCPay’s database from the backup was put back')
        publishStatus()
      }
    } catch (err) {
      lastProblem =
        err instanceof FlashError
          ? err
          : new FlashError(
              'backup.btcpay_import_failed',
              'BTCPay’s database from the backup could not be put back yet.',
              'Flash Box tries again when BTCPay’s database runs. If this stays, see Settings → Diagnostics.',
              { cause: err },
            )
      log.warn('BTCPay database import failed', { code: lastProblem.code })
      publishStatus()
    } finally {
      importing = false
    }
  }

  async function backupNow(): Promise<BackupArchiveView> {
    if (running) {
      throw new FlashError(
        'backup.running',
        'A backup is already being made.',
        'Wait for it to finish; its progress shows in Settings → Backup.',
      )
    }
    const c = loadConfig()
    if (!c.target) throw noTarget()
    box.requireUnlocked()
    running = true
    publishStatus()
    try {
      const work = join(ctx.dataDir, '.backup-work')
      ensureSecretDir(work)
      const r = await createBackup({
        engineDir: ctx.dataDir,
        stackDir: stackDir(),
        box,
        targetDir: c.target,
        appVersion,
        keep: c.keep,
        log,
        extras: [
          {
            path: 'stack/btcpay/pg_dumpall.sql',
            produce: () =>
              dumpBtcpayDatabase(docker(), join(work, 'btcpay-pg_dumpall.sql'), ownPostgres()),
          },
        ],
        onProgress: (p) => ctx.events.publish({ topic: 'backup', type: 'progress', progress: p }),
      })
      const view = { file: r.file, bytes: r.bytes, createdAt: r.manifest.createdAt }
      saveConfig({ ...loadConfig(), lastBackup: view })
      lastProblem = undefined
      copyChannelBackup()
      return view
    } catch (err) {
      lastProblem =
        err instanceof FlashError
          ? err
          : new FlashError(
              'backup.failed',
              'The backup could not be made.',
              'See the recent problems in Settings → Diagnostics, then try again.',
              { cause: err },
            )
      log.warn('backup failed', { code: lastProblem.code })
      throw lastProblem
    } finally {
      running = false
      publishStatus()
    }
  }

  async function check(file?: string): Promise<BackupCheck> {
    const c = loadConfig()
    const target = file ?? (c.target ? listArchives(c.target)[0]?.file : undefined)
    if (!target)
      throw c.target
        ? new FlashError(
            'backup.none_yet',
            'There is no backup to check yet.',
            'Make one with “Back up now” in Settings → Backup.',
          )
        : noTarget()
    box.requireUnlocked()
    ctx.events.publish({
      topic: 'backup',
      type: 'progress',
      progress: { phase: 'checking', doneBytes: 0, totalBytes: 0 },
    })
    let result: BackupCheck
    try {
      const m = await verifyArchive(target, { boxKey: box.exportKey() }, appVersion)
      result = { file: target, at: new Date().toISOString(), ok: true, files: m.entries.length }
    } catch (err) {
      const e =
        err instanceof FlashError
          ? err
          : new FlashError(
              'backup.check_failed',
              'The backup could not be checked.',
              'Make a new backup in Settings → Backup.',
              { cause: err },
            )
      result = { file: target, at: new Date().toISOString(), ok: false, problem: toUserError(e) }
    }
    saveConfig({ ...loadConfig(), lastCheck: result })
    publishStatus()
    return result
  }

  const confirmOwnerPassword = async (password: string) => {
    if (box.state !== 'none') {
      if (!(await box.checkPassword(password))) throw wrongPasswordError()
    } else if ((await owner.isSet()) && !(await owner.verify(password))) {
      throw wrongPasswordError()
    }
  }

  const handlers: HandlersOf<typeof backupApi, RequestContext> = {
    status: async () => status(),
    targets: async () => {
      const c = loadConfig()
      const own = c.target
        ? [
            {
              path: c.target,
              label: 'Chosen folder',
              removable: false,
              ...(freeBytes(c.target) !== undefined ? { freeBytes: freeBytes(c.target)! } : {}),
            },
          ]
        : []
      return [...own, ...removableDrives().filter((d) => d.path !== c.target)]
    },
    setPassword: async ({ password }) => {
      if (await owner.isSet()) {
        throw new FlashError(
          'auth.already_set',
          'The owner password is already set.',
          'Use “Change password” in Settings → Backup.',
        )
      }
      await owner.create(password)
      await box.enterPassword(password)
      for (const name of ['lightning', 'wallet'])
        await ctx.modules.get(name)?.ownerPasswordEntered?.(password)
      log.info('owner password set; the box key was made')
      publishStatus()
      return status()
    },
    unlock: async ({ password, pin }) => {
      if (box.state === 'none') {
        throw new FlashError(
          'box.no_password',
          'The box has no owner password yet.',
          'Choose one in Settings → Backup.',
        )
      }
      // An HSM-wrapped key opens only with the HSM: without one set up, enterPassword says so.
      if (!box.unlocked && box.hsmStatus() && hsmStore.config()) {
        if (!(await box.checkPassword(password))) throw wrongPasswordError()
        box.useHsm(hsmForBox(pin))
      }
      await box.enterPassword(password)
      for (const name of ['lightning', 'wallet'])
        await ctx.modules.get(name)?.ownerPasswordEntered?.(password)
      publishStatus()
      return status()
    },
    changePassword: async ({ oldPassword, newPassword }) => {
      await confirmOwnerPassword(oldPassword)
      // The box key is re-wrapped (the data it seals is not touched), then the Lightning seed
      // vault's key, then the login password.
      if (box.state !== 'none') await box.changePassword(oldPassword, newPassword)
      const vaultPath = seedVaultPath(ctx.dataDir)
      const vault = readSeedVault(vaultPath)
      if (vault) {
        writeSecretFileAtomic(
          vaultPath,
          JSON.stringify(await rewrapSeedVault(vault, oldPassword, newPassword)) + '\n',
        )
      }
      if (await owner.isSet()) await owner.change(oldPassword, newPassword)
      log.info('owner password changed; the box key was re-wrapped')
      publishStatus()
      return status()
    },
    setKeychain: async ({ enabled, password }) => {
      await confirmOwnerPassword(password)
      if (enabled && !box.unlocked) await box.enterPassword(password)
      box.setKeychain(enabled)
      log.info(enabled ? 'box key kept in the OS keychain' : 'box key removed from the OS keychain')
      publishStatus()
      return status()
    },
    setHsmWrap: async ({ enabled, password, pin }) => {
      await confirmOwnerPassword(password)
      if (enabled === (box.hsmStatus() !== undefined)) return status()
      box.useHsm(hsmForBox(pin))
      if (enabled) await box.wrapWithHsm(password)
      else await box.unwrapFromHsm(password)
      log.info(enabled ? 'box key wrapped by the HSM' : 'box key no longer wrapped by the HSM')
      publishStatus()
      return status()
    },
    configure: async (input) => {
      const c = loadConfig()
      if (input.target) {
        try {
          ensureSecretDir(input.target)
        } catch (err) {
          throw new FlashError(
            'backup.target_unavailable',
            `The folder ${input.target} cannot be used for backups.`,
            'Pick a folder you can write to, or plug in the drive and try again.',
            { cause: err },
          )
        }
      }
      saveConfig({
        ...c,
        ...(input.target !== undefined ? { target: input.target } : {}),
        ...(input.schedule ? { schedule: input.schedule } : {}),
        ...(input.keep ? { keep: input.keep } : {}),
      })
      publishStatus()
      return status()
    },
    backupNow: async () => {
      const view = await backupNow()
      await check(view.file)
      return view
    },
    check: async ({ file }) => check(file),
    restore: async ({ file, password }) => {
      if (!existsSync(file)) {
        throw new FlashError(
          'backup.file_unreadable',
          `There is no file at ${file}.`,
          'Check the path, and that the drive is plugged in.',
        )
      }
      running = true
      publishStatus()
      try {
        const prepared = await prepareRestore({
          engineDir: ctx.dataDir,
          archive: file,
          password,
          appVersion,
          log,
          onProgress: (doneBytes, totalBytes) =>
            ctx.events.publish({
              topic: 'backup',
              type: 'progress',
              progress: { phase: 'restoring', doneBytes, totalBytes },
            }),
        })
        return {
          createdAt: prepared.manifest.createdAt,
          appVersion: prepared.manifest.app.version,
          files: prepared.manifest.entries.length,
          skipped: prepared.manifest.skipped,
        }
      } finally {
        running = false
        publishStatus()
      }
    },
  }

  const due = () => {
    const c = loadConfig()
    if (c.schedule !== 'daily' || !c.target || !box.unlocked || running) return false
    const last = c.lastBackup ? Date.parse(c.lastBackup.createdAt) : 0
    return Date.now() - last >= DAY_MS
  }

  return {
    name: 'backup',
    handlers,
    async start() {
      const every = options.scheduleCheckMs ?? 10 * 60_000
      const tick = () => {
        void importRestoredBtcpay()
        if (!due()) return
        void backupNow()
          .then((v) => check(v.file))
          .catch(() => undefined) // reported through status.lastProblem
      }
      timer = setInterval(tick, every)
      timer.unref?.()
      // LND sends a new static channel backup on every channel change: copy it at once.
      unsubscribe = ctx.events.subscribe(
        (e) => {
          if (e.topic === 'lightning' && e.type === 'channel-backup') copyChannelBackup()
        },
        ['lightning'],
      )
      copyChannelBackup()
      // Postgres follows the stack's start; the stack's status events say when it runs.
      unsubscribeStack = ctx.events.subscribe(() => void importRestoredBtcpay(), ['stack'])
      void importRestoredBtcpay()
    },
    async stop() {
      if (timer) clearInterval(timer)
      timer = undefined
      unsubscribe?.()
      unsubscribe = undefined
      unsubscribeStack?.()
      unsubscribeStack = undefined
    },
  }
}
