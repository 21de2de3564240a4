// SIMULATOR — test-only, never imported by production code. Behaves like electrs 0.10
// (romanz/electrs v0.10.10: src/server.rs, src/daemon.rs, src/electrum.rs, src/index.rs):
//  - the Prometheus endpoint (monitoring port, 4224 on mainnet) comes up first and exports
//    `electrs_index_height{type="tip"}`, the indexed height;
//  - the Electrum listener is bound at once, but nothing is answered while electrs waits for
//    bitcoind ("waiting for N blocks to download (IBD)", -28 warm-up retried);
//  - while indexing, only server.version, blockchain.block.header(s) and
//    blockchain.headers.subscribe are served; everything else answers
//    {"code": -32603, "message": "unavailable index"};
//  - once indexed, new blocks are followed and pushed to blockchain.headers.subscribe clients.
// Headers come from bitcoind over JSON-RPC (batches of getblockhash + getblockheader), so they
// are the same real 80-byte headers the bitcoind simulator serves. Script-hash histories are
// simulated (`fund()` / the control endpoint) since the simulated chain has no transactions.
// Run alone: `npx tsx tests/simulators/electrs-simulator.ts` (see main()).
import { createHash } from 'node:crypto'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'

export interface ElectrsSimulatorOptions {
  readonly bitcoind: { readonly url: string; readonly user: string; readonly password: string }
  /** Index speed in blocks per second. */
  readonly indexBlocksPerSecond?: number
  readonly host?: string
  readonly electrumPort?: number
  readonly monitoringPort?: number
  /** How often bitcoind is polled for new blocks once indexed (electrs: --wait-duration-secs). */
  readonly pollMs?: number
  /** electrs' server_banner. */
  readonly banner?: string
  readonly log?: (line: string) => void
}

export interface SimulatedUtxo {
  readonly txHash: string
  readonly txPos: number
  readonly height: number
  readonly value: number
}

export interface ElectrsSimulator {
  readonly electrumPort: number
  readonly monitoringPort: number
  /** http://host:port/metrics (Prometheus text format). */
  readonly metricsUrl: string
  readonly host: string
  indexedHeight(): number
  /** Adds a simulated funding output to a script hash (hex, Electrum byte order). */
  fund(scripthash: string, utxo: SimulatedUtxo): void
  close(): Promise<void>
}

const ELECTRS_VERSION = '0.10.10'
const PROTOCOL_VERSION = '1.4'
const ALLOWED_WHILE_INDEXING = new Set([
  'server.version',
  'blockchain.block.header',
  'blockchain.block.headers',
  'blockchain.headers.subscribe',
])

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

const reverseHex = (hex: string) => Buffer.from(hex, 'hex').reverse().toString('hex')
const isScriptHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)

