// A value read from a file, kept until the file changes. The key is the file's inode, size and
// modification time in nanoseconds: atomic writes (atomic-file.ts) rename a new file into place, so
// every write gives a new inode, and a change by another process is seen at the next read. A stat
// costs a few microseconds; reading, parsing and (for sealed files) deriving a key and decrypting
// costs far more, on every webhook and every sale.
import { statSync } from 'node:fs'

export function fileSnapshot<T>(path: string, read: () => T): { get(): T; forget(): void } {
  let key: string | undefined
  let value: T
  return {
    get() {
      let k: string
      try {
        const s = statSync(path, { bigint: true })
        k = `${s.ino}:${s.size}:${s.mtimeNs}`
      } catch {
        key = undefined
        return read()
      }
      if (k !== key) {
        value = read()
        key = k
      }
      return value
    },
    forget() {
      key = undefined
    },
  }
}
