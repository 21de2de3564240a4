// Bitcoin Core: the node everything else stands on. Options as documented by `bitcoind -help`
// and doc/bitcoin-conf.md; one rpcauth= user per consumer (never rpcpassword=), ZMQ for LND and
// NBXplorer, a whitelisted P2P listener for the box's own indexers.
import { join } from 'node:path'
import { rpcauthValue } from '../secrets/rpcauth'
import { renderIni, type ConfEntry } from './conf-format'
import { renderedHeader, serviceDir, type Machine, type RenderContext } from './context'
import { probe } from './health'
import { servicePorts } from './networks'
import type { ContainerSpec } from './spec'
import { bitcoindConfinement } from './confinement'

const MiB = 1024 * 1024
/** The image's HOME is /data, so this is bitcoind's default datadir. */
export const BITCOIND_DATADIR = '/data/.bitcoin'

/**
 * -dbcache when set to 'auto': a quarter of the machine's memory, rounded down to 50 MiB,
 * between 100 MiB and 4096 MiB. A big UTXO cache shortens the initial download a lot, but the
 * same machine runs LND, electrs and BTCPay (together ~1–2 GiB), and past ~4 GiB the gain is
 * small compared with what a full cache flush costs at shutdown. bitcoind's own default is 450.
 */
export function autoDbcacheMiB(memoryBytes: number): number {
  const quarter = Math.floor(memoryBytes / 4 / MiB / 50) * 50
  return Math.min(4096, Math.max(100, quarter))
}

/**
 * -par: script verification threads. With more than two cores, leave one free for the other
 * services during the initial download; otherwise bitcoind's default (0 = all cores).
 */
export function verificationThreads(machine: Machine): number {
  return machine.cpus > 2 ? -1 : 0
}

/** Docker's bridge networks come from these private ranges; bitcoind's RPC admits only them. */
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] as const

function dbcacheMiB(ctx: RenderContext): number {
  const { settings, machine } = ctx
  return settings.dbcache === 'auto' ? autoDbcacheMiB(machine.memoryBytes) : settings.dbcache
}

/** -maxmempool in MiB: Bitcoin Core's 300 by default, 100 on machines under 4 GiB. */
function maxMempoolMiB(ctx: RenderContext): number {
  return ctx.machine.memoryBytes < 4 * 1024 * MiB ? 100 : 300
}

export function renderBitcoinConf(ctx: RenderContext): string {
  const { settings, net, secrets, machine } = ctx
  const dbcache = dbcacheMiB(ctx)
  const top: ConfEntry[] = [
    ['chain', net.bitcoindChain],
    ['server', 1],
    ['disablewallet', 1], // LND keeps its own wallet; no wallet RPCs on the node
    ['printtoconsole', 1], // logs go to Docker, where the app reads them
    ['listenonion', 0], // no Tor control port in the stack
    ['dbcache', dbcache],
    ['par', verificationThreads(machine)],
  ]
  if (machine.memoryBytes < 4 * 1024 * MiB) top.push(['maxmempool', 100])
  if (settings.prune.enabled) top.push(['prune', settings.prune.targetMiB])
  else top.push(['txindex', settings.txindex ? 1 : 0])

  // Network-only options (port, bind, rpcport, rpcbind, …) are ignored outside their chain's
  // section, so everything chain-specific lives in [main]/[testnet4]/[signet]/[regtest].
  const section: ConfEntry[] = [
    ['listen', 1],
    ['bind', `0.0.0.0:${net.p2pPort}`],
    ['whitebind', `download,noban,mempool,relay@0.0.0.0:${net.whitebindPort}`],
    ['port', net.p2pPort],
    ['rpcport', net.rpcPort],
    ['rpcbind', '0.0.0.0'],
    ['rpcallowip', '127.0.0.1'],
    ...PRIVATE_RANGES.map((r): ConfEntry => ['rpcallowip', r]),
    ...Object.values(secrets.bitcoindRpc).map((c): ConfEntry => [
      'rpcauth',
      rpcauthValue(c.user, c.password, c.salt),
    ]),
    ['zmqpubrawblock', `tcp://0.0.0.0:${servicePorts.zmqRawBlock}`],
    ['zmqpubrawtx', `tcp://0.0.0.0:${servicePorts.zmqRawTx}`],
  ]
  return renderIni(renderedHeader('#'), [
    { entries: top },
    { name: net.bitcoindChain, entries: section },
  ])
}

export function bitcoindSpec(ctx: RenderContext): ContainerSpec {
  const dir = serviceDir(ctx, 'bitcoind')
  const { net } = ctx
  return {
    id: 'bitcoind',
    displayName: 'Bitcoin Core',
    description:
      'Your own Bitcoin node: it downloads and checks every block, so you never trust anyone else.',
    image: ctx.image('bitcoind'),
    entrypoint: ['bitcoind'],
    command: [`-datadir=${BITCOIND_DATADIR}`, `-conf=${BITCOIND_DATADIR}/bitcoin.conf`],
    env: {},
    ports: [
      {
        container: net.rpcPort,
        host: net.rpcPort,
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'Bitcoin RPC (for this app only)',
      },
      {
        container: net.p2pPort,
        host: net.p2pPort,
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'Bitcoin P2P',
      },
    ],
    mounts: [{ kind: 'bind', source: dir, target: BITCOIND_DATADIR }],
    files: [
      {
        hostPath: join(dir, 'bitcoin.conf'),
        contents: renderBitcoinConf(ctx),
        // Holds only rpcauth hashes, no passwords; still private to the owner.
        mode: 0o600,
        secret: false,
      },
    ],
    // bitcoin-cli reads the same bitcoin.conf and authenticates with bitcoind's cookie file.
    // RPC answers -28 (warming up) until the block index is loaded: unhealthy until then.
    health: probe(['CMD', 'bitcoin-cli', `-datadir=${BITCOIND_DATADIR}`, 'getblockchaininfo'], {
      intervalMs: 10_000,
      // Loading the block index and verifying recent blocks takes minutes, on slow disks an hour.
      startPeriodMs: 60 * 60_000,
    }),
    dependsOn: [],
    // Flushing the UTXO cache (up to dbcache) to disk takes minutes on slow disks; a SIGKILL
    // before that means a long re-verification at the next start.
    stopGraceSeconds: 600,
    confinement: bitcoindConfinement(dbcacheMiB(ctx), maxMempoolMiB(ctx)),
    user: ctx.user,
    hostname: 'bitcoind',
  }
}
