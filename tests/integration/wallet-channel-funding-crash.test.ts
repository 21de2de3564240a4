// A wallet-funded channel opening (LND's PSBT flow) survives a crash at each step, on the regtest
// world (the world's LND, real signatures and policy). The crash is injected right after a step
// is persisted (LightningMoves' `afterStep` throws; nothing after it runs, no clean-up), then the
// box "restarts": every store is closed and opened again in new objects, and reconcile() looks at
// LND and the chain. Each case checks: the channel is funded at most once (one funding
// transaction, never a second spend of the coins), no coin stays held, and a signed funding LND
// waits for is published, never lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChannelFundingState } from '../../src/core/wallet/send/channel-funding-saga'
import { InjectedCrash } from '../../src/core/wallet/send/lightning-moves'
import {
  ln,
  openWalletSide,
  startWalletLightningWorld,
  type WalletLightningWorld,
  type WalletSide,
} from './wallet/lightning-moves-world'

let world: WalletLightningWorld

/** The box's wallet-side objects, as one process would hold them; `restart()` drops them all. */
class Box {
  private side: WalletSide
  constructor(crashAt?: ChannelFundingState) {
    this.side = openWalletSide(world, (_id, state) => {
      if (state === crashAt) throw new InjectedCrash(`crash after ${state}`)
    })
  }
  get sends() {
    return this.side.sends
  }
  get fundings() {
    return this.side.fundings
  }
  get send() {
    return this.side.send
  }
  get moves() {
    return this.side.moves
  }
  restart(): void {
    this.side.close()
    this.side = openWalletSide(world)
  }
  close(): void {
    this.side.close()
  }
}

const boxes: Box[] = []

beforeAll(async () => {
  // Eight confirmed coins of 1,000,000 sat: one per opening below.
  world = await startWalletLightningWorld('ln-crash', Array<bigint>(8).fill(1_000_000n))
})
afterAll(async () => {
  for (const b of boxes) b.close()
  await world?.close()
})

const CAPACITY = 300_000

/** Opens a channel on `box` until its injected crash; returns the review id. */
async function openUntilCrash(box: Box, crashAt: ChannelFundingState): Promise<string> {
  let reviewId: string | undefined
  try {
    const review = await box.moves.prepareChannelFunding({
      accountId: 'main',
      peer: world.peer.uri,
      capacitySat: CAPACITY,
      feeRateSatPerVb: 2,
    })
    reviewId = review.id
    await box.moves.confirmChannelFunding({ reviewId, password: world.wallet.password })
  } catch (e) {
    if (!(e instanceof InjectedCrash)) throw e
    // The crash after "requested" comes before prepare returned: find the review it left.
    reviewId ??= box.sends.list('main')[0]!.id
    return reviewId
  }
  throw new Error(`no crash at ${crashAt}`)
}

/** Transactions in the mempool or chain that spend any coin of the review. */
function spendsOf(box: Box, reviewId: string): string[] {
  const coins = JSON.parse(box.sends.get(reviewId)!.coins_json) as string[]
  const out = new Set<string>()
  for (const e of world.chain.mempool())
    for (const i of e.tx.ins)
      if (coins.includes(`${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`))
        out.add(e.txid)
  return [...out]
}

async function lndFundings(txid: string): Promise<number> {
  const { pending_channels } = await ln.getPendingChannels({ lnd: world.lnd })
  return pending_channels.filter((c) => c.transaction_id === txid && c.is_opening).length
}

