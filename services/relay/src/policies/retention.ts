// Retention by kind and age: turns the operator's rules into periodic deletions.
import type { RelayPolicy } from '../config'

export interface RetentionSweep {
  readonly where: string
  readonly params: number[]
}

/** SQL deletions (over the events table) for the retention rules at time `now` (seconds). */
export function retentionSweeps(rules: RelayPolicy['retention'], now: number): RetentionSweep[] {
  return rules.map((r) => {
    const cutoff = Math.floor(now - r.maxAgeDays * 86400)
    if (!r.kinds || r.kinds.length === 0) return { where: 'created_at < ?', params: [cutoff] }
    return {
      where: `kind IN (${r.kinds.map(() => '?').join(',')}) AND created_at < ?`,
      params: [...r.kinds, cutoff],
    }
  })
}
