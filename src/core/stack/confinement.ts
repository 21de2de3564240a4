// Per-service confinement for the stack's containers (see ContainerConfinement in spec.ts).
//
// Capabilities: every service runs as the data folder's owner (ContainerSpec.user, never root),
// reads and writes only its own bind-mounted folder and listens on unprivileged ports, so none
// needs a capability; all are dropped. Memory: what the daemon is configured to use plus headroom
// (bitcoind: its UTXO cache (dbcache) and mempool). Processes: threads count against the PID limit,
// so the limits leave room for each runtime's thread pools (Go, .NET, Node).
// Read-only root: the box's own images (relay, mint) write only to /data and are checked that way
// (tests/integration/container-confinement.test.ts); the pulled images keep a writable root
// filesystem until each has been checked read-only against the real image.
import type { ContainerConfinement, ServiceId } from './spec'

const MiB = 1024 * 1024

const writableRoot = (memoryMiB: number, pidsLimit: number): ContainerConfinement => ({
  capAdd: [],
  memoryBytes: memoryMiB * MiB,
  pidsLimit,
  readOnlyRootfs: false,
  tmpfs: [],
})

const readOnlyRoot = (memoryMiB: number, pidsLimit: number): ContainerConfinement => ({
  ...writableRoot(memoryMiB, pidsLimit),
  readOnlyRootfs: true,
  tmpfs: ['/tmp'],
})

/** bitcoind: dbcache + the mempool (300 MB default, 100 MB on small machines) + 512 MiB. */
export function bitcoindConfinement(
  dbcacheMiB: number,
  maxMempoolMiB: number,
): ContainerConfinement {
  return writableRoot(dbcacheMiB + maxMempoolMiB + 512, 512)
}

export const serviceConfinement: Record<Exclude<ServiceId, 'bitcoind'>, ContainerConfinement> = {
  electrs: writableRoot(2048, 256), // RocksDB caches during the initial index
  lnd: writableRoot(1024, 1024), // Go runtime threads; the channel graph lives in memory
  postgres: writableRoot(512, 256), // one process per connection
  nbxplorer: writableRoot(1024, 512), // .NET thread pool
  btcpay: writableRoot(1536, 512), // .NET thread pool, plugins
  relay: readOnlyRoot(512, 128), // Node: event loop + signature workers
  mint: readOnlyRoot(512, 128), // Node: event loop + libuv pool
  caddy: writableRoot(256, 256), // Go runtime threads; config and storage under /data
  tor: writableRoot(256, 64), // one process, a few worker threads
}
