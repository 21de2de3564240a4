// SIMULATOR — test-only, never imported by production code. Speaks bitcoind's JSON-RPC over HTTP
// the way Bitcoin Core 28 does (doc/JSON-RPC-interface.md): Basic auth checked against
// `rpcauth=user:salt$hash` lines (HMAC-SHA256(salt, password), as share/rpcauth/rpcauth.py makes
// them), JSON-RPC 1.0 and 2.0 error shapes and HTTP statuses, batches, a warm-up phase answering
// -28, and an initial block download that advances at a configurable rate from a chain of real
// 80-byte headers. Run it alone: `npx tsx tests/simulators/bitcoind-simulator.ts` (see main()).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import { SimulatedChain, difficultyFromBits, type SimulatedNetwork } from './chain-simulator'

export interface BitcoindSimulatorOptions {
  readonly network?: SimulatedNetwork
  /** `rpcauth=` values (`user:salt$hash`); at least one. */
  readonly rpcauth: readonly string[]
  /** Best header height known at start (the "network tip"). */
  readonly headers?: number
  /** Blocks already validated at start; `headers` means fully synced. */
  readonly blocks?: number
  /** IBD speed. */
  readonly blocksPerSecond?: number
  /** -28 "Loading block index…" for this long after start. */
  readonly warmupMs?: number
  /** Once synced, a new block every this many ms (0: only `generatetoaddress`). */
  readonly mineIntervalMs?: number
  readonly pruned?: boolean
  /** Write `__cookie__:<hex>` here (bitcoind's `<datadir>/<chain>/.cookie`) and accept it. */
  readonly cookieFile?: string
  readonly port?: number
  readonly host?: string
  readonly log?: (line: string) => void
}

export interface BitcoindSimulator {
  readonly url: string
  readonly port: number
  readonly chain: SimulatedChain
  /** Blocks validated so far (bitcoind's `blocks`). */
  blocks(): number
  /** Appends blocks to the network tip (the node then downloads them). */
  mine(count: number): void
  close(): Promise<void>
}

const RPC = {
  MISC_ERROR: -1,
  TYPE_ERROR: -3,
  INVALID_ADDRESS_OR_KEY: -5,
  INVALID_PARAMETER: -8,
  IN_WARMUP: -28,
  METHOD_NOT_FOUND: -32601,
  INVALID_REQUEST: -32600,
  PARSE_ERROR: -32700,
  METHOD_NOT_ALLOWED_IN_NETWORK: -32603,
} as const

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

const CHAIN_NAME: Record<SimulatedNetwork, string> = {
  mainnet: 'main',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
}

/** Checks a password against one `rpcauth` line exactly as bitcoind's CheckUserAuthorized does. */
export function rpcauthMatches(rpcauth: string, user: string, password: string): boolean {
  const m = /^([^:]+):([0-9a-fA-F]+)\$([0-9a-fA-F]{64})$/.exec(rpcauth.replace(/^rpcauth=/, ''))
  if (!m || m[1] !== user) return false
  const expected = Buffer.from(m[3]!.toLowerCase(), 'hex')
  const actual = createHmac('sha256', m[2]!).update(password).digest()
  return timingSafeEqual(expected, actual)
}

/** Makes an rpcauth line the way share/rpcauth/rpcauth.py does (16-byte hex salt). */
export function makeRpcauth(user: string, password: string, salt: string): string {
  const hash = createHmac('sha256', salt).update(password).digest('hex')
  return `${user}:${salt}$${hash}`
}

