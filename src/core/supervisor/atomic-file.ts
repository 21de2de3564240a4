// Files the box owns are replaced atomically: write a temporary file beside the target, fsync it,
// rename it over the target, fsync the directory. A power cut leaves either the old or the new
// file, never half of one.
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'

export function writeFileAtomicSync(path: string, contents: string | Buffer, mode = 0o644): void {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true })
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(tmp, 'w', mode)
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
  try {
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
  try {
    const dfd = openSync(dir, 'r')
    try {
      fsyncSync(dfd)
    } finally {
      closeSync(dfd)
    }
  } catch {
    // Some filesystems (and Windows) cannot fsync a directory; the rename is still atomic.
  }
}
