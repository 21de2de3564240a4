// The Electrum-protocol client and the electrs metrics reader against the electrs SIMULATOR,
// which follows the bitcoind SIMULATOR (in-process, no Docker).
import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import {
  fetchElectrsIndexHeight,
  parseElectrsIndexHeight,
} from '../../src/core/clients/electrs-metrics'
import { ElectrumClient } from '../../src/core/clients/electrum'
import { FlashError } from '../../src/core/errors'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { scriptHashOf } from '../simulators/electrum/script-index'
import { startElectrsSimulator, type ElectrsSimulator } from '../simulators/electrs-simulator'
import { TestKey } from '../simulators/world/test-keys'

const USER = 'electrs'
const PASSWORD = 'electrs-password-123'
const quiet = () => {}

let bitcoind: BitcoindSimulator | undefined
let electrs: ElectrsSimulator | undefined
const clients: ElectrumClient[] = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  await electrs?.close()
  await bitcoind?.close()
  electrs = bitcoind = undefined
})

async function connect(sim: ElectrsSimulator, timeoutMs = 10_000) {
  const c = await ElectrumClient.connect({ host: sim.host, port: sim.electrumPort, timeoutMs })
  clients.push(c)
  return c
}

describe('electrs metrics parsing', () => {
  it('reads electrs_index_height{type="tip"} from Prometheus text', () => {
    const text = [
      '# HELP electrs_index_height Indexed block height',
      '# TYPE electrs_index_height gauge',
      'electrs_index_height{type="tip"} 871234',
      'electrs_index_db_properties{name="total-size"} 123',
    ].join('\n')
    expect(parseElectrsIndexHeight(text)).toBe(871234)
    expect(parseElectrsIndexHeight('# TYPE electrs_index_height gauge\n')).toBeUndefined()
  })
})

