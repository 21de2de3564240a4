// Wires the sync monitor to the stack: from settings to the endpoints the engine can reach
// (everything the catalog publishes on 127.0.0.1), a background monitor per endpoint set (the
// ETA needs a history, so it keeps polling between dashboard requests), `stack/sync` events on
// every update, and the `stack.sync` query answered from the latest status.
import { readFile } from 'node:fs/promises'
import type { SyncStatus } from '../../shared/api/stack'
import type { Settings } from '../../shared/settings'
import { BitcoindRpc } from '../clients/bitcoind-rpc'
import { fetchElectrsIndexHeight } from '../clients/electrs-metrics'
import { LndClient, type LndInfo } from '../clients/lnd'
import { FlashError } from '../errors'
import type { Logger } from '../log'
import { electrsMonitoringPort, networkParams, servicePorts } from '../stack/networks'
import { stackPaths } from '../stack/paths'
import type { StackSecrets } from '../stack/spec'
import { createSyncMonitor, type LndSyncSource, type SyncMonitor } from './monitor'

export interface SyncEndpoints {
  readonly bitcoind?: { readonly url: string; readonly user: string; readonly password: string }
  /** electrs' Prometheus endpoint, e.g. http://127.0.0.1:4224/metrics */
  readonly electrsMetricsUrl?: string
  readonly lnd?: { readonly socket: string; readonly cert: string; readonly macaroonPath: string }
}

/**
 * The production endpoints. bitcoind's RPC and LND's gRPC are published on 127.0.0.1 by the
 * catalog; electrs' monitoring port must be too (config `monitoring_addr = "0.0.0.0:<port>"` and
 * a 127.0.0.1 port mapping), else the electrs part stays absent. The secrets and the macaroon
 * are the ones in the settings' data folder, where the containers got theirs.
 */
export function productionSyncEndpoints(settings: Settings, secrets: StackSecrets): SyncEndpoints {
  const rpc = secrets.bitcoindRpc.dashboard
  return {
    bitcoind: {
      url: `http://127.0.0.1:${networkParams[settings.network].rpcPort}`,
      user: rpc.user,
      password: rpc.password,
    },
    ...(settings.services.electrs
      ? {
          electrsMetricsUrl: `http://127.0.0.1:${electrsMonitoringPort[settings.network]}/metrics`,
        }
      : {}),
    ...(settings.services.lnd
      ? {
          lnd: {
            socket: `127.0.0.1:${servicePorts.lndGrpc}`,
            cert: secrets.lndTls.certPem,
            macaroonPath: stackPaths(settings.dataDir).macaroon('dashboard'),
          },
        }
      : {}),
  }
}

/** LND as a sync source: the macaroon is read when it exists (it is baked after the wallet). */
function lazyLnd(e: NonNullable<SyncEndpoints['lnd']>): LndSyncSource & { close(): void } {
  let client: LndClient | null = null
  return {
    async getInfo(): Promise<LndInfo> {
      if (!client) {
        let macaroon: Buffer
        try {
          macaroon = await readFile(e.macaroonPath)
        } catch (err) {
          throw new FlashError(
            'lnd.no-macaroon',
            'The Lightning node has no access key for the dashboard yet.',
            'It is made when the Lightning wallet is set up; finish the Lightning setup first.',
            { cause: err },
          )
        }
        client = new LndClient({ socket: e.socket, cert: e.cert, macaroon })
      }
      try {
        return await client.getInfo()
      } catch (err) {
        if (err instanceof FlashError && (err.code === 'lnd.auth' || err.code === 'lnd.tls')) {
          // Re-read the key and certificate next time (LND or the box may have made new ones).
          client.close()
          client = null
        }
        throw err
      }
    },
    close() {
      client?.close()
      client = null
    },
  }
}

export interface StackSyncOptions {
  readonly endpoints: (settings: Settings) => SyncEndpoints | Promise<SyncEndpoints>
  readonly intervalMs?: number
  /** Called with every new status (e.g. publish `{ topic: 'stack', type: 'sync', sync }`). */
  readonly publish?: (sync: SyncStatus) => void
  readonly log?: Logger
}

export interface StackSync {
  /** For StackModuleOptions.sync: the latest status for these settings (polls once if new). */
  sync(settings: Settings): Promise<SyncStatus>
  stop(): void
}

export function createStackSync(opts: StackSyncOptions): StackSync {
  let current: { key: string; monitor: SyncMonitor; close: () => void } | null = null

  const stopCurrent = () => {
    current?.monitor.stop()
    current?.close()
    current = null
  }

  return {
    async sync(settings) {
      const endpoints = await opts.endpoints(settings)
      const key = JSON.stringify(endpoints)
      if (current?.key === key) return current.monitor.current()
      stopCurrent()
      const lnd = endpoints.lnd ? lazyLnd(endpoints.lnd) : undefined
      const metricsUrl = endpoints.electrsMetricsUrl
      const monitor = createSyncMonitor({
        intervalMs: opts.intervalMs ?? 5_000,
        ...(endpoints.bitcoind ? { bitcoind: new BitcoindRpc(endpoints.bitcoind) } : {}),
        ...(metricsUrl
          ? { electrs: { indexedHeight: () => fetchElectrsIndexHeight(metricsUrl) } }
          : {}),
        ...(lnd ? { lnd } : {}),
        onUpdate: (s) => opts.publish?.(s),
        onError: (source, e) =>
          opts.log?.debug('sync source unavailable', { source, code: e.code }),
        ...(opts.log ? { log: opts.log } : {}),
      })
      current = { key, monitor, close: () => lnd?.close() }
      return monitor.refresh()
    },
    stop: stopCurrent,
  }
}
