// NBXplorer: the wallet indexer BTCPay uses. Settings by environment (NBXPLORER_ + the option
// names of NBXplorer's Configuration/DefaultConfiguration.cs, e.g. --btcrpcurl → NBXPLORER_BTCRPCURL).
import { serviceDir, type RenderContext } from './context'
import { httpProbe, probe } from './health'
import { servicePorts } from './networks'
import { nbxplorerDatabase, npgsql } from './postgres'
import type { ContainerSpec } from './spec'
import { serviceConfinement } from './confinement'

export const NBXPLORER_DIR = '/data'

export function nbxplorerNetwork(ctx: RenderContext): string {
  const n = ctx.net.nbxplorer
  if (!n) throw new Error(`NBXplorer does not support ${ctx.settings.network}`) // checkSettings refuses first
  return n
}

export function nbxplorerSpec(ctx: RenderContext): ContainerSpec {
  const { net, secrets, settings } = ctx
  const rpc = secrets.bitcoindRpc.nbxplorer
  const env: Record<string, string> = {
    NBXPLORER_NETWORK: nbxplorerNetwork(ctx),
    NBXPLORER_CHAINS: 'btc',
    NBXPLORER_DATADIR: NBXPLORER_DIR,
    NBXPLORER_SIGNALFILESDIR: NBXPLORER_DIR,
    // address:port, as in BTCPay's own compose files (BTCPayServer.Tests/docker-compose.*.yml)
    NBXPLORER_BIND: `0.0.0.0:${servicePorts.nbxplorer}`,
    NBXPLORER_BTCRPCURL: `http://bitcoind:${net.rpcPort}/`,
    NBXPLORER_BTCRPCUSER: rpc.user,
    NBXPLORER_BTCRPCPASSWORD: rpc.password,
    NBXPLORER_BTCNODEENDPOINT: `bitcoind:${net.whitebindPort}`,
    NBXPLORER_POSTGRES: npgsql(
      'nbxplorer',
      secrets.postgres.nbxplorerPassword,
      nbxplorerDatabase(ctx),
      'nbxplorer',
    ),
  }
  // Where to start scanning. Required on a pruned node (older blocks are gone; checkSettings
  // insists); honoured on a full node too when the owner sets it.
  if (settings.nbxplorerStartHeight !== undefined) {
    env.NBXPLORER_BTCSTARTHEIGHT = String(settings.nbxplorerStartHeight)
  }
  return {
    id: 'nbxplorer',
    displayName: 'Wallet indexer (NBXplorer)',
    description: 'Watches the blockchain for payments to your BTCPay stores. Needed by BTCPay.',
    image: ctx.image('nbxplorer'),
    command: [],
    env,
    secretEnv: ['NBXPLORER_BTCRPCPASSWORD', 'NBXPLORER_POSTGRES'],
    ports: [],
    mounts: [{ kind: 'bind', source: serviceDir(ctx, 'nbxplorer'), target: NBXPLORER_DIR }],
    files: [],
    // /health is NBXplorer's ASP.NET health endpoint. It reports the node's sync state too
    // (503 while bitcoind catches up), so any HTTP answer counts: the API is up for BTCPay.
    health: probe(httpProbe(servicePorts.nbxplorer, '/health', 'any'), {
      startPeriodMs: 10 * 60_000,
    }),
    dependsOn: [
      { id: 'bitcoind', condition: 'healthy' },
      { id: 'postgres', condition: 'healthy' },
    ],
    stopGraceSeconds: 60,
    confinement: serviceConfinement.nbxplorer,
    user: ctx.user,
    hostname: 'nbxplorer',
  }
}
