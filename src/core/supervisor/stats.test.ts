import { describe, expect, it } from 'vitest'
import { cpuPercent, memoryBytes, RingBuffer } from './stats'

describe('container stats', () => {
  it('computes CPU % as docker stats does', () => {
    const s = {
      cpu_stats: { cpu_usage: { total_usage: 2_000 }, system_cpu_usage: 20_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_000 }, system_cpu_usage: 10_000 },
    }
    expect(cpuPercent(s)).toBeCloseTo(20)
    expect(cpuPercent({})).toBe(0)
  })

  it('subtracts the page cache from memory (cgroup v1 and v2)', () => {
    expect(memoryBytes({ memory_stats: { usage: 100, stats: { total_inactive_file: 30 } } })).toBe(
      70,
    )
    expect(memoryBytes({ memory_stats: { usage: 100, stats: { inactive_file: 40 } } })).toBe(60)
  })

  it('keeps only the last N samples', () => {
    const r = new RingBuffer<number>(3)
    for (let i = 0; i < 5; i++) r.push(i)
    expect(r.toArray()).toEqual([2, 3, 4])
    expect(r.last).toBe(4)
  })
})
