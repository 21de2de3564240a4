// SIMULATOR support — test-only. An LND chain backend that follows a bitcoind over JSON-RPC, as
// LND's bitcoind backend does (LND also takes ZMQ; polling the same RPCs gives the same view a
// few hundred ms later): getblockhash/getblock(hash, 0) for blocks (reorgs found by comparing
// hashes), getrawmempool + getrawtransaction for the mempool, estimatesmartfee for fees, and
// sendrawtransaction to broadcast. Used by the standalone process (lnd-world-simulator.ts) so a
// container can point at the world's bitcoind simulator (or any regtest bitcoind).
import { spawnSync } from 'node:child_process'
import * as bitcoin from 'bitcoinjs-lib'
import {
  FALLBACK_FEE_SAT_PER_VB,
  type BackendBlock,
  type LndChainBackend,
} from './lnd-chain-backend'

export interface BitcoindRpc {
  readonly url: string
  readonly user: string
  readonly password: string
}

export class BitcoindRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

interface RpcAnswer {
  result: unknown
  error: { code: number; message: string } | null
}

async function rpcBatch(
  rpc: BitcoindRpc,
  calls: readonly { method: string; params: unknown[] }[],
): Promise<RpcAnswer[]> {
  const res = await fetch(rpc.url, {
    method: 'POST',
    headers: {
      authorization: 'Basic ' + Buffer.from(`${rpc.user}:${rpc.password}`).toString('base64'),
      'content-type': 'application/json',
    },
    body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: '1.0', id, ...c }))),
    signal: AbortSignal.timeout(30_000),
  })
  if (res.status === 401) throw new BitcoindRpcError(-1, 'bitcoind refused the RPC credentials')
  const body = (await res.json()) as (RpcAnswer & { id: number })[]
  return body.sort((a, b) => a.id - b.id)
}

async function rpcCall<T>(rpc: BitcoindRpc, method: string, params: unknown[] = []): Promise<T> {
  const [a] = await rpcBatch(rpc, [{ method, params }])
  if (!a || a.error)
    throw new BitcoindRpcError(a?.error?.code ?? -1, a?.error?.message ?? 'no answer')
  return a.result as T
}

/**
 * One blocking JSON-RPC call (a child node process), so `broadcast` can refuse synchronously
 * with bitcoind's own reason, as the in-process chain does.
 */
function rpcCallSync<T>(rpc: BitcoindRpc, method: string, params: unknown[]): T {
  const script = `
    const [url, auth, body] = process.argv.slice(1)
    fetch(url, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body })
      .then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { process.stdout.write(JSON.stringify({ error: { code: -1, message: String(e) } })) })`
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      script,
      rpc.url,
      'Basic ' + Buffer.from(`${rpc.user}:${rpc.password}`).toString('base64'),
      JSON.stringify({ jsonrpc: '1.0', id: 0, method, params }),
    ],
    { encoding: 'utf8', timeout: 30_000 },
  )
  const a = JSON.parse(r.stdout || '{"error":{"code":-1,"message":"no answer"}}') as RpcAnswer
  if (a.error) throw new BitcoindRpcError(a.error.code, a.error.message)
  return a.result as T
}

export interface BitcoindBackend extends LndChainBackend {
  /** Fetches new blocks and the mempool now (the poller does this every `pollMs`). */
  refresh(): Promise<void>
  /** regtest: generatetoaddress. */
  mine(n: number, address: string): Promise<void>
  close(): void
}

/**
 * Follows bitcoind from `fromHeight` (blocks below it are known by hash only — a wallet born
 * later cannot have coins there). Resolves once the first sync is done.
 */