export async function startBitcoindSimulator(
  opts: BitcoindSimulatorOptions,
): Promise<BitcoindSimulator> {
  let cookie: string | undefined
  if (opts.cookieFile) {
    cookie = randomBytes(32).toString('hex')
    mkdirSync(dirname(opts.cookieFile), { recursive: true })
    writeFileSync(`${opts.cookieFile}.tmp`, `__cookie__:${cookie}`, { mode: 0o600 })
    renameSync(`${opts.cookieFile}.tmp`, opts.cookieFile)
  }
  if (opts.rpcauth.length === 0 && !cookie)
    throw new Error('bitcoind SIMULATOR: at least one rpcauth (or a cookie file)')
  const network = opts.network ?? 'regtest'
  const chain = new SimulatedChain({
    network,
    tipHeight: opts.headers ?? 1_000,
    blockIntervalSec: network === 'regtest' ? 1 : 600,
  })
  const log = opts.log ?? ((l: string) => process.stdout.write(`[bitcoind SIMULATOR] ${l}\n`))
  const startedAt = Date.now()
  const warmupUntil = startedAt + (opts.warmupMs ?? 0)
  const rate = opts.blocksPerSecond ?? 200
  let blocks = Math.min(opts.blocks ?? 0, chain.tipHeight)
  let blocksFraction = 0
  let lastTick = Date.now()
  let ibd = blocks < chain.tipHeight
  const ONE_BLOCK_BYTES = 250_000

  // Validation advances in wall-clock time; computed lazily so idle simulators cost nothing.
  const advance = (): void => {
    const now = Date.now()
    if (now < warmupUntil) {
      lastTick = now
      return
    }
    const from = Math.max(lastTick, warmupUntil)
    blocksFraction += ((now - from) / 1000) * rate
    lastTick = now
    const whole = Math.floor(blocksFraction)
    if (whole > 0) {
      blocksFraction -= whole
      const before = blocks
      blocks = Math.min(chain.tipHeight, blocks + whole)
      if (before !== blocks && blocks % 1000 < whole)
        log(`UpdateTip: height=${blocks} progress=${progress().toFixed(6)}`)
    }
    if (blocks >= chain.tipHeight) {
      blocksFraction = 0
      // bitcoind latches IBD off once the tip is recent; it never goes back on.
      if (ibd) log(`leaving InitialBlockDownload (latching to false) at height ${blocks}`)
      ibd = false
    }
  }
  const progress = (): number => {
    // Tx-weighted, like GuessVerificationProgress; exactly 1 only at the network tip.
    const done = chain.txTotal(blocks)
    const total = chain.txTotal(chain.tipHeight)
    return blocks >= chain.tipHeight ? 1 : Math.min(0.999999, done / total)
  }

  let mineTimer: NodeJS.Timeout | undefined
  if ((opts.mineIntervalMs ?? 0) > 0) {
    mineTimer = setInterval(() => {
      advance()
      if (!ibd) {
        chain.extend(1)
        advance()
      }
    }, opts.mineIntervalMs)
    mineTimer.unref()
  }

  const header = (hash: unknown, verbose: unknown) => {
    if (typeof hash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hash))
      throw new RpcError(RPC.INVALID_PARAMETER, "hash must be of length 64 (not 0, for '')")
    const h = chain.byBlockHash(hash)
    if (!h) throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Block not found')
    if (verbose === false) return h.hex
    const best = ibd || h.height > blocks ? chain.tipHeight : blocks
    const inActive = h.height <= blocks
    const next = chain.at(h.height + 1)
    return {
      hash: h.hash,
      confirmations: inActive ? blocks - h.height + 1 : -1,
      height: h.height,
      version: h.version,
      versionHex: (h.version >>> 0).toString(16).padStart(8, '0'),
      merkleroot: h.merkleRoot,
      time: h.time,
      mediantime: chain.medianTime(h.height),
      nonce: h.nonce,
      bits: h.bits.toString(16).padStart(8, '0'),
      difficulty: difficultyFromBits(h.bits),
      chainwork: (BigInt(h.height + 1) * 2n).toString(16).padStart(64, '0'),
      nTx: h.txCount,
      ...(h.previousHash ? { previousblockhash: h.previousHash } : {}),
      ...(next && next.height <= best ? { nextblockhash: next.hash } : {}),
    }
  }

  const methods: Record<string, (params: unknown[]) => unknown> = {
    getblockchaininfo: () => {
      const tip = chain.at(blocks)!
      return {
        chain: CHAIN_NAME[network],
        blocks,
        headers: chain.tipHeight,
        bestblockhash: tip.hash,
        bits: tip.bits.toString(16).padStart(8, '0'),
        difficulty: difficultyFromBits(tip.bits),
        time: tip.time,
        mediantime: chain.medianTime(blocks),
        verificationprogress: progress(),
        initialblockdownload: ibd,
        chainwork: (BigInt(blocks + 1) * 2n).toString(16).padStart(64, '0'),
        size_on_disk: opts.pruned
          ? Math.min(blocks, 2_200) * ONE_BLOCK_BYTES
          : (blocks + 1) * ONE_BLOCK_BYTES,
        pruned: opts.pruned ?? false,
        ...(opts.pruned
          ? {
              pruneheight: Math.max(0, blocks - 2_200),
              automatic_pruning: true,
              prune_target_size: 576_716_800,
            }
          : {}),
        warnings: [],
      }
    },
    getnetworkinfo: () => ({
      version: 280100,
      subversion: '/Satoshi:28.1.0(SIMULATOR)/',
      protocolversion: 70016,
      localservices: '0000000000000c09',
      localservicesnames: ['NETWORK', 'WITNESS', 'NETWORK_LIMITED', 'P2P_V2'],
      localrelay: true,
      timeoffset: 0,
      networkactive: true,
      connections: network === 'regtest' ? 0 : 10,
      connections_in: 0,
      connections_out: network === 'regtest' ? 0 : 10,
      networks: [],
      relayfee: 0.00001,
      incrementalfee: 0.00001,
      localaddresses: [],
      warnings: [],
    }),
    getblockcount: () => blocks,
    getbestblockhash: () => chain.at(blocks)!.hash,
    getblockhash: ([height]) => {
      if (typeof height !== 'number' || !Number.isInteger(height))
        throw new RpcError(
          RPC.TYPE_ERROR,
          'JSON value of type string is not of expected type number',
        )
      if (height < 0 || height > blocks)
        throw new RpcError(RPC.INVALID_PARAMETER, 'Block height out of range')
      return chain.at(height)!.hash
    },
    getblockheader: ([hash, verbose]) => header(hash, verbose ?? true),
    getmempoolinfo: () => ({
      loaded: !ibd,
      size: 0,
      bytes: 0,
      usage: 0,
      total_fee: 0,
      maxmempool: 300_000_000,
      mempoolminfee: 0.00001,
      minrelaytxfee: 0.00001,
      incrementalrelayfee: 0.00001,
      unbroadcastcount: 0,
      fullrbf: true,
    }),
    uptime: () => Math.floor((Date.now() - startedAt) / 1000),
    estimatesmartfee: ([target]) => {
      if (typeof target !== 'number' || !Number.isInteger(target))
        throw new RpcError(
          RPC.TYPE_ERROR,
          'JSON value of type string is not of expected type number',
        )
      if (target < 1 || target > 1008)
        throw new RpcError(RPC.INVALID_PARAMETER, 'Invalid conf_target, must be between 1 and 1008')
      if (ibd) return { errors: ['Insufficient data or no feerate found'], blocks: 0 }
      // A fee curve falling with the target, in BTC/kvB.
      const satPerVb = Math.max(1, Math.round(40 / Math.sqrt(target)))
      return { feerate: satPerVb / 100_000, blocks: Math.max(2, target) }
    },
    generatetoaddress: ([count, address]) => {
      if (network !== 'regtest')
        throw new RpcError(
          RPC.METHOD_NOT_ALLOWED_IN_NETWORK,
          'This method can only be used on regtest',
        )
      if (typeof count !== 'number' || count < 0 || count > 10_000)
        throw new RpcError(RPC.TYPE_ERROR, 'nblocks must be a number')
      if (typeof address !== 'string' || address.length < 14)
        throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, 'Error: Invalid address')
      if (blocks < chain.tipHeight) throw new RpcError(RPC.MISC_ERROR, 'Node is still syncing')
      const made = chain.extend(count)
      blocks = chain.tipHeight
      return made.map((h) => h.hash)
    },
  }

  type Reply = { body: unknown; status: number }
  const RequestSchema = z.object({
    jsonrpc: z.string().optional(),
    id: z.unknown().optional(),
    method: z.string(),
    params: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]).optional(),
  })

  const execOne = (raw: unknown, inBatch: boolean): Reply | null => {
    const parsed = RequestSchema.safeParse(raw)
    const id = (raw as { id?: unknown } | null)?.id ?? null
    const v2 = (raw as { jsonrpc?: unknown } | null)?.jsonrpc === '2.0'
    const fail = (code: number, message: string): Reply => {
      // JSON-RPC 1.0: HTTP status carries the error; 2.0 and batches: always 200.
      const status =
        v2 || inBatch
          ? 200
          : code === RPC.INVALID_REQUEST
            ? 400
            : code === RPC.METHOD_NOT_FOUND
              ? 404
              : 500
      return {
        status,
        body: v2
          ? { jsonrpc: '2.0', error: { code, message }, id }
          : { result: null, error: { code, message }, id },
      }
    }
    if (!parsed.success) return fail(RPC.INVALID_REQUEST, 'Missing method')
    // JSON-RPC 2.0 notifications (no id) get no response.
    const isNotification = v2 && !('id' in (raw as object))
    // CRPCTable::execute answers -28 during warm-up before it even looks the method up.
    advance()
    if (Date.now() < warmupUntil) return fail(RPC.IN_WARMUP, 'Loading block index…')
    const method = methods[parsed.data.method]
    if (!method) return isNotification ? null : fail(RPC.METHOD_NOT_FOUND, 'Method not found')
    try {
      const params = Array.isArray(parsed.data.params) ? parsed.data.params : []
      const result = method(params)
      if (isNotification) return null
      return {
        status: 200,
        body: v2 ? { jsonrpc: '2.0', result, id } : { result, error: null, id },
      }
    } catch (err) {
      if (err instanceof RpcError) return fail(err.code, err.message)
      return fail(RPC.MISC_ERROR, String(err))
    }
  }

  const authorized = (req: IncomingMessage): boolean => {
    const h = req.headers.authorization
    if (!h?.startsWith('Basic ')) return false
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return false
    const user = decoded.slice(0, colon)
    const pass = decoded.slice(colon + 1)
    if (cookie && user === '__cookie__')
      return timingSafeEqual(
        createHmac('sha256', 'cookie').update(pass).digest(),
        createHmac('sha256', 'cookie').update(cookie).digest(),
      )
    return opts.rpcauth.some((line) => rpcauthMatches(line, user, pass))
  }

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body) + '\n'
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    })
    res.end(text)
  }

  const server: Server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405).end('JSONRPC server handles only POST requests')
      return
    }
    if (!authorized(req)) {
      // bitcoind deters brute forcing with a 250 ms pause before answering 401.
      log(`ThreadRPCServer incorrect password attempt from ${req.socket.remoteAddress}`)
      setTimeout(() => {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="jsonrpc"' }).end()
      }, 250)
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > 1_000_000) req.destroy()
      else chunks.push(c)
    })
    req.on('end', () => {
      let body: unknown
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        send(res, 500, {
          result: null,
          error: { code: RPC.PARSE_ERROR, message: 'Parse error' },
          id: null,
        })
        return
      }
      if (Array.isArray(body)) {
        const replies = body.map((r) => execOne(r, true)).filter((r): r is Reply => r !== null)
        send(
          res,
          200,
          replies.map((r) => r.body),
        )
        return
      }
      if (typeof body !== 'object' || body === null) {
        send(res, 500, {
          result: null,
          error: { code: RPC.PARSE_ERROR, message: 'Top-level object parse error' },
          id: null,
        })
        return
      }
      const reply = execOne(body, false)
      if (!reply) res.writeHead(204).end()
      else send(res, reply.status, reply.body)
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  log(
    `Bitcoin Core SIMULATOR ${network}: rpc on ${opts.host ?? '127.0.0.1'}:${port}, ` +
      `headers=${chain.tipHeight} blocks=${blocks} rate=${rate}/s warmup=${opts.warmupMs ?? 0}ms`,
  )

  return {
    url: `http://${opts.host === '0.0.0.0' || !opts.host ? '127.0.0.1' : opts.host}:${port}`,
    port,
    chain,
    blocks: () => {
      advance()
      return blocks
    },
    mine: (count) => {
      advance()
      chain.extend(count)
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (mineTimer) clearInterval(mineTimer)
        // bitcoind deletes its cookie on shutdown.
        if (opts.cookieFile) rmSync(opts.cookieFile, { force: true })
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const EnvSchema = z.object({
  BITCOIND_SIM_NETWORK: z.enum(['mainnet', 'testnet4', 'signet', 'regtest']).optional(),
  BITCOIND_SIM_RPCAUTH: z.string().optional(),
  BITCOIND_SIM_CONF: z.string().optional(),
  BITCOIND_SIM_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  BITCOIND_SIM_HOST: z.string().default('0.0.0.0'),
  BITCOIND_SIM_HEADERS: z.coerce.number().int().min(0).max(2_000_000).default(2_000),
  BITCOIND_SIM_BLOCKS: z.coerce.number().int().min(0).default(0),
  BITCOIND_SIM_BLOCKS_PER_SECOND: z.coerce.number().positive().default(100),
  BITCOIND_SIM_WARMUP_MS: z.coerce.number().int().min(0).default(2_000),
  BITCOIND_SIM_MINE_INTERVAL_MS: z.coerce.number().int().min(0).default(0),
  BITCOIND_SIM_PRUNED: z.enum(['0', '1']).optional(),
})

export interface BitcoinConf {
  network?: SimulatedNetwork
  rpcauth: string[]
  rpcport?: number
  prune?: number
  conf?: string
  datadir?: string
}

const CHAIN_OF: Record<string, SimulatedNetwork> = {
  main: 'mainnet',
  test: 'testnet4',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
}
const DEFAULT_RPC_PORT: Record<SimulatedNetwork, number> = {
  mainnet: 8332,
  testnet4: 48332,
  signet: 38332,
  regtest: 18443,
}

/**
 * Reads bitcoin.conf text and/or bitcoind command-line arguments (`-regtest`, `-rpcauth=…`,
 * `-conf=…`) the way bitcoind does for the options the simulator honours: chain selection,
 * rpcauth (repeatable), rpcport and prune, with [main]/[test]/[testnet4]/[signet]/[regtest]
 * sections applying only to their network. Later sources override earlier ones.
 */
export function parseBitcoinConf(confText: string, argv: readonly string[] = []): BitcoinConf {
  const global: [string, string][] = []
  const sections = new Map<string, [string, string][]>()
  let section: string | null = null
  for (const raw of confText.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim()
    if (!line) continue
    const sec = /^\[(\w+)\]$/.exec(line)
    if (sec) {
      section = sec[1]!
      continue
    }
    const eq = line.indexOf('=')
    const kv: [string, string] =
      eq < 0 ? [line, '1'] : [line.slice(0, eq).trim(), line.slice(eq + 1).trim()]
    if (section) sections.set(section, [...(sections.get(section) ?? []), kv])
    else global.push(kv)
  }
  const args: [string, string][] = argv
    .filter((a) => a.startsWith('-'))
    .map((a) => {
      const body = a.replace(/^--?/, '')
      const eq = body.indexOf('=')
      return eq < 0 ? [body, '1'] : [body.slice(0, eq), body.slice(eq + 1)]
    })
  const chainFrom = (kvs: [string, string][]): SimulatedNetwork | undefined => {
    let net: SimulatedNetwork | undefined
    for (const [k, v] of kvs) {
      if (k === 'chain' && CHAIN_OF[v]) net = CHAIN_OF[v]
      if (['regtest', 'signet', 'testnet4', 'testnet'].includes(k) && v !== '0')
        net = k === 'testnet' ? 'testnet4' : (k as SimulatedNetwork)
    }
    return net
  }
  const network = chainFrom(args) ?? chainFrom(global)
  const sectionName = network
    ? { mainnet: 'main', testnet4: 'testnet4', signet: 'signet', regtest: 'regtest' }[network]
    : 'main'
  const effective = [...global, ...(sections.get(sectionName) ?? []), ...args]
  const out: BitcoinConf = { rpcauth: [] }
  if (network) out.network = network
  for (const [k, v] of effective) {
    if (k === 'rpcauth') out.rpcauth.push(v)
    if (k === 'rpcport') out.rpcport = Number(v)
    if (k === 'prune') out.prune = Number(v)
    if (k === 'conf') out.conf = v
    if (k === 'datadir') out.datadir = v
  }
  return out
}

/**
 * Runs the simulator as a process, configured like bitcoind: command-line arguments
 * (`-regtest -rpcauth=user:salt$hash -rpcport=18443 -conf=/path/bitcoin.conf`) and/or a
 * bitcoin.conf (BITCOIND_SIM_CONF or -conf), plus env: BITCOIND_SIM_RPCAUTH (`user:salt$hash`,
 * several separated by spaces or commas), BITCOIND_SIM_NETWORK, BITCOIND_SIM_PORT,
 * BITCOIND_SIM_HOST, BITCOIND_SIM_HEADERS, BITCOIND_SIM_BLOCKS, BITCOIND_SIM_BLOCKS_PER_SECOND,
 * BITCOIND_SIM_WARMUP_MS, BITCOIND_SIM_MINE_INTERVAL_MS, BITCOIND_SIM_PRUNED. SIGTERM/SIGINT stop it.
 */
export async function main(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const cfg = EnvSchema.parse(env)
  const fromArgs = parseBitcoinConf('', argv)
  const confPath = fromArgs.conf ?? cfg.BITCOIND_SIM_CONF
  const conf = parseBitcoinConf(confPath ? readFileSync(confPath, 'utf8') : '', argv)
  const network = conf.network ?? cfg.BITCOIND_SIM_NETWORK ?? 'regtest'
  const rpcauth = [
    ...(cfg.BITCOIND_SIM_RPCAUTH ?? '').split(/[\s,]+/).filter(Boolean),
    ...conf.rpcauth,
  ]
  const datadir = fromArgs.datadir ?? conf.datadir
  const chainDir = { mainnet: '', testnet4: 'testnet4', signet: 'signet', regtest: 'regtest' }[
    network
  ]
  if (rpcauth.length === 0 && !datadir)
    throw new Error(
      'no rpcauth: pass -rpcauth=user:salt$hash, a bitcoin.conf, BITCOIND_SIM_RPCAUTH or -datadir (cookie)',
    )
  const sim = await startBitcoindSimulator({
    network,
    rpcauth,
    port: conf.rpcport ?? cfg.BITCOIND_SIM_PORT ?? DEFAULT_RPC_PORT[network],
    host: cfg.BITCOIND_SIM_HOST,
    headers: cfg.BITCOIND_SIM_HEADERS,
    blocks: cfg.BITCOIND_SIM_BLOCKS,
    blocksPerSecond: cfg.BITCOIND_SIM_BLOCKS_PER_SECOND,
    warmupMs: cfg.BITCOIND_SIM_WARMUP_MS,
    mineIntervalMs: cfg.BITCOIND_SIM_MINE_INTERVAL_MS,
    pruned: cfg.BITCOIND_SIM_PRUNED ? cfg.BITCOIND_SIM_PRUNED === '1' : (conf.prune ?? 0) > 0,
    ...(datadir ? { cookieFile: join(datadir, chainDir, '.cookie') } : {}),
  })
  const stop = () => {
    process.stdout.write('[bitcoind SIMULATOR] Shutdown: done\n')
    void sim.close().then(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`[bitcoind SIMULATOR] fatal: ${String(err)}\n`)
    process.exit(1)
  })
}
