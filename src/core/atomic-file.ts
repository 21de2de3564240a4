// Files the box owns are written atomically: a temporary file beside the target, fsync'd, then
// renamed over the target (or hard-linked into place when it must not exist yet), then the
// directory fsync'd. A power cut leaves the old file or the new one, never half of one.
// Secret files use these through src/core/secrets/secret-file.ts (0600 in a 0700 folder).
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'

function writeTemp(path: string, contents: string | Buffer, mode: number): string {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(tmp, 'wx', mode)
  try {
    writeSync(fd, typeof contents === 'string' ? Buffer.from(contents) : contents)
    chmodSync(tmp, mode) // the umask must not widen or narrow what the caller asked for
    fsyncSync(fd)
  } catch (err) {
    closeSync(fd)
    rmSync(tmp, { force: true })
    throw err
  }
  closeSync(fd)
  return tmp
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // Some filesystems (and Windows) cannot fsync a directory; the rename is still atomic.
  }
}

/** Replaces `path` atomically with `contents` at `mode`. */
export function writeFileAtomicSync(path: string, contents: string | Buffer, mode = 0o644): void {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true })
  const tmp = writeTemp(path, contents, mode)
  try {
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
  fsyncDir(dir)
}

/**
 * Creates `path` atomically only if it does not exist yet. Returns false when another writer got
 * there first (the caller then loads that file instead of overwriting it).
 */
export function createFileExclusiveSync(path: string, contents: string, mode: number): boolean {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true })
  const tmp = writeTemp(path, contents, mode)
  try {
    linkSync(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    rmSync(tmp, { force: true })
  }
  fsyncDir(dir)
  return true
}
