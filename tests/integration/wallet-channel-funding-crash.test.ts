// A wallet-funded channel opening (LND's PSBT flow) survives a crash at each step, on the regtest
// world (the world's LND, real signatures and policy). The crash is injected right after a step
// is persisted (LightningMoves' `afterStep` throws; nothing after it runs, no clean-up), then the
// box "restarts": every store is closed and opened again in new objects, and reconcile() looks at
// LND and the chain. Each case checks: the channel is funded at most once (one funding
// transaction, never a second spend of the coins), no coin stays held, and a signed funding LND
// waits for is published, never lost.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import {
  ChannelFundingStore,
  type ChannelFundingState,
} from '../../src/core/wallet/send/channel-funding-saga'
import { nodeFeeEstimator } from '../../src/core/wallet/send/fee-rates'
import { InjectedCrash, LightningMoves } from '../../src/core/wallet/send/lightning-moves'
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
let lnd: Lightning.AuthenticatedLnd
let wallet: ChainWallet
let rpc: BitcoindRpc
let peerUri: string
let peerKey: string

/** The box's wallet-side objects, as one process would hold them; `restart()` drops them all. */
class Box {
  sends!: SendStore
  fundings!: ChannelFundingStore
  send!: SendService
  moves!: LightningMoves
  constructor(crashAt?: ChannelFundingState) {
    this.open(crashAt)
  }
  private open(crashAt?: ChannelFundingState) {
    this.sends = new SendStore(join(dir, 'sends.sqlite'))
    this.fundings = new ChannelFundingStore(join(dir, 'channel-fundings.sqlite'))
    this.send = new SendService({
      wallet,
      node: rpc,
      fees: nodeFeeEstimator(rpc),
      store: this.sends,
    })
    this.moves = new LightningMoves({
      send: this.send,
      wallet,
      lnd: () => lnd,
      fundings: this.fundings,
      afterStep: (_id, state) => {
        if (state === crashAt) throw new InjectedCrash(`crash after ${state}`)
      },
    })
  }
  restart(): void {
    this.sends.close()
    this.fundings.close()
    this.open()
  }
  close(): void {
    this.sends.close()
    this.fundings.close()
  }
}

