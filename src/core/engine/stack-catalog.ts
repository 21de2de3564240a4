// The seam between the stack module and a catalog (settings → StackPlan). Production uses the
// catalog of src/core/stack; tests pass their own (local images, same wiring shape).
import { constants, accessSync, mkdirSync, statfsSync } from 'node:fs'
import { dirname } from 'node:path'
import type { ServiceInfo, SettingsCheck } from '../../shared/api/stack'
import type { UserError } from '../../shared/errors'
import type { Settings } from '../../shared/settings'
import type { StackPlan } from '../stack/spec'

export interface StackCatalog {
  /** What can run, for the setup wizard (`settings` null before setup). */
  info(settings: Settings | null): readonly ServiceInfo[]
  /** Problems that keep these settings from working (disk, data folder, combinations). */
  check(settings: Settings): Promise<SettingsCheck>
  /** The containers to run for these settings (secrets loaded or created under the data dir). */
  render(settings: Settings): Promise<StackPlan>
}

/** Nearest existing ancestor (a data folder that does not exist yet is checked where it would go). */
function existingAncestor(path: string): string {
  let p = path
  for (;;) {
    try {
      accessSync(p)
      return p
    } catch {
      const up = dirname(p)
      if (up === p) return p
      p = up
    }
  }
}

/** Checks every catalog needs: the data folder can be created and written, and has space. */
export function basicChecks(settings: Settings, neededBytes: number): SettingsCheck {
  const problems: UserError[] = []
  const at = existingAncestor(settings.dataDir)
  try {
    mkdirSync(settings.dataDir, { recursive: true })
    accessSync(settings.dataDir, constants.W_OK)
  } catch (err) {
    problems.push({
      code: 'stack.datadir_not_writable',
      message: `Flash Box cannot write to the data folder ${settings.dataDir} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
      hint: 'Choose a folder on a disk that is mounted read-write and that your user owns, or fix its permissions.',
    })
  }
  let freeBytes = 0
  try {
    const s = statfsSync(at)
    freeBytes = Number(s.bavail) * Number(s.bsize)
  } catch {
    // unknown: reported as 0 free, and the check below says so
  }
  if (freeBytes < neededBytes) {
    const gib = (n: number) => (n / 2 ** 30).toFixed(1)
    problems.push({
      code: 'stack.disk_too_small',
      message: `The disk holding ${settings.dataDir} has ${gib(freeBytes)} GiB free; these settings need about ${gib(neededBytes)} GiB.`,
      hint: 'Free some space, choose a bigger disk for the data folder, or turn on pruning in Settings.',
    })
  }
  return { ok: problems.length === 0, problems, disk: { neededBytes, freeBytes, path: at } }
}
