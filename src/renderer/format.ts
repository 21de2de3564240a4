// Numbers in the user's words: sizes, durations, states.
import type { ServiceState } from '../shared/api/stack'

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—'
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
  let i = 0
  let v = n
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—'
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`
  const m = Math.round(seconds / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h ${m % 60} min`
  const d = Math.floor(h / 24)
  return `${d} days ${h % 24} h`
}

export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '—'
  return `${(Math.min(1, Math.max(0, fraction)) * 100).toFixed(digits)} %`
}

export function formatNumber(n: number): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US') : '—'
}

export type Tone = 'ok' | 'busy' | 'warn' | 'bad' | 'off'

export const stateInfo: Record<ServiceState, { label: string; tone: Tone }> = {
  disabled: { label: 'Off', tone: 'off' },
  stopped: { label: 'Stopped', tone: 'off' },
  waiting: { label: 'Waiting for the services it needs', tone: 'busy' },
  pulling: { label: 'Downloading', tone: 'busy' },
  starting: { label: 'Starting', tone: 'busy' },
  healthy: { label: 'Healthy', tone: 'ok' },
  unhealthy: { label: 'Unhealthy', tone: 'bad' },
  stopping: { label: 'Stopping', tone: 'busy' },
  restarting: { label: 'Restarting', tone: 'warn' },
  'crash-loop': { label: 'Keeps crashing', tone: 'bad' },
  failed: { label: 'Cannot start', tone: 'bad' },
  embedded: { label: 'Running', tone: 'ok' },
}

/** "Bitcoin Core", "Bitcoin Core and LND", "A, B and C". */
export function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? ''
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
}

/** A service's state in words; "Waiting for Bitcoin Core" names what it waits for. */
export function stateLabel(service: {
  readonly state: ServiceState
  readonly waitingFor?: readonly string[]
}): string {
  if (service.state === 'waiting' && service.waitingFor?.length)
    return `Waiting for ${listNames(service.waitingFor)}`
  return stateInfo[service.state].label
}