export async function startElectrsSimulator(
  opts: ElectrsSimulatorOptions,
): Promise<ElectrsSimulator> {
  const host = opts.host ?? '127.0.0.1'
  const log = opts.log ?? ((l: string) => process.stdout.write(`[electrs SIMULATOR] ${l}\n`))
  const rate = opts.indexBlocksPerSecond ?? 500
  const auth =
    'Basic ' + Buffer.from(`${opts.bitcoind.user}:${opts.bitcoind.password}`).toString('base64')

  const rpcBatch = async (calls: { method: string; params: unknown[] }[]): Promise<unknown[]> => {
    const res = await fetch(opts.bitcoind.url, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: '2.0', id, ...c }))),
      signal: AbortSignal.timeout(10_000),
    })
    if (res.status === 401) throw new Error('bitcoind RPC: 401 Unauthorized')
    const body = (await res.json()) as {
      id: number
      result?: unknown
      error?: { code: number; message: string } | null
    }[]
    return calls.map((_, i) => {
      const r = body.find((b) => b.id === i)
      if (!r) throw new Error('bitcoind RPC: missing reply')
      if (r.error) throw new RpcError(r.error.code, r.error.message)
      return r.result
    })
  }
  const rpc = async (method: string, params: unknown[] = []) =>
    (await rpcBatch([{ method, params }]))[0]

  // --- state ---------------------------------------------------------------------------------
  const headers: string[] = [] // raw header hex by height (the indexed chain)
  let phase: 'waiting' | 'indexing' | 'ready' = 'waiting'
  let closed = false
  const funded = new Map<string, SimulatedUtxo[]>()
  const fund = (scripthash: string, utxo: SimulatedUtxo) => {
    const list = funded.get(scripthash) ?? []
    list.push(utxo)
    funded.set(scripthash, list)
    if (peersReady) notifyPeers()
  }
  let peersReady = false
  const indexedHeight = () => headers.length - 1

  // --- Prometheus metrics (first, as electrs does) -------------------------------------------
  const FundSchema = z.object({
    scripthash: z.string().regex(/^[0-9a-f]{64}$/),
    txHash: z.string().regex(/^[0-9a-f]{64}$/),
    txPos: z.number().int().min(0),
    height: z.number().int().min(-1),
    value: z.number().int().min(0),
  })
  const metrics: HttpServer = createHttpServer((req, res) => {
    // SIMULATOR-only control: POST /simulator/fund {scripthash, txHash, txPos, height, value}
    // gives a script hash a (simulated) funding output, for tests that run this as a process.
    if (req.method === 'POST' && req.url === '/simulator/fund') {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        let parsed: ReturnType<typeof FundSchema.safeParse>
        try {
          parsed = FundSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')))
        } catch {
          res.writeHead(400).end('not JSON')
          return
        }
        if (!parsed.success) {
          res.writeHead(400).end(parsed.error.message)
          return
        }
        const { scripthash, ...utxo } = parsed.data
        fund(scripthash, utxo)
        res.writeHead(204).end()
      })
      return
    }
    const body =
      '# HELP electrs_index_height Indexed block height\n' +
      '# TYPE electrs_index_height gauge\n' +
      (headers.length > 0 ? `electrs_index_height{type="tip"} ${indexedHeight()}\n` : '') +
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
    headersSubscribed: boolean
    scripthashes: Map<string, string | null>
    pending: string[]
  }
  const peers = new Set<Peer>()

  const statusOf = (scripthash: string): string | null => {
    const history = funded.get(scripthash) ?? []
    if (history.length === 0) return null
    // Electrum protocol: sha256 of "tx_hash:height:" concatenated, hex.
    const s = history.map((u) => `${u.txHash}:${u.height}:`).join('')
    return createHash('sha256').update(s).digest('hex')
  }
  const tipNotification = () => ({ height: indexedHeight(), hex: headers[indexedHeight()]! })

  const methods: Record<string, (params: unknown[], peer: Peer) => unknown | Promise<unknown>> = {
    'server.version': (params) => {
      // electrs' check_between: min <= 1.4 <= max; a single version must be exactly 1.4.
      const requested = params[1] ?? PROTOCOL_VERSION
      const [min, max] = Array.isArray(requested)
        ? [String(requested[0]), String(requested[1] ?? requested[0])]
        : [String(requested), String(requested)]
      if (compare(min, PROTOCOL_VERSION) > 0 || compare(max, PROTOCOL_VERSION) < 0)
        throw new RpcError(
          1,
          `unsupported request ${JSON.stringify(requested)} by ${String(params[0])}`,
        )
      return [`electrs/${ELECTRS_VERSION}`, PROTOCOL_VERSION]
    },
    'server.banner': () =>
      opts.banner ?? `Welcome to electrs ${ELECTRS_VERSION} (Electrum Rust Server) — SIMULATOR!`,
    'server.ping': () => null,
    'server.donation_address': () => null,
    'server.peers.subscribe': () => [],
    'server.features': () => ({
      genesis_hash: reverseHex(
        Buffer.from(
          createHash('sha256')
            .update(createHash('sha256').update(Buffer.from(headers[0]!, 'hex')).digest())
            .digest(),
        ).toString('hex'),
      ),
      hosts: { tcp_port: electrumPort },
      protocol_max: PROTOCOL_VERSION,
      protocol_min: PROTOCOL_VERSION,
      pruning: null,
      server_version: `electrs/${ELECTRS_VERSION}`,
      hash_function: 'sha256',
    }),
    'blockchain.headers.subscribe': (_p, peer) => {
      peer.headersSubscribed = true
      return tipNotification()
    },
    'blockchain.block.header': ([height]) => {
      if (typeof height !== 'number' || !Number.isInteger(height) || height < 0)
        throw new RpcError(-32602, 'invalid params')
      const h = headers[height]
      if (!h) throw new RpcError(1, `missing header at ${height}`)
      return h
    },
    'blockchain.block.headers': ([start, count]) => {
      if (typeof start !== 'number' || typeof count !== 'number' || start < 0 || count < 0)
        throw new RpcError(-32602, 'invalid params')
      const slice = headers.slice(start, start + Math.min(count, 2016))
      return { count: slice.length, hex: slice.join(''), max: 2016 }
    },
    'blockchain.estimatefee': async ([target]) => {
      if (typeof target !== 'number') throw new RpcError(-32602, 'invalid params')
      const r = (await rpc('estimatesmartfee', [target])) as { feerate?: number }
      return r.feerate ?? -1
    },
    'blockchain.relayfee': async () =>
      ((await rpc('getnetworkinfo')) as { relayfee: number }).relayfee,
    'blockchain.scripthash.get_balance': ([sh]) => {
      if (!isScriptHash(sh)) throw new RpcError(-32602, 'invalid params')
      const utxos = funded.get(sh) ?? []
      return {
        confirmed: utxos.filter((u) => u.height > 0).reduce((a, u) => a + u.value, 0),
        unconfirmed: utxos.filter((u) => u.height <= 0).reduce((a, u) => a + u.value, 0),
      }
    },
    'blockchain.scripthash.get_history': ([sh]) => {
      if (!isScriptHash(sh)) throw new RpcError(-32602, 'invalid params')
      return (funded.get(sh) ?? []).map((u) => ({ tx_hash: u.txHash, height: u.height }))
    },
    'blockchain.scripthash.listunspent': ([sh]) => {
      if (!isScriptHash(sh)) throw new RpcError(-32602, 'invalid params')
      return (funded.get(sh) ?? []).map((u) => ({
        tx_hash: u.txHash,
        tx_pos: u.txPos,
        height: u.height,
        value: u.value,
      }))
    },
    'blockchain.scripthash.subscribe': ([sh], peer) => {
      if (!isScriptHash(sh)) throw new RpcError(-32602, 'invalid params')
      const status = statusOf(sh)
      peer.scripthashes.set(sh, status)
      return status
    },
    'blockchain.scripthash.unsubscribe': ([sh], peer) => peer.scripthashes.delete(String(sh)),
  }

  const handleOne = async (req: unknown, peer: Peer): Promise<unknown> => {
    const r = req as { id?: unknown; method?: unknown; params?: unknown }
    const id = r && typeof r === 'object' && 'id' in r ? r.id : null
    const error = (code: number, message: string) => ({
      jsonrpc: '2.0',
      error: { code, message },
      id,
    })
    if (!r || typeof r !== 'object' || typeof r.method !== 'string')
      return error(-32600, 'invalid request')
    const fn = methods[r.method]
    if (!fn) return error(-32601, 'method not found')
    if (phase !== 'ready' && !ALLOWED_WHILE_INDEXING.has(r.method))
      return error(-32603, 'unavailable index')
    try {
      const params = Array.isArray(r.params) ? r.params : []
      return { jsonrpc: '2.0', result: await fn(params, peer), id }
    } catch (err) {
      if (err instanceof RpcError) return error(err.code, err.message)
      return error(2, String((err as Error).message ?? err))
    }
  }

  const handleLine = async (line: string, peer: Peer) => {
    let msg: unknown
    try {
      msg = JSON.parse(line)
    } catch {
      peer.socket.write(
        JSON.stringify({
          jsonrpc: '2.0',
          error: { code: -32700, message: 'parse error' },
          id: null,
        }) + '\n',
      )
      return
    }
    const reply = Array.isArray(msg)
      ? await Promise.all(msg.map((m) => handleOne(m, peer)))
      : await handleOne(msg, peer)
    if (!peer.socket.destroyed) peer.socket.write(JSON.stringify(reply) + '\n')
  }

  const electrum: Server = createServer((socket) => {
    const peer: Peer = { socket, headersSubscribed: false, scripthashes: new Map(), pending: [] }
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
        else void handleLine(line, peer)
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

  const notifyPeers = () => {
    for (const peer of peers) {
      if (peer.socket.destroyed) continue
      if (peer.headersSubscribed)
        peer.socket.write(
          JSON.stringify({
            jsonrpc: '2.0',
            method: 'blockchain.headers.subscribe',
            params: [tipNotification()],
          }) + '\n',
        )
      for (const [sh, last] of peer.scripthashes) {
        const now = statusOf(sh)
        if (now !== last) {
          peer.scripthashes.set(sh, now)
          peer.socket.write(
            JSON.stringify({
              jsonrpc: '2.0',
              method: 'blockchain.scripthash.subscribe',
              params: [sh, now],
            }) + '\n',
          )
        }
      }
    }
  }

  peersReady = true

  // --- the daemon loop: wait for bitcoind, index, follow ----------------------------------------
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref())
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
        if (!(err instanceof RpcError && err.code === -28) && Date.now() - lastLog > 5_000) {
          log(`daemon not available: ${String((err as Error).message)}`)
          lastLog = Date.now()
        }
      }
      await sleep(500)
    }
  }

  /** Fetches headers [from, to] in batches; paced to `rate` blocks per second. */
  const indexRange = async (from: number, to: number, paced: boolean) => {
    const chunk = paced ? Math.max(1, Math.min(200, Math.floor(rate / 4))) : 200
    for (let h = from; h <= to && !closed; h += chunk) {
      const started = Date.now()
      const heights = Array.from({ length: Math.min(chunk, to - h + 1) }, (_, i) => h + i)
      const hashes = (await rpcBatch(
        heights.map((x) => ({ method: 'getblockhash', params: [x] })),
      )) as string[]
      const raw = (await rpcBatch(
        hashes.map((x) => ({ method: 'getblockheader', params: [x, false] })),
      )) as string[]
      headers.push(...raw)
      if (paced) {
        const wait = (heights.length / rate) * 1000 - (Date.now() - started)
        if (wait > 0) await sleep(wait)
      }
      if (
        paced &&
        Math.floor(indexedHeight() / 1000) !== Math.floor((indexedHeight() - heights.length) / 1000)
      )
        log(`indexed ${indexedHeight() + 1} blocks`)
      if (phase !== 'ready') notifyPeers()
    }
  }

  const daemon = (async () => {
    await waitForBitcoind()
    if (closed) return
    phase = 'indexing'
    log('starting initial sync')
    for (const peer of peers) for (const line of peer.pending.splice(0)) void handleLine(line, peer)
    let tip = (await rpc('getblockcount')) as number
    while (!closed && indexedHeight() < tip) {
      await indexRange(indexedHeight() + 1, tip, true)
      tip = (await rpc('getblockcount')) as number
    }
    if (closed) return
    phase = 'ready'
    log(`finished full compaction; index is ready at height ${indexedHeight()}`)
    while (!closed) {
      await sleep(opts.pollMs ?? 1_000)
      try {
        const count = (await rpc('getblockcount')) as number
        if (count > indexedHeight()) {
          await indexRange(indexedHeight() + 1, count, false)
          notifyPeers()
        }
      } catch {
        // bitcoind restarting; try again next round
      }
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
    fund,
    close: async () => {
      closed = true
      for (const p of peers) p.socket.destroy()
      await Promise.all([
        new Promise<void>((r) => electrum.close(() => r())),
        new Promise<void>((r) => {
          metrics.closeAllConnections()
          metrics.close(() => r())
        }),
      ])
      await Promise.race([daemon, sleep(2_000)])
    },
  }
}

function compare(a: string, b: string): number {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

const EnvSchema = z.object({
  ELECTRS_SIM_BITCOIND_URL: z.string().url().optional(),
  ELECTRS_SIM_BITCOIND_USER: z.string().min(1).optional(),
  ELECTRS_SIM_BITCOIND_PASSWORD: z.string().min(1).optional(),
  ELECTRS_SIM_HOST: z.string().optional(),
  ELECTRS_SIM_ELECTRUM_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  ELECTRS_SIM_MONITORING_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  ELECTRS_SIM_INDEX_BLOCKS_PER_SECOND: z.coerce.number().positive().default(500),
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
 * per network, e.g. regtest 60401 / 24224), ELECTRS_SIM_INDEX_BLOCKS_PER_SECOND.
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