export async function bitcoindChainBackend(o: {
  rpc: BitcoindRpc
  network: bitcoin.Network
  fromHeight?: number
  pollMs?: number
  log?: (line: string) => void
}): Promise<BitcoindBackend> {
  const blocks: BackendBlock[] = []
  const mempool = new Map<string, bitcoin.Transaction>()
  const listeners = new Set<() => void>()
  let feeSatPerVb = FALLBACK_FEE_SAT_PER_VB
  let busy: Promise<void> | null = null
  const from = o.fromHeight ?? 0

  const sync = async (): Promise<boolean> => {
    let changed = false
    const count = await rpcCall<number>(o.rpc, 'getblockcount')
    // Drop blocks bitcoind no longer has on its best chain.
    while (blocks.length) {
      const top = blocks[blocks.length - 1]!
      if (top.height <= count) {
        const hash = await rpcCall<string>(o.rpc, 'getblockhash', [top.height])
        if (hash === top.hash) break
      }
      blocks.pop()
      changed = true
    }
    for (let h = blocks.length; h <= count; h += 50) {
      const heights = Array.from({ length: Math.min(50, count - h + 1) }, (_, i) => h + i)
      const hashes = await rpcBatch(
        o.rpc,
        heights.map((x) => ({ method: 'getblockhash', params: [x] })),
      )
      const full = heights.filter((x) => x >= from)
      const raw = full.length
        ? await rpcBatch(
            o.rpc,
            full.map((x) => ({ method: 'getblock', params: [hashes[x - h]!.result, 0] })),
          )
        : []
      for (const x of heights) {
        const hash = hashes[x - h]!.result as string
        const hex = x >= from ? (raw[x - full[0]!]?.result as string | undefined) : undefined
        const block = hex ? bitcoin.Block.fromHex(hex) : null
        blocks.push({
          height: x,
          hash,
          time: block?.timestamp ?? 0,
          txs: block?.transactions ?? [],
        })
      }
      changed = true
    }
    const ids = await rpcCall<string[]>(o.rpc, 'getrawmempool')
    const want = new Set(ids)
    for (const id of [...mempool.keys()])
      if (!want.has(id)) {
        mempool.delete(id)
        changed = true
      }
    const missing = ids.filter((id) => !mempool.has(id))
    if (missing.length) {
      const txs = await rpcBatch(
        o.rpc,
        missing.map((id) => ({ method: 'getrawtransaction', params: [id] })),
      )
      txs.forEach((t) => {
        if (typeof t.result === 'string') {
          const tx = bitcoin.Transaction.fromHex(t.result)
          mempool.set(tx.getId(), tx)
        }
      })
      changed = true
    }
    const fee = await rpcBatch(o.rpc, [{ method: 'estimatesmartfee', params: [6] }])
    const rate = (fee[0]?.result as { feerate?: number } | undefined)?.feerate
    feeSatPerVb = rate ? rate * 100_000 : FALLBACK_FEE_SAT_PER_VB
    return changed
  }

  const refresh = async (): Promise<void> => {
    if (busy) return busy
    busy = sync()
      .then((changed) => {
        if (changed) for (const l of listeners) l()
      })
      .finally(() => {
        busy = null
      })
    return busy
  }

  // Like LND, wait for the chain backend to answer before serving anything.
  for (let attempt = 0; ; attempt++) {
    try {
      await refresh()
      break
    } catch (err) {
      if (attempt % 10 === 0) o.log?.(`Waiting for bitcoind at ${o.rpc.url}: ${String(err)}`)
      await new Promise((r) => setTimeout(r, 1_000))
    }
  }
  const timer = setInterval(() => {
    refresh().catch((err: unknown) => o.log?.(`bitcoind not answering: ${String(err)}`))
  }, o.pollMs ?? 500)
  timer.unref()

  return {
    network: o.network,
    tipHeight: () => blocks.length - 1,
    block: (h) => blocks[h] ?? null,
    broadcast: (tx) => {
      rpcCallSync<string>(o.rpc, 'sendrawtransaction', [tx.toHex()])
      mempool.set(tx.getId(), tx)
    },
    mempool: () => [...mempool.values()],
    feeRate: () => feeSatPerVb,
    subscribe: (cb) => {
      listeners.add(cb)
      return () => listeners.delete(cb)
    },
    refresh,
    mine: async (n, address) => {
      await rpcCall(o.rpc, 'generatetoaddress', [n, address])
      await refresh()
    },
    close: () => clearInterval(timer),
  }
}
