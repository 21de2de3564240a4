// The SIMULATORS (tests/simulators, in-process) of bitcoind in initial block download, electrs
// indexing behind it and LND following, read by the product's real clients and sync monitor.
// The e2e stack module gets its `sync` from here and the monitor's updates become `sync` events,
// which is how the dashboard's Sync panel is fed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { fetchElectrsIndexHeight } from '../../src/core/clients/electrs-metrics'
import { LndClient } from '../../src/core/clients/lnd'
import type { EventBus } from '../../src/core/events'
import { createSyncMonitor } from '../../src/core/sync/monitor'
import type { SyncStatus } from '../../src/shared/api/stack'
import { makeRpcauth, startBitcoindSimulator } from '../simulators/bitcoind-simulator'
import { startElectrsSimulator } from '../simulators/electrs-simulator'
import { startLndSimulator } from '../simulators/lnd-simulator'

export interface SimulatedSync {
  /** For StackModuleOptions.sync. */
  current(): Promise<SyncStatus>
  /** Publish every update on this bus as a `sync` event. */
  attach(events: EventBus): void
  close(): Promise<void>
}

export async function startSimulatedSync(opts: {
  headers: number
  blocksPerSecond: number
}): Promise<SimulatedSync> {
  const quiet = () => {}
  const user = 'flashbox'
  const password = 'e2e-sync-simulator-password'
  const closers: (() => Promise<void> | void)[] = []
  const bitcoind = await startBitcoindSimulator({
    rpcauth: [makeRpcauth(user, password, 'e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0')],
    headers: opts.headers,
    blocksPerSecond: opts.blocksPerSecond,
    warmupMs: 200,
    log: quiet,
  })
  closers.push(() => bitcoind.close())
  const electrs = await startElectrsSimulator({
    bitcoind: { url: bitcoind.url, user, password },
    indexBlocksPerSecond: opts.blocksPerSecond * 2,
    pollMs: 500,
    log: quiet,
  })
  closers.push(() => electrs.close())
  const dir = mkdtempSync(join(tmpdir(), 'flashbox-e2e-lnd-'))
  closers.push(() => rmSync(dir, { recursive: true, force: true }))
  const lndSim = await startLndSimulator({
    dir,
    bitcoind: { url: bitcoind.url, user, password },
    graphSyncDelayMs: 0,
    log: quiet,
  })
  closers.push(() => lndSim.close())
  const lnd = new LndClient({
    socket: lndSim.socket,
    cert: lndSim.cert,
    macaroon: lndSim.macaroons.readonly,
  })
  closers.push(() => lnd.close())

  let bus: EventBus | null = null
  const monitor = createSyncMonitor({
    intervalMs: 1000,
    eta: { minSpanMs: 3000, windowMs: 30_000 },
    bitcoind: new BitcoindRpc({ url: bitcoind.url, user, password }),
    electrs: { indexedHeight: () => fetchElectrsIndexHeight(electrs.metricsUrl) },
    lnd,
    onUpdate: (sync) => bus?.publish({ topic: 'stack', type: 'sync', sync }),
  })
  closers.push(() => monitor.stop())

  return {
    current: async () => monitor.current(),
    attach: (events) => {
      bus = events
    },
    async close() {
      for (const c of closers.reverse()) await c()
    },
  }
}
