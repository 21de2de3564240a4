// What the setup wizard and the dashboard show about each service before anything is rendered.
import type { ServiceInfo } from '../../shared/api/stack'
import { catalogImages, imageDisplayName } from './images'
import type { ServiceId } from './spec'

interface Entry {
  readonly displayName: string
  readonly description: string
  readonly optional: boolean
  readonly requires: readonly ServiceId[]
  readonly notRequiredOnRegtest?: readonly ServiceId[]
}

const entries: Readonly<Record<ServiceId, Entry>> = {
  bitcoind: {
    displayName: 'Bitcoin Core',
    description:
      'Your own Bitcoin node: it downloads and checks every block, so you never trust anyone else.',
    optional: false,
    requires: [],
  },
  electrs: {
    displayName: 'Electrum server (electrs)',
    description:
      'Lets wallets like Sparrow or Electrum look up your addresses on your own node. Needs the full blockchain (no pruning).',
    optional: true,
    requires: ['bitcoind'],
  },
  lnd: {
    displayName: 'Lightning (LND)',
    description: 'Your Lightning node: instant, cheap Bitcoin payments in and out of your shop.',
    optional: true,
    requires: ['bitcoind'],
  },
  relay: {
    displayName: 'Nostr relay',
    description:
      'Your own Nostr relay: keeps your shop’s messages and lets customers reach you without a middleman.',
    optional: true,
    requires: [],
  },
  mint: {
    displayName: 'Cashu mint',
    description:
      'Your own eCash mint: private, instant tokens backed by your Lightning node (on regtest it can run without one).',
    optional: true,
    requires: ['lnd'],
    // On regtest the mint pays with its fake Lightning backend (validate.ts: mint_needs_lnd).
    notRequiredOnRegtest: ['lnd'],
  },
  postgres: {
    displayName: 'Database (PostgreSQL)',
    description: 'Stores BTCPay’s shops and invoices. Comes with BTCPay.',
    optional: true,
    requires: [],
  },
  nbxplorer: {
    displayName: 'Wallet indexer (NBXplorer)',
    description: 'Watches the blockchain for payments to your BTCPay stores. Comes with BTCPay.',
    optional: true,
    requires: ['bitcoind', 'postgres'],
  },
  btcpay: {
    displayName: 'BTCPay Server',
    description:
      'Your payment processor: invoices, a point of sale and a shop plugin, paid straight to your own wallet.',
    optional: true,
    requires: ['bitcoind', 'postgres', 'nbxplorer'],
  },
  caddy: {
    displayName: 'Front door (Caddy)',
    description:
      'Lets customers’ phones reach your mint, relay, checkout and Lightning address — and nothing else.',
    optional: true,
    requires: [],
  },
  tor: {
    displayName: 'Tor',
    description:
      'Onion addresses for your mint, relay and checkout, reachable without opening your router.',
    optional: true,
    requires: [],
  },
}

/** What the setup wizard offers; the front door and Tor are chosen under Settings → Reachability. */
const order: readonly ServiceId[] = [
  'bitcoind',
  'electrs',
  'lnd',
  'postgres',
  'nbxplorer',
  'btcpay',
  'relay',
  'mint',
]

export function serviceInfoList(): ServiceInfo[] {
  return order.map((id) => {
    const e = entries[id]
    const image = catalogImages[id]
    return {
      id,
      displayName: e.displayName,
      description: e.description,
      optional: e.optional,
      requires: e.requires,
      ...(e.notRequiredOnRegtest ? { notRequiredOnRegtest: e.notRequiredOnRegtest } : {}),
      image:
        image.kind === 'registry'
          ? `${image.repository}@${image.digest}`
          : `${imageDisplayName(image)} (built on this computer)`,
    }
  })
}
