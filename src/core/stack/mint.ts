// The box's own Cashu mint (services/mint), as a container built from docker/mint — used when
// settings.ownServices is 'container'. Its Lightning backend is LND when LND is enabled; without
// LND only the fake Lightning backend is possible, and checkSettings allows that on regtest only
// (the fake backend is a first-class regtest feature, never a way to take real money).
// Contract with docker/mint: FLASHBOX_MINT_* environment, data in /data, NUT-06 GET /v1/info.
import { join } from 'node:path'
import { serviceDir, type RenderContext } from './context'
import { nodeFetchProbe, probe } from './health'
import { MACAROON_MOUNT, macaroonDir } from './macaroons'
import { servicePorts } from './networks'
import type { ContainerSpec, Dependency, MountSpec, RenderedFile } from './spec'

export type MintLightningBackend = 'lnd' | 'fake'

export function mintLightningBackend(ctx: Pick<RenderContext, 'settings'>): MintLightningBackend {
  return ctx.settings.services.lnd ? 'lnd' : 'fake'
}

export function mintSpec(ctx: RenderContext): ContainerSpec {
  const dir = serviceDir(ctx, 'mint')
  const backend = mintLightningBackend(ctx)
  const env: Record<string, string> = {
    FLASHBOX_MINT_LISTEN: `0.0.0.0:${servicePorts.mint}`,
    FLASHBOX_MINT_DATA_DIR: '/data',
    FLASHBOX_MINT_NETWORK: ctx.settings.network,
    FLASHBOX_MINT_LIGHTNING: backend,
  }
  const mounts: MountSpec[] = [{ kind: 'bind', source: dir, target: '/data' }]
  const files: RenderedFile[] = []
  const dependsOn: Dependency[] = []
  if (backend === 'lnd') {
    env.FLASHBOX_MINT_LND_GRPC = `lnd:${servicePorts.lndGrpc}`
    env.FLASHBOX_MINT_LND_MACAROON = `${MACAROON_MOUNT}/mint.macaroon`
    env.FLASHBOX_MINT_LND_CERT = '/data/lnd-tls.cert'
    mounts.push({
      kind: 'bind',
      source: macaroonDir(ctx.settings.dataDir, 'mint'),
      target: MACAROON_MOUNT,
      readOnly: true,
    })
    files.push({
      hostPath: join(dir, 'lnd-tls.cert'),
      contents: ctx.secrets.lndTls.certPem,
      mode: 0o644,
      secret: false,
    })
    // The mint cannot quote or pay without an unlocked LND.
    dependsOn.push({ id: 'lnd', condition: 'healthy' })
  }
  return {
    id: 'mint',
    displayName: 'Cashu mint',
    description:
      'Your own eCash mint: private, instant tokens backed by the bitcoin in your Lightning node.',
    image: ctx.image('mint'),
    command: [],
    env,
    ports: [
      {
        container: servicePorts.mint,
        host: servicePorts.mint,
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'Cashu mint (HTTP)',
      },
    ],
    mounts,
    files,
    health: probe(nodeFetchProbe(`http://127.0.0.1:${servicePorts.mint}/v1/info`), {
      intervalMs: 5_000,
      startPeriodMs: 60_000,
    }),
    dependsOn,
    stopGraceSeconds: 30, // finish in-flight melts' bookkeeping before exit
    user: ctx.user,
    hostname: 'mint',
  }
}
