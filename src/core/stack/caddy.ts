// The public front door: Caddy serving only the public routes (src/core/reach/public-routes.ts)
// with the config rendered by src/core/reach/caddy-config.ts. On the host's network: it reaches
// the relay, the mint and the engine on 127.0.0.1 (where they listen whether they run inside the
// app or as containers) and binds the addresses the owner chose. Always on 127.0.0.1:<frontDoorPort>
// (Tor's onion services and the box's own address check go through it); with a public address
// whose TLS ends before the box, on every interface at that port; with TLS at the box, on 443
// (and 80 for ACME) with a Let's Encrypt certificate.
import type { ReachSettings } from '../../shared/reach'
import { frontDoorConfig, type FrontDoorSite } from '../reach/caddy-config'
import { serviceDir, type RenderContext } from './context'
import { probe } from './health'
import { servicePorts } from './networks'
import type { ContainerSpec } from './spec'
import { serviceConfinement } from './confinement'

export const CADDY_CONFIG = '/data/caddy.json'

export function frontDoorSites(reach: ReachSettings): FrontDoorSite[] {
  const sites: FrontDoorSite[] = []
  const pub = reach.publicAddress
  if (pub?.tlsBeforeBox) {
    sites.push({
      name: 'public',
      address: '',
      port: reach.frontDoorPort,
      tls: { kind: 'none' },
      trustedProxies: pub.proxyAddresses,
    })
  } else {
    sites.push({
      name: 'loopback',
      address: '127.0.0.1',
      port: reach.frontDoorPort,
      tls: { kind: 'none' },
    })
    if (pub) {
      const u = new URL(pub.baseUrl)
      sites.push({
        name: 'public',
        address: '',
        port: u.port ? Number(u.port) : 443,
        tls: { kind: 'acme', host: u.hostname },
      })
    }
  }
  return sites
}

export function caddySpec(ctx: RenderContext): ContainerSpec {
  const reach = ctx.settings.reach!
  const s = ctx.settings.services
  const config = frontDoorConfig({
    sites: frontDoorSites(reach),
    upstreams: {
      ...(s.relay ? { relay: `127.0.0.1:${servicePorts.relay}` } : {}),
      ...(s.mint ? { mint: `127.0.0.1:${servicePorts.mint}` } : {}),
      ...(s.btcpay ? { btcpay: `127.0.0.1:${servicePorts.btcpay}` } : {}),
      engine: `127.0.0.1:${reach.enginePort}`,
    },
    storageDir: '/data/storage',
  })
  const dir = serviceDir(ctx, 'caddy')
  return {
    id: 'caddy',
    displayName: 'Front door (Caddy)',
    description:
      'Lets customers’ phones reach your mint, relay, checkout and Lightning address — and nothing else.',
    image: ctx.image('caddy'),
    entrypoint: ['caddy'],
    command: ['run', '--config', CADDY_CONFIG],
    env: { HOME: '/data', XDG_DATA_HOME: '/data/storage', XDG_CONFIG_HOME: '/data/config' },
    ports: [],
    mounts: [{ kind: 'bind', source: dir, target: '/data' }],
    files: [
      {
        hostPath: `${dir}/caddy.json`,
        contents: JSON.stringify(config, null, 2) + '\n',
        mode: 0o600,
        secret: false,
      },
    ],
    // The official image is Alpine: busybox wget. Any HTTP answer (the 404 of a non-public path)
    // means Caddy serves.
    health: probe(
      [
        'CMD-SHELL',
        `wget -q -S -O /dev/null http://127.0.0.1:${reach.frontDoorPort}/ 2>&1 | grep -q 'HTTP/'`,
      ],
      { startPeriodMs: 30_000 },
    ),
    dependsOn: [],
    stopGraceSeconds: 10,
    confinement: serviceConfinement.caddy,
    user: ctx.user,
    hostname: 'caddy',
    networkMode: 'host',
  }
}
