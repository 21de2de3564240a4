// SIMULATOR — test-only, never imported by production code. Behaves like electrs 0.11, the
// version the stack pins (romanz/electrs v0.11.1: src/server.rs, src/daemon.rs, src/electrum.rs,
// src/status.rs; between v0.10.10 and v0.11.1 the protocol changed only in id_from_pos's key and
// the new broadcast_package, which is not simulated):
//  - the Prometheus endpoint (monitoring port, 4224 on mainnet) comes up first and exports
//    `electrs_index_height{type="tip"}`, the indexed height;
//  - the Electrum listener is bound at once, but nothing is answered while electrs waits for
//    bitcoind ("waiting for N blocks to download (IBD)", -28 warm-up retried);
//  - while indexing, only server.version, blockchain.block.header(s) and
//    blockchain.headers.subscribe are served; everything else answers
//    {"code": -32603, "message": "unavailable index"};
//  - once indexed, it follows bitcoind's chain (reorganisations included) and mempool and pushes
//    blockchain.headers.subscribe and blockchain.scripthash.subscribe notifications.
// It follows bitcoind only over JSON-RPC — getblockhash, getblock <hash> 0 (real serialized
// blocks), getrawmempool, getmempoolentry, getrawtransaction, sendrawtransaction,
// estimatesmartfee, getnetworkinfo — so in-process and in containers it sees exactly the chain the
// bitcoind simulator holds; coins reach a script hash only through transactions on that chain.
// (Real electrs reads blocks over P2P and is woken by P2P block announcements; this one polls.)
// Run alone: `npx tsx tests/simulators/electrs-simulator.ts` (see main()).
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { pathToFileURL } from 'node:url'
import { Transaction } from 'bitcoinjs-lib'
import { z } from 'zod'
import { headerHash, merkleProof } from './electrum/merkle'
import {
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  PARSE_ERROR,
  UNAVAILABLE_INDEX,
  ElectrumError,
  badRequest,
  compareVersions,
  daemonError,
  debugVersionRequest,
  oneOf,
  parseVersion,
  tuple,
  versionParams,
  type VersionRequest,
} from './electrum/params'
import { ScriptIndex, type MempoolTx } from './electrum/script-index'

export interface ElectrsSimulatorOptions {
  readonly bitcoind: { readonly url: string; readonly user: string; readonly password: string }
  /** Index speed in blocks per second during the initial index. */
  readonly indexBlocksPerSecond?: number
  readonly host?: string
  readonly electrumPort?: number
  readonly monitoringPort?: number
  /** How often bitcoind's tip and mempool are polled once indexed (electrs: --wait-duration-secs). */
  readonly pollMs?: number
  /** electrs' server_banner. */
  readonly banner?: string
  /**
   * Serve the Electrum protocol's optional `cp_height` argument of blockchain.block.header(s)
   * (ElectrumX does; electrs does not and answers -32602 invalid params). Default false.
   */
  readonly checkpoints?: boolean
  readonly log?: (line: string) => void
}

export interface ElectrsSimulator {
  readonly electrumPort: number
  readonly monitoringPort: number
  /** http://host:port/metrics (Prometheus text format). */
  readonly metricsUrl: string
  readonly host: string
  indexedHeight(): number
  /** Resolves after the next full sync round (tip, mempool, notifications). */
  synced(): Promise<void>
  close(): Promise<void>
}

const ELECTRS_VERSION = '0.11.1'
const PROTOCOL_VERSION = '1.4'
const MAX_HEADERS = 2016
const ALLOWED_WHILE_INDEXING = new Set([
  'server.version',
  'blockchain.block.header',
  'blockchain.block.headers',
  'blockchain.headers.subscribe',
])

/** An error answer of bitcoind's JSON-RPC. */
class BitcoindError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

type Settled = { ok: true; result: unknown } | { ok: false; error: BitcoindError }

