// Writes one whole-box backup archive (format: archive-header.ts, stream-aead.ts).
//
// - Free space on the target is checked (statfs) before anything is written.
// - The archive is written under a temporary name (".…partial") and renamed to its final name
//   only after the last byte is fsync'd: a drive pulled out, a full disk or a SIGKILL mid-way
//   never leaves a partial archive under a backup's name. Leftover temporary files from an
//   interrupted run are removed by the next one.
// - SQLite databases (relay, mint, wallets, messages) are copied with SQLite's online backup
//   API, a few hundred pages at a time, so the relay and the mint keep writing meanwhile; each
//   copy is a consistent snapshot. Other files are streamed as they are (secrets are already
//   sealed under the box key).
// - The tar payload ends with manifest.json: versions, every file's size and SHA-256, and what
//   was left out and why.
import { createHash, randomBytes } from 'node:crypto'
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  statfsSync,
} from 'node:fs'
import { backup as sqliteBackup, DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { PassThrough, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import { FlashError } from '../errors'
import type { Logger } from '../log'
import type { BoxKey } from '../secrets/box-key'
import { ensureSecretDir } from '../secrets/secret-file'
import { archiveKeys, encodeHeader, newHeader } from './archive-header'
import { planBackup, type BackupRoots, type PlannedEntry, type Skipped } from './backup-contents'
import { CHUNK, encryptStream } from './stream-aead'

export const ARCHIVE_SUFFIX = '.fbbackup'
const ARCHIVE_NAME = /^flashbox-\d{8}T\d{6}Z(-\d+)?\.fbbackup$/
const PARTIAL = /^\.flashbox-.*\.partial$/

export interface ManifestEntry {
  readonly path: string
  readonly size: number
  readonly sha256: string
  readonly kind: 'file' | 'sqlite'
}

export interface Manifest {
  readonly format: 1
  readonly app: { readonly name: 'flashbox'; readonly version: string }
  readonly createdAt: string
  readonly entries: readonly ManifestEntry[]
  readonly skipped: readonly Skipped[]
}

export interface BackupProgress {
  readonly phase: 'copying' | 'finishing'
  readonly doneBytes: number
  readonly totalBytes: number
  readonly file?: string
}

/** An extra part made on the fly (BTCPay's pg_dump): a stream, or why it was skipped. */
export interface ExtraPart {
  readonly path: string
  readonly produce: () => Promise<{ file: string } | { skipped: string }>
}

export interface BackupOptions extends BackupRoots {
  readonly box: BoxKey
  readonly targetDir: string
  readonly appVersion: string
  readonly log?: Logger
  readonly onProgress?: (p: BackupProgress) => void
  /** How many archives to keep in the target folder (oldest removed first). Default 7. */
  readonly keep?: number
  readonly extras?: readonly ExtraPart[]
  /** SQLite pages copied per step of the online backup. */
  readonly sqlitePagesPerStep?: number
}

export interface BackupResult {
  readonly file: string
  readonly bytes: number
  readonly manifest: Manifest
  readonly removed: readonly string[]
}

function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
}

export function diskFull(needed: number, free: number, dir: string): FlashError {
  const mb = (n: number) => `${Math.ceil(n / 1e6).toLocaleString('en')} MB`
  return new FlashError(
    'backup.disk_full',
    `There is not enough free space for the backup on ${dir}: it needs about ${mb(needed)}, and ${mb(free)} is free.`,
    'Free some space there or pick another folder or drive in Settings → Backup, then try again.',
  )
}

function targetProblem(dir: string, cause: unknown): FlashError {
  return new FlashError(
    'backup.target_unavailable',
    `The backup folder ${dir} cannot be written to.`,
    'Check that the drive is plugged in and writable, or pick another folder in Settings → Backup.',
    { cause },
  )
}

/** Removes temporary files an interrupted backup left in `dir`. */
export function removeStalePartials(dir: string): void {
  for (const name of safeList(dir)) if (PARTIAL.test(name)) rmSync(join(dir, name), { force: true })
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** The archives in a folder, newest first. */
export function listArchives(dir: string): { file: string; bytes: number; mtimeMs: number }[] {
  return safeList(dir)
    .filter((n) => ARCHIVE_NAME.test(n))
    .map((n) => {
      const st = statSync(join(dir, n))
      return { file: join(dir, n), bytes: st.size, mtimeMs: st.mtimeMs }
    })
    .sort((a, b) => (a.file < b.file ? 1 : -1))
}

/**
 * Copies a SQLite database consistently with SQLite's online backup, `pages` pages per step: each
 * step holds a read lock only while it copies (node:sqlite runs the steps off the main thread),
 * and the box's databases are in WAL mode, where a reader never blocks a writer.
 *
 * A write by another connection makes SQLite restart the copy from the first page
 * (https://sqlite.org/c3ref/backup_finish.html), so a database written more often than a step
 * takes would never finish. When a restart shows (the pages left go up), the copy is begun again
 * with four times the step, up to the whole database in one step — one read transaction, which in
 * WAL mode still lets the writers go on. `onStep` is told after every step.
 */
export async function snapshotSqlite(
  source: string,
  dest: string,
  pages: number,
  onStep?: (p: { totalPages: number; remainingPages: number; rate: number }) => void,
): Promise<void> {
  let rate = Math.max(1, Math.floor(pages))
  for (;;) {
    const db = new DatabaseSync(source, { timeout: 5_000 })
    let left = Number.POSITIVE_INFINITY
    let total = 0
    let restarted = false
    try {
      await sqliteBackup(db, dest, {
        rate,
        progress: (p) => {
          onStep?.({ ...p, rate })
          total = p.totalPages
          if (p.remainingPages > left) {
            restarted = true
            throw new Error('restarted by a write')
          }
          left = p.remainingPages
        },
      })
      return
    } catch (err) {
      if (!restarted) throw err
    } finally {
      db.close()
    }
    rmSync(dest, { force: true })
    // The next try: four times the step, or the whole database in one step.
    rate = Math.min(rate * 4 >= total ? total + 1 : rate * 4, 2 ** 30)
  }
}

function fsyncPath(path: string): void {
  try {
    const fd = openSync(path, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // some filesystems cannot fsync a directory
  }
}

export async function createBackup(opts: BackupOptions): Promise<BackupResult> {
  const log = opts.log
  opts.box.requireUnlocked()
  const wrapped = opts.box.readWrapped()!
  try {
    mkdirSync(opts.targetDir, { recursive: true })
  } catch (err) {
    throw targetProblem(opts.targetDir, err)
  }
  removeStalePartials(opts.targetDir)

  const { entries, skipped } = planBackup(opts)
  const extras: { entry: PlannedEntry }[] = []
  const workDir = join(opts.engineDir, '.backup-work', randomBytes(6).toString('hex'))
  ensureSecretDir(join(opts.engineDir, '.backup-work'))
  ensureSecretDir(workDir)
  // Encryption adds 16 bytes per 64 KiB, tar 512 bytes per file plus padding.
  const neededFor = (files: readonly PlannedEntry[]) =>
    Math.ceil(files.reduce((n, e) => n + e.size, 0) * (1 + 16 / CHUNK)) +
    files.length * 1024 +
    1024 * 1024
  const requireFree = (needed: number) => {
    let free: number
    try {
      const fs = statfsSync(opts.targetDir)
      free = fs.bavail * fs.bsize
    } catch (err) {
      throw targetProblem(opts.targetDir, err)
    }
    if (free < needed) throw diskFull(needed, free, opts.targetDir)
  }
  try {
    // A full target is reported before anything is made, even BTCPay's dump (which can take a
    // while); checked again below with the dump's size.
    requireFree(neededFor(entries))
    for (const x of opts.extras ?? []) {
      const r = await x.produce()
      if ('skipped' in r) skipped.push({ what: x.path, why: r.skipped })
      else
        extras.push({
          entry: { path: x.path, source: r.file, size: statSync(r.file).size, kind: 'file' },
        })
    }
    const all = [...entries, ...extras.map((e) => e.entry)]
    const totalBytes = all.reduce((n, e) => n + e.size, 0)
    const needed = neededFor(all)
    requireFree(needed)

    const createdAt = new Date()
    let finalName = `flashbox-${stamp(createdAt)}${ARCHIVE_SUFFIX}`
    for (let i = 1; existsSync(join(opts.targetDir, finalName)); i++)
      finalName = `flashbox-${stamp(createdAt)}-${i}${ARCHIVE_SUFFIX}`
    const final = join(opts.targetDir, finalName)
    const partial = join(opts.targetDir, `.${finalName}.${randomBytes(4).toString('hex')}.partial`)

    const header = newHeader(wrapped, opts.appVersion, CHUNK)
    const keys = archiveKeys(opts.box.exportKey(), Buffer.from(header.salt, 'base64'))
    const pack = tar.pack()
    const out = createWriteStream(partial, { mode: 0o600, flags: 'wx' })
    out.write(encodeHeader(header, keys.mac))
    const written = pipeline(pack, encryptStream(keys.payload), out)
    // Keep a failed write from surfacing as an unhandled rejection while entries are added.
    written.catch(() => undefined)

    const manifestEntries: ManifestEntry[] = []
    let done = 0
    const progress = (file?: string) =>
      opts.onProgress?.({
        phase: 'copying',
        doneBytes: done,
        totalBytes,
        ...(file ? { file } : {}),
      })
    progress()
    const addFile = async (e: PlannedEntry, source: string) => {
      const size = statSync(source).size
      const hash = createHash('sha256')
      const entry = pack.entry({ name: e.path, size, mode: 0o600, mtime: createdAt })
      const counted = new PassThrough()
      counted.on('data', (b: Buffer) => {
        hash.update(b)
        done += b.length
      })
      await pipeline(createReadStream(source), counted, entry as unknown as Writable)
      manifestEntries.push({ path: e.path, size, sha256: hash.digest('hex'), kind: e.kind })
      progress(e.path)
    }
    try {
      for (const e of all) {
        if (e.kind === 'sqlite') {
          const snap = join(workDir, `${manifestEntries.length}.sqlite`)
          try {
            await snapshotSqlite(e.source, snap, opts.sqlitePagesPerStep ?? 256)
          } catch (err) {
            if (!existsSync(e.source)) continue // removed meanwhile (e.g. a wallet was reset)
            throw err
          }
          await addFile(e, snap)
          rmSync(snap, { force: true })
        } else {
          if (!existsSync(e.source)) continue
          await addFile(e, e.source)
        }
      }
      opts.onProgress?.({ phase: 'finishing', doneBytes: done, totalBytes })
      const manifest: Manifest = {
        format: 1,
        app: { name: 'flashbox', version: opts.appVersion },
        createdAt: createdAt.toISOString(),
        entries: manifestEntries,
        skipped,
      }
      pack.entry({ name: 'manifest.json', mode: 0o600, mtime: createdAt }, JSON.stringify(manifest))
      pack.finalize()
      await written
      fsyncPath(partial)
      renameSync(partial, final)
      fsyncPath(opts.targetDir)
      const bytes = statSync(final).size
      const removed = applyRetention(opts.targetDir, opts.keep ?? 7)
      log?.info('backup written', { file: final, bytes, files: manifestEntries.length })
      return { file: final, bytes, manifest, removed }
    } catch (err) {
      pack.destroy()
      out.destroy()
      rmSync(partial, { force: true })
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOSPC') throw diskFull(needed, 0, opts.targetDir)
      if (code === 'EIO' || code === 'ENOENT' || code === 'ENODEV' || code === 'EROFS')
        throw targetProblem(opts.targetDir, err)
      throw err
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }
}

/** Keeps the newest `keep` archives in `dir`; returns the files removed. */
export function applyRetention(dir: string, keep: number): string[] {
  const removed: string[] = []
  for (const a of listArchives(dir).slice(Math.max(1, keep))) {
    rmSync(a.file, { force: true })
    removed.push(a.file)
  }
  return removed
}