describe('Electrum client against the electrs SIMULATOR', () => {
  it('is silent while bitcoind syncs, refuses wallet calls while indexing, then serves and notifies', async () => {
    bitcoind = await startBitcoindSimulator({
      rpcauth: [makeRpcauth(USER, PASSWORD, 'aabbccddeeff00112233445566778899')],
      headers: 400,
      blocksPerSecond: 200,
      warmupMs: 500,
      log: quiet,
    })
    const rpc = new BitcoindRpc({ url: bitcoind.url, user: USER, password: PASSWORD })
    electrs = await startElectrsSimulator({
      bitcoind: { url: bitcoind.url, user: USER, password: PASSWORD },
      indexBlocksPerSecond: 100,
      pollMs: 200,
      log: quiet,
    })

    // Like electrs: the port is open, but nothing is answered before bitcoind has synced.
    expect(await fetchElectrsIndexHeight(electrs.metricsUrl)).toBeUndefined()
    const early = await connect(electrs, 1_000)
    const silent = await early.serverVersion().catch((e: FlashError) => e)
    expect(silent).toBeInstanceOf(FlashError)
    expect((silent as FlashError).code).toBe('electrs.timeout')

    // Indexing: progress shows on the metrics port; only header calls are served.
    await expect
      .poll(async () => (await fetchElectrsIndexHeight(electrs!.metricsUrl)) ?? -1, {
        timeout: 30_000,
        interval: 100,
      })
      .toBeGreaterThanOrEqual(0)
    const client = await connect(electrs)
    const indexing = (await fetchElectrsIndexHeight(electrs.metricsUrl)) ?? 0
    if (indexing < 350) {
      const refused = await client.getBalance('00'.repeat(32)).catch((e: FlashError) => e)
      expect((refused as FlashError).code).toBe('electrs.indexing')
    }
    expect(await client.serverVersion('flashbox-test', '1.4')).toEqual(['electrs/0.11.1', '1.4'])

    await expect
      .poll(async () => fetchElectrsIndexHeight(electrs!.metricsUrl), { timeout: 30_000 })
      .toBe(400)
    // Fully indexed: wallet calls work (electrs becomes ready right after the last batch).
    await expect
      .poll(
        async () =>
          client.ping().then(
            () => true,
            () => false,
          ),
        { timeout: 10_000 },
      )
      .toBe(true)
    expect(await client.banner()).toContain('electrs')

    const tips: number[] = []
    const tip = await client.subscribeHeaders((h) => tips.push(h.height))
    expect(tip.height).toBe(400)
    expect(tip.hex).toBe(await rpc.getBlockHeaderHex(await rpc.getBlockHash(400)))
    expect(await client.blockHeader(0)).toBe(await rpc.getBlockHeaderHex(await rpc.getBlockHash(0)))

    bitcoind.mine(2)
    await expect.poll(() => tips[tips.length - 1], { timeout: 20_000 }).toBe(402)

    // Fees are bitcoind's: estimatesmartfee's feerate (-1 when it has none), getnetworkinfo's relayfee.
    expect(await client.estimateFee(6)).toBe((await rpc.estimateSmartFee(6)).feerate ?? -1)
    expect(await client.relayFee()).toBe((await rpc.getNetworkInfo()).relayfee)
    const bad = await client.getBalance('not-a-script-hash').catch((e: FlashError) => e)
    expect((bad as FlashError).code).toBe('electrs.bad-script-hash')
  })

  it('notifies a script hash when a block on the world chain pays it', async () => {
    bitcoind = await startBitcoindSimulator({
      rpcauth: [makeRpcauth(USER, PASSWORD, 'ffeeddccbbaa99887766554433221100')],
      chain: true,
      log: quiet,
    })
    const rpc = new BitcoindRpc({ url: bitcoind.url, user: USER, password: PASSWORD })
    // A fresh regtest node is in initial block download until it has a block; electrs waits.
    const burn = TestKey.fromLabel('clients-electrs-miner').p2wpkh().address
    await rpc.call('generatetoaddress', [1, burn], z.array(z.string()))
    electrs = await startElectrsSimulator({
      bitcoind: { url: bitcoind.url, user: USER, password: PASSWORD },
      pollMs: 100,
      log: quiet,
    })
    const client = await connect(electrs)
    await expect
      .poll(
        async () =>
          client.ping().then(
            () => true,
            () => false,
          ),
        { timeout: 20_000 },
      )
      .toBe(true)
    // Script hashes: status per the Electrum protocol, notified when a block pays the script.
    const payee = TestKey.fromLabel('clients-electrs').p2wpkh()
    const sh = scriptHashOf(payee.output)
    const statuses: (string | null)[] = []
    expect(await client.subscribeScriptHash(sh, (s) => statuses.push(s))).toBeNull()
    const [hash] = await rpc.call('generatetoaddress', [1, payee.address], z.array(z.string()))
    const block = await rpc.call(
      'getblock',
      [hash, 2],
      z.object({
        height: z.number(),
        tx: z.array(z.object({ txid: z.string(), vout: z.array(z.object({ value: z.number() })) })),
      }),
    )
    const coinbase = block.tx[0]!
    const value = Math.round(coinbase.vout[0]!.value * 1e8)
    const expected = createHash('sha256').update(`${coinbase.txid}:${block.height}:`).digest('hex')
    await expect.poll(() => statuses[0], { timeout: 10_000 }).toBe(expected)
    expect(await client.getBalance(sh)).toEqual({ confirmed: value, unconfirmed: 0 })
    expect(await client.getHistory(sh)).toEqual([{ tx_hash: coinbase.txid, height: block.height }])
    expect(await client.listUnspent(sh)).toEqual([
      { tx_hash: coinbase.txid, tx_pos: 0, height: block.height, value },
    ])
  })

  it('reports a closed port and a dropped connection as FlashErrors', async () => {
    const refused = await ElectrumClient.connect({
      host: '127.0.0.1',
      port: 1,
      timeoutMs: 2_000,
    }).catch((e: FlashError) => e)
    expect((refused as FlashError).code).toBe('electrs.unreachable')

    bitcoind = await startBitcoindSimulator({
      rpcauth: [makeRpcauth(USER, PASSWORD, '00112233445566778899aabbccddeeff')],
      headers: 20,
      blocks: 20,
      log: quiet,
    })
    electrs = await startElectrsSimulator({
      bitcoind: { url: bitcoind.url, user: USER, password: PASSWORD },
      log: quiet,
    })
    const client = await connect(electrs)
    await expect
      .poll(
        async () =>
          client.ping().then(
            () => true,
            () => false,
          ),
        { timeout: 20_000 },
      )
      .toBe(true)
    const pending = client.subscribeHeaders().catch((e: unknown) => e)
    await electrs.close()
    electrs = undefined
    await pending
    const after = await client.ping().catch((e: FlashError) => e)
    expect((after as FlashError).code).toBe('electrs.disconnected')
  })
})
