import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { SyncStatus } from '../../shared/api/stack'
import { FlashError } from '../errors'
import { bitcoindSyncState, createSyncMonitor, type SyncMonitor } from './monitor'

// Hand-driven sources (test fakes, not simulators): each call returns the next scripted value.
function scripted<T>(values: (T | Error)[]) {
  let i = 0
  return async (): Promise<T> => {
    const v = values[Math.min(i++, values.length - 1)]!
    if (v instanceof Error) throw v
    return v
  }
}

const chainInfo = (blocks: number, headers: number, progress: number, ibd = true) => ({
  chain: 'main',
  blocks,
  headers,
  verificationprogress: progress,
  initialblockdownload: ibd,
})

let monitor: SyncMonitor | undefined
afterEach(() => monitor?.stop())

describe('createSyncMonitor', () => {
  it('reports bitcoind, electrs and LND, with an ETA once the window is wide enough', async () => {
    let clock = 0
    const updates: SyncStatus[] = []
    monitor = createSyncMonitor({
      intervalMs: 3_600_000,
      now: () => clock,
      eta: { minSpanMs: 60_000 },
      bitcoind: {
        getBlockchainInfo: scripted([
          chainInfo(1000, 5000, 0.1),
          chainInfo(1500, 5000, 0.2),
          chainInfo(2000, 5000, 0.3),
        ]),
      },
      electrs: { indexedHeight: scripted<number | undefined>([undefined, 700, 1800]) },
      lnd: {
        getInfo: scripted([{ syncedToChain: false, syncedToGraph: false, blockHeight: 990 }]),
      },
      onUpdate: (s) => updates.push(s),
    })
    const first = await monitor.refresh()
    expect(first.bitcoind).toEqual({
      chain: 'main',
      blocks: 1000,
      headers: 5000,
      verificationProgress: 0.1,
      initialBlockDownload: true,
      state: 'catching-up',
    })
    expect(first.electrs).toEqual({ indexedHeight: 0, tipHeight: 1000 })
    expect(first.lnd).toEqual({ syncedToChain: false, syncedToGraph: false, blockHeight: 990 })
    clock += 30_000
    expect((await monitor.refresh()).bitcoind?.etaSeconds).toBeUndefined()
    clock += 30_000
    const third = await monitor.refresh()
    // 0.2 progress in 60 s; 0.7 left → 210 s
    expect(third.bitcoind?.etaSeconds).toBe(210)
    expect(third.electrs).toEqual({ indexedHeight: 1800, tipHeight: 2000 })
    expect(monitor.current()).toBe(third)
    expect(updates.length).toBeGreaterThanOrEqual(3)
  })

  it('says 0 s to go when caught up, and leaves a failing source out with its error', async () => {
    const errors: string[] = []
    monitor = createSyncMonitor({
      intervalMs: 3_600_000,
      bitcoind: { getBlockchainInfo: scripted([chainInfo(800_000, 800_000, 0.99999, false)]) },
      lnd: {
        getInfo: scripted<{ syncedToChain: boolean; syncedToGraph: boolean; blockHeight: number }>([
          new FlashError('lnd.unreachable', 'down', 'start it'),
        ]),
      },
      electrs: { indexedHeight: scripted<number | undefined>([new Error('socket hang up')]) },
      onUpdate: () => {},
      onError: (source, e) => errors.push(`${source}:${e.code}`),
    })
    const s = await monitor.refresh()
    expect(s.bitcoind?.etaSeconds).toBe(0)
    expect(s.lnd).toBeUndefined()
    expect(s.electrs).toBeUndefined()
    expect(errors.sort()).toEqual(['electrs:electrs.error', 'lnd:lnd.unreachable'])
  })

  it('uses the tip electrs reports when there is no bitcoind source', async () => {
    monitor = createSyncMonitor({
      intervalMs: 3_600_000,
      electrs: { indexedHeight: async () => 50, tipHeight: async () => 120 },
      onUpdate: () => {},
    })
    expect(await monitor.refresh()).toEqual({ electrs: { indexedHeight: 50, tipHeight: 120 } })
  })

  it('polls on its interval until stopped', async () => {
    let calls = 0
    const seen: SyncStatus[] = []
    monitor = createSyncMonitor({
      intervalMs: 100,
      lnd: {
        getInfo: async () => ({ syncedToChain: true, syncedToGraph: true, blockHeight: ++calls }),
      },
      onUpdate: (s) => seen.push(s),
    })
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    monitor.stop()
    const after = seen.length
    await new Promise((r) => setTimeout(r, 350))
    expect(seen.length).toBeLessThanOrEqual(after + 1)
  })

  it('calls a fresh regtest node ready with no blocks yet, as the real v31 node answers', async () => {
    // Recorded from Bitcoin Core v31 (tests/fixtures/bitcoind-v31/node-state.json).
    const recorded = JSON.parse(
      readFileSync(join(__dirname, '../../../tests/fixtures/bitcoind-v31/node-state.json'), 'utf8'),
    ) as {
      states: {
        label: string
        calls: { name: string; body: { result: Parameters<typeof bitcoindSyncState>[0] } }[]
      }[]
    }
    const info = (label: string) =>
      recorded.states
        .find((s) => s.label === label)!
        .calls.find((c) => c.name === 'getblockchaininfo')!.body.result
    const fresh = info('fresh')
    expect(fresh.initialblockdownload).toBe(true)
    monitor = createSyncMonitor({
      intervalMs: 3_600_000,
      bitcoind: { getBlockchainInfo: async () => fresh as never },
      onUpdate: () => {},
    })
    const s = await monitor.refresh()
    expect(s.bitcoind).toMatchObject({
      blocks: 0,
      initialBlockDownload: true,
      state: 'no-blocks-yet',
      etaSeconds: 0,
    })
    for (const st of recorded.states.filter((x) => x.label !== 'fresh'))
      expect(bitcoindSyncState(info(st.label))).toBe('up-to-date')
    // Other chains, and a regtest node still fetching blocks it has headers for, do catch up.
    expect(bitcoindSyncState({ ...fresh, chain: 'main' })).toBe('catching-up')
    expect(bitcoindSyncState({ ...fresh, headers: 10 })).toBe('catching-up')
  })

  it('refuses a nonsensical interval', () => {
    expect(() => createSyncMonitor({ intervalMs: 0, onUpdate: () => {} })).toThrow(FlashError)
  })
})