const boxes: Box[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wallet-channel-crash-'))
  chain = new Chain()
  sim = await startBitcoindSimulator({
    rpcauth: [makeRpcauth('u', 'p', 'ab'.repeat(16))],
    chain,
    log: () => undefined,
  })
  net = await startLightningNetwork({ chain, dir, nodes: ['box', 'peer'], log: () => undefined })
  lnd = ln.authenticatedLndGrpc(net.nodes.box!.lnServiceAuth()).lnd
  rpc = new BitcoindRpc({ url: sim.url, user: 'u', password: 'p' })
  wallet = new ChainWallet(chain, 'seed-ln-crash', [{ id: 'main', kind: 'wpkh' }])
  const peer = net.nodes.peer!.node!
  peerKey = peer.pubkey
  peerUri = `${peer.pubkey}@${peer.p2pAddress}`
  // Eight confirmed coins of 1,000,000 sat: one per opening below.
  const alice = TestKey.fromLabel('ln-crash-alice')
  const coin = fundedKey(chain, alice)
  chain.submit(
    alice.spend(
      [coin],
      Array.from({ length: 8 }, (_, i) => ({
        script: Uint8Array.from(Buffer.from(wallet.receiveAddress('main', i).scriptPubKey, 'hex')),
        value: 1_000_000n,
      })),
      2,
    ),
  )
  net.mine(1)
})
afterAll(async () => {
  for (const b of boxes) b.close()
  await net?.close()
  await sim?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const CAPACITY = 300_000

/** Opens a channel on `box` until its injected crash; returns the review id. */
async function openUntilCrash(box: Box, crashAt: ChannelFundingState): Promise<string> {
  let reviewId: string | undefined
  try {
    const review = await box.moves.prepareChannelFunding({
      accountId: 'main',
      peer: peerUri,
      capacitySat: CAPACITY,
      feeRateSatPerVb: 2,
    })
    reviewId = review.id
    await box.moves.confirmChannelFunding({ reviewId, password: wallet.password })
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
  for (const e of chain.mempool())
    for (const i of e.tx.ins)
      if (coins.includes(`${Buffer.from(i.hash).reverse().toString('hex')}:${i.index}`))
        out.add(e.txid)
  return [...out]
}

async function lndFundings(txid: string): Promise<number> {
  const { pending_channels } = await ln.getPendingChannels({ lnd })
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
          lnd,
          channels: [box.fundings.get(reviewId)!.pending_id],
          funding: box.sends.get(reviewId)!.psbt
            ? Buffer.from(box.sends.get(reviewId)!.psbt, 'base64').toString('hex')
            : '00',
        }),
      ).rejects.toBeDefined()
      // Confirming the old review after the restart says so in words.
      await expect(
        box.moves.confirmChannelFunding({ reviewId, password: wallet.password }),
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
      expect(chain.mempoolEntry(txid)).toBeDefined()
      expect(await lndFundings(txid)).toBe(1)
      expect(['broadcast', 'seen']).toContain(box.sends.get(reviewId)!.state)
      // A second reconcile (another restart) changes nothing.
      box.restart()
      await box.moves.reconcile()
      expect(spendsOf(box, reviewId)).toEqual([txid])
      net.mine(6)
      const { channels } = await ln.getChannels({ lnd })
      expect(channels.filter((c) => c.transaction_id === txid)).toMatchObject([
        { capacity: CAPACITY, partner_public_key: peerKey },
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
        lnd as unknown as {
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
    expect(chain.mempoolEntry(f.txid!)).toBeUndefined() // no_publish: LND waits for the box
    box.restart()
    await box.moves.reconcile()
    expect(box.fundings.get(reviewId)!.state).toBe('published')
    expect(chain.mempoolEntry(f.txid!)).toBeDefined()
    expect(spendsOf(box, reviewId)).toEqual([f.txid])
    net.mine(1)
  })

  it('signed, but LND lost its flow (it restarted): cancelled, the signed funding is never published, the coins are free', async () => {
    const box = new Box('signed')
    boxes.push(box)
    const reviewId = await openUntilCrash(box, 'signed')
    const f = box.fundings.get(reviewId)!
    expect(box.sends.heldCoins('main').size).toBeGreaterThan(0) // held while LND may want it
    // LND forgets the PSBT flow (as a restarted LND does).
    await ln.cancelPendingChannel({ lnd, id: f.pending_id })
    box.restart()
    await box.moves.reconcile()
    expect(box.fundings.get(reviewId)).toMatchObject({ state: 'cancelled' })
    expect(box.fundings.get(reviewId)!.reason).toMatch(/refused the signed funding/)
    expect(box.sends.get(reviewId)!.state).toBe('discarded')
    expect(box.sends.heldCoins('main').size).toBe(0)
    expect(chain.mempoolEntry(f.txid!)).toBeUndefined()
    // The owner cannot publish it around LND either.
    await expect(box.send.broadcastSigned({ reviewId })).rejects.toBeDefined()
    // The freed coins fund the next opening.
    const again = await box.moves.prepareChannelFunding({
      accountId: 'main',
      peer: peerUri,
      capacitySat: CAPACITY,
      feeRateSatPerVb: 2,
    })
    // A reconcile (a new block, a sync round) leaves an opening the owner is looking at alone.
    await box.moves.reconcile()
    expect(box.fundings.get(again.id)!.state).toBe('requested')
    const done = await box.moves.confirmChannelFunding({
      reviewId: again.id,
      password: wallet.password,
    })
    expect(done.state).toBe('broadcast')
    expect(chain.mempoolEntry(done.txid!)).toBeDefined()
    net.mine(1)
  })
})
