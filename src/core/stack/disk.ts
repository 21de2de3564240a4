// Looks at the data directory the owner chose: creates it if missing, proves it is writable with
// a real write (permissions alone can lie: read-only mounts, full disks, network shares), and
// measures the free space with statfs.
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  rmSync,
  statfsSync,
  writeSync,
  existsSync,
} from 'node:fs'
import { dirname, join, resolve } from 'node:path'

export interface DataDirProbe {
  readonly path: string
  readonly exists: boolean
  readonly writable: boolean
  /** Free bytes for an unprivileged user (statfs bavail × bsize), on the dir or its nearest parent. */
  readonly freeBytes: number
  readonly totalBytes: number
  /** errno code when creating or writing failed, e.g. EACCES, EROFS, ENOSPC. */
  readonly error?: string
}

function nearestExisting(path: string): string {
  let p = path
  while (!existsSync(p)) {
    const parent = dirname(p)
    if (parent === p) break
    p = parent
  }
  return p
}

export function probeDataDir(pathInput: string): DataDirProbe {
  const path = resolve(pathInput)
  let writable = false
  let error: string | undefined
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 })
    const test = join(path, `.flashbox-write-test-${randomBytes(6).toString('hex')}`)
    const fd = openSync(test, 'wx', 0o600)
    try {
      writeSync(fd, 'flashbox')
      fsyncSync(fd)
    } finally {
      closeSync(fd)
      rmSync(test, { force: true })
    }
    writable = true
  } catch (err) {
    error = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN'
  }
  let freeBytes = 0
  let totalBytes = 0
  try {
    const st = statfsSync(nearestExisting(path))
    freeBytes = Number(st.bavail) * Number(st.bsize)
    totalBytes = Number(st.blocks) * Number(st.bsize)
  } catch (err) {
    error ??= (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN'
  }
  return {
    path,
    exists: existsSync(path),
    writable,
    freeBytes,
    totalBytes,
    ...(error ? { error } : {}),
  }
}
