// The tray's one-line summary of the stack, in plain words.
import type { StackStatus } from '../shared/api/stack'

export type TrayTone = 'ok' | 'busy' | 'attention' | 'stopped' | 'unknown'

export interface TrayStatus {
  readonly tone: TrayTone
  /** Tooltip and first menu line, e.g. "Flash Box — all 5 services running". */
  readonly text: string
}

const running = new Set(['healthy', 'embedded'])
const busy = new Set(['waiting', 'pulling', 'starting', 'stopping', 'restarting'])
const broken = new Set(['unhealthy', 'crash-loop', 'failed'])

export function trayStatus(status: StackStatus | null): TrayStatus {
  if (!status) return { tone: 'unknown', text: 'Flash Box — starting…' }
  if (!status.setupComplete) return { tone: 'stopped', text: 'Flash Box — not set up yet' }
  if (status.docker.state !== 'running')
    return { tone: 'attention', text: 'Flash Box — Docker is not running' }
  const enabled = status.services.filter((s) => s.enabled)
  const bad = enabled.filter((s) => broken.has(s.state))
  if (bad.length)
    return {
      tone: 'attention',
      text: `Flash Box — ${bad.length === 1 ? `${bad[0]!.displayName} needs attention` : `${bad.length} services need attention`}`,
    }
  if (status.desired === 'stopped') return { tone: 'stopped', text: 'Flash Box — stopped' }
  const up = enabled.filter((s) => running.has(s.state)).length
  if (up === enabled.length) return { tone: 'ok', text: `Flash Box — all ${up} services running` }
  if (enabled.some((s) => busy.has(s.state)))
    return { tone: 'busy', text: `Flash Box — starting (${up} of ${enabled.length} running)` }
  return { tone: 'busy', text: `Flash Box — ${up} of ${enabled.length} services running` }
}
