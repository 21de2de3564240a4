// A wallet's day on the bitcoind simulator (world mode), over JSON-RPC only: a fresh regtest node in
// IBD, mining to a descriptor, a real signed payment through sendrawtransaction, confirmation, and a
// reorg by invalidateblock that puts the payment back into the mempool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { TestKey } from '../simulators/world/test-keys'

let sim: BitcoindSimulator
let id = 0
async function rpc<T = unknown>(
  method: string,
  params: unknown[] | Record<string, unknown> = [],
): Promise<T> {
  const res = await fetch(sim.url, {
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from('u:p').toString('base64') },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
  })
  const body = (await res.json()) as { result?: T; error?: { code: number; message: string } }
  if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code })
  return body.result as T
}

const alice = TestKey.fromLabel('scenario-alice')
const bob = TestKey.fromLabel('scenario-bob')

beforeAll(async () => {
  sim = await startBitcoindSimulator({
    rpcauth: [makeRpcauth('u', 'p', '0123456789abcdef0123456789abcdef')],
    chain: true,
    log: () => undefined,
  })
})
afterAll(async () => {
  await sim?.close()
})

describe('bitcoind simulator (world mode): pay, confirm, reorg over JSON-RPC', () => {
  it('runs the scenario', async () => {
    const fresh = await rpc<{ blocks: number; initialblockdownload: boolean }>('getblockchaininfo')
    expect(fresh).toMatchObject({ blocks: 0, initialblockdownload: true })
    expect(await rpc('estimatesmartfee', [6])).toEqual({
      errors: ['Insufficient data or no feerate found'],
      blocks: 0,
    })

    const desc = `wpkh(${Buffer.from(alice.publicKey).toString('hex')})`
    const [first] = await rpc<string[]>('generatetodescriptor', { num_blocks: 1, descriptor: desc })
    await rpc('generatetoaddress', [100, bob.p2wpkh().address])
    expect(await rpc('getblockchaininfo')).toMatchObject({
      blocks: 101,
      initialblockdownload: false,
    })

    const block = await rpc<{ tx: Array<{ txid: string; vout: Array<{ value: number }> }> }>(
      'getblock',
      [first, 2],
    )
    const cb = block.tx[0]!
    expect(cb.vout[0]!.value).toBe(50)
    const coin = { txid: cb.txid, vout: 0, value: 5_000_000_000n, script: alice.p2wpkh().output }
    const pay = alice.spend([coin], [{ script: bob.p2wpkh().output, value: 100_000_000n }], 2)

    // A wrong signature is refused with Core's reason; the right one enters the mempool.
    const forged = pay.clone()
    bob.signInput(forged, 0, [{ script: bob.p2wpkh().output, value: coin.value }])
    await expect(rpc('sendrawtransaction', [forged.toHex()])).rejects.toMatchObject({ code: -26 })
    expect(await rpc('sendrawtransaction', [pay.toHex()])).toBe(pay.getId())
    expect(await rpc('getrawmempool')).toEqual([pay.getId()])
    expect(await rpc('getmempoolentry', [pay.getId()])).toMatchObject({
      vsize: pay.virtualSize(),
      ancestorcount: 1,
    })
    expect(await rpc('gettxout', [cb.txid, 0])).toBeNull() // spent in the mempool
    expect(await rpc('gettxout', [cb.txid, 0, false])).toMatchObject({ value: 50, coinbase: true })

    const [confirmedIn] = await rpc<string[]>('generatetoaddress', [1, bob.p2wpkh().address])
    expect(await rpc('getrawmempool')).toEqual([])
    expect(await rpc('getrawtransaction', [pay.getId(), 1])).toMatchObject({
      blockhash: confirmedIn,
      confirmations: 1,
    })

    // The deposit disappears with its block and comes back to the mempool.
    expect(await rpc('invalidateblock', [confirmedIn])).toBeNull()
    expect(await rpc('getblockcount')).toBe(101)
    expect(await rpc('getrawmempool')).toEqual([pay.getId()])
    const tips = await rpc<Array<{ status: string; hash: string }>>('getchaintips')
    expect(tips).toContainEqual(expect.objectContaining({ hash: confirmedIn, status: 'invalid' }))
    const [again] = await rpc<string[]>('generatetoaddress', [1, bob.p2wpkh().address])
    expect(again).not.toBe(confirmedIn)
    expect(await rpc('getrawtransaction', [pay.getId(), true])).toMatchObject({ blockhash: again })
  })
})
