// Test data for renderer tests (shapes from src/shared/api/stack.ts).
import type { ServiceInfo, ServiceStatus, StackStatus, SyncStatus } from '../../shared/api/stack'

export const service = (
  id: string,
  state: ServiceStatus['state'],
  extra: Partial<ServiceStatus> = {},
): ServiceStatus => ({
  id,
  displayName:
    { bitcoind: 'Bitcoin Core', electrs: 'Electrum server', lnd: 'Lightning (LND)' }[id] ?? id,
  description: `${id} does its job`,
  state,
  enabled: true,
  restarts: 0,
  ports: [],
  ...extra,
})

export const stackStatus = (
  services: ServiceStatus[],
  extra: Partial<StackStatus> = {},
): StackStatus => ({
  setupComplete: true,
  desired: 'running',
  docker: { state: 'running', version: '28.2.2', host: 'unix:///var/run/docker.sock', os: 'linux' },
  services,
  alerts: [],
  ...extra,
})

export const syncStatus: SyncStatus = {
  bitcoind: {
    chain: 'signet',
    blocks: 150_000,
    headers: 200_000,
    verificationProgress: 0.75,
    initialBlockDownload: true,
    state: 'catching-up',
    etaSeconds: 5400,
  },
  electrs: { indexedHeight: 100_000, tipHeight: 150_000 },
  lnd: { syncedToChain: false, syncedToGraph: false, blockHeight: 150_000 },
}

export const catalog: ServiceInfo[] = [
  {
    id: 'bitcoind',
    displayName: 'Bitcoin Core',
    description: 'Checks every payment itself.',
    optional: false,
    requires: [],
    image: 'bitcoin/bitcoin',
    downloadBytes: 60_000_000,
  },
  {
    id: 'electrs',
    displayName: 'Electrum server',
    description: 'Lets wallets look up your addresses.',
    optional: true,
    requires: ['bitcoind'],
    image: 'electrs',
    downloadBytes: 30_000_000,
  },
  {
    id: 'lnd',
    displayName: 'Lightning (LND)',
    description: 'Instant payments.',
    optional: true,
    requires: ['bitcoind'],
    image: 'lnd',
    downloadBytes: 50_000_000,
  },
  {
    id: 'relay',
    displayName: 'Nostr relay',
    description: 'Your own message relay.',
    optional: true,
    requires: [],
    image: 'relay',
  },
  {
    id: 'mint',
    displayName: 'Cashu mint',
    description: 'eCash for your customers.',
    optional: true,
    requires: ['lnd'],
    image: 'mint',
  },
  {
    id: 'btcpay',
    displayName: 'BTCPay Server',
    description: 'Invoices and a shop checkout.',
    optional: true,
    requires: ['bitcoind', 'lnd'],
    image: 'btcpay',
  },
]
