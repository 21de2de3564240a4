// One scenario through the simulated world's façades, read at every step by the box's own
// clients (src/core/clients): bitcoind (JSON-RPC on the world chain) mines, electrs (following
// bitcoind over JSON-RPC) tells a subscribed wallet, a payment is broadcast through electrs and
// checked by the chain's policy, a confirmed deposit disappears with invalidateblock and comes
// back. Merkle proofs served by electrs are folded here up to bitcoind's own merkle root.
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { ElectrumClient } from '../../src/core/clients/electrum'
import { FlashError } from '../../src/core/errors'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { scriptHashOf } from '../simulators/electrum/script-index'
import { startElectrsSimulator, type ElectrsSimulator } from '../simulators/electrs-simulator'
import { TestKey, type SpendableCoin } from '../simulators/world/test-keys'

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
afterAll(async () => {
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
    const unconfirmed = bobStatuses.at(-1)
    expect(unconfirmed).not.toBe(confirmed)
    // Mined again (a new block at the same height): the same history, so the same status.
    await rpc.call('generatetoaddress', [1, burnAddress], Hashes)
    await expect.poll(() => bobStatuses.at(-1), { timeout: 10_000 }).toBe(confirmed)
    expect((await history()).every((h) => h.height === height)).toBe(true)
    expect(bobStatuses.slice(-3)).toEqual([confirmed, unconfirmed, confirmed])
  })
})
