import type { BitcoinNetworkName } from '../../shared/settings'

export const networkChoices: readonly {
  id: BitcoinNetworkName
  title: string
  explain: string
}[] = [
  {
    id: 'mainnet',
    title: 'Bitcoin (real money)',
    explain:
      'The real Bitcoin network. Choose this to take real payments. The first sync downloads the whole history and can take days.',
  },
  {
    id: 'testnet4',
    title: 'Testnet (public test network)',
    explain:
      'A public network where coins are worthless. Good for trying payments with other people before going live.',
  },
  {
    id: 'signet',
    title: 'Signet (calm public test network)',
    explain: 'A smaller, steadier public test network. Syncs quickly; coins are worthless.',
  },
  {
    id: 'regtest',
    title: 'Regtest (private practice network)',
    explain:
      'A private chain only on this computer. Ready in seconds; for demos and learning. Nobody else can pay you here.',
  },
]
