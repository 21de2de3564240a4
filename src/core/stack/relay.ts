// The box's own Nostr relay (services/relay), as a container built from docker/relay — used when
// settings.ownServices is 'container'; otherwise it runs inside the engine and is not in the plan.
// Environment as read by the relay's entry point (services/relay/src/main.ts): RELAY_PORT,
// RELAY_HOST, RELAY_DB, RELAY_TRUSTED_PROXIES (with a front door: its forwarded client address). It serves NIP-11 on GET / with `Accept: application/nostr+json`.
import { trustedProxyEnv } from './caddy'
import { serviceDir, type RenderContext } from './context'
import { nodeFetchProbe, probe } from './health'
import { servicePorts } from './networks'
import type { ContainerSpec } from './spec'
import { serviceConfinement } from './confinement'

export function relaySpec(ctx: RenderContext): ContainerSpec {
  return {
    id: 'relay',
    displayName: 'Nostr relay',
    description:
      'Your own Nostr relay: keeps your shop’s messages and lets customers reach you without a middleman.',
    image: ctx.image('relay'),
    command: [],
    env: {
      RELAY_PORT: String(servicePorts.relay),
      RELAY_HOST: '0.0.0.0',
      RELAY_DB: '/data/relay.db',
      ...(trustedProxyEnv(ctx.settings)
        ? { RELAY_TRUSTED_PROXIES: trustedProxyEnv(ctx.settings)! }
        : {}),
    },
    ports: [
      {
        container: servicePorts.relay,
        host: servicePorts.relay,
        hostIp: '127.0.0.1',
        protocol: 'tcp',
        purpose: 'Nostr relay (WebSocket)',
      },
    ],
    mounts: [{ kind: 'bind', source: serviceDir(ctx, 'relay'), target: '/data' }],
    files: [],
    health: probe(
      nodeFetchProbe(`http://127.0.0.1:${servicePorts.relay}/`, {
        Accept: 'application/nostr+json',
      }),
      { intervalMs: 5_000, startPeriodMs: 60_000 },
    ),
    dependsOn: [],
    stopGraceSeconds: 30, // SQLite checkpoint and closing subscriptions
    confinement: serviceConfinement.relay,
    user: ctx.user,
    hostname: 'relay',
  }
}
