// Between the wallet and Lightning (issue 11 item 6) on the regtest world: coins to LND's on-chain
// wallet through a reviewed send, coins back from LND, and a channel funded from this wallet with
// LND's PSBT flow (the box signs and broadcasts only after LND accepted the funding).
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { ChannelFundingStore } from '../../src/core/wallet/send/channel-funding-saga'
import { nodeFeeEstimator } from '../../src/core/wallet/send/fee-rates'
import { LightningMoves } from '../../src/core/wallet/send/lightning-moves'
import { SendStore } from '../../src/core/wallet/send/send-saga'
import { SendService } from '../../src/core/wallet/send/send-service'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { fundedKey, TestKey } from '../simulators/world/test-keys'
import { ChainWallet } from './wallet/chain-wallet'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

let dir: string
let chain: Chain
let sim: BitcoindSimulator
let net: LightningNetwork
let store: SendStore
let lnd: Lightning.AuthenticatedLnd
let wallet: ChainWallet
let send: SendService
let moves: LightningMoves
let fundings: ChannelFundingStore

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wallet-ln-moves-'))
  chain = new Chain()
  sim = await startBitcoindSimulator({
    rpcauth: [makeRpcauth('u', 'p', 'aa'.repeat(16))],
    chain,
    log: () => undefined,
  })
  net = await startLightningNetwork({ chain, dir, nodes: ['box', 'peer'], log: () => undefined })
  lnd = ln.authenticatedLndGrpc(net.nodes.box!.lnServiceAuth()).lnd
  const rpc = new BitcoindRpc({ url: sim.url, user: 'u', password: 'p' })
  wallet = new ChainWallet(chain, 'seed-ln', [{ id: 'main', kind: 'wpkh' }])
  store = new SendStore(join(dir, 'sends.db'))
  send = new SendService({ wallet, node: rpc, fees: nodeFeeEstimator(rpc), store })
  fundings = new ChannelFundingStore(join(dir, 'fundings.db'))
  moves = new LightningMoves({ send, wallet, lnd: () => lnd, fundings })
  // The wallet's coins: a transfer from a funded key, confirmed.
  const alice = TestKey.fromLabel('ln-moves-alice')
  const coin = fundedKey(chain, alice)
  const script = (i: number) =>
    Uint8Array.from(Buffer.from(wallet.receiveAddress('main', i).scriptPubKey, 'hex'))
  chain.submit(
    alice.spend(
      [coin],
      [
        { script: script(0), value: 3_000_000n },
        { script: script(1), value: 2_000_000n },
      ],
      2,
    ),
  )
  net.mine(1)
})
afterAll(async () => {
  store?.close()
  fundings?.close()
  await net?.close()
  await sim?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('wallet ↔ Lightning', () => {
  it('moves coins to LND’s on-chain wallet after a review, and back', async () => {
    const review = await moves.prepareToLightning({
      accountId: 'main',
      amountSat: 1_000_000,
      feeRateSatPerVb: 2,
    })
    expect(review.outputs.find((o) => !o.change)!.amountSat).toBe(1_000_000)
    await send.confirm({ reviewId: review.id, password: wallet.password })
    net.mine(1)
    const { chain_balance } = await ln.getChainBalance({ lnd })
    expect(chain_balance).toBe(1_000_000)

    const back = await moves.fromLightning({
      accountId: 'main',
      amountSat: 400_000,
      feeRateSatPerVb: 2,
    })
    expect(chain.mempoolEntry(back.txid)).toBeDefined()
    net.mine(1)
    expect(
      wallet.coins('main').some((c) => c.valueSat === 400_000 && c.address === back.address),
    ).toBe(true)
  })

  it('funds a channel with LND’s PSBT flow; the funding cannot be sent around LND', async () => {
    const peer = net.nodes.peer!.node!
    const review = await moves.prepareChannelFunding({
      accountId: 'main',
      peer: `${peer.pubkey}@${peer.p2pAddress}`,
      capacitySat: 500_000,
      feeRateSatPerVb: 2,
    })
    expect(review.kind).toBe('channel')
    expect(review.outputs.find((o) => !o.change)!.amountSat).toBe(500_000)
    await expect(
      send.confirm({ reviewId: review.id, password: wallet.password }),
    ).rejects.toMatchObject({
      code: 'wallet.channel-funding-elsewhere',
    })
    expect(chain.mempool()).toHaveLength(0)
    const sent = await moves.confirmChannelFunding({
      reviewId: review.id,
      password: wallet.password,
    })
    expect(sent.state).toBe('broadcast')
    expect(chain.mempoolEntry(sent.txid!)).toBeDefined()
    net.mine(6)
    const { channels } = await ln.getChannels({ lnd })
    const ch = channels.find((c) => c.transaction_id === sent.txid)!
    expect(ch).toMatchObject({ capacity: 500_000, partner_public_key: peer.pubkey })
  })
})
