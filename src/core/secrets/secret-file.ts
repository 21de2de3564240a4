// Secret files: directory 0700, files 0600, written atomically (src/core/atomic-file.ts).
import { chmodSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { createFileExclusiveSync, writeFileAtomicSync } from '../atomic-file'

export function ensureSecretDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  // mkdir's mode is masked by umask and ignored for an existing directory: set it explicitly.
  chmodSync(dir, 0o700)
}

/** Replaces `path` atomically with a 0600 file. */
export function writeSecretFileAtomic(path: string, contents: string): void {
  ensureSecretDir(dirname(path))
  writeFileAtomicSync(path, contents, 0o600)
}

/**
 * Creates `path` (0600) atomically only if it does not exist yet. Returns false when another
 * writer got there first (the caller then loads that file instead of overwriting it).
 */
export function createSecretFileExclusive(path: string, contents: string): boolean {
  ensureSecretDir(dirname(path))
  return createFileExclusiveSync(path, contents, 0o600)
}
