// One scenario through the simulated world's three façades on ONE chain, read at every step by
// the box's own clients (src/core/clients: BitcoindRpc, ElectrumClient, LndClient with each node's
// TLS certificate pinned and its readonly macaroon): bitcoind (JSON-RPC on the world chain) mines,
// electrs (following bitcoind over JSON-RPC) tells a subscribed wallet; a payment broadcast through
// electrs is checked by the chain's policy; a confirmed deposit disappears with invalidateblock and
// comes back; LND A receives coins on chain from that wallet, funds a channel to B with them, and
// pays C through B. Merkle proofs served by electrs are folded here up to bitcoind's merkle root.
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as bitcoin from 'bitcoinjs-lib'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { ElectrumClient } from '../../src/core/clients/electrum'
import { LndClient } from '../../src/core/clients/lnd'
import { FlashError } from '../../src/core/errors'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { scriptHashOf } from '../simulators/electrum/script-index'
import { startElectrsSimulator, type ElectrsSimulator } from '../simulators/electrs-simulator'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { TestKey, type SpendableCoin } from '../simulators/world/test-keys'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

const USER = 'scenario'
const PASSWORD = 'scenario-password-123'
const quiet = () => {}

const Hashes = z.array(z.string())
const Merkle = z.object({ block_height: z.number(), merkle: z.array(z.string()), pos: z.number() })
const BlockJson = z.object({ tx: z.array(z.string()), height: z.number(), merkleroot: z.string() })
const burnAddress = TestKey.fromLabel('scenario-miner').p2wpkh().address

let bitcoind: BitcoindSimulator
let electrs: ElectrsSimulator
let rpc: BitcoindRpc
let electrum: ElectrumClient

beforeAll(async () => {
  bitcoind = await startBitcoindSimulator({
    rpcauth: [makeRpcauth(USER, PASSWORD, '5ce0a41015ce0a41015ce0a41015ce0a')],
    chain: true,
    log: quiet,
  })
  rpc = new BitcoindRpc({ url: bitcoind.url, user: USER, password: PASSWORD })
  // A fresh regtest node is in initial block download until it has a block; electrs waits.
  await rpc.call('generatetoaddress', [1, burnAddress], Hashes)
  electrs = await startElectrsSimulator({
    bitcoind: { url: bitcoind.url, user: USER, password: PASSWORD },
    pollMs: 100,
    log: quiet,
  })
  electrum = await ElectrumClient.connect({ host: electrs.host, port: electrs.electrumPort })
})
let net: LightningNetwork | undefined
let lnDir: string | undefined
const lndClients: LndClient[] = []
afterAll(async () => {
  for (const c of lndClients) c.close()
  await net?.close()
  if (lnDir) rmSync(lnDir, { recursive: true, force: true })
  electrum?.close()
  await electrs?.close()
  await bitcoind?.close()
})

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex')
const dsha = (b: Buffer) =>
  createHash('sha256').update(createHash('sha256').update(b).digest()).digest()
