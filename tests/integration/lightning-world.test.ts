// The box's LND as one node of the world's Lightning network (world/*: real funding
// transactions on a validating chain, gossip, multi-hop payments, encrypted SCB blobs), driven
// only through the box's own API, as the Lightning page drives it: the wallet created by the box,
// funded on chain, a peer connected, a channel opened and confirmed, payments both ways and over
// two hops, a static channel backup written on every channel change, a cooperative close.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openChannelBackup } from '../../src/core/lightning/channel-backup'
import { readSeedVault } from '../../src/core/lightning/seed-vault'
import { seedVaultPath } from '../../src/core/lightning/lightning-module'
import type {
  ChannelView,
  CreatedInvoice,
  LightningBalances,
  LightningStatus,
  PaymentView,
} from '../../src/shared/api/lightning'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { startWorldLnd } from '../simulators/world/lnd-rpc'
import { OWNER, lightningBox, type LightningBox } from './lightning-harness'
import { eventually } from './eventually'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
let dir: string
let chain: Chain
let net: LightningNetwork
let box: LightningBox
const lndOf = (name: string) => ln.authenticatedLndGrpc(net.nodes[name]!.lnServiceAuth()).lnd

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-ln-world-'))
  chain = new Chain()
  net = await startLightningNetwork({
    chain,
    dir,
    nodes: ['bob', 'carol'],
    channels: [['bob', 'carol', 1_000_000, { pushSat: 200_000 }]],
    rest: false,
    log: () => {},
  })
  box = await lightningBox({
    startLnd: async (p, passwordFile) => {
      const lnd = await startWorldLnd({
        world: net.world,
        alias: 'box',
        dir: p.lndDir,
        network: 'regtest',
        restPort: null,
        wallet: { mode: 'rpc', ...(passwordFile ? { passwordFile } : {}) },
        log: () => {},
      })
      return { socket: lnd.socket, close: () => lnd.close() }
    },
  })
})

afterAll(async () => {
  await box?.close()
  await net?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the box’s LND in the world network, through the box’s API', () => {
  it('funds its wallet on chain and opens a channel that confirms', async () => {
    const { address } = await box.call<{ address: string }>('newAddress')
    chain.mine(1, address)
    net.mine(100)
    const funded = await eventually(async () => {
      const b = await box.call<LightningBalances>('balances')
      return b.onchainSat > 0 ? b : undefined
    }, 'funded')
    expect(funded.onchainSat).toBeGreaterThan(1_000_000)

    const bob = net.nodes.bob!
    const uri = `${bob.pubkey}@${bob.node!.p2pAddress}`
    const peers = await box.call<{ publicKey: string }[]>('connectPeer', { uri })
    expect(peers.map((p) => p.publicKey)).toContain(bob.pubkey)
    await expect(box.call('connectPeer', { uri: 'not-a-node' })).rejects.toMatchObject({
      code: 'lightning.bad_node_uri',
    })

    const opening = await box.call<ChannelView[]>('openChannel', {
      peerPublicKey: bob.pubkey,
      amountSat: 500_000,
      feeRate: 2,
      private: false,
    })
    expect(opening).toHaveLength(1)
    expect(opening[0]!.state).toBe('opening')
    net.mine(6)
    const open = await eventually(async () => {
      const list = await box.call<ChannelView[]>('channels')
      return list.find((c) => c.state === 'active')
    }, 'channel active')
    expect(open.capacitySat).toBe(500_000)
    expect(open.forceCloseDelayBlocks).toBeGreaterThan(0)
  })

  it('writes an encrypted static channel backup on the channel change, opened with the owner’s password', async () => {
    const s = await eventually(async () => {
      const st = await box.call<LightningStatus>('status')
      return st.channelBackup?.channels === 1 ? st : undefined
    }, 'backup written')
    expect(Date.parse(s.channelBackup!.at)).toBeGreaterThan(Date.now() - 60_000)
    const vault = readSeedVault(seedVaultPath(box.engineDir))!
    const bytes = await openChannelBackup(box.paths.channelBackup, vault, OWNER)
    expect(bytes?.length).toBeGreaterThan(0)
    await expect(
      openChannelBackup(box.paths.channelBackup, vault, 'wrong password'),
    ).rejects.toMatchObject({
      code: 'lightning.wrong_password',
    })
  })

  it('pays over two hops (box → bob → carol) and gets paid back the same way', async () => {
    const carol = lndOf('carol')
    const { request } = await ln.createInvoice({
      lnd: carol,
      tokens: 50_000,
      description: 'two hops',
    })
    const paid = await box.call<PaymentView>('pay', { request, feeLimitSat: 500 })
    expect(paid.state).toBe('succeeded')
    expect(paid.destination).toBe(net.nodes.carol!.pubkey)

    const inv = await box.call<CreatedInvoice>('createInvoice', {
      amountSat: 20_000,
      memo: 'back',
      expirySeconds: 600,
    })
    box.events.length = 0
    await ln.pay({ lnd: carol, request: inv.request })
    await eventually(
      async () =>
        box.events.find(
          (e) =>
            e.topic === 'lightning' &&
            e.type === 'invoice' &&
            e.invoice.id === inv.id &&
            e.invoice.state === 'paid',
        ),
      'paid event',
    )
  })

  it('a payment with no route says so in plain words', async () => {
    const { request } = await ln.createInvoice({ lnd: lndOf('carol'), tokens: 5_000_000 })
    await box.call('setLimits', {
      maxPaymentSat: 10_000_000,
      feeLimitPercent: 1,
      minFeeLimitSat: 10,
    })
    const p = await box.call<PaymentView>('pay', { request, feeLimitSat: 1000 })
    expect(p.state).toBe('failed')
    expect(['no_route', 'not_enough_outbound']).toContain(p.failure)
    expect(p.failureText).toMatch(/route|outgoing balance/)
  })

  it('closes cooperatively; the backup is written again without the channel', async () => {
    const [c] = await box.call<ChannelView[]>('channels')
    await expect(
      box.call('closeChannel', { fundingOutpoint: c!.fundingOutpoint, force: false }),
    ).rejects.toMatchObject({ code: 'api.bad_input' })
    const after = await box.call<ChannelView[]>('closeChannel', {
      fundingOutpoint: c!.fundingOutpoint,
      force: false,
      confirmed: true,
    })
    expect(after.find((x) => x.fundingOutpoint === c!.fundingOutpoint)?.state).not.toBe('active')
    net.mine(6)
    await eventually(async () => {
      const list = await box.call<ChannelView[]>('channels')
      return list.length === 0 ? true : undefined
    }, 'channel closed')
    await eventually(async () => {
      const st = await box.call<LightningStatus>('status')
      return st.channelBackup?.channels === 0 ? true : undefined
    }, 'backup rewritten')
  })
})
