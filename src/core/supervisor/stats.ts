// Live resource use per service from Docker's stats stream (CPU %, memory) plus disk (the
// container's writable layer and its bind-mounted data), kept in a small ring buffer for charts.
import type { Dirent } from 'node:fs'
import { readdir, lstat } from 'node:fs/promises'
import { join } from 'node:path'
import type { StatsSample } from '../../shared/api/stack'

export class RingBuffer<T> {
  private readonly items: T[] = []
  constructor(private readonly capacity: number) {}
  push(item: T): void {
    this.items.push(item)
    if (this.items.length > this.capacity) this.items.shift()
  }
  toArray(): T[] {
    return [...this.items]
  }
  get last(): T | undefined {
    return this.items[this.items.length - 1]
  }
}

/** The subset of Docker's stats JSON we read (API v1.41). */
export interface DockerStats {
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] }
    system_cpu_usage?: number
    online_cpus?: number
  }
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number }
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> }
}

/** CPU % the way `docker stats` computes it: share of one CPU × number of CPUs. */
export function cpuPercent(s: DockerStats): number {
  const cpu = s.cpu_stats?.cpu_usage?.total_usage ?? 0
  const pre = s.precpu_stats?.cpu_usage?.total_usage ?? 0
  const sys = s.cpu_stats?.system_cpu_usage ?? 0
  const preSys = s.precpu_stats?.system_cpu_usage ?? 0
  const cpus = s.cpu_stats?.online_cpus ?? s.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 1
  const dCpu = cpu - pre
  const dSys = sys - preSys
  return dCpu > 0 && dSys > 0 ? (dCpu / dSys) * cpus * 100 : 0
}

/** Memory in use minus page cache, as `docker stats` shows it (cgroup v1 and v2). */
export function memoryBytes(s: DockerStats): number {
  const usage = s.memory_stats?.usage ?? 0
  const st = s.memory_stats?.stats ?? {}
  const cache = st.total_inactive_file ?? st.inactive_file ?? 0
  return Math.max(0, usage - cache)
}

/** Size of a directory tree in bytes; bounded so a huge chain directory cannot stall us. */
export async function dirSize(path: string, budget = { entries: 200_000 }): Promise<number> {
  let total = 0
  let entries: Dirent[]
  try {
    entries = await readdir(path, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const e of entries) {
    if (--budget.entries <= 0) break
    const p = join(path, e.name)
    if (e.isDirectory()) total += await dirSize(p, budget)
    else {
      try {
        total += (await lstat(p)).size
      } catch {
        // vanished meanwhile
      }
    }
  }
  return total
}

export function toSample(serviceId: string, s: DockerStats, diskBytes: number): StatsSample {
  return {
    serviceId,
    time: new Date().toISOString(),
    cpuPercent: Math.round(cpuPercent(s) * 100) / 100,
    memoryBytes: memoryBytes(s),
    memoryLimitBytes: s.memory_stats?.limit ?? 0,
    diskBytes,
  }
}