function fold(leaf: string, branch: string[], pos: number): string {
  let h = Buffer.from(leaf, 'hex').reverse()
  for (const [i, s] of branch.entries()) {
    const sib = Buffer.from(s, 'hex').reverse()
    h = (pos >> i) & 1 ? dsha(Buffer.concat([sib, h])) : dsha(Buffer.concat([h, sib]))
  }
  return h.reverse().toString('hex')
}
async function ready() {
  for (let i = 0; i < 200; i++) {
    if (
      await electrum.ping().then(
        () => true,
        () => false,
      )
    )
      return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('electrs simulator never became ready')
}

describe('world scenario: bitcoind and electrs on one chain, read by the box’s clients', () => {
  const alice = TestKey.fromLabel('scenario-alice')
  const bob = TestKey.fromLabel('scenario-bob')
  const aliceSh = scriptHashOf(alice.p2wpkh().output)
  const bobSh = scriptHashOf(bob.p2tr().output)
  const aliceStatuses: (string | null)[] = []
  const bobStatuses: (string | null)[] = []
  let coinbase: SpendableCoin
  let coinbaseHeight: number

  it('bitcoind mines to alice and electrs notifies her subscribed script hash', async () => {
    await ready()
    expect(await electrum.subscribeScriptHash(aliceSh, (s) => aliceStatuses.push(s))).toBeNull()
    expect(await electrum.subscribeScriptHash(bobSh, (s) => bobStatuses.push(s))).toBeNull()
    const tips: number[] = []
    await electrum.subscribeHeaders((h) => tips.push(h.height))

    const [hash] = await rpc.call('generatetoaddress', [1, alice.p2wpkh().address], Hashes)
    const block = await rpc.call('getblock', [hash, 1], BlockJson)
    coinbaseHeight = block.height
    const cbTxid = block.tx[0]!
    await expect
      .poll(() => aliceStatuses.at(-1), { timeout: 10_000 })
      .toBe(sha256hex(`${cbTxid}:${coinbaseHeight}:`))
    await expect.poll(() => tips.at(-1)).toBe(coinbaseHeight)
    expect(await electrum.getHistory(aliceSh)).toEqual([
      { tx_hash: cbTxid, height: coinbaseHeight },
    ])
    const [utxo] = await electrum.listUnspent(aliceSh)
    expect(utxo).toMatchObject({ tx_hash: cbTxid, tx_pos: 0, height: coinbaseHeight })
    expect(await electrum.getBalance(aliceSh)).toEqual({ confirmed: utxo!.value, unconfirmed: 0 })

    // The coinbase as electrs serves it is bitcoind's, and its proof folds to bitcoind's root.
    const raw = await electrum.request('blockchain.transaction.get', [cbTxid], z.string())
    expect(raw).toBe(await rpc.call('getrawtransaction', [cbTxid, false, hash], z.string()))
    const proof = await electrum.request(
      'blockchain.transaction.get_merkle',
      [cbTxid, coinbaseHeight],
      Merkle,
    )
    expect(fold(cbTxid, proof.merkle, proof.pos)).toBe(block.merkleroot)
    expect(await electrum.blockHeader(coinbaseHeight)).toBe(await rpc.getBlockHeaderHex(hash!))
    coinbase = {
      txid: cbTxid,
      vout: 0,
      value: BigInt(utxo!.value),
      script: alice.p2wpkh().output,
    }
  })

  it('a payment broadcast through electrs reaches the mempool, then a block', async () => {
    await rpc.call('generatetoaddress', [100, burnAddress], Hashes)
    const pay = alice.spend([coinbase], [{ script: bob.p2tr().output, value: 1_000_000_000n }], 2)
    const txid = await electrum.request(
      'blockchain.transaction.broadcast',
      [pay.toHex()],
      z.string(),
    )
    expect(txid).toBe(pay.getId())
    // Both script hashes see it at height 0 (its input is confirmed), with its fee.
    await expect.poll(() => bobStatuses.at(-1), { timeout: 10_000 }).toBe(sha256hex(`${txid}:0:`))
    const fee = Number(coinbase.value) - pay.outs.reduce((a, o) => a + Number(o.value), 0)
    expect(await electrum.getHistory(bobSh)).toEqual([{ tx_hash: txid, height: 0, fee }])
    expect(await electrum.getBalance(bobSh)).toEqual({ confirmed: 0, unconfirmed: 1_000_000_000 })
    const aliceNow = await electrum.getBalance(aliceSh)
    expect(aliceNow.confirmed).toBe(Number(coinbase.value))
    expect(aliceNow.unconfirmed).toBe(-1_000_000_000 - fee)

    // Bob spends the unconfirmed output at once: his history shows the child at height -1.
    const bobCoin = { txid, vout: 0, value: 1_000_000_000n, script: bob.p2tr().output }
    const child = bob.spend(
      [bobCoin],
      [{ script: alice.p2wpkh().output, value: 200_000_000n }],
      3,
      {
        change: bob.p2tr().output,
      },
    )
    await electrum.request('blockchain.transaction.broadcast', [child.toHex()], z.string())
    await expect
      .poll(() => bobStatuses.at(-1), { timeout: 10_000 })
      .toBe(sha256hex(`${txid}:0:${child.getId()}:-1:`))

    // The same coin again: the chain's policy refuses it, electrs passes bitcoind's reason on.
    const again = alice.spend([coinbase], [{ script: bob.p2wpkh().output, value: 5_000n }], 2)
    const refused = await electrum
      .request('blockchain.transaction.broadcast', [again.toHex()], z.string())
      .catch((e: FlashError) => e)
    expect(refused).toBeInstanceOf(FlashError)
    expect((refused as FlashError).message).toMatch(/code 2\)/)
    expect((refused as FlashError).message).toMatch(/insufficient fee|txn-mempool-conflict/)

    const [hash] = await rpc.call('generatetoaddress', [1, burnAddress], Hashes)
    const block = await rpc.call('getblock', [hash, 1], BlockJson)
    expect(block.tx).toEqual(expect.arrayContaining([txid, child.getId()]))
    const inOrder = block.tx.filter((t) => t === txid || t === child.getId())
    await expect
      .poll(() => bobStatuses.at(-1), { timeout: 10_000 })
      .toBe(sha256hex(inOrder.map((t) => `${t}:${block.height}:`).join('')))
    for (const t of inOrder) {
      const p = await electrum.request(
        'blockchain.transaction.get_merkle',
        [t, block.height],
        Merkle,
      )
      expect(fold(t, p.merkle, p.pos)).toBe(block.merkleroot)
    }
  })

  it('invalidateblock takes the confirmation away; electrs shows the payment unconfirmed again', async () => {
    const best = await rpc.getBestBlockHash()
    const height = await rpc.getBlockCount()
    const confirmed = bobStatuses.at(-1)
    await rpc.call('invalidateblock', [best], z.null())
    const history = async () => electrum.getHistory(bobSh)
    await expect
      .poll(async () => (await history()).map((h) => h.height), { timeout: 10_000 })
      .toEqual([0, -1])
    expect((await electrum.subscribeHeaders()).height).toBe(height - 1)
    // The notification follows the round that changed the index (queries may see it first).
    await expect.poll(() => bobStatuses.at(-1), { timeout: 10_000 }).not.toBe(confirmed)
    const unconfirmed = bobStatuses.at(-1)
    // Mined again (a new block at the same height): the same history, so the same status.
    await rpc.call('generatetoaddress', [1, burnAddress], Hashes)
    await expect.poll(() => bobStatuses.at(-1), { timeout: 10_000 }).toBe(confirmed)
    expect((await history()).every((h) => h.height === height)).toBe(true)
    expect(bobStatuses.slice(-3)).toEqual([confirmed, unconfirmed, confirmed])
  })

  it('LND A funds a channel to B from coins it received on chain, then pays C through B', async () => {
    // Three LND nodes on the SAME chain bitcoind serves and electrs follows. B's channel to C is
    // opened by the fixture (from a mined coinbase); A starts with nothing.
    lnDir = mkdtempSync(join(tmpdir(), 'flashbox-world-scenario-ln-'))
    net = await startLightningNetwork({
      chain: bitcoind.world!,
      dir: lnDir,
      nodes: ['A', 'B', 'C'],
      channels: [['B', 'C', 1_000_000]],
      log: quiet,
    })
    const lnd = (name: string) => ln.authenticatedLndGrpc(net!.nodes[name]!.lnServiceAuth()).lnd
    // The box's own LND client, with each node's TLS certificate pinned and its readonly macaroon.
    const box = (name: string) => {
      const n = net!.nodes[name]!
      const c = new LndClient({ socket: n.socket, cert: n.cert, macaroon: n.macaroons.readonly })
      lndClients.push(c)
      return c
    }
    const [boxA, boxB, boxC] = [box('A'), box('B'), box('C')]
    const tip = await rpc.getBlockCount()
    await expect.poll(async () => (await boxA.getInfo()).blockHeight, { timeout: 10_000 }).toBe(tip)
    expect(await boxA.getBalances()).toEqual({ onchainSat: 0, channelsSat: 0 })

    // Alice's wallet finds her confirmed coins through electrs and pays A's new address.
    const { address } = await ln.createChainAddress({ lnd: lnd('A'), format: 'p2wpkh' })
    const aScript = bitcoin.address.toOutputScript(address, bitcoin.networks.regtest)
    const aSh = scriptHashOf(aScript)
    const aStatuses: (string | null)[] = []
    expect(await electrum.subscribeScriptHash(aSh, (st) => aStatuses.push(st))).toBeNull()
    const coins = (await electrum.listUnspent(aliceSh)).filter((u) => u.height > 0)
    expect(coins.length).toBeGreaterThan(0)
    const deposit = alice.spend(
      coins.map((u) => ({
        txid: u.tx_hash,
        vout: u.tx_pos,
        value: BigInt(u.value),
        script: alice.p2wpkh().output,
      })),
      [{ script: aScript, value: 3_000_000n }],
      2,
    )
    await electrum.request('blockchain.transaction.broadcast', [deposit.toHex()], z.string())
    await expect
      .poll(() => aStatuses.at(-1), { timeout: 10_000 })
      .toBe(sha256hex(`${deposit.getId()}:0:`))
    const [depositBlock] = await rpc.call('generatetoaddress', [1, burnAddress], Hashes)
    const depositHeight = (await rpc.call('getblock', [depositBlock, 1], BlockJson)).height
    await expect
      .poll(async () => (await boxA.getBalances()).onchainSat, { timeout: 10_000 })
      .toBe(3_000_000)
    await expect
      .poll(() => aStatuses.at(-1), { timeout: 10_000 })
      .toBe(sha256hex(`${deposit.getId()}:${depositHeight}:`))

    // A opens a channel to B with those coins; the funding transaction spends A's deposit.
    const b = net.nodes.B!
    await ln.addPeer({ lnd: lnd('A'), public_key: b.pubkey, socket: b.node!.p2pAddress })
    const funding = await ln.openChannel({
      lnd: lnd('A'),
      partner_public_key: b.pubkey,
      local_tokens: 1_000_000,
    })
    await expect
      .poll(async () => (await electrum.getHistory(aSh)).map((h) => h.tx_hash), { timeout: 10_000 })
      .toEqual([deposit.getId(), funding.transaction_id])
    const fundingTx = await electrum.request(
      'blockchain.transaction.get',
      [funding.transaction_id],
      z.string(),
    )
    const spent = bitcoin.Transaction.fromHex(fundingTx).ins.map((i) =>
      Buffer.from(i.hash).reverse().toString('hex'),
    )
    expect(spent).toContain(deposit.getId())
    await rpc.call('generatetoaddress', [6, burnAddress], Hashes)
    await expect
      .poll(async () => (await boxA.getInfo()).activeChannels, { timeout: 10_000 })
      .toBe(1)
    const afterOpen = await boxA.getBalances()
    expect(afterOpen.channelsSat).toBeGreaterThan(0)
    expect(afterOpen.channelsSat).toBeLessThanOrEqual(1_000_000)
    expect(afterOpen.onchainSat).toBeLessThan(2_000_000)
    expect((await boxB.getInfo()).activeChannels).toBe(2)
    const height = await rpc.getBlockCount()
    for (const c of [boxA, boxB, boxC])
      await expect
        .poll(async () => (await c.getInfo()).blockHeight, { timeout: 10_000 })
        .toBe(height)

    // A pays C's invoice; the only route is through B, who keeps a forwarding fee.
    const cBefore = (await boxC.getBalances()).channelsSat
    const bBefore = (await boxB.getBalances()).channelsSat
    const invoice = await ln.createInvoice({ lnd: lnd('C'), tokens: 50_000 })
    const paid = await ln.pay({ lnd: lnd('A'), request: invoice.request })
    expect(paid.is_confirmed).toBe(true)
    expect(paid.hops).toHaveLength(2)
    expect(paid.fee).toBeGreaterThanOrEqual(1)
    // B forwarded: its side of the A channel grew by 50,000 + fee, of the C channel fell by 50,000.
    // (Channel balances are whole satoshis of millisatoshi amounts: the fee is within 1 sat.)
    await expect
      .poll(async () => (await boxB.getBalances()).channelsSat - bBefore, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(paid.fee)
    expect((await boxB.getBalances()).channelsSat - bBefore).toBeLessThanOrEqual(paid.fee + 1)
    await expect
      .poll(async () => (await boxC.getBalances()).channelsSat, { timeout: 10_000 })
      .toBe(cBefore + 50_000)
    const aDrop = afterOpen.channelsSat - (await boxA.getBalances()).channelsSat
    expect(aDrop).toBeGreaterThanOrEqual(50_000 + paid.fee)
    expect(aDrop).toBeLessThanOrEqual(50_000 + paid.fee + 1)
  })
})
