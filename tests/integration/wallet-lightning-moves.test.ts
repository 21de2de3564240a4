// Between the wallet and Lightning (issue 11 item 6) on the regtest world: coins to LND's on-chain
// wallet through a reviewed send, coins back from LND, and a channel funded from this wallet with
// LND's PSBT flow (the box signs and broadcasts only after LND accepted the funding).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ln,
  openWalletSide,
  startWalletLightningWorld,
  type WalletLightningWorld,
  type WalletSide,
} from './wallet/lightning-moves-world'

let world: WalletLightningWorld
let box: WalletSide

beforeAll(async () => {
  // The wallet's coins: a transfer from a funded key, confirmed.
  world = await startWalletLightningWorld('ln-moves', [3_000_000n, 2_000_000n])
  box = openWalletSide(world)
})
afterAll(async () => {
  box?.close()
  await world?.close()
})

describe('wallet ↔ Lightning', () => {
  it('moves coins to LND’s on-chain wallet after a review, and back', async () => {
    const review = await box.moves.prepareToLightning({
      accountId: 'main',
      amountSat: 1_000_000,
      feeRateSatPerVb: 2,
    })
    expect(review.outputs.find((o) => !o.change)!.amountSat).toBe(1_000_000)
    await box.send.confirm({ reviewId: review.id, password: world.wallet.password })
    world.net.mine(1)
    const { chain_balance } = await ln.getChainBalance({ lnd: world.lnd })
    expect(chain_balance).toBe(1_000_000)

    const back = await box.moves.fromLightning({
      accountId: 'main',
      amountSat: 400_000,
      feeRateSatPerVb: 2,
    })
    expect(world.chain.mempoolEntry(back.txid)).toBeDefined()
    world.net.mine(1)
    expect(
      world.wallet.coins('main').some((c) => c.valueSat === 400_000 && c.address === back.address),
    ).toBe(true)
  })

  it('funds a channel with LND’s PSBT flow; the funding cannot be sent around LND', async () => {
    const review = await box.moves.prepareChannelFunding({
      accountId: 'main',
      peer: world.peer.uri,
      capacitySat: 500_000,
      feeRateSatPerVb: 2,
    })
    expect(review.kind).toBe('channel')
    expect(review.outputs.find((o) => !o.change)!.amountSat).toBe(500_000)
    await expect(
      box.send.confirm({ reviewId: review.id, password: world.wallet.password }),
    ).rejects.toMatchObject({
      code: 'wallet.channel-funding-elsewhere',
    })
    expect(world.chain.mempool()).toHaveLength(0)
    const sent = await box.moves.confirmChannelFunding({
      reviewId: review.id,
      password: world.wallet.password,
    })
    expect(sent.state).toBe('broadcast')
    expect(world.chain.mempoolEntry(sent.txid!)).toBeDefined()
    world.net.mine(6)
    const { channels } = await ln.getChannels({ lnd: world.lnd })
    const ch = channels.find((c) => c.transaction_id === sent.txid)!
    expect(ch).toMatchObject({ capacity: 500_000, partner_public_key: world.peer.pubkey })
  })
})
