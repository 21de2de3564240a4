// Several simulated LND nodes on one simulated chain and one gossip graph, driven through
// ln-service (the real client, over the real protos, TLS and macaroons). Every coin and channel
// is a real transaction the chain validated: a node's wallet is funded by a signed transfer, a
// channel by a 2-of-2 P2WSH funding transaction, a close by a transaction spending it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import * as bitcoin from 'bitcoinjs-lib'
import type * as Lightning from 'lightning'
import { Chain, ChainPolicyError } from '../simulators/world/chain'
import { TestKey, fundedKey } from '../simulators/world/test-keys'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { startWorldLnd } from '../simulators/world/lnd-rpc'
import { encodeBolt11 } from '../simulators/bolt11'
import { eventually } from './eventually'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
const REGTEST = bitcoin.networks.regtest
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest()

let dir: string
let chain: Chain
let net: LightningNetwork
type Lnd = Lightning.AuthenticatedLnd
const lnds: Record<string, Lnd> = {}
const lnd = (name: string): Lnd =>
  (lnds[name] ??= ln.authenticatedLndGrpc(net.nodes[name]!.lnServiceAuth()).lnd)
const node = (name: string) => net.nodes[name]!.node!
const socketOf = (name: string) => node(name).p2pAddress
const pay = (from: string, request: string) => ln.pay({ lnd: lnd(from), request })
const payError = async (from: string, request: string): Promise<unknown> => {
  try {
    await pay(from, request)
  } catch (err) {
    return err
  }
  throw new Error('payment unexpectedly succeeded')
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flashbox-world-ln-'))
  chain = new Chain()
  // bob → carol → dave are funded and opened by the fixture; alice gets coins by a transfer.
  net = await startLightningNetwork({
    chain,
    dir,
    nodes: ['alice', 'bob', 'carol', 'dave', 'erin'],
    channels: [
      ['bob', 'carol', 2_000_000],
      ['carol', 'dave', 1_000_000, { pushSat: 100_000 }],
    ],
    nodeOptions: { carol: { policy: { feeBaseMsat: 2_000n, feeRatePpm: 100n } } },
    log: () => undefined,
  })
})

