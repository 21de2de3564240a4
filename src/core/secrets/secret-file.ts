// Secret files: directory 0700, files 0600, written atomically — write a temp file beside the
// target, fsync it, then rename (or, for a first creation, hard-link so an existing file is never
// replaced), then fsync the directory. A power cut leaves the old file or the new, never half.
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

export function ensureSecretDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  // mkdir's mode is masked by umask and ignored for an existing directory: set it explicitly.
  chmodSync(dir, 0o700)
}

function writeTemp(path: string, contents: string): string {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(tmp, 'wx', 0o600)
  try {
    writeSync(fd, contents)
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
    // Windows cannot open a directory for fsync; the rename is still atomic there.
  }
}

/** Replaces `path` atomically with a 0600 file. */
export function writeSecretFileAtomic(path: string, contents: string): void {
  ensureSecretDir(dirname(path))
  const tmp = writeTemp(path, contents)
  try {
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
  fsyncDir(dirname(path))
}

/**
 * Creates `path` atomically only if it does not exist yet. Returns false when another writer got
 * there first (the caller then loads that file instead of overwriting it).
 */
export function createSecretFileExclusive(path: string, contents: string): boolean {
  ensureSecretDir(dirname(path))
  const tmp = writeTemp(path, contents)
  try {
    linkSync(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    rmSync(tmp, { force: true })
  }
  fsyncDir(dirname(path))
  return true
}
