// Reading a backup archive back: verify it (the scheduled test-restore), and restore it.
//
// A restore has two steps, so that a wrong password, a damaged file or a crash never leaves the
// box half old and half new:
//   1. prepare: decrypt and unpack into <engine>/.restore/staging, check every file against the
//      manifest, then write <engine>/.restore/plan.json (atomically) — until that file exists the
//      live data folder is untouched, and a new prepare starts over;
//   2. apply (at the next engine start, before any module opens a file): move each staged file
//      into place by rename, then remove .restore. Interrupted, it continues where it stopped.
import { createHash } from 'node:crypto'
import {
  closeSync,
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs'
import { dirname, join, normalize, resolve, sep } from 'node:path'
import { PassThrough, Writable, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import { z } from 'zod'
import { writeFileAtomicSync } from '../atomic-file'
import { FlashError } from '../errors'
import type { Logger } from '../log'
import { ensureSecretDir } from '../secrets/secret-file'
import { stackDataDir } from '../stack/paths'
import { openHeader, parseHeader } from './archive-header'
import { takeNewerChannelBackup } from './channel-backup-copy'
import type { Manifest } from './backup'
import { archiveDamaged, decryptStream } from './stream-aead'

const ManifestSchema = z.object({
  format: z.literal(1),
  app: z.object({ name: z.literal('flashbox'), version: z.string() }),
  createdAt: z.string(),
  entries: z.array(
    z.object({
      path: z.string(),
      size: z.number().int().min(0),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      kind: z.enum(['file', 'sqlite']),
    }),
  ),
  skipped: z.array(z.object({ what: z.string(), why: z.string() })),
})

export type ArchiveSecret = { password: string } | { boxKey: Uint8Array }

const SAFE_PATH = /^(engine|stack)\/[^\0]+$/

function safeEntryPath(name: string): string {
  const n = normalize(name).split(sep).join('/')
  if (!SAFE_PATH.test(n) || n.split('/').includes('..') || n !== name) throw archiveDamaged()
  return n
}

function fileUnreadable(file: string, cause: unknown): FlashError {
  return new FlashError(
    'backup.file_unreadable',
    `The backup file ${file} cannot be read.`,
    'Check that the drive is plugged in and the file is there, then try again.',
    { cause },
  )
}

async function readStart(file: string): Promise<Buffer> {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    throw fileUnreadable(file, err)
  }
  try {
    const b = Buffer.alloc(70 * 1024)
    const n = readSync(fd, b, 0, b.length, 0)
    return b.subarray(0, n)
  } finally {
    closeSync(fd)
  }
}

/**
 * Decrypts the archive and hands every file to `onFile` (which must consume the stream); then
 * checks all of them against the manifest. Throws on a wrong password, a newer version, or any
 * change to the file. Returns the manifest.
 */
export async function readArchive(
  file: string,
  secret: ArchiveSecret,
  appVersion: string,
  onFile: (path: string, content: Readable, size: number) => Promise<void>,
): Promise<{ manifest: Manifest; boxKey: Buffer }> {
  const start = await readStart(file)
  const parsed = parseHeader(start)
  if (!parsed) throw archiveDamaged()
  const { payloadKey, boxKey } = await openHeader(parsed, secret, appVersion)
  const seen = new Map<string, { size: number; sha256: string }>()
  let manifest: Manifest | null = null
  const extract = tar.extract()
  extract.on('entry', (h, stream, next) => {
    // When the payload fails, extract hands the same error to the open entry; it is reported once,
    // by the pipeline below.
    stream.on('error', () => undefined)
    void (async () => {
      if (manifest) throw archiveDamaged() // nothing may follow the manifest
      if (h.type !== 'file') throw archiveDamaged()
      if (h.name === 'manifest.json') {
        const chunks: Buffer[] = []
        for await (const c of stream) chunks.push(c as Buffer)
        let json: unknown
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          throw archiveDamaged()
        }
        const r = ManifestSchema.safeParse(json)
        if (!r.success) throw archiveDamaged()
        manifest = r.data
        return
      }
      const path = safeEntryPath(h.name)
      if (seen.has(path)) throw archiveDamaged()
      const hash = createHash('sha256')
      let size = 0
      const tap = new PassThrough()
      tap.on('data', (b: Buffer) => {
        hash.update(b)
        size += b.length
      })
      await onFile(path, stream.pipe(tap), h.size ?? 0)
      seen.set(path, { size, sha256: hash.digest('hex') })
    })().then(
      () => next(),
      (err: unknown) => extract.destroy(err as Error),
    )
  })
  try {
    const decrypt = decryptStream(payloadKey)
    // tar-stream's extract is a streamx stream: the pipeline may settle on its error first and
    // stop listening to the decryptor's own (same) refusal.
    decrypt.on('error', () => undefined)
    await pipeline(createReadStream(file, { start: parsed.payloadStart }), decrypt, extract)
  } catch (err) {
    if (err instanceof FlashError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw fileUnreadable(file, err)
    throw archiveDamaged() // tar framing broken: the plaintext itself was cut
  }
  const m = manifest as Manifest | null
  if (!m || m.entries.length !== seen.size) throw archiveDamaged()
  for (const e of m.entries) {
    const s = seen.get(e.path)
    if (!s || s.size !== e.size || s.sha256 !== e.sha256) throw archiveDamaged()
  }
  return { manifest: m, boxKey }
}

/** The test-restore check: decrypts the whole archive and verifies every file, writing nothing. */
export async function verifyArchive(
  file: string,
  secret: ArchiveSecret,
  appVersion: string,
): Promise<Manifest> {
  const { manifest } = await readArchive(file, secret, appVersion, async (_p, content) => {
    await pipeline(
      content,
      new Writable({
        write(_c, _e, cb) {
          cb()
        },
      }),
    )
  })
  return manifest
}

// --- restore ----------------------------------------------------------------------------------

const PlanSchema = z.object({
  v: z.literal(1),
  archive: z.string(),
  createdAt: z.string(),
  appVersion: z.string(),
  stackDir: z.string(),
  files: z.array(z.object({ path: z.string(), kind: z.enum(['file', 'sqlite']) })),
})
type Plan = z.infer<typeof PlanSchema>

export function restoreDir(engineDir: string): string {
  return join(engineDir, '.restore')
}

export interface PreparedRestore {
  readonly manifest: Manifest
  /** Where the stack's part will go (from the backup's settings, or the suggested folder). */
  readonly stackDir: string
}

/**
 * Step 1: decrypts, unpacks and checks the archive into <engine>/.restore. The live data folder
 * is not touched; the engine moves the files into place the next time it starts.
 */
export async function prepareRestore(opts: {
  engineDir: string
  archive: string
  password: string
  appVersion: string
  log?: Logger
  onProgress?: (doneBytes: number, totalBytes: number) => void
}): Promise<PreparedRestore> {
  const dir = restoreDir(opts.engineDir)
  // A prepare that did not finish (no plan.json) is started over; a finished one is replaced.
  rmSync(dir, { recursive: true, force: true })
  const staging = join(dir, 'staging')
  ensureSecretDir(dir)
  ensureSecretDir(staging)
  const total = statSync(opts.archive).size
  let done = 0
  try {
    const { manifest } = await readArchive(
      opts.archive,
      { password: opts.password },
      opts.appVersion,
      async (path, content) => {
        const dest = join(staging, path)
        ensureSecretDir(dirname(dest))
        const out = createWriteStream(dest, { mode: 0o600 })
        content.on('data', (b: Buffer) => {
          done += b.length
          opts.onProgress?.(done, total)
        })
        await pipeline(content, out)
      },
    )
    // The stack's part goes where the backed-up settings said, if that folder can be made.
    const settingsFile = join(staging, 'engine', 'settings.json')
    let stackDir = stackDataDir(opts.engineDir, null)
    if (existsSync(settingsFile)) {
      try {
        const s = JSON.parse(readFileSync(settingsFile, 'utf8')) as { dataDir?: unknown }
        if (typeof s.dataDir === 'string' && s.dataDir) {
          mkdirSync(s.dataDir, { recursive: true, mode: 0o700 })
          stackDir = s.dataDir
        }
      } catch {
        // The old stack folder cannot be made here: use the suggested one and say so in settings.
        const s = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>
        s.dataDir = stackDir
        writeFileAtomicSync(settingsFile, JSON.stringify(s, null, 2) + '\n', 0o600)
        opts.log?.warn('the backed-up stack folder cannot be made here; using the suggested one')
      }
    }
    // LND's channel backup: the copy kept beside the archives may be newer than the archive's.
    const files = manifest.entries.map((e) => ({ path: e.path, kind: e.kind }))
    const scbPath = 'stack/secrets/lnd-channel-backup.json'
    const stagedScb = join(staging, ...scbPath.split('/'))
    ensureSecretDir(dirname(stagedScb))
    if (
      takeNewerChannelBackup({
        archive: opts.archive,
        staged: stagedScb,
        vaultPublicKey: stagedVaultKey(join(staging, 'engine', 'secrets', 'seed-vault.json')),
      })
    ) {
      opts.log?.info('the channel backup kept beside the archive is newer; it is restored')
      if (!files.some((f) => f.path === scbPath)) files.push({ path: scbPath, kind: 'file' })
    }
    for (const f of ['.', 'staging']) fsyncPath(join(dir, f))
    const plan: Plan = {
      v: 1,
      archive: opts.archive,
      createdAt: manifest.createdAt,
      appVersion: manifest.app.version,
      stackDir,
      files,
    }
    writeFileAtomicSync(join(dir, 'plan.json'), JSON.stringify(plan) + '\n', 0o600)
    opts.log?.info('restore prepared; it is applied when Flash Box starts', {
      files: plan.files.length,
    })
    return { manifest, stackDir }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

function stagedVaultKey(path: string): string | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as { publicKey?: unknown }
    return typeof v.publicKey === 'string' ? v.publicKey : undefined
  } catch {
    return undefined
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

export function pendingRestore(engineDir: string): Plan | null {
  const p = join(restoreDir(engineDir), 'plan.json')
  if (!existsSync(p)) return null
  try {
    return PlanSchema.parse(JSON.parse(readFileSync(p, 'utf8')))
  } catch {
    return null
  }
}

function moveInto(src: string, dest: string): void {
  ensureSecretDir(dirname(dest))
  try {
    renameSync(src, dest)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
    // Another filesystem: copy beside the target, fsync, rename, then drop the staged file.
    const tmp = `${dest}.restore.tmp`
    copyFileSync(src, tmp)
    fsyncPath(tmp)
    renameSync(tmp, dest)
    rmSync(src, { force: true })
  }
}

/**
 * Step 2 (the engine calls this before its modules start): moves a prepared restore into place.
 * Safe to run again after a crash at any point. Returns whether a restore was applied.
 */
export function applyPendingRestore(engineDir: string, log?: Logger): boolean {
  const dir = restoreDir(engineDir)
  if (!existsSync(dir)) return false
  const plan = pendingRestore(engineDir)
  if (!plan) {
    // An unfinished prepare: nothing of it was applied; drop it.
    rmSync(dir, { recursive: true, force: true })
    return false
  }
  const staging = join(dir, 'staging')
  const roots = { engine: resolve(engineDir), stack: resolve(plan.stackDir) }
  for (const f of plan.files) {
    const src = join(staging, f.path)
    if (!existsSync(src)) continue // moved before an interruption
    const [root, ...rest] = f.path.split('/')
    const dest = join(roots[root as 'engine' | 'stack'], ...rest)
    if (f.kind === 'sqlite') {
      // The restored database must not meet the old one's journal or write-ahead log.
      for (const side of ['-wal', '-shm', '-journal']) rmSync(dest + side, { force: true })
    }
    moveInto(src, dest)
  }
  fsyncPath(roots.engine)
  rmSync(dir, { recursive: true, force: true })
  log?.info('restore applied', { files: plan.files.length, from: plan.archive })
  return true
}
