// The sync monitor the dashboard shows: polls bitcoind (blocks, headers, verification progress,
// IBD and an ETA), electrs (indexed height from its Prometheus endpoint vs the chain tip) and LND
// (synced to chain / graph, block height) every `intervalMs` and reports a SyncStatus. A source
// that fails is left out of that update (never shown stale) and reported through `onError`.
import type { BitcoindSyncState, SyncStatus } from '../../shared/api/stack'
import { FlashError } from '../errors'
import type { Logger } from '../log'
import { EtaEstimator, type EtaOptions } from './eta'

/** What the monitor needs from bitcoind (BitcoindRpc satisfies it). */
export interface BitcoindSyncSource {
  getBlockchainInfo(): Promise<{
    chain: string
    blocks: number
    headers: number
    verificationprogress: number
    initialblockdownload: boolean
  }>
}

/** What the monitor needs from electrs: its indexed height (e.g. fetchElectrsIndexHeight). */
export interface ElectrsSyncSource {
  /** undefined until electrs has indexed its first block. */
  indexedHeight(): Promise<number | undefined>
  /** The chain tip as electrs sees it; used when no bitcoind source is given. */
  tipHeight?(): Promise<number>
}

/** What the monitor needs from LND (LndClient satisfies it). */
export interface LndSyncSource {
  getInfo(): Promise<{ syncedToChain: boolean; syncedToGraph: boolean; blockHeight: number }>
}

export type SyncSourceName = 'bitcoind' | 'electrs' | 'lnd'

export interface SyncMonitorOptions {
  readonly bitcoind?: BitcoindSyncSource
  readonly electrs?: ElectrsSyncSource
  readonly lnd?: LndSyncSource
  readonly intervalMs: number
  readonly onUpdate: (status: SyncStatus) => void
  readonly onError?: (source: SyncSourceName, error: FlashError) => void
  readonly eta?: EtaOptions
  readonly now?: () => number
  readonly log?: Logger
}

export interface SyncMonitor {
  /** Polls once now (also what the interval does). */
  refresh(): Promise<SyncStatus>
  current(): SyncStatus
  stop(): void
}

/**
 * bitcoind reports initial block download while its tip is older than a day (IsInitialBlockDownload,
 * -maxtipage). A fresh regtest node has only the genesis block from 2011, so it says IBD until
 * something mines — forever on a box nobody mines on. Regtest has no network to catch up with:
 * once it holds every header it knows of, it is ready (with no blocks yet, or up to date).
 */
export function bitcoindSyncState(info: {
  chain: string
  blocks: number
  headers: number
  initialblockdownload: boolean
}): BitcoindSyncState {
  if (info.chain === 'regtest' && info.blocks >= info.headers) {
    return info.blocks === 0 ? 'no-blocks-yet' : 'up-to-date'
  }
  return info.initialblockdownload ? 'catching-up' : 'up-to-date'
}

const asFlashError = (source: SyncSourceName, err: unknown): FlashError =>
  err instanceof FlashError
    ? err
    : new FlashError(
        `${source}.error`,
        `Flash Box could not read the sync state of ${source}.`,
        'It may be restarting. If this keeps happening, open its logs.',
        { cause: err },
      )

export function createSyncMonitor(opts: SyncMonitorOptions): SyncMonitor {
  if (!Number.isFinite(opts.intervalMs) || opts.intervalMs < 100) {
    throw new FlashError(
      'sync.bad-interval',
      'The sync monitor interval must be at least 100 ms.',
      'This is a bug in Flash Box; please report it.',
    )
  }
  const now = opts.now ?? (() => Date.now())
  const eta = new EtaEstimator(opts.eta)
  let status: SyncStatus = {}
  let inFlight: Promise<SyncStatus> | null = null
  let stopped = false

  const fail = (source: SyncSourceName, err: unknown) => {
    const e = asFlashError(source, err)
    opts.log?.debug('sync source failed', { source, code: e.code })
    opts.onError?.(source, e)
  }

  const poll = async (): Promise<SyncStatus> => {
    const [b, e, l] = await Promise.allSettled([
      opts.bitcoind?.getBlockchainInfo(),
      opts.electrs
        ? Promise.all([opts.electrs.indexedHeight(), opts.electrs.tipHeight?.()])
        : undefined,
      opts.lnd?.getInfo(),
    ])
    const next: { -readonly [K in keyof SyncStatus]: SyncStatus[K] } = {}
    if (opts.bitcoind) {
      if (b.status === 'fulfilled' && b.value) {
        const info = b.value
        eta.add({ at: now(), progress: info.verificationprogress, blocks: info.blocks })
        const state = bitcoindSyncState(info)
        const caughtUp =
          state === 'no-blocks-yet' || (state === 'up-to-date' && info.blocks >= info.headers)
        const seconds = caughtUp ? 0 : eta.etaSeconds()
        next.bitcoind = {
          chain: info.chain,
          blocks: info.blocks,
          headers: info.headers,
          verificationProgress: info.verificationprogress,
          initialBlockDownload: info.initialblockdownload,
          state,
          ...(seconds !== undefined ? { etaSeconds: seconds } : {}),
        }
      } else if (b.status === 'rejected') {
        eta.reset()
        fail('bitcoind', b.reason)
      }
    }
    if (opts.electrs) {
      if (e.status === 'fulfilled' && e.value) {
        const [indexed, electrsTip] = e.value
        const tip = next.bitcoind?.blocks ?? electrsTip
        if (tip !== undefined) {
          next.electrs = { indexedHeight: Math.min(indexed ?? 0, tip), tipHeight: tip }
        }
      } else if (e.status === 'rejected') {
        fail('electrs', e.reason)
      }
    }
    if (opts.lnd) {
      if (l.status === 'fulfilled' && l.value) {
        next.lnd = {
          syncedToChain: l.value.syncedToChain,
          syncedToGraph: l.value.syncedToGraph,
          blockHeight: l.value.blockHeight,
        }
      } else if (l.status === 'rejected') {
        fail('lnd', l.reason)
      }
    }
    status = next
    if (!stopped) {
      try {
        opts.onUpdate(status)
      } catch (err) {
        opts.log?.warn('sync onUpdate listener failed', { error: err as Error })
      }
    }
    return status
  }

  const refresh = (): Promise<SyncStatus> => {
    // One poll at a time: a slow node must not pile up requests.
    if (!inFlight) inFlight = poll().finally(() => (inFlight = null))
    return inFlight
  }

  const timer = setInterval(() => {
    if (!inFlight) void refresh()
  }, opts.intervalMs)
  timer.unref?.()
  void refresh()

  return {
    refresh,
    current: () => status,
    stop: () => {
      stopped = true
      clearInterval(timer)
    },
  }
}
