// The regtest world the wallet ↔ Lightning tests stand on: a chain behind the bitcoind simulator,
// a world LND for the box and one peer, and the test's chain wallet holding confirmed coins; and
// the box's wallet-side objects over a folder (send and channel-funding stores, SendService,
// LightningMoves), as one process holds them — opened again in new objects to stand for a restart.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { BitcoindRpc } from '../../../src/core/clients/bitcoind-rpc'
import { ChannelFundingStore } from '../../../src/core/wallet/send/channel-funding-saga'
import { nodeFeeEstimator } from '../../../src/core/wallet/send/fee-rates'
import {
  LightningMoves,
  type LightningMovesOptions,
} from '../../../src/core/wallet/send/lightning-moves'
import { SendStore } from '../../../src/core/wallet/send/send-saga'
import { SendService } from '../../../src/core/wallet/send/send-service'
import { makeRpcauth, startBitcoindSimulator } from '../../simulators/bitcoind-simulator'
import { Chain } from '../../simulators/world/chain'
import {
  startLightningNetwork,
  type LightningNetwork,
} from '../../simulators/world/lightning-network'
import { fundedKey, TestKey } from '../../simulators/world/test-keys'
import { ChainWallet } from './chain-wallet'

export const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

export interface WalletLightningWorld {
  readonly dir: string
  readonly chain: Chain
  readonly net: LightningNetwork
  /** The box's LND. */
  readonly lnd: Lightning.AuthenticatedLnd
  readonly rpc: BitcoindRpc
  readonly wallet: ChainWallet
  /** The peer node: its public key and its URI (pubkey@host:port). */
  readonly peer: { readonly pubkey: string; readonly uri: string }
  close(): Promise<void>
}

/**
 * Starts the world; the wallet (account 'main', wpkh) receives one confirmed coin of each of
 * `coinsSat` at its receive addresses 0, 1, …, paid by a funded key named after `name`.
 */
export async function startWalletLightningWorld(
  name: string,
  coinsSat: readonly bigint[],
): Promise<WalletLightningWorld> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`))
  const chain = new Chain()
  const sim = await startBitcoindSimulator({
    rpcauth: [makeRpcauth('u', 'p', 'ab'.repeat(16))],
    chain,
    log: () => undefined,
  }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true })
    throw err
  })
  let net: LightningNetwork
  try {
    net = await startLightningNetwork({ chain, dir, nodes: ['box', 'peer'], log: () => undefined })
  } catch (err) {
    await sim.close()
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const lnd = ln.authenticatedLndGrpc(net.nodes.box!.lnServiceAuth()).lnd
  const rpc = new BitcoindRpc({ url: sim.url, user: 'u', password: 'p' })
  const wallet = new ChainWallet(chain, `seed-${name}`, [{ id: 'main', kind: 'wpkh' }])
  const alice = TestKey.fromLabel(`${name}-alice`)
  const coin = fundedKey(chain, alice)
  chain.submit(
    alice.spend(
      [coin],
      coinsSat.map((value, i) => ({
        script: Uint8Array.from(Buffer.from(wallet.receiveAddress('main', i).scriptPubKey, 'hex')),
        value,
      })),
      2,
    ),
  )
  net.mine(1)
  const peer = net.nodes.peer!.node!
  return {
    dir,
    chain,
    net,
    lnd,
    rpc,
    wallet,
    peer: { pubkey: peer.pubkey, uri: `${peer.pubkey}@${peer.p2pAddress}` },
    async close() {
      await net.close()
      await sim.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface WalletSide {
  readonly sends: SendStore
  readonly fundings: ChannelFundingStore
  readonly send: SendService
  readonly moves: LightningMoves
  close(): void
}

/** The box's wallet-side objects over the world's folder (the same files each time). */
export function openWalletSide(
  w: WalletLightningWorld,
  afterStep?: LightningMovesOptions['afterStep'],
): WalletSide {
  const sends = new SendStore(join(w.dir, 'sends.sqlite'))
  const fundings = new ChannelFundingStore(join(w.dir, 'channel-fundings.sqlite'))
  const send = new SendService({
    wallet: w.wallet,
    node: w.rpc,
    fees: nodeFeeEstimator(w.rpc),
    store: sends,
  })
  const moves = new LightningMoves({
    send,
    wallet: w.wallet,
    lnd: () => w.lnd,
    fundings,
    ...(afterStep ? { afterStep } : {}),
  })
  return {
    sends,
    fundings,
    send,
    moves,
    close() {
      sends.close()
      fundings.close()
    },
  }
}
