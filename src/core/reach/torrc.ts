// Tor's configuration for the box's onion services (tor(1) manual: HiddenServiceDir,
// HiddenServicePort). One HiddenServiceDir per public service, so each has its own address.
// Tor only publishes them; it is no SOCKS proxy for anything else (SocksPort 0).
import { servicePorts } from '../stack/networks'

/** The box's onion services: each public service and, if the owner wants them, LND's. */
export type OnionServiceName = 'mint' | 'relay' | 'frontdoor' | 'lnd-p2p' | 'lnd-rest'

export interface OnionService {
  readonly name: OnionServiceName
  /** Port the onion address answers on. */
  readonly virtualPort: number
  /** Where Tor forwards it on this computer. */
  readonly target: string
  readonly purpose: string
}

export interface TorrcInput {
  /** Tor's data directory as the tor process sees it. */
  readonly dataDir: string
  /** Parent of every HiddenServiceDir as the tor process sees it (each `<hsRoot>/<name>`). */
  readonly hsRoot: string
  readonly services: readonly OnionService[]
  /** `DisableNetwork 1`: load keys and write hostnames without connecting (tests, checks). */
  readonly disableNetwork?: boolean
}

export interface OnionServiceChoice {
  readonly mint: boolean
  readonly relay: boolean
  readonly frontDoorPort: number | undefined
  readonly mintPort: number
  readonly relayPort: number
  readonly lndP2p: boolean
  readonly lndRest: boolean
}

/** Which onion services to run, and where each one leads on this computer (127.0.0.1). */
export function onionServices(c: OnionServiceChoice): OnionService[] {
  const out: OnionService[] = []
  // The mint and the relay go straight to their own ports: over Tor every client arrives from
  // 127.0.0.1, so the front door's per-address limits would add nothing.
  if (c.mint)
    out.push({
      name: 'mint',
      virtualPort: 80,
      target: `127.0.0.1:${c.mintPort}`,
      purpose: 'Cashu mint',
    })
  if (c.relay)
    out.push({
      name: 'relay',
      virtualPort: 80,
      target: `127.0.0.1:${c.relayPort}`,
      purpose: 'Nostr relay',
    })
  // BTCPay checkout, NIP-05, Lightning address and LNURL only through the front door's public
  // routes (BTCPay's own port also serves its admin pages).
  if (c.frontDoorPort !== undefined)
    out.push({
      name: 'frontdoor',
      virtualPort: 80,
      target: `127.0.0.1:${c.frontDoorPort}`,
      purpose: 'BTCPay checkout, Nostr names, Lightning address',
    })
  if (c.lndP2p)
    out.push({
      name: 'lnd-p2p',
      virtualPort: servicePorts.lndP2p,
      target: `127.0.0.1:${servicePorts.lndP2p}`,
      purpose: 'Lightning peers (LND P2P)',
    })
  if (c.lndRest)
    out.push({
      name: 'lnd-rest',
      virtualPort: servicePorts.lndRest,
      target: `127.0.0.1:${servicePorts.lndRest}`,
      purpose: 'Your phone wallet (LND REST, lndconnect)',
    })
  return out
}

export function renderTorrc(input: TorrcInput): string {
  const lines = [
    '# Written by Flash Box from your settings; edits here are replaced on the next start.',
    `DataDirectory ${input.dataDir}`,
    'SocksPort 0',
    'Log notice stdout',
    // How far tor got is asked over this socket (src/core/reach/tor-control.ts): in tor's own
    // private data folder, with the cookie tor writes beside it, and no TCP port on the host.
    `ControlPort unix:${input.dataDir}/control`,
    'CookieAuthentication 1',
    ...(input.disableNetwork ? ['DisableNetwork 1'] : []),
  ]
  for (const s of input.services) {
    lines.push(
      '',
      `# ${s.purpose}`,
      `HiddenServiceDir ${input.hsRoot}/${s.name}`,
      `HiddenServicePort ${s.virtualPort} ${s.target}`,
    )
  }
  return lines.join('\n') + '\n'
}
