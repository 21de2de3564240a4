// The public front door: Caddy serving only the public routes (src/core/reach/public-routes.ts)
// with the config rendered by src/core/reach/caddy-config.ts. On the host's network: it reaches
// the relay, the mint and the engine on 127.0.0.1 (where they listen whether they run inside the
// app or as containers) and binds the addresses the owner chose. Always on 127.0.0.1:<frontDoorPort>
// (Tor's onion services and the box's own address check go through it); with a public address
// whose TLS ends before the box, on every interface at that port; with TLS at the box, on 443
// (and 80 for ACME) with a Let's Encrypt certificate. In LAN mode, also on the picked interface's
// address: the public routes (HTTPS, box CA), the owner's UI (HTTPS, password + device pairing)
// and the plain-HTTP page that serves only the CA certificate.
import type { ReachSettings } from '../../shared/reach'
import type { Settings } from '../../shared/settings'
import { FRONT_DOOR_RUNTIME_ENV, frontDoorConfig, type FrontDoorSite } from '../reach/caddy-config'
import { FlashError } from '../errors'
import { serviceDir, type RenderContext } from './context'
import { probe } from './health'
import { servicePorts } from './networks'
import type { ContainerSpec } from './spec'
import { serviceConfinement } from './confinement'

export const CADDY_CONFIG = '/data/caddy.json'

/** Whether the front door runs: the owner chose a way in (Settings → Reachability). */
export function frontDoorEnabled(settings: Settings): boolean {
  const reach = settings.reach
  return Boolean(reach && (reach.publicAddress || reach.lan || reach.tor))
}

/**
 * What the relay and mint containers believe X-Forwarded-For from: the front door reaches them
 * through their published port, so they see their bridge's gateway (`gateway`, resolved inside
 * the container: services/shared/trusted-proxies.ts). Nothing without a front door.
 */
export function trustedProxyEnv(settings: Settings): string | undefined {
  return frontDoorEnabled(settings) ? 'gateway' : undefined
}

/** Inside the container: <stack data>/caddy/lan (src/core/reach/box-ca.ts lanCertificateFiles). */
const LAN_TLS = {
  kind: 'files',
  certFile: '/data/lan/cert.pem',
  keyFile: '/data/lan/key.pem',
} as const

export function frontDoorSites(reach: ReachSettings, lanAddress?: string): FrontDoorSite[] {
  const sites: FrontDoorSite[] = []
  if (reach.lan && lanAddress)
    sites.push({ name: 'lan', address: lanAddress, port: reach.lan.port, tls: LAN_TLS })
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
  const lan = reach.lan
  if (lan && !ctx.lan)
    throw new FlashError(
      'reach.lan_not_ready',
      'The shop network’s certificate is not made yet, so LAN mode cannot start.',
      'Log in with the owner password (the certificate authority’s key is kept under it), then start the stack again.',
    )
  const engine = `127.0.0.1:${reach.enginePort}`
  const host = lan ? `${lan.name}.local` : ''
  const config = frontDoorConfig({
    sites: frontDoorSites(reach, ctx.lan?.address),
    ...(lan && ctx.lan
      ? {
          owner: {
            name: 'owner-lan',
            address: ctx.lan.address,
            port: lan.ownerPort,
            tls: LAN_TLS,
            engine,
          },
          caPage: {
            name: 'lan-ca',
            address: ctx.lan.address,
            port: lan.caPort,
            caCertPem: ctx.lan.caCertPem,
            fingerprint: ctx.lan.caFingerprint,
            host,
            httpsUrl: `https://${host}${lan.port === 443 ? '' : `:${lan.port}`}`,
          },
        }
      : {}),
    upstreams: {
      ...(s.relay ? { relay: `127.0.0.1:${servicePorts.relay}` } : {}),
      ...(s.mint ? { mint: `127.0.0.1:${servicePorts.mint}` } : {}),
      ...(s.btcpay ? { btcpay: `127.0.0.1:${servicePorts.btcpay}` } : {}),
      engine,
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
    env: {
      ...FRONT_DOOR_RUNTIME_ENV,
      HOME: '/data',
      XDG_DATA_HOME: '/data/storage',
      XDG_CONFIG_HOME: '/data/config',
    },
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
    // The official image gives the caddy binary cap_net_bind_service; the container keeps it only
    // when a port below 1024 is asked for (443 on the LAN or for a public certificate).
    confinement: lowPorts(reach)
      ? { ...serviceConfinement.caddy, capAdd: ['NET_BIND_SERVICE'] }
      : serviceConfinement.caddy,
    user: ctx.user,
    hostname: 'caddy',
    networkMode: 'host',
    hostListens: [
      ...frontDoorSites(reach, ctx.lan?.address).map((site) => ({
        port: site.port,
        address: site.address,
        purpose: sitePurpose[site.name] ?? 'the front door',
      })),
      ...(lan && ctx.lan
        ? [
            {
              port: lan.ownerPort,
              address: ctx.lan.address,
              purpose: 'the owner’s pages on the LAN',
            },
            {
              port: lan.caPort,
              address: ctx.lan.address,
              purpose: 'the certificate page on the LAN',
            },
          ]
        : []),
    ],
  }
}

/** The front door's sites (frontDoorSites) in the owner's words, for a port another program holds. */
const sitePurpose: Readonly<Record<string, string>> = {
  lan: 'the shop’s devices on the LAN',
  public: 'your public address',
  loopback: 'the onion services and the front door’s health check on this computer',
}

function lowPorts(reach: ReachSettings): boolean {
  const ports = [reach.frontDoorPort]
  if (reach.lan) ports.push(reach.lan.port, reach.lan.ownerPort, reach.lan.caPort)
  if (reach.publicAddress && !reach.publicAddress.tlsBeforeBox) ports.push(443)
  return ports.some((p) => p < 1024)
}
