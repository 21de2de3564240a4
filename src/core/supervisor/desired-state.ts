// The supervisor's desired state, persisted under the data directory. It is the only thing the
// supervisor remembers across restarts; everything else it observes from Docker (by labels).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { writeFileAtomicSync } from '../atomic-file'

export const DesiredStateSchema = z.object({
  version: z.literal(1),
  /** The whole stack: running or stopped. */
  desired: z.enum(['running', 'stopped']),
  /** Services the user stopped one by one while the stack runs. */
  stoppedServices: z.array(z.string().max(64)).max(64),
})
export type DesiredState = z.infer<typeof DesiredStateSchema>

export const initialDesiredState: DesiredState = {
  version: 1,
  desired: 'stopped',
  stoppedServices: [],
}

export function desiredStatePath(dataDir: string): string {
  return join(dataDir, 'supervisor', 'desired-state.json')
}

export function loadDesiredState(dataDir: string): DesiredState {
  let raw: string
  try {
    raw = readFileSync(desiredStatePath(dataDir), 'utf8')
  } catch {
    return initialDesiredState
  }
  const parsed = DesiredStateSchema.safeParse(JSON.parse(raw))
  // A damaged file must not start anything by surprise: fall back to "stopped".
  return parsed.success ? parsed.data : initialDesiredState
}

export function saveDesiredState(dataDir: string, state: DesiredState): void {
  writeFileAtomicSync(desiredStatePath(dataDir), JSON.stringify(state, null, 2) + '\n', 0o644)
}
