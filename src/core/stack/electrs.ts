// electrs: an Electrum server over the node, so desktop and phone wallets query your own node.
// Options from romanz/electrs internal/config_specification.toml (v0.11.1). `auth` can only be
// given in a config file (never on the command line or in the environment), so it lives in
// config.toml, 0600.
import { join } from 'node:path'
import { renderToml, type ConfEntry } from './conf-format'
import { renderedHeader, serviceDir, type RenderContext } from './context'
import { electrumPingProbe, probe } from './health'
import { electrsMonitoringPort, servicePorts } from './networks'
import type { ContainerSpec } from './spec'
import { serviceConfinement } from './confinement'

const ELECTRS_DIR = '/data'

export function renderElectrsConfig(ctx: RenderContext): string {
  const { net, secrets } = ctx
  const rpc = secrets.bitcoindRpc.electrs
  const entries: ConfEntry[] = [
    ['network', net.electrs],
    ['daemon_rpc_addr', `bitcoind:${net.rpcPort}`],
    // Blocks come over P2P; the whitelisted listener keeps bitcoind from throttling electrs.
    ['daemon_p2p_addr', `bitcoind:${net.whitebindPort}`],
    ['auth', `${rpc.user}:${rpc.password}`],
    ['electrum_rpc_addr', `0.0.0.0:${servicePorts.electrum}`],
    // Indexing progress (electrs_index_height) is read by the dashboard from here; electrs binds
    // it to 127.0.0.1 inside its container by default, out of the engine's reach.
    ['monitoring_addr', `0.0.0.0:${electrsMonitoringPort[ctx.settings.network]}`],
    ['db_dir', `${ELECTRS_DIR}/db`],
    ['log_filters', 'INFO'],
    ['server_banner', 'Welcome to the Electrum server of a Flash Box.'],
  ]
  return renderToml(renderedHeader('#'), entries)
}

/** Indexing from scratch takes hours on mainnet; the Electrum port opens only after it. */
const firstIndexMs: Record<string, number> = {
  mainnet: 48 * 3600_000,
  testnet4: 4 * 3600_000,
  signet: 4 * 3600_000,
  regtest: 5 * 60_000,
}

export function electrsSpec(ctx: RenderContext): ContainerSpec {
  const dir = serviceDir(ctx, 'electrs')
  return {
    id: 'electrs',
    displayName: 'Electrum server (electrs)',
    description:
      'Lets wallets like Sparrow or Electrum look up your addresses on your own node instead of a stranger’s.',
    image: ctx.image('electrs'),
    entrypoint: ['electrs'],
    command: ['--conf', `${ELECTRS_DIR}/config.toml`, '--skip-default-conf-files'],
    env: {},
    ports: [
      {
        container: servicePorts.electrum,
        host: servicePorts.electrum,
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'Electrum server for wallets',
      },
      {
        container: electrsMonitoringPort[ctx.settings.network],
        host: electrsMonitoringPort[ctx.settings.network],
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'electrs indexing progress (metrics)',
      },
    ],
    mounts: [{ kind: 'bind', source: dir, target: ELECTRS_DIR }],
    files: [
      {
        hostPath: join(dir, 'config.toml'),
        contents: renderElectrsConfig(ctx),
        mode: 0o600,
        secret: true,
      },
    ],
    health: probe(electrumPingProbe(servicePorts.electrum), {
      startPeriodMs: firstIndexMs[ctx.settings.network]!,
    }),
    dependsOn: [{ id: 'bitcoind', condition: 'healthy' }],
    stopGraceSeconds: 120, // RocksDB flushes its memtables on SIGINT/SIGTERM
    confinement: serviceConfinement.electrs,
    user: ctx.user,
    hostname: 'electrs',
  }
}
