// Tor, publishing the box's onion services (src/core/reach/torrc.ts). The keys are the box's own
// (src/core/reach/onion-store.ts: written into <data>/tor/hs before start), so the addresses are
// known before Tor runs and survive restarts. On the host's network, like the front door: it
// forwards to the services on 127.0.0.1.
import { chmodSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { torControlFiles, type TorControlFiles } from '../reach/tor-control'
import { onionServices, renderTorrc } from '../reach/torrc'
import { serviceDir, type RenderContext } from './context'
import { probe } from './health'
import { servicePorts } from './networks'
import { stackPaths } from './paths'
import type { ContainerSpec } from './spec'
import { serviceConfinement } from './confinement'

export function torServicesFor(ctx: Pick<RenderContext, 'settings'>) {
  const { reach, services } = ctx.settings
  return onionServices({
    mint: services.mint,
    relay: services.relay,
    frontDoorPort: reach?.frontDoorPort,
    mintPort: servicePorts.mint,
    relayPort: servicePorts.relay,
    lndP2p: services.lnd && !!reach?.tor?.lndP2p,
    lndRest: services.lnd && !!reach?.tor?.lndRest,
  })
}

const torHostDataDir = (stackDataDir: string) =>
  join(stackPaths(stackDataDir).service('tor'), 'state')

/** Tor's control socket and cookie as this computer sees them (`/data/state` in the container). */
export function torHostControlFiles(stackDataDir: string): TorControlFiles {
  return torControlFiles(torHostDataDir(stackDataDir))
}

/**
 * Tor's data folder, made private (0700) before tor starts: tor checks the control socket's
 * folder while reading its configuration, before it would create the folder itself, and refuses
 * to start when it is missing or others can list it.
 */
export function prepareTorDataDir(stackDataDir: string): void {
  const dir = torHostDataDir(stackDataDir)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
}

export function torSpec(ctx: RenderContext): ContainerSpec {
  const dir = serviceDir(ctx, 'tor')
  const services = torServicesFor(ctx)
  const torrc = renderTorrc({ dataDir: '/data/state', hsRoot: '/data/hs', services })
  return {
    id: 'tor',
    displayName: 'Tor',
    description:
      'Gives your mint, relay and checkout onion addresses that work from anywhere, without opening your router.',
    image: ctx.image('tor'),
    entrypoint: ['tor'],
    command: ['-f', '/data/torrc'],
    env: { HOME: '/data' },
    ports: [],
    mounts: [{ kind: 'bind', source: dir, target: '/data' }],
    files: [{ hostPath: `${dir}/torrc`, contents: torrc, mode: 0o600, secret: false }],
    // Tor writes each hostname file once it has loaded the keys; reaching the Tor network is
    // asked over the control socket and shown in Settings → Reachability (reach-module.ts).
    health: probe(['CMD-SHELL', `test -s /data/hs/${services[0]?.name ?? 'mint'}/hostname`], {
      startPeriodMs: 30_000,
    }),
    dependsOn: [],
    stopGraceSeconds: 10,
    confinement: serviceConfinement.tor,
    user: ctx.user,
    hostname: 'tor',
    networkMode: 'host',
  }
}
