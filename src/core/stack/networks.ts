// What each Bitcoin network is called by each program, and on which ports it listens.
// Sources: `bitcoind -help` (-chain values, -port/-rpcport defaults; section names are the
// -chain values: https://github.com/bitcoin/bitcoin/blob/master/doc/bitcoin-conf.md#network-specific-options),
// electrs internal/config_specification.toml and src/config.rs (network names),
// lnd sample-lnd.conf ([Bitcoin] bitcoin.mainnet/testnet4/signet/regtest),
// NBXplorer and BTCPay Configuration/DefaultConfiguration.cs (`--network` values).
import type { BitcoinNetwork } from './spec'

export interface NetworkParams {
  readonly network: BitcoinNetwork
  /** bitcoind `chain=` value; also the name of its bitcoin.conf section. */
  readonly bitcoindChain: 'main' | 'testnet4' | 'signet' | 'regtest'
  readonly rpcPort: number
  readonly p2pPort: number
  /**
   * A second P2P listener with whitelist permissions (download, noban, mempool, relay) for the
   * box's own indexers (electrs, NBXplorer), so bitcoind never throttles or bans them. Not
   * published; p2pPort + 2, because p2pPort + 1 is bitcoind's default onion bind.
   */
  readonly whitebindPort: number
  /** electrs `network` (it spells mainnet "bitcoin"). */
  readonly electrs: 'bitcoin' | 'testnet4' | 'signet' | 'regtest'
  /** LND `[Bitcoin]` flag: bitcoin.<lnd>=true. */
  readonly lnd: 'mainnet' | 'testnet4' | 'signet' | 'regtest'
  /**
   * NBXplorer/BTCPay `network`, or null where they do not support the network: neither
   * NBXplorer 2.6 nor BTCPay 2.4 lists testnet4 (their --network help: mainnet, testnet,
   * regtest; signet via --signet), so BTCPay is refused on testnet4 by checkSettings.
   */
  readonly nbxplorer: 'mainnet' | 'signet' | 'regtest' | null
}

export const networkParams: Readonly<Record<BitcoinNetwork, NetworkParams>> = {
  mainnet: {
    network: 'mainnet',
    bitcoindChain: 'main',
    rpcPort: 8332,
    p2pPort: 8333,
    whitebindPort: 8335,
    electrs: 'bitcoin',
    lnd: 'mainnet',
    nbxplorer: 'mainnet',
  },
  testnet4: {
    network: 'testnet4',
    bitcoindChain: 'testnet4',
    rpcPort: 48332,
    p2pPort: 48333,
    whitebindPort: 48335,
    electrs: 'testnet4',
    lnd: 'testnet4',
    nbxplorer: null,
  },
  signet: {
    network: 'signet',
    bitcoindChain: 'signet',
    rpcPort: 38332,
    p2pPort: 38333,
    whitebindPort: 38335,
    electrs: 'signet',
    lnd: 'signet',
    nbxplorer: 'signet',
  },
  regtest: {
    network: 'regtest',
    bitcoindChain: 'regtest',
    rpcPort: 18443,
    p2pPort: 18444,
    whitebindPort: 18446,
    electrs: 'regtest',
    lnd: 'regtest',
    nbxplorer: 'regtest',
  },
}

/** Ports inside the private Docker network (and, where published, on 127.0.0.1 of the host). */
/** electrs' default monitoring (Prometheus) ports, by network (romanz/electrs src/config.rs). */
export const electrsMonitoringPort: Readonly<
  Record<'mainnet' | 'testnet4' | 'signet' | 'regtest', number>
> = {
  mainnet: 4224,
  testnet4: 44224,
  signet: 34224,
  regtest: 24224,
}

export const servicePorts = {
  zmqRawBlock: 28332,
  zmqRawTx: 28333,
  electrum: 50001,
  lndP2p: 9735,
  lndGrpc: 10009,
  lndRest: 8080,
  postgres: 5432,
  nbxplorer: 32838,
  btcpay: 23000,
  relay: 7777,
  mint: 3338,
} as const