export async function startElectrsSimulator(
  opts: ElectrsSimulatorOptions,
): Promise<ElectrsSimulator> {
  const host = opts.host ?? '127.0.0.1'
  const log = opts.log ?? ((l: string) => process.stdout.write(`[electrs SIMULATOR] ${l}\n`))
  const rate = opts.indexBlocksPerSecond ?? 500
  const pollMs = opts.pollMs ?? 1_000
  const auth =
    'Basic ' + Buffer.from(`${opts.bitcoind.user}:${opts.bitcoind.password}`).toString('base64')

  // --- bitcoind JSON-RPC ----------------------------------------------------------------------
  const rpcSettled = async (calls: { method: string; params: unknown[] }[]): Promise<Settled[]> => {
    if (calls.length === 0) return []
    const res = await fetch(opts.bitcoind.url, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: '2.0', id, ...c }))),
      signal: AbortSignal.timeout(30_000),
    })
    if (res.status === 401) throw new Error('bitcoind RPC: 401 Unauthorized')
    const body = (await res.json()) as {
      id: number
      result?: unknown
      error?: { code: number; message: string } | null
    }[]
    if (!Array.isArray(body)) throw new Error('bitcoind RPC: batch answered with a non-array')
    return calls.map((_, i): Settled => {
      const r = body.find((b) => b.id === i)
      if (!r) throw new Error('bitcoind RPC: missing reply')
      if (r.error) return { ok: false, error: new BitcoindError(r.error.code, r.error.message) }
      return { ok: true, result: r.result }
    })
  }
  const rpcBatch = async (calls: { method: string; params: unknown[] }[]): Promise<unknown[]> =>
    (await rpcSettled(calls)).map((r) => {
      if (!r.ok) throw r.error
      return r.result
    })
  const rpc = async (method: string, params: unknown[] = []) =>
    (await rpcBatch([{ method, params }]))[0]

  // --- state ---------------------------------------------------------------------------------
  const index = new ScriptIndex()
  const mempool = new Map<string, MempoolTx>()
  let phase: 'waiting' | 'indexing' | 'ready' = 'waiting'
  let closed = false
  const indexedHeight = () => index.tipHeight

  // --- Prometheus metrics (first, as electrs does) -------------------------------------------
  const metrics: HttpServer = createHttpServer((_req, res) => {
    const body =
      '# HELP electrs_index_height Indexed block height\n' +
      '# TYPE electrs_index_height gauge\n' +
      (index.tipHeight >= 0 ? `electrs_index_height{type="tip"} ${indexedHeight()}\n` : '') +
      '# HELP electrs_mempool_count SIMULATOR: transactions in the followed mempool\n' +
      '# TYPE electrs_mempool_count gauge\n' +
      `electrs_mempool_count ${mempool.size}\n` +
      '# HELP electrs_simulator_phase SIMULATOR only: 0 waiting for bitcoind, 1 indexing, 2 ready\n' +
      '# TYPE electrs_simulator_phase gauge\n' +
      `electrs_simulator_phase ${phase === 'waiting' ? 0 : phase === 'indexing' ? 1 : 2}\n`
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(body)
  })
  await new Promise<void>((resolve, reject) => {
    metrics.once('error', reject)
    metrics.listen(opts.monitoringPort ?? 0, host, () => resolve())
  })
  const monitoringPort = (metrics.address() as AddressInfo).port
  log(`serving Prometheus metrics on ${host}:${monitoringPort}`)

  // --- Electrum RPC --------------------------------------------------------------------------
  interface Peer {
    socket: Socket
    /** The tip hash last sent to this client (set by blockchain.headers.subscribe). */
    tip: string | null
    scripthashes: Map<string, string | null>
    pending: string[]
    queue: Promise<void>
  }
  const peers = new Set<Peer>()

  const tipNotification = () => ({ height: indexedHeight(), hex: index.header(indexedHeight())! })

  /** Header-hash merkle proof for cp_height (Electrum protocol 1.4). */
  const checkpoint = (height: number, cpHeight: number) => {
    if (height > cpHeight || cpHeight > indexedHeight())
      throw badRequest(
        `header height ${height} must be <= cp_height ${cpHeight} which must be <= chain height ${indexedHeight()}`,
      )
    const hashes = Array.from({ length: cpHeight + 1 }, (_, h) => index.blockHash(h)!)
    const proof = merkleProof(hashes, height)
    return { branch: proof.branch, root: proof.root }
  }

  const txFromHex = (hex: string): Transaction => {
    if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw badRequest('non-hex transaction')
    try {
      const tx = Transaction.fromHex(hex)
      if (tx.toHex() !== hex.toLowerCase()) throw new Error('trailing data')
      return tx
    } catch {
      throw badRequest('invalid transaction')
    }
  }

  /** bitcoind errors reach the client as electrs' DaemonError (code 2, bitcoind's message). */
  const daemon = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof BitcoindError) throw daemonError(err.message)
      throw err
    }
  }

  /** A method: its parameter shape (checked first, as Params::parse does) and its handler. */
  interface Method {
    readonly params: (params: unknown) => unknown[]
    readonly run: (args: unknown[], peer: Peer) => unknown
  }
  const none = () => []
  const scripthash = (params: unknown) => tuple(params, ['hash'])
  const methods: Record<string, Method> = {
    'server.version': {
      params: (p) => {
        const v = versionParams(p)
        return [v.client, v.request]
      },
      run: ([client, request]) => {
        const r = request as VersionRequest
        const ours = parseVersion(PROTOCOL_VERSION)!
        const [min, max] = 'single' in r ? [r.single, r.single] : [r.min, r.max]
        const lo = parseVersion(min)
        const hi = parseVersion(max)
        if (!lo || !hi || compareVersions(ours, lo) < 0 || compareVersions(ours, hi) > 0)
          throw badRequest(`unsupported request ${debugVersionRequest(r)} by ${String(client)}`)
        return [`electrs/${ELECTRS_VERSION}`, PROTOCOL_VERSION]
      },
    },
    'server.banner': {
      params: none,
      run: () =>
        opts.banner ?? `Welcome to electrs ${ELECTRS_VERSION} (Electrum Rust Server) — SIMULATOR!`,
    },
    'server.ping': { params: none, run: () => null },
    'server.donation_address': { params: none, run: () => null },
    'server.peers.subscribe': { params: none, run: () => [] },
    'server.features': {
      params: none,
      run: () => ({
        genesis_hash: index.blockHash(0),
        hosts: { tcp_port: electrumPort },
        protocol_max: PROTOCOL_VERSION,
        protocol_min: PROTOCOL_VERSION,
        pruning: null,
        server_version: `electrs/${ELECTRS_VERSION}`,
        hash_function: 'sha256',
      }),
    },
    'blockchain.headers.subscribe': {
      params: none,
      run: (_a, peer) => {
        peer.tip = index.blockHash(indexedHeight())!
        return tipNotification()
      },
    },
    'blockchain.block.header': {
      params: (p) =>
        opts.checkpoints ? oneOf(p, [['usize'], ['usize', 'usize']]) : tuple(p, ['usize']),
      run: ([height, cpHeight]) => {
        const h = height as number
        const header = index.header(h)
        if (!header) throw badRequest(`no header at ${h}`)
        if (!cpHeight) return header
        return { header, ...checkpoint(h, cpHeight as number) }
      },
    },
    'blockchain.block.headers': {
      params: (p) =>
        opts.checkpoints
          ? oneOf(p, [
              ['usize', 'usize'],
              ['usize', 'usize', 'usize'],
            ])
          : tuple(p, ['usize', 'usize']),
      run: ([start, count, cpHeight]) => {
        const s = start as number
        const end = Math.min(indexedHeight() + 1, s + Math.min(count as number, MAX_HEADERS))
        const hex = end > s ? index.headers(s, end - s) : []
        const reply = { count: hex.length, hex: hex.join(''), max: MAX_HEADERS }
        if (!cpHeight || hex.length === 0) return reply
        return { ...reply, ...checkpoint(s + hex.length - 1, cpHeight as number) }
      },
    },
    'blockchain.estimatefee': {
      params: (p) => tuple(p, ['u16']),
      run: async ([target]) => {
        try {
          const r = (await rpc('estimatesmartfee', [target])) as { feerate?: number }
          return r.feerate ?? -1
        } catch (err) {
          // electrs: fee estimation disabled (-32603) means "unknown", not a failure.
          if (err instanceof BitcoindError && err.code === -32603) return -1
          if (err instanceof BitcoindError) throw daemonError(err.message)
          throw err
        }
      },
    },
    'blockchain.relayfee': {
      params: none,
      run: async () =>
        ((await daemon(() => rpc('getnetworkinfo'))) as { relayfee: number }).relayfee,
    },
    'blockchain.scripthash.get_balance': {
      params: scripthash,
      run: ([sh]) => index.balance(sh as string),
    },
    'blockchain.scripthash.get_history': {
      params: scripthash,
      run: ([sh]) => index.history(sh as string),
    },
    'blockchain.scripthash.listunspent': {
      params: scripthash,
      run: ([sh]) => index.unspent(sh as string),
    },
    'blockchain.scripthash.subscribe': {
      params: scripthash,
      run: ([sh], peer) => {
        const status = index.status(sh as string)
        peer.scripthashes.set(sh as string, status)
        return status
      },
    },
    'blockchain.scripthash.unsubscribe': {
      params: scripthash,
      run: ([sh], peer) => peer.scripthashes.delete(sh as string),
    },
    'blockchain.transaction.get': {
      params: (p) => oneOf(p, [['hash'], ['hash', 'bool']]),
      run: async ([id, verbose]) => {
        const txid = id as string
        if (verbose) {
          const height = confirmedHeight(txid)
          return daemon(() =>
            rpc('getrawtransaction', [
              txid,
              true,
              ...(height !== undefined ? [index.blockHash(height)] : []),
            ]),
          )
        }
        const confirmed = index.confirmedTx(txid)
        if (confirmed) return confirmed
        return daemon(() => rpc('getrawtransaction', [txid, false]))
      },
    },
    'blockchain.transaction.get_merkle': {
      params: (p) => tuple(p, ['hash', 'usize']),
      run: ([id, height]) => {
        const h = height as number
        const txids = index.txids(h)
        if (!txids) throw badRequest(`missing block at ${h}`)
        const pos = txids.indexOf(id as string)
        if (pos < 0) throw badRequest(`missing txid ${String(id)} in block ${index.blockHash(h)}`)
        return { block_height: h, merkle: merkleProof(txids, pos).branch, pos }
      },
    },
    'blockchain.transaction.id_from_pos': {
      params: (p) =>
        oneOf(p, [
          ['usize', 'usize'],
          ['usize', 'usize', 'bool'],
        ]),
      run: ([height, pos, merkle]) => {
        const txids = index.txids(height as number)
        if (!txids) throw badRequest(`missing block at ${String(height)}`)
        const i = pos as number
        if (i >= txids.length)
          throw badRequest(`invalid tx_pos ${i} in block at height ${String(height)}`)
        // electrs answers an object either way (v0.11: "tx_hash"; v0.10 said "tx_id"), not the
        // bare hash the protocol documents for merkle=false.
        return merkle
          ? { tx_hash: txids[i], merkle: merkleProof(txids, i).branch }
          : { tx_hash: txids[i] }
      },
    },
    'blockchain.transaction.broadcast': {
      params: (p) => tuple(p, ['string']),
      run: async ([hex]) => {
        const tx = txFromHex(hex as string)
        const txid = await daemon(() => rpc('sendrawtransaction', [tx.toHex()]))
        wake()
        return txid
      },
    },
  }

  const confirmedHeight = (txid: string): number | undefined => {
    for (let h = indexedHeight(); h >= 0; h--) if (index.txids(h)!.includes(txid)) return h
    return undefined
  }

  const reply = (id: unknown, body: { result: unknown } | { error: ElectrumError }) =>
    'error' in body
      ? { jsonrpc: '2.0', id, error: { code: body.error.code, message: body.error.message } }
      : { jsonrpc: '2.0', id, result: body.result }

  const handleOne = async (req: unknown, peer: Peer): Promise<unknown> => {
    const r = req as { id?: unknown; method?: unknown; params?: unknown }
    // electrs' Request: `id` and `method` are required, `params` defaults to null.
    if (!r || typeof r !== 'object' || !('id' in r) || typeof r.method !== 'string')
      return reply(null, { error: INVALID_REQUEST })
    const id = r.id
    const method = methods[r.method]
    if (!method) return reply(id, { error: METHOD_NOT_FOUND })
    try {
      const args = method.params(r.params ?? null)
      if (phase !== 'ready' && !ALLOWED_WHILE_INDEXING.has(r.method)) throw UNAVAILABLE_INDEX
      return reply(id, { result: await method.run(args, peer) })
    } catch (err) {
      if (err instanceof ElectrumError) return reply(id, { error: err })
      return reply(id, { error: badRequest(String((err as Error).message ?? err)) })
    }
  }

  const handleLine = async (line: string, peer: Peer) => {
    let msg: unknown
    try {
      msg = JSON.parse(line)
    } catch {
      write(peer, reply(null, { error: PARSE_ERROR }))
      return
    }
    const answer = Array.isArray(msg)
      ? await Promise.all(msg.map((m) => handleOne(m, peer)))
      : await handleOne(msg, peer)
    write(peer, answer)
  }
  const write = (peer: Peer, message: unknown) => {
    if (!peer.socket.destroyed) peer.socket.write(JSON.stringify(message) + '\n')
  }
  /** electrs answers one client's lines in order. */
  const enqueue = (peer: Peer, line: string) => {
    peer.queue = peer.queue.then(() => handleLine(line, peer)).catch(() => {})
  }

  const electrum: Server = createServer((socket) => {
    const peer: Peer = {
      socket,
      tip: null,
      scripthashes: new Map(),
      pending: [],
      queue: Promise.resolve(),
    }
    peers.add(peer)
    let buffer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      if (buffer.length > 1_000_000) socket.destroy()
      let nl: number
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim()
        buffer = buffer.slice(nl + 1)
        if (!line) continue
        // electrs answers nothing until it has connected to a synced bitcoind.
        if (phase === 'waiting') peer.pending.push(line)
        else enqueue(peer, line)
      }
    })
    socket.on('close', () => peers.delete(peer))
    socket.on('error', () => peers.delete(peer))
  })
  await new Promise<void>((resolve, reject) => {
    electrum.once('error', reject)
    electrum.listen(opts.electrumPort ?? 0, host, () => resolve())
  })
  const electrumPort = (electrum.address() as AddressInfo).port
  log(`serving Electrum RPC on ${host}:${electrumPort}`)

  /** electrs' Rpc::update_client: changed statuses, then the new tip if it moved. */
  const notifyPeers = () => {
    const tipHash = index.blockHash(indexedHeight())
    for (const peer of peers) {
      if (peer.socket.destroyed) continue
      for (const [sh, last] of peer.scripthashes) {
        const now = index.status(sh)
        if (now !== last) {
          peer.scripthashes.set(sh, now)
          write(peer, {
            jsonrpc: '2.0',
            method: 'blockchain.scripthash.subscribe',
            params: [sh, now],
          })
        }
      }
      if (peer.tip !== null && tipHash && peer.tip !== tipHash) {
        peer.tip = tipHash
        write(peer, {
          jsonrpc: '2.0',
          method: 'blockchain.headers.subscribe',
          params: [tipNotification()],
        })
      }
    }
  }

  // --- the daemon loop: wait for bitcoind, index, follow ----------------------------------------
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref())
  let wakeUp: (() => void) | null = null
  const wake = () => wakeUp?.()
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms)
      t.unref()
      function done() {
        clearTimeout(t)
        wakeUp = null
        resolve()
      }
      wakeUp = done
    })
  const roundWaiters: (() => void)[] = []

  const waitForBitcoind = async () => {
    let lastLog = 0
    while (!closed) {
      try {
        const info = (await rpc('getblockchaininfo')) as {
          blocks: number
          headers: number
          initialblockdownload: boolean
        }
        const left = info.headers - info.blocks
        if (!info.initialblockdownload && left <= 0) return
        if (Date.now() - lastLog > 5_000) {
          log(`waiting for ${left} blocks to download${info.initialblockdownload ? ' (IBD)' : ''}`)
          lastLog = Date.now()
        }
      } catch (err) {
        if (!(err instanceof BitcoindError && err.code === -28) && Date.now() - lastLog > 5_000) {
          log(`daemon not available: ${String((err as Error).message)}`)
          lastLog = Date.now()
        }
      }
      await sleep(500)
    }
  }

  /** A bitcoind SIMULATOR in sync mode has headers and no blocks or mempool. */
  let headersOnly = false
  /** Indexes blocks [from, to] in batches (paced to `rate` blocks per second when `paced`). */
  const indexRange = async (from: number, to: number, paced: boolean) => {
    const chunk = paced ? Math.max(1, Math.min(200, Math.floor(rate / 4))) : 200
    for (let h = from; h <= to && !closed; h += chunk) {
      const started = Date.now()
      const heights = Array.from({ length: Math.min(chunk, to - h + 1) }, (_, i) => h + i)
      const hashes = (await rpcBatch(
        heights.map((x) => ({ method: 'getblockhash', params: [x] })),
      )) as string[]
      if (!headersOnly) {
        const blocks = await rpcSettled(hashes.map((x) => ({ method: 'getblock', params: [x, 0] })))
        const first = blocks[0]
        if (first && !first.ok && first.error.code === -32601) {
          headersOnly = true
          log('bitcoind serves no blocks (a SIMULATOR in sync mode): indexing headers only')
        } else {
          for (const [i, b] of blocks.entries()) {
            if (!b.ok) throw b.error
            const hex = b.result as string
            const got = headerHash(hex.slice(0, 160))
            if (got !== hashes[i]) throw new Error(`bitcoind sent block ${got} for ${hashes[i]}`)
            index.connect(hex)
          }
        }
      }
      if (headersOnly) {
        const raw = (await rpcBatch(
          hashes.map((x) => ({ method: 'getblockheader', params: [x, false] })),
        )) as string[]
        for (const hex of raw) index.connectHeader(hex)
      }
      if (paced) {
        const wait = (heights.length / rate) * 1000 - (Date.now() - started)
        if (wait > 0) await sleep(wait)
        if (
          Math.floor(indexedHeight() / 1000) !==
          Math.floor((indexedHeight() - heights.length) / 1000)
        )
          log(`indexed ${indexedHeight() + 1} blocks`)
      }
      if (phase !== 'ready') notifyPeers()
    }
  }

  /** Follows bitcoind's best chain: undoes blocks no longer on it, then indexes new ones. */
  const syncChain = async (paced: boolean): Promise<boolean> => {
    const [best, count] = (await rpcBatch([
      { method: 'getbestblockhash', params: [] },
      { method: 'getblockcount', params: [] },
    ])) as [string, number]
    if (best === index.blockHash(indexedHeight())) return false
    let fork = Math.min(indexedHeight(), count)
    while (fork >= 0 && (await rpc('getblockhash', [fork])) !== index.blockHash(fork)) fork--
    if (fork < indexedHeight()) {
      log(`chain reorganised: undoing ${indexedHeight() - fork} block(s) above height ${fork}`)
      while (indexedHeight() > fork) index.disconnectTip()
    }
    await indexRange(fork + 1, count, paced)
    return true
  }

  /** electrs' Mempool::sync: new txids are fetched (entry + transaction), gone ones dropped. */
  const syncMempool = async (blocksChanged: boolean): Promise<boolean> => {
    if (headersOnly) return false
    const txids = new Set((await rpc('getrawmempool')) as string[])
    let changed = false
    for (const txid of mempool.keys())
      if (!txids.has(txid)) {
        mempool.delete(txid)
        changed = true
      }
    // Transactions whose parents may just have confirmed are asked about again, so their height
    // turns from -1 to 0 (electrs keeps the flag it first saw; the protocol asks for this).
    const stale = blocksChanged
      ? [...mempool].filter(([, e]) => e.hasUnconfirmedInputs).map(([t]) => t)
      : []
    const fetchList = [...[...txids].filter((t) => !mempool.has(t)), ...stale]
    for (let i = 0; i < fetchList.length; i += 500) {
      const chunk = fetchList.slice(i, i + 500)
      const entries = await rpcSettled(
        chunk.map((t) => ({ method: 'getmempoolentry', params: [t] })),
      )
      const raws = await rpcSettled(
        chunk.map((t) => ({ method: 'getrawtransaction', params: [t, false] })),
      )
      for (const [j, txid] of chunk.entries()) {
        const e = entries[j]!
        const r = raws[j]!
        if (!e.ok || !r.ok) {
          // gone between the calls (mined or replaced): like electrs, skip it this round
          mempool.delete(txid)
          continue
        }
        const entry = e.result as { fees: { base: number }; depends: string[] }
        const before = mempool.get(txid)
        const hasUnconfirmedInputs = entry.depends.length > 0
        if (before && before.hasUnconfirmedInputs === hasUnconfirmedInputs) continue
        mempool.set(txid, {
          hex: r.result as string,
          fee: Math.round(entry.fees.base * 1e8),
          hasUnconfirmedInputs,
        })
        changed = true
      }
    }
    if (changed || blocksChanged) index.setMempool(mempool)
    return changed
  }

  const loop = (async () => {
    await waitForBitcoind()
    if (closed) return
    phase = 'indexing'
    log('starting initial sync')
    for (const peer of peers) for (const line of peer.pending.splice(0)) enqueue(peer, line)
    while (!closed && (await syncChain(true))) {
      // until bitcoind's tip stops moving
    }
    if (closed) return
    await syncMempool(true)
    phase = 'ready'
    log(`finished full compaction; index is ready at height ${indexedHeight()}`)
    while (!closed) {
      await nap(pollMs)
      if (closed) break
      try {
        // The tip and the mempool are read with separate calls; a block found in between would
        // pair the old chain with the new mempool, so the round is repeated until the tip held.
        let changed = false
        for (let attempt = 0; attempt < 5; attempt++) {
          const blocks = await syncChain(false)
          changed = (await syncMempool(blocks)) || blocks || changed
          if ((await rpc('getbestblockhash')) === index.blockHash(indexedHeight())) break
        }
        if (changed) notifyPeers()
      } catch (err) {
        // bitcoind restarting, or its tip moved mid-round: next round
        log(`sync failed: ${String((err as Error).message ?? err)}`)
      }
      for (const w of roundWaiters.splice(0)) w()
    }
  })().catch((err: unknown) => {
    if (!closed) log(`electrs failed: ${String((err as Error).message ?? err)}`)
  })

  return {
    electrumPort,
    monitoringPort,
    host: host === '0.0.0.0' ? '127.0.0.1' : host,
    metricsUrl: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${monitoringPort}/metrics`,
    indexedHeight,
    synced: () =>
      new Promise<void>((resolve) => {
        roundWaiters.push(resolve)
        wake()
      }),
    close: async () => {
      closed = true
      wake()
      for (const w of roundWaiters.splice(0)) w()
      for (const p of peers) p.socket.destroy()
      await Promise.all([
        new Promise<void>((r) => electrum.close(() => r())),
        new Promise<void>((r) => {
          metrics.closeAllConnections()
          metrics.close(() => r())
        }),
      ])
      await Promise.race([loop, sleep(2_000)])
    },
  }
}

const EnvSchema = z.object({
  ELECTRS_SIM_BITCOIND_URL: z.string().url().optional(),
  ELECTRS_SIM_BITCOIND_USER: z.string().min(1).optional(),
  ELECTRS_SIM_BITCOIND_PASSWORD: z.string().min(1).optional(),
  ELECTRS_SIM_HOST: z.string().optional(),
  ELECTRS_SIM_ELECTRUM_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  ELECTRS_SIM_MONITORING_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  ELECTRS_SIM_INDEX_BLOCKS_PER_SECOND: z.coerce.number().positive().default(500),
  ELECTRS_SIM_POLL_MS: z.coerce.number().int().min(10).default(1_000),
  ELECTRS_SIM_CP_HEIGHT: z.enum(['0', '1']).default('0'),
})

/** electrs' default ports by network (src/config.rs). */
const DEFAULTS: Record<string, { rpc: number; electrum: number; monitoring: number }> = {
  bitcoin: { rpc: 8332, electrum: 50001, monitoring: 4224 },
  testnet: { rpc: 18332, electrum: 60001, monitoring: 14224 },
  testnet4: { rpc: 48332, electrum: 40001, monitoring: 44224 },
  regtest: { rpc: 18443, electrum: 60401, monitoring: 24224 },
  signet: { rpc: 38332, electrum: 60601, monitoring: 34224 },
}

export interface ElectrsConf {
  network?: string
  daemon_rpc_addr?: string
  auth?: string
  electrum_rpc_addr?: string
  monitoring_addr?: string
  server_banner?: string
}

/** Reads the `key = "value"` lines of electrs' config.toml (the keys the simulator honours). */
export function parseElectrsConf(toml: string): ElectrsConf {
  const out: Record<string, string> = {}
  for (const raw of toml.split(/\r?\n/)) {
    const m = /^\s*([a-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^#\s]+))/.exec(raw)
    if (m) out[m[1]!] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? m[4]!)
  }
  return out as ElectrsConf
}

const splitAddr = (addr: string): [string, number] => {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr)
  if (!m) throw new Error(`bad address ${addr}`)
  return [m[1]!, Number(m[2])]
}

/**
 * Runs the simulator as a process, configured like electrs (`--conf /data/config.toml`, honouring
 * network, daemon_rpc_addr, auth, electrum_rpc_addr, monitoring_addr, server_banner) and/or env:
 * ELECTRS_SIM_BITCOIND_URL, ELECTRS_SIM_BITCOIND_USER, ELECTRS_SIM_BITCOIND_PASSWORD,
 * ELECTRS_SIM_HOST, ELECTRS_SIM_ELECTRUM_PORT, ELECTRS_SIM_MONITORING_PORT (defaults: electrs'
 * per network, e.g. regtest 60401 / 24224), ELECTRS_SIM_INDEX_BLOCKS_PER_SECOND, ELECTRS_SIM_POLL_MS,
 * ELECTRS_SIM_CP_HEIGHT (1: serve cp_height).
 */
export async function main(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const cfg = EnvSchema.parse(env)
  const confIndex = argv.findIndex((a) => a === '--conf' || a.startsWith('--conf='))
  const confPath =
    confIndex < 0
      ? undefined
      : argv[confIndex]!.startsWith('--conf=')
        ? argv[confIndex]!.slice('--conf='.length)
        : argv[confIndex + 1]
  const { readFileSync } = await import('node:fs')
  const conf = confPath ? parseElectrsConf(readFileSync(confPath, 'utf8')) : {}
  const net = DEFAULTS[conf.network ?? 'regtest'] ?? DEFAULTS.regtest!
  const [authUser, authPass] = conf.auth
    ? [conf.auth.slice(0, conf.auth.indexOf(':')), conf.auth.slice(conf.auth.indexOf(':') + 1)]
    : [undefined, undefined]
  const user = cfg.ELECTRS_SIM_BITCOIND_USER ?? authUser
  const password = cfg.ELECTRS_SIM_BITCOIND_PASSWORD ?? authPass
  if (!user || !password)
    throw new Error(
      'no bitcoind credentials: set auth in --conf or ELECTRS_SIM_BITCOIND_USER/_PASSWORD',
    )
  const [rpcHost, rpcPort] = conf.daemon_rpc_addr
    ? splitAddr(conf.daemon_rpc_addr)
    : ['127.0.0.1', net.rpc]
  const electrumAddr = conf.electrum_rpc_addr ? splitAddr(conf.electrum_rpc_addr) : undefined
  const monitoringAddr = conf.monitoring_addr ? splitAddr(conf.monitoring_addr) : undefined
  const sim = await startElectrsSimulator({
    bitcoind: {
      url: cfg.ELECTRS_SIM_BITCOIND_URL ?? `http://${rpcHost}:${rpcPort}`,
      user,
      password,
    },
    host: cfg.ELECTRS_SIM_HOST ?? electrumAddr?.[0] ?? '0.0.0.0',
    electrumPort: cfg.ELECTRS_SIM_ELECTRUM_PORT ?? electrumAddr?.[1] ?? net.electrum,
    monitoringPort: cfg.ELECTRS_SIM_MONITORING_PORT ?? monitoringAddr?.[1] ?? net.monitoring,
    indexBlocksPerSecond: cfg.ELECTRS_SIM_INDEX_BLOCKS_PER_SECOND,
    pollMs: cfg.ELECTRS_SIM_POLL_MS,
    checkpoints: cfg.ELECTRS_SIM_CP_HEIGHT === '1',
    ...(conf.server_banner ? { banner: conf.server_banner } : {}),
  })
  const stop = () => {
    process.stdout.write('[electrs SIMULATOR] stopping Electrum server\n')
    void sim.close().then(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`[electrs SIMULATOR] fatal: ${String(err)}\n`)
    process.exit(1)
  })
}