describe('a wallet-funded channel opening survives a crash at each step', () => {
  for (const step of ['requested', 'verified'] as const) {
    it(`crash after "${step}": nothing was signed, so the restart cancels it and frees the coins`, async () => {
      const box = new Box(step)
      boxes.push(box)
      const reviewId = await openUntilCrash(box, step)
      box.restart()
      await box.moves.reconcile()
      expect(box.fundings.get(reviewId)).toMatchObject({ state: 'cancelled' })
      expect(box.sends.get(reviewId)!.state).toBe('discarded')
      expect(box.sends.heldCoins('main').size).toBe(0)
      expect(spendsOf(box, reviewId)).toEqual([])
      // LND no longer waits for it: its pending channel id is unknown now.
      await expect(
        ln.fundPendingChannels({
          lnd: world.lnd,
          channels: [box.fundings.get(reviewId)!.pending_id],
          funding: box.sends.get(reviewId)!.psbt
            ? Buffer.from(box.sends.get(reviewId)!.psbt, 'base64').toString('hex')
            : '00',
        }),
      ).rejects.toBeDefined()
      // Confirming the old review after the restart says so in words.
      await expect(
        box.moves.confirmChannelFunding({ reviewId, password: world.wallet.password }),
      ).rejects.toMatchObject({ code: 'wallet.channel-funding-expired' })
    })
  }

  for (const step of ['signed', 'finalized', 'published'] as const) {
    it(`crash after "${step}": the restart finishes it — one funding transaction, published once`, async () => {
      const box = new Box(step)
      boxes.push(box)
      const reviewId = await openUntilCrash(box, step)
      const txid = box.fundings.get(reviewId)!.txid!
      // The signed funding is on disk before LND saw it.
      expect(box.fundings.get(reviewId)!.raw_hex).toMatch(/^02000000/)
      box.restart()
      await box.moves.reconcile()
      expect(box.fundings.get(reviewId)!.state).toBe('published')
      expect(spendsOf(box, reviewId)).toEqual([txid])
      expect(world.chain.mempoolEntry(txid)).toBeDefined()
      expect(await lndFundings(txid)).toBe(1)
      expect(['broadcast', 'seen']).toContain(box.sends.get(reviewId)!.state)
      // A second reconcile (another restart) changes nothing.
      box.restart()
      await box.moves.reconcile()
      expect(spendsOf(box, reviewId)).toEqual([txid])
      world.net.mine(6)
      const { channels } = await ln.getChannels({ lnd: world.lnd })
      expect(channels.filter((c) => c.transaction_id === txid)).toMatchObject([
        { capacity: CAPACITY, partner_public_key: world.peer.pubkey },
      ])
      expect(box.sends.heldCoins('main').size).toBe(0)
    })
  }

  it('crash between LND accepting the signed funding and the box writing it down: found at LND, published', async () => {
    const box = new Box('signed')
    boxes.push(box)
    const reviewId = await openUntilCrash(box, 'signed')
    const f = box.fundings.get(reviewId)!
    // The finalize the crashed process had sent reaches LND anyway.
    await new Promise<void>((resolve, reject) =>
      (
        world.lnd as unknown as {
          default: { fundingStateStep(msg: object, cb: (err: unknown) => void): void }
        }
      ).default.fundingStateStep(
        {
          psbt_finalize: {
            pending_chan_id: Buffer.from(f.pending_id, 'hex'),
            signed_psbt: Buffer.from(f.signed_psbt!, 'base64'),
          },
        },
        (err: unknown) => (err ? reject(err) : resolve()),
      ),
    )
    expect(await lndFundings(f.txid!)).toBe(1)
    expect(world.chain.mempoolEntry(f.txid!)).toBeUndefined() // no_publish: LND waits for the box
    box.restart()
    await box.moves.reconcile()
    expect(box.fundings.get(reviewId)!.state).toBe('published')
    expect(world.chain.mempoolEntry(f.txid!)).toBeDefined()
    expect(spendsOf(box, reviewId)).toEqual([f.txid])
    world.net.mine(1)
  })

  it('signed, but LND lost its flow (it restarted): cancelled, the signed funding is never published, the coins are free', async () => {
    const box = new Box('signed')
    boxes.push(box)
    const reviewId = await openUntilCrash(box, 'signed')
    const f = box.fundings.get(reviewId)!
    expect(box.sends.heldCoins('main').size).toBeGreaterThan(0) // held while LND may want it
    // LND forgets the PSBT flow (as a restarted LND does).
    await ln.cancelPendingChannel({ lnd: world.lnd, id: f.pending_id })
    box.restart()
    await box.moves.reconcile()
    expect(box.fundings.get(reviewId)).toMatchObject({ state: 'cancelled' })
    expect(box.fundings.get(reviewId)!.reason).toMatch(/refused the signed funding/)
    expect(box.sends.get(reviewId)!.state).toBe('discarded')
    expect(box.sends.heldCoins('main').size).toBe(0)
    expect(world.chain.mempoolEntry(f.txid!)).toBeUndefined()
    // The owner cannot publish it around LND either.
    await expect(box.send.broadcastSigned({ reviewId })).rejects.toBeDefined()
    // The freed coins fund the next opening.
    const again = await box.moves.prepareChannelFunding({
      accountId: 'main',
      peer: world.peer.uri,
      capacitySat: CAPACITY,
      feeRateSatPerVb: 2,
    })
    // A reconcile (a new block, a sync round) leaves an opening the owner is looking at alone.
    await box.moves.reconcile()
    expect(box.fundings.get(again.id)!.state).toBe('requested')
    const done = await box.moves.confirmChannelFunding({
      reviewId: again.id,
      password: world.wallet.password,
    })
    expect(done.state).toBe('broadcast')
    expect(world.chain.mempoolEntry(done.txid!)).toBeDefined()
    world.net.mine(1)
  })
})
