// A secret file sealed under the box key (src/core/secrets/box-key.ts): 0600 in a 0700 folder,
// written atomically, holding only { v, purpose, sealed }. The purpose is bound into the
// encryption, so a file copied over another one's path is refused instead of misread.
import { existsSync, readFileSync } from 'node:fs'
import { z } from 'zod'
import { FlashError } from '../errors'
import { isSealed, type BoxKey } from './box-key'
import { writeSecretFileAtomic } from './secret-file'

const SealedFileSchema = z.object({
  v: z.literal(1),
  purpose: z.string().min(1),
  sealed: z.string().refine(isSealed),
})

/** True when the file at `path` is a sealed file (not a plain one left to migrate). */
export function isSealedFile(path: string): boolean {
  if (!existsSync(path)) return false
  try {
    return SealedFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8'))).success
  } catch {
    return false
  }
}

export function writeSealedFile(
  box: BoxKey,
  path: string,
  purpose: string,
  plaintext: Uint8Array | string,
): void {
  const sealed = box.seal(purpose, plaintext)
  writeSecretFileAtomic(path, JSON.stringify({ v: 1, purpose, sealed }) + '\n')
}

/** The plaintext, or null when there is no file. Throws when it is damaged or not sealed. */
export function readSealedFile(box: BoxKey, path: string, purpose: string): Buffer | null {
  if (!existsSync(path)) return null
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    raw = undefined
  }
  const r = SealedFileSchema.safeParse(raw)
  if (!r.success || r.data.purpose !== purpose) {
    throw new FlashError(
      'box.sealed_damaged',
      `A secret file of this box (${path}) is damaged or is not what it should be.`,
      'Restore the box from a backup in Settings → Backup.',
    )
  }
  return box.open(purpose, r.data.sealed)
}
