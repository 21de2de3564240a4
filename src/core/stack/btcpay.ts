// BTCPay Server: the shop's payment processor. Settings by environment (BTCPAY_ + the option names
// of BTCPay's Configuration/DefaultConfiguration.cs). Lightning goes to LND's REST API over TLS
// pinned by certificate thumbprint, with a macaroon that can only receive — never allowinsecure.
import { publishedUrlsFor } from '../reach/published-urls'
import { BTCPAY_ROOT } from '../reach/public-routes'
import { serviceDir, type RenderContext } from './context'
import { httpProbe, probe } from './health'
import { MACAROON_MOUNT, macaroonDir } from './macaroons'
import { servicePorts } from './networks'
import { nbxplorerNetwork } from './nbxplorer'
import { btcpayDatabase, nbxplorerDatabase, npgsql } from './postgres'
import type { ContainerSpec, Dependency } from './spec'
import { serviceConfinement } from './confinement'

/** BTCPAY_BTCLIGHTNING for the box's LND (BTCPayServer.Lightning connection-string format). */
export function btcpayLightningConnection(ctx: RenderContext): string {
  return [
    'type=lnd-rest',
    `server=https://lnd:${servicePorts.lndRest}/`,
    `macaroonfilepath=${MACAROON_MOUNT}/btcpay.macaroon`,
    `certthumbprint=${ctx.secrets.lndTls.sha256Thumbprint}`,
  ].join(';')
}

export function btcpaySpec(ctx: RenderContext): ContainerSpec {
  const { secrets, settings } = ctx
  const pg = secrets.postgres
  const env: Record<string, string> = {
    HOME: '/data',
    BTCPAY_NETWORK: nbxplorerNetwork(ctx),
    BTCPAY_CHAINS: 'btc',
    BTCPAY_BIND: `0.0.0.0:${servicePorts.btcpay}`,
    BTCPAY_DATADIR: '/data',
    BTCPAY_PLUGINDIR: '/data/plugins',
    BTCPAY_DOCKERDEPLOYMENT: 'false',
    BTCPAY_POSTGRES: npgsql('btcpay', pg.btcpayPassword, btcpayDatabase(ctx), 'btcpayserver'),
    // Read by BTCPay's dashboard and reports; NBXplorer's own role, as BTCPay's deployment does.
    BTCPAY_EXPLORERPOSTGRES: npgsql(
      'nbxplorer',
      pg.nbxplorerPassword,
      nbxplorerDatabase(ctx),
      'btcpayserver',
    ),
    BTCPAY_BTCEXPLORERURL: `http://nbxplorer:${servicePorts.nbxplorer}/`,
  }
  // Behind the front door BTCPay lives under /btcpay (its --rootpath), and knows the address
  // customers use (--externalurl) for the links in invoices and PoS receipts.
  const published = publishedUrlsFor(settings.reach)
  const rootPath = settings.reach ? BTCPAY_ROOT : ''
  if (rootPath) env.BTCPAY_ROOTPATH = rootPath
  if (published) env.BTCPAY_EXTERNALURL = published.btcpay
  const secretEnv = ['BTCPAY_POSTGRES', 'BTCPAY_EXPLORERPOSTGRES']
  const dependsOn: Dependency[] = [
    { id: 'postgres', condition: 'healthy' },
    { id: 'nbxplorer', condition: 'healthy' },
  ]
  const mounts: ContainerSpec['mounts'][number][] = [
    { kind: 'bind', source: serviceDir(ctx, 'btcpay'), target: '/data' },
    // NBXplorer's cookie at BTCPay's default place (~/.nbxplorer/<Network>/.cookie).
    {
      kind: 'bind',
      source: serviceDir(ctx, 'nbxplorer'),
      target: '/data/.nbxplorer',
      readOnly: true,
    },
  ]
  if (settings.services.lnd) {
    env.BTCPAY_BTCLIGHTNING = btcpayLightningConnection(ctx)
    // BTCPay runs without Lightning and connects lazily: only LND's start gates it, not its
    // health (LND is unhealthy until its wallet exists).
    dependsOn.push({ id: 'lnd', condition: 'started' })
    mounts.push({
      kind: 'bind',
      source: macaroonDir(settings.dataDir, 'btcpay'),
      target: MACAROON_MOUNT,
      readOnly: true,
    })
  }
  return {
    id: 'btcpay',
    displayName: 'BTCPay Server',
    description:
      'Your payment processor: invoices, a point of sale and a shop plugin, paid straight to your own wallet.',
    image: ctx.image('btcpay'),
    // The image's entrypoint edits /etc/hosts (needs root); run the server directly instead.
    entrypoint: ['dotnet', 'BTCPayServer.dll'],
    command: [],
    env,
    secretEnv,
    ports: [
      {
        container: servicePorts.btcpay,
        host: servicePorts.btcpay,
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'BTCPay Server web page',
      },
    ],
    mounts,
    files: [],
    health: probe(httpProbe(servicePorts.btcpay, `${rootPath}/api/v1/health`, '2xx'), {
      startPeriodMs: 10 * 60_000, // database migrations on first start and after upgrades
    }),
    dependsOn,
    stopGraceSeconds: 60,
    confinement: serviceConfinement.btcpay,
    user: ctx.user,
    hostname: 'btcpay',
  }
}
