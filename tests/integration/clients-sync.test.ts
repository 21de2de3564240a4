// The sync monitor the dashboard shows, fed by the real clients talking to the bitcoind, electrs
// and LND SIMULATORS (in-process, no Docker): IBD progress with an ETA, electrs indexing
// progress read from its Prometheus endpoint, LND's sync flags following bitcoind.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { SyncStatus } from '../../src/shared/api/stack'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { fetchElectrsIndexHeight } from '../../src/core/clients/electrs-metrics'
import { LndClient } from '../../src/core/clients/lnd'
import { createSyncMonitor, type SyncMonitor } from '../../src/core/sync/monitor'
import { makeRpcauth, startBitcoindSimulator } from '../simulators/bitcoind-simulator'
import { startElectrsSimulator } from '../simulators/electrs-simulator'
import { startLndSimulator } from '../simulators/lnd-simulator'

const quiet = () => {}
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('sync monitor against the simulators', () => {
  it('shows IBD with an ETA, then electrs indexing, then everything synced', async () => {
    const user = 'flashbox'
    const password = 'sync-monitor-password'
    const bitcoind = await startBitcoindSimulator({
      rpcauth: [makeRpcauth(user, password, '1234567890abcdef1234567890abcdef')],
      headers: 1_500,
      blocksPerSecond: 250,
      warmupMs: 300,
      log: quiet,
    })
    cleanups.push(() => bitcoind.close())
    const electrs = await startElectrsSimulator({
      bitcoind: { url: bitcoind.url, user, password },
      indexBlocksPerSecond: 400,
      pollMs: 200,
      log: quiet,
    })
    cleanups.push(() => electrs.close())
    const dir = mkdtempSync(join(tmpdir(), 'flashbox-sync-lnd-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const lndSim = await startLndSimulator({
      dir,
      bitcoind: { url: bitcoind.url, user, password },
      graphSyncDelayMs: 0,
      log: quiet,
    })
    cleanups.push(() => lndSim.close())
    const lnd = new LndClient({
      socket: lndSim.socket,
      cert: lndSim.cert,
      macaroon: lndSim.macaroons.readonly,
    })
    cleanups.push(() => lnd.close())

    const updates: SyncStatus[] = []
    const errors: string[] = []
    const monitor: SyncMonitor = createSyncMonitor({
      intervalMs: 250,
      eta: { minSpanMs: 1_000, windowMs: 10_000 },
      bitcoind: new BitcoindRpc({ url: bitcoind.url, user, password }),
      electrs: { indexedHeight: () => fetchElectrsIndexHeight(electrs.metricsUrl) },
      lnd,
      onUpdate: (s) => updates.push(s),
      onError: (source, e) => errors.push(`${source}:${e.code}`),
    })
    cleanups.push(() => monitor.stop())

    // During warm-up bitcoind answers -28: reported as an error, section left out.
    // During IBD: progress below 1 and, once measurable, an ETA.
    await expect
      .poll(
        () =>
          updates.some(
            (u) => u.bitcoind?.initialBlockDownload && u.bitcoind.etaSeconds !== undefined,
          ),
        {
          timeout: 30_000,
        },
      )
      .toBe(true)
    const ibd = updates.find(
      (u) => u.bitcoind?.etaSeconds !== undefined && u.bitcoind.initialBlockDownload,
    )!
    expect(ibd.bitcoind!.blocks).toBeLessThan(ibd.bitcoind!.headers)
    expect(ibd.bitcoind!.verificationProgress).toBeLessThan(1)
    expect(ibd.bitcoind!.etaSeconds).toBeGreaterThan(0)
    // LND is not synced to chain while bitcoind is in IBD.
    expect(
      updates
        .filter((u) => u.bitcoind?.initialBlockDownload)
        .every((u) => u.lnd?.syncedToChain !== true),
    ).toBe(true)

    await expect
      .poll(() => monitor.current().bitcoind?.initialBlockDownload, { timeout: 30_000 })
      .toBe(false)
    expect(monitor.current().bitcoind?.etaSeconds).toBe(0)

    await expect
      .poll(
        () => {
          const s = monitor.current()
          return (
            s.electrs !== undefined &&
            s.electrs.indexedHeight === s.electrs.tipHeight &&
            s.lnd?.syncedToChain
          )
        },
        { timeout: 30_000 },
      )
      .toBe(true)
    const done = monitor.current()
    expect(done.electrs).toEqual({ indexedHeight: 1_500, tipHeight: 1_500 })
    expect(done.lnd).toEqual({ syncedToChain: true, syncedToGraph: true, blockHeight: 1_500 })
    // Electrs' indexing was visible on the way (indexed height behind the tip at some point).
    expect(updates.some((u) => u.electrs && u.electrs.indexedHeight < u.electrs.tipHeight)).toBe(
      true,
    )
    expect(errors.every((e) => /^(bitcoind:bitcoind\.warming-up|lnd:lnd\.starting)$/.test(e))).toBe(
      true,
    )
  })
})

describe('createStackSync (the stack module’s sync source) against the simulators', () => {
  it('answers stack.sync from a background monitor, publishes updates, and picks up the LND macaroon once it exists', async () => {
    const { createStackSync } = await import('../../src/core/sync/stack-sync')
    const { defaultSettings } = await import('../../src/shared/settings')
    const { writeFileSync } = await import('node:fs')
    const user = 'dashboard'
    const password = 'dashboard-password-1'
    const bitcoind = await startBitcoindSimulator({
      rpcauth: [makeRpcauth(user, password, 'abcdefabcdefabcdefabcdefabcdefab')],
      headers: 50,
      blocks: 50,
      log: quiet,
    })
    cleanups.push(() => bitcoind.close())
    const dir = mkdtempSync(join(tmpdir(), 'flashbox-stack-sync-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const lndSim = await startLndSimulator({ dir: join(dir, 'lnd'), log: quiet })
    cleanups.push(() => lndSim.close())
    const macaroonPath = join(dir, 'dashboard.macaroon')

    const published: SyncStatus[] = []
    const stackSync = createStackSync({
      intervalMs: 200,
      endpoints: (settings) => ({
        bitcoind: { url: bitcoind.url, user, password },
        ...(settings.services.lnd
          ? { lnd: { socket: lndSim.socket, cert: lndSim.cert, macaroonPath } }
          : {}),
      }),
      publish: (s) => published.push(s),
    })
    cleanups.push(() => stackSync.stop())
    const settings = defaultSettings(dir)

    const first = await stackSync.sync(settings)
    expect(first.bitcoind).toMatchObject({
      blocks: 50,
      headers: 50,
      initialBlockDownload: false,
      etaSeconds: 0,
    })
    expect(first.lnd).toBeUndefined() // no macaroon yet

    writeFileSync(macaroonPath, lndSim.macaroons.readonly, { mode: 0o600 })
    await expect
      .poll(async () => (await stackSync.sync(settings)).lnd?.syncedToChain, { timeout: 15_000 })
      .toBe(true)
    expect(published.length).toBeGreaterThanOrEqual(2)

    // Settings without LND: a new monitor without it.
    const noLnd = { ...settings, services: { ...settings.services, lnd: false } }
    expect((await stackSync.sync(noLnd)).lnd).toBeUndefined()
  })
})