afterAll(async () => {
  await net?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('world Lightning network (SIMULATOR) through ln-service', () => {
  let aliceBob = { transaction_id: '', transaction_vout: 0 }

  it('A funds a channel to B from coins it received on chain', async () => {
    const funder = TestKey.fromLabel('world-lnd-funder')
    const coin = fundedKey(chain, funder)
    const { address } = await ln.createChainAddress({ lnd: lnd('alice'), format: 'p2wpkh' })
    const deposit = funder.spend(
      [coin],
      [{ script: bitcoin.address.toOutputScript(address, REGTEST), value: 3_000_000n }],
      2,
      { change: funder.p2wpkh().output },
    )
    chain.submit(deposit)
    await eventually(
      async () =>
        (await ln.getChainBalance({ lnd: lnd('alice') })).chain_balance === 0 || undefined,
      'unconfirmed',
    )
    const pendingBal = await ln.getPendingChainBalance({ lnd: lnd('alice') })
    expect(pendingBal.pending_chain_balance).toBe(3_000_000)
    net.mine(1)
    expect((await ln.getChainBalance({ lnd: lnd('alice') })).chain_balance).toBe(3_000_000)
    const { utxos } = await ln.getUtxos({ lnd: lnd('alice') })
    expect(utxos).toHaveLength(1)
    expect(utxos[0]!.transaction_id).toBe(deposit.getId())
    const txs = await ln.getChainTransactions({ lnd: lnd('alice') })
    expect(txs.transactions.find((t) => t.id === deposit.getId())?.tokens).toBe(3_000_000)

    const bobEvents: string[] = []
    const sub = ln.subscribeToChannels({ lnd: lnd('bob') })
    sub.on('channel_opening', () => bobEvents.push('opening'))
    sub.on('channel_opened', () => bobEvents.push('opened'))
    const backups = ln.subscribeToBackups({ lnd: lnd('alice') })
    let backup: { backup: string; channels: unknown[] } | undefined
    backups.on('backup', (b: { backup: string; channels: unknown[] }) => (backup = b))
    await new Promise((r) => setTimeout(r, 100))

    await ln.addPeer({ lnd: lnd('alice'), public_key: node('bob').pubkey, socket: socketOf('bob') })
    expect((await ln.getPeers({ lnd: lnd('bob') })).peers.map((p) => p.public_key)).toContain(
      node('alice').pubkey,
    )
    aliceBob = await ln.openChannel({
      lnd: lnd('alice'),
      local_tokens: 1_000_000,
      partner_public_key: node('bob').pubkey,
      chain_fee_tokens_per_vbyte: 2,
    })
    // The funding transaction is in the chain's mempool: it spends alice's deposit and pays
    // exactly the capacity to a P2WSH 2-of-2.
    const funding = chain.mempool().find((e) => e.txid === aliceBob.transaction_id)!.tx
    expect(Buffer.from(funding.ins[0]!.hash).reverse().toString('hex')).toBe(deposit.getId())
    const out = funding.outs[aliceBob.transaction_vout]!
    expect(out.value).toBe(1_000_000n)
    expect(out.script.length).toBe(34)
    expect(out.script[0]).toBe(0x00)
    const pending = await ln.getPendingChannels({ lnd: lnd('alice') })
    expect(pending.pending_channels[0]).toMatchObject({ is_opening: true, capacity: 1_000_000 })

    net.mine(3)
    const { channels } = await ln.getChannels({ lnd: lnd('alice') })
    expect(channels).toHaveLength(1)
    expect(channels[0]).toMatchObject({
      is_active: true,
      capacity: 1_000_000,
      partner_public_key: node('bob').pubkey,
      transaction_id: aliceBob.transaction_id,
    })
    await eventually(() => (bobEvents.includes('opened') ? true : undefined), 'bob channel_opened')
    expect(bobEvents).toContain('opening')
    await eventually(() => (backup ? true : undefined), 'channel backup')
    expect(backup!.channels.length).toBeGreaterThan(0)
    sub.removeAllListeners()
    backups.removeAllListeners()

    // Announced to everyone once 6 deep (LND's announcement depth).
    net.mine(3)
    const graph = await ln.getNetworkGraph({ lnd: lnd('erin') })
    expect(graph.channels).toHaveLength(3)
    expect(graph.nodes.map((n) => n.alias).sort()).toEqual(['alice', 'bob', 'carol', 'dave'])
    const edge = graph.channels.find((c) => c.transaction_id === aliceBob.transaction_id)!
    expect(edge.policies.map((p) => p.base_fee_mtokens)).toEqual(['1000', '1000'])
  })

  it('A pays C through B, paying B its base + proportional fee', async () => {
    const before = (await ln.getChannelBalance({ lnd: lnd('alice') })).channel_balance_mtokens!
    const invoices = ln.subscribeToInvoices({ lnd: lnd('carol') })
    const confirmed: string[] = []
    invoices.on('invoice_updated', (i: { id: string; is_confirmed: boolean }) => {
      if (i.is_confirmed) confirmed.push(i.id)
    })
    const inv = await ln.createInvoice({ lnd: lnd('carol'), tokens: 10_000 })
    const route = await ln.getRouteToDestination({
      lnd: lnd('alice'),
      destination: node('carol').pubkey,
      tokens: 10_000,
    })
    expect(route.route?.fee_mtokens).toBe('1010') // bob: 1000 msat + 10,000,000 msat × 1 ppm
    const paid = await pay('alice', inv.request)
    expect(paid.secret).toBe((await ln.getInvoice({ lnd: lnd('carol'), id: inv.id })).secret)
    expect(paid.fee_mtokens).toBe('1010')
    expect(paid.hops.map((h) => (h as unknown as { public_key: string }).public_key)).toEqual([
      node('bob').pubkey,
      node('carol').pubkey,
    ])
    expect(paid.hops[0]).toMatchObject({ forward_mtokens: '10000000', fee_mtokens: '1010' })
    const after = (await ln.getChannelBalance({ lnd: lnd('alice') })).channel_balance_mtokens!
    expect(BigInt(before) - BigInt(after)).toBe(10_001_010n)
    await eventually(() => (confirmed.includes(inv.id) ? true : undefined), 'invoice_updated')
    invoices.removeAllListeners()
  })

  it('pays through two hops with each hop charging its own policy', async () => {
    const inv = await ln.createInvoice({ lnd: lnd('dave'), tokens: 20_000 })
    const paid = await pay('alice', inv.request)
    // carol: 2000 + 20,000,000 × 100 / 1e6 = 4000 msat; bob: 1000 + 20,004,000 × 1 / 1e6 = 1020
    expect(paid.hops.map((h) => h.fee_mtokens)).toEqual(['1020', '4000', '0'])
    expect(paid.fee_mtokens).toBe('5020')
    expect((paid.hops[2] as unknown as { public_key: string }).public_key).toBe(node('dave').pubkey)
  })

  it('fails as LND fails: no route, insufficient balance, unknown hash, expired invoice', async () => {
    const toErin = await ln.createInvoice({ lnd: lnd('erin'), tokens: 1_000 })
    expect(await payError('alice', toErin.request)).toEqual([
      503,
      'PaymentPathfindingFailedToFindPossibleRoute',
    ])

    const tooBig = await ln.createInvoice({ lnd: lnd('carol'), tokens: 995_000 })
    expect(await payError('alice', tooBig.request)).toEqual([
      503,
      'InsufficientBalanceToAttemptPayment',
    ])

    // A well-formed invoice signed by carol's node key for a hash carol never issued.
    const unknown = encodeBolt11({
      network: 'regtest',
      amountMsat: 1_000_000n,
      timestamp: Math.floor(Date.now() / 1000),
      paymentHash: randomBytes(32).toString('hex'),
      paymentSecret: randomBytes(32).toString('hex'),
      description: 'never issued',
      expirySeconds: 3600,
      minFinalCltvExpiry: 80,
      featureBits: [8, 14, 17],
      nodeSecretKey: node('carol').nodeKey.privateKey!,
    })
    expect(await payError('alice', unknown)).toEqual([503, 'PaymentRejectedByDestination'])

    const shortLived = await ln.createInvoice({
      lnd: lnd('carol'),
      tokens: 1_000,
      expires_at: new Date(Date.now() + 1_000).toISOString(),
    })
    await new Promise((r) => setTimeout(r, 2_100))
    const expired = (await payError('alice', shortLived.request)) as [
      number,
      string,
      { err?: { details?: string } },
    ]
    expect(expired[1]).toBe('UnexpectedPaymentError')
    expect(expired[2].err?.details).toMatch(/^invoice expired\. Valid until /)
  })

  it('a hop going offline: the payment fails; back online, it routes again', async () => {
    const inv = await ln.createInvoice({ lnd: lnd('dave'), tokens: 2_000 })
    await net.stop('carol')
    expect(await payError('alice', inv.request)).toEqual([
      503,
      'PaymentPathfindingFailedToFindPossibleRoute',
    ])
    // The failed attempt is recorded with bob (position 1) reporting UNKNOWN_NEXT_PEER.
    const listed = await new Promise<{
      payments: {
        payment_hash: string
        htlcs: { failure?: { code: string; failure_source_index: number } }[]
      }[]
    }>((resolve, reject) =>
      (
        lnd('alice').default as unknown as {
          listPayments: (r: object, cb: (e: unknown, r: never) => void) => void
        }
      ).listPayments({ include_incomplete: true }, (e, r) => (e ? reject(e) : resolve(r))),
    )
    const failed = listed.payments.find((p) => p.payment_hash === inv.id)!
    expect(failed.htlcs[0]!.failure).toMatchObject({
      code: 'UNKNOWN_NEXT_PEER',
      failure_source_index: 1,
    })
    await net.start('carol')
    delete lnds.carol
    const again = await ln.createInvoice({ lnd: lnd('dave'), tokens: 2_000 })
    expect((await pay('alice', again.request)).is_confirmed).toBe(true)
  })

  it('hold invoices: the HTLC waits until settled, or fails back when canceled', async () => {
    const secret = randomBytes(32)
    const id = sha256(secret).toString('hex')
    const hold = await ln.createHodlInvoice({ lnd: lnd('carol'), id, tokens: 3_000 })
    const paying = pay('alice', hold.request)
    await eventually(
      async () => (await ln.getInvoice({ lnd: lnd('carol'), id })).is_held || undefined,
      'held',
    )
    const pendingPays = (await ln.getChannels({ lnd: lnd('alice') })).channels[0]!.pending_payments
    expect(pendingPays).toHaveLength(1)
    expect(pendingPays[0]!.tokens).toBe(3_001) // 3,000 + bob's 1,003 msat fee
    await ln.settleHodlInvoice({ lnd: lnd('carol'), secret: secret.toString('hex') })
    expect((await paying).secret).toBe(secret.toString('hex'))
    expect((await ln.getInvoice({ lnd: lnd('carol'), id })).is_confirmed).toBe(true)

    const secret2 = randomBytes(32)
    const id2 = sha256(secret2).toString('hex')
    const hold2 = await ln.createHodlInvoice({ lnd: lnd('carol'), id: id2, tokens: 3_000 })
    const balance = (await ln.getChannels({ lnd: lnd('alice') })).channels[0]!.local_balance
    const paying2 = payError('alice', hold2.request)
    await eventually(
      async () => (await ln.getInvoice({ lnd: lnd('carol'), id: id2 })).is_held || undefined,
      'held',
    )
    await ln.cancelHodlInvoice({ lnd: lnd('carol'), id: id2 })
    expect(await paying2).toEqual([503, 'PaymentRejectedByDestination'])
    expect((await ln.getChannels({ lnd: lnd('alice') })).channels[0]!.local_balance).toBe(balance)
  })

  it('PSBT funding: an outside wallet funds the channel through FundingStateStep', async () => {
    await ln.addPeer({
      lnd: lnd('dave'),
      public_key: node('erin').pubkey,
      socket: socketOf('erin'),
    })
    const { pending } = await ln.openChannels({
      lnd: lnd('dave'),
      channels: [{ capacity: 300_000, partner_public_key: node('erin').pubkey }],
      is_avoiding_broadcast: false,
    })
    expect(pending[0]!.tokens).toBe(300_000)
    // A wrong amount is refused at PsbtVerify.
    const wrong = await ln.fundPsbt({
      lnd: lnd('alice'),
      outputs: [{ address: pending[0]!.address, tokens: 299_000 }],
    })
    await expect(
      ln.fundPendingChannels({ lnd: lnd('dave'), channels: [pending[0]!.id], funding: wrong.psbt }),
    ).rejects.toBeDefined()
    for (const i of wrong.inputs)
      await ln.unlockUtxo({
        lnd: lnd('alice'),
        id: i.lock_id!,
        transaction_id: i.transaction_id,
        transaction_vout: i.transaction_vout,
      })

    const funded = await ln.fundPsbt({
      lnd: lnd('alice'),
      outputs: [{ address: pending[0]!.address, tokens: 300_000 }],
    })
    const signed = await ln.signPsbt({ lnd: lnd('alice'), psbt: funded.psbt })
    await ln.fundPendingChannels({
      lnd: lnd('dave'),
      channels: [pending[0]!.id],
      funding: signed.psbt,
    })
    const tx = bitcoin.Transaction.fromHex(signed.transaction)
    expect(chain.mempool().some((e) => e.txid === tx.getId())).toBe(true)
    net.mine(3)
    const chans = (await ln.getChannels({ lnd: lnd('dave') })).channels
    const psbtChan = chans.find((c) => c.transaction_id === tx.getId())!
    expect(psbtChan).toMatchObject({ capacity: 300_000, is_active: true })
    expect(psbtChan.partner_public_key).toBe(node('erin').pubkey)
  })

  it('multi-path: an amount no single channel carries is split across routes (MPP)', async () => {
    const toCarol = await ln.openChannel({
      lnd: lnd('alice'),
      local_tokens: 400_000,
      partner_public_key: node('carol').pubkey,
      partner_socket: socketOf('carol'),
      chain_fee_tokens_per_vbyte: 2,
    })
    net.mine(6)
    const mine = (await ln.getChannels({ lnd: lnd('alice') })).channels
    expect(mine.map((c) => c.transaction_id)).toContain(toCarol.transaction_id)
    const biggest = Math.max(...mine.map((c) => c.local_balance - c.local_reserve))
    const inv = await ln.createInvoice({ lnd: lnd('carol'), tokens: 1_100_000 })
    expect(1_100_000).toBeGreaterThan(biggest)
    const single = await ln
      .pay({ lnd: lnd('alice'), request: inv.request, max_paths: 1 })
      .catch((e: unknown) => e)
    expect(single).toEqual([503, 'PaymentPathfindingFailedToFindPossibleRoute'])
    // ln-service's typings leave out `paths` (one entry per shard); the result has it.
    const paid = (await ln.pay({
      lnd: lnd('alice'),
      request: inv.request,
      max_paths: 4,
    })) as unknown as { paths: { tokens: number; fee: number }[] }
    expect(paid.paths.length).toBeGreaterThan(1)
    expect(paid.paths.reduce((s, x) => s + x.tokens - x.fee, 0)).toBe(1_100_000)
    const got = await ln.getInvoice({ lnd: lnd('carol'), id: inv.id })
    expect(got.is_confirmed).toBe(true)
    expect(got.payments.length).toBe(paid.paths.length)
    expect(got.received).toBe(1_100_000)
  })

  it('cooperative close puts both balances on chain', async () => {
    const aliceBefore = (await ln.getChainBalance({ lnd: lnd('alice') })).chain_balance
    const local = (await ln.getChannels({ lnd: lnd('alice') })).channels[0]!
    const closing = await ln.closeChannel({ lnd: lnd('alice'), ...aliceBob })
    const tx = chain.mempool().find((e) => e.txid === closing.transaction_id)!.tx
    expect(Buffer.from(tx.ins[0]!.hash).reverse().toString('hex')).toBe(aliceBob.transaction_id)
    net.mine(1)
    const closed = (await ln.getClosedChannels({ lnd: lnd('alice') })).channels
    expect(closed[0]).toMatchObject({
      is_cooperative_close: true,
      close_transaction_id: closing.transaction_id,
    })
    const aliceAfter = (await ln.getChainBalance({ lnd: lnd('alice') })).chain_balance
    const gained = aliceAfter - aliceBefore
    // Her balance plus the commitment fee reserve, minus the closing fee she pays as opener.
    expect(gained).toBeGreaterThan(local.local_balance)
    expect(gained).toBeLessThan(local.local_balance + local.commit_transaction_fee)
    expect(
      (await ln.getNetworkGraph({ lnd: lnd('erin') })).channels.map((c) => c.transaction_id),
    ).not.toContain(aliceBob.transaction_id)
  })

  it('force close: to_local is spendable only after the CSV delay, then swept', async () => {
    const chan = (await ln.getChannels({ lnd: lnd('bob') })).channels.find(
      (c) => c.partner_public_key === node('carol').pubkey,
    )!
    const carolBefore = (await ln.getChainBalance({ lnd: lnd('carol') })).chain_balance
    const forced = await ln.closeChannel({
      lnd: lnd('bob'),
      transaction_id: chan.transaction_id,
      transaction_vout: chan.transaction_vout,
      is_force_close: true,
    })
    net.mine(1)
    const c = node('bob').findChannel(chan.transaction_id, chan.transaction_vout)
    expect(c.close?.txid).toBe(forced.transaction_id)
    const csv = c.csvDelay.opener
    expect(csv).toBe(144)
    const pending = (await ln.getPendingChannels({ lnd: lnd('bob') })).pending_channels
    expect(pending[0]).toMatchObject({ is_closing: true, pending_balance: chan.local_balance })
    // Carol's to_remote is hers at once (static remote key): in her wallet after 1 confirmation.
    const carolAfter = (await ln.getChainBalance({ lnd: lnd('carol') })).chain_balance
    expect(carolAfter - carolBefore).toBe(chan.remote_balance)

    // Bob's sweep with nSequence = csv: the chain refuses it until the commitment is csv deep.
    const early = node('bob').sweepToLocal(c)
    const tooEarly = chain.testAccept(early)
    expect(tooEarly.allowed).toBe(false)
    expect(!tooEarly.allowed && tooEarly.reason).toBe('non-BIP68-final')
    expect(() => chain.submit(early)).toThrow(ChainPolicyError)
    net.mine(csv - 2) // commitment now csv - 1 deep
    expect(c.close?.sweepTxid).toBeUndefined()
    expect(chain.testAccept(node('bob').sweepToLocal(c)).allowed).toBe(false)
    const bobBefore = (await ln.getChainBalance({ lnd: lnd('bob') })).chain_balance
    net.mine(1) // csv deep: LND's sweeper publishes
    expect(c.close?.sweepTxid).toBeDefined()
    expect(chain.mempool().some((e) => e.txid === c.close!.sweepTxid)).toBe(true)
    net.mine(1)
    const bobAfter = (await ln.getChainBalance({ lnd: lnd('bob') })).chain_balance
    expect(bobAfter - bobBefore).toBeGreaterThan(chan.local_balance - 5_000)
    expect((await ln.getPendingChannels({ lnd: lnd('bob') })).pending_channels).toHaveLength(0)
    const closedBob = (await ln.getClosedChannels({ lnd: lnd('bob') })).channels
    expect(closedBob.find((x) => x.transaction_id === chan.transaction_id)).toMatchObject({
      is_local_force_close: true,
    })
    const closedCarol = (await ln.getClosedChannels({ lnd: lnd('carol') })).channels
    expect(closedCarol.find((x) => x.transaction_id === chan.transaction_id)).toMatchObject({
      is_remote_force_close: true,
    })
  })

  it('wallet creation and unlock: GenSeed, InitWallet, unlock by password file; baked macaroons', async () => {
    const fdir = join(dir, 'frank')
    const pwFile = join(dir, 'frank-password')
    writeFileSync(pwFile, 'frank-password-123')
    let frank = await startWorldLnd({
      world: net.world,
      alias: 'frank',
      dir: fdir,
      wallet: { mode: 'rpc' },
      restPort: null,
      log: () => undefined,
    })
    const unlocker = ln.unauthenticatedLndGrpc({
      socket: frank.socket,
      cert: Buffer.from(frank.cert).toString('base64'),
    }).lnd
    expect((await ln.getWalletStatus({ lnd: unlocker })).is_absent).toBe(true)
    const { seed } = await ln.createSeed({ lnd: unlocker })
    expect(seed.split(' ')).toHaveLength(24)
    await ln.createWallet({ lnd: unlocker, seed, password: 'frank-password-123' })
    // InitWallet wrote admin.macaroon where LND writes it.
    const authed = ln.authenticatedLndGrpc(frank.lnServiceAuth()).lnd
    const pub = (await ln.getWalletInfo({ lnd: authed })).public_key
    await frank.close()

    // Restart with the password file: unlocked at start, same node.
    frank = await startWorldLnd({
      world: net.world,
      alias: 'frank',
      dir: fdir,
      wallet: { mode: 'rpc', passwordFile: pwFile },
      restPort: null,
      log: () => undefined,
    })
    const again = ln.authenticatedLndGrpc(frank.lnServiceAuth()).lnd
    expect((await ln.getWalletInfo({ lnd: again })).public_key).toBe(pub)
    // Baked: invoices only — creating works, paying is refused by LND's permission check.
    const baked = await ln.grantAccess({
      lnd: again,
      is_ok_to_create_invoices: true,
      is_ok_to_get_invoices: true,
    })
    const limited = ln.authenticatedLndGrpc({
      ...frank.lnServiceAuth(),
      macaroon: baked.macaroon,
    }).lnd
    const inv = await ln.createInvoice({ lnd: limited, tokens: 100 })
    await expect(ln.pay({ lnd: limited, request: inv.request })).rejects.toBeDefined()
    await expect(ln.getChainBalance({ lnd: limited })).rejects.toMatchObject([
      503,
      'UnexpectedErrorWhenGettingChainBalance',
      { err: { details: 'permission denied' } },
    ])
    await frank.close()

    // Restart without it: LOCKED until UnlockWallet.
    frank = await startWorldLnd({
      world: net.world,
      alias: 'frank',
      dir: fdir,
      wallet: { mode: 'rpc' },
      restPort: null,
      log: () => undefined,
    })
    const locked = ln.unauthenticatedLndGrpc({
      socket: frank.socket,
      cert: Buffer.from(frank.cert).toString('base64'),
    }).lnd
    expect((await ln.getWalletStatus({ lnd: locked })).is_locked).toBe(true)
    await expect(ln.unlockWallet({ lnd: locked, password: 'wrong-password' })).rejects.toBeDefined()
    await ln.unlockWallet({ lnd: locked, password: 'frank-password-123' })
    expect(
      (await ln.getWalletInfo({ lnd: ln.authenticatedLndGrpc(frank.lnServiceAuth()).lnd }))
        .public_key,
    ).toBe(pub)
    await frank.close()
  })

  it('on-chain: fee estimates, a send, and SubscribeTransactions on the receiving node', async () => {
    const { address } = await ln.createChainAddress({ lnd: lnd('erin') })
    const estimate = await ln.getChainFeeEstimate({
      lnd: lnd('alice'),
      send_to: [{ address, tokens: 40_000 }],
    })
    expect(estimate.fee).toBeGreaterThan(0)
    expect((await ln.getChainFeeRate({ lnd: lnd('alice') })).tokens_per_vbyte).toBeGreaterThan(0)
    const seen: string[] = []
    const sub = ln.subscribeToTransactions({ lnd: lnd('erin') })
    sub.on('chain_transaction', (t: { id: string }) => seen.push(t.id))
    await new Promise((r) => setTimeout(r, 100))
    const sent = await ln.sendToChainAddress({ lnd: lnd('alice'), address, tokens: 40_000 })
    net.mine(1)
    await eventually(() => (seen.includes(sent.id) ? true : undefined), 'chain_transaction')
    const tx = (await ln.getChainTransactions({ lnd: lnd('erin') })).transactions.find(
      (t) => t.id === sent.id,
    )
    expect(tx).toMatchObject({ tokens: 40_000, is_confirmed: true })
    sub.removeAllListeners()
  })

  it('REST gateway: getinfo and invoices as LND writes them (base64 bytes, string int64)', async () => {
    const alice = net.nodes.alice!
    const rest = (method: string, path: string, body?: unknown) =>
      new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
        const u = new URL(alice.restUrl! + path)
        const req = httpsRequest(
          {
            host: u.hostname,
            port: u.port,
            path: u.pathname + u.search,
            method,
            ca: alice.cert,
            headers: {
              'Grpc-Metadata-macaroon': alice.macaroons.admin.toString('hex'),
              'content-type': 'application/json',
            },
          },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () =>
              resolve({
                status: res.statusCode!,
                json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
              }),
            )
          },
        )
        req.on('error', reject)
        req.end(body ? JSON.stringify(body) : undefined)
      })
    const info = await rest('GET', '/v1/getinfo')
    expect(info.status).toBe(200)
    expect(info.json.identity_pubkey).toBe(node('alice').pubkey)
    expect(typeof info.json.block_height).toBe('number')
    const added = await rest('POST', '/v1/invoices', { value: '1500', memo: 'rest' })
    expect(typeof added.json.r_hash).toBe('string')
    const hashHex = Buffer.from(added.json.r_hash as string, 'base64').toString('hex')
    const looked = await rest('GET', `/v1/invoice/${hashHex}`)
    expect(looked.json).toMatchObject({
      memo: 'rest',
      value: '1500',
      state: 'OPEN',
      payment_request: added.json.payment_request,
    })
    const denied = await new Promise<number>((resolve) => {
      const u = new URL(alice.restUrl! + '/v1/getinfo')
      httpsRequest({ host: u.hostname, port: u.port, path: u.pathname, ca: alice.cert }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      }).end()
    })
    expect(denied).toBe(500)
  })
})
