// SIMULATOR — test-only, never imported by production code. Speaks bitcoind's JSON-RPC over HTTP
// as Bitcoin Core v31 does (doc/JSON-RPC-interface.md; the recorded answers of a real v31 node in
// tests/fixtures/bitcoind-v31 are replayed against it): Basic auth checked against
// `rpcauth=user:salt$hash` lines (HMAC-SHA256(salt, password), as share/rpcauth/rpcauth.py makes
// them) and the `.cookie`, JSON-RPC 1.0 and 2.0 shapes and HTTP statuses, batches, named params, a
// warm-up phase answering -28. Two modes:
//   - world (regtest, `chain` given or BITCOIND_SIM_MODE=world): every answer comes from the
//     simulated chain in tests/simulators/world/chain.ts — real transactions, mempool policy,
//     mining, invalidateblock — with ZMQ rawblock/rawtx (world/zmq-pub.ts);
//   - sync (the default for the process): no transactions; an initial block download advancing at
//     a configurable rate over real 80-byte headers, for the dashboard's sync tests.
// Run it alone: `npx tsx tests/simulators/bitcoind-simulator.ts` (see main()).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import { SimulatedChain, difficultyFromBits, type SimulatedNetwork } from './chain-simulator'
import { Chain } from './world/chain'
import { Btc, stringifyRpc } from './world/bitcoind-json'
import { execBody, RPC_CODE, RpcError, type RpcTable, worldRpcTable } from './world/bitcoind-rpc'
import { ZmqPublisher } from './world/zmq-pub'

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
  /**
   * World mode: answer from this simulated chain (`true`: a fresh one). Regtest only; `headers`,
   * `blocks` and `blocksPerSecond` are then ignored.
   */
  readonly chain?: Chain | true
  /** World mode: ZMQ PUB endpoints (port 0 = any free port), like -zmqpubrawblock/-zmqpubrawtx. */
  readonly zmq?: {
    readonly host?: string
    readonly rawblockPort?: number
    readonly rawtxPort?: number
  }
  /** World mode: where timer-mined blocks pay (default: OP_RETURN). */
  readonly mineToScript?: Uint8Array
  /** Write `__cookie__:<hex>` here (bitcoind's `<datadir>/<chain>/.cookie`) and accept it. */
  readonly cookieFile?: string
  readonly port?: number
  readonly host?: string
  readonly log?: (line: string) => void
}

export interface BitcoindSimulator {
  readonly url: string
  readonly port: number
  /** Sync mode: the headers being downloaded (undefined in world mode). */
  readonly chain: SimulatedChain
  /** World mode: the simulated chain. */
  readonly world: Chain | undefined
  /** World mode: ZMQ ports by topic (`rawblock`, `rawtx`). */
  readonly zmq: Record<string, number>
  /** Blocks validated so far (bitcoind's `blocks`). */
  blocks(): number
  /** Sync mode: appends blocks to the network tip (the node then downloads them). World mode: mines them. */
  mine(count: number): void
  close(): Promise<void>
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
  const log = opts.log ?? ((l: string) => process.stdout.write(`[bitcoind SIMULATOR] ${l}\n`))
  const startedAt = Date.now()
  const warmupUntil = startedAt + (opts.warmupMs ?? 0)

  let table: RpcTable
  let world: Chain | undefined
  let sync: SyncNode | undefined
  const zmq: ZmqPublisher[] = []
  if (opts.chain) {
    if (network !== 'regtest')
      throw new Error('bitcoind SIMULATOR: the world chain is regtest only')
    world = opts.chain === true ? new Chain() : opts.chain
    const endpoints: { rawblock?: string; rawtx?: string } = {}
    if (opts.zmq?.rawblockPort !== undefined || opts.zmq?.rawtxPort !== undefined) {
      const host = opts.zmq.host ?? opts.host ?? '127.0.0.1'
      const pubs = await startZmq(world, host, opts.zmq.rawblockPort, opts.zmq.rawtxPort)
      zmq.push(...pubs.all)
      if (pubs.rawblock) endpoints.rawblock = `tcp://${host}:${pubs.rawblock.port}`
      if (pubs.rawtx) endpoints.rawtx = `tcp://${host}:${pubs.rawtx.port}`
    }
    table = worldRpcTable(world, { startedAt, zmq: endpoints })
  } else {
    sync = new SyncNode(opts, network, log)
    table = sync.table(startedAt)
  }
  let mineTimer: NodeJS.Timeout | undefined
  if ((opts.mineIntervalMs ?? 0) > 0) {
    mineTimer = setInterval(() => {
      if (world) world.mine(1, opts.mineToScript ?? BURN)
      else sync!.tick()
    }, opts.mineIntervalMs)
    mineTimer.unref()
  }

  const beforeExec = (): void => {
    sync?.advance()
    // CRPCTable::execute answers -28 during warm-up before it even looks the method up.
    if (Date.now() < warmupUntil) throw new RpcError(RPC_CODE.IN_WARMUP, 'Loading block index…')
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

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    const wallet = /^\/wallet\/(.*)$/.exec(path)?.[1]
    const html = { 'Content-Type': 'text/html; charset=ISO-8859-1' }
    if (!req.headers.authorization) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="jsonrpc"', ...html }).end()
      return
    }
    if (!authorized(req)) {
      // bitcoind deters brute forcing with a 250 ms pause before answering a wrong password.
      log(`ThreadRPCServer incorrect password attempt from ${req.socket.remoteAddress}`)
      setTimeout(() => {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="jsonrpc"', ...html }).end()
      }, 250)
      return
    }
    if (req.method !== 'POST') {
      res.writeHead(405, html).end('JSONRPC server handles only POST requests')
      return
    }
    if (path !== '/' && wallet === undefined) {
      res.writeHead(404, html).end()
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > 32_000_000) req.destroy()
      else chunks.push(c)
    })
    req.on('end', () => {
      const reply = execBody(
        Buffer.concat(chunks).toString('utf8'),
        table,
        wallet !== undefined ? { wallet: decodeURIComponent(wallet) } : {},
        { beforeExec },
      )
      if (reply.body === undefined) {
        res.writeHead(reply.status).end()
        return
      }
      const text = stringifyRpc(reply.body) + '\n'
      res.writeHead(reply.status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
      })
      res.end(text)
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  log(
    `Bitcoin Core SIMULATOR ${network} (${world ? 'world' : 'sync'} mode): rpc on ${opts.host ?? '127.0.0.1'}:${port}` +
      (sync
        ? `, headers=${sync.chain.tipHeight} blocks=${sync.blocks}`
        : `, height=${world!.tip().height}`) +
      (zmq.length ? `, zmq ${zmq.map((z) => `${z.topic}:${z.port}`).join(' ')}` : '') +
      ` warmup=${opts.warmupMs ?? 0}ms`,
  )

  return {
    url: `http://${opts.host === '0.0.0.0' || !opts.host ? '127.0.0.1' : opts.host}:${port}`,
    port,
    chain: (sync?.chain ?? undefined) as SimulatedChain,
    world,
    zmq: Object.fromEntries(zmq.map((z) => [z.topic, z.port])),
    blocks: () => {
      if (world) return world.tip().height
      sync!.advance()
      return sync!.blocks
    },
    mine: (count) => {
      if (world) world.mine(count, opts.mineToScript ?? BURN)
      else {
        sync!.advance()
        sync!.chain.extend(count)
      }
    },
    close: async () => {
      if (mineTimer) clearInterval(mineTimer)
      for (const z of zmq) await z.close()
      // bitcoind deletes its cookie on shutdown.
      if (opts.cookieFile) rmSync(opts.cookieFile, { force: true })
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** OP_RETURN: blocks mined by the timer pay nobody in particular. */
const BURN = Uint8Array.from([0x6a])

async function startZmq(
  chain: Chain,
  host: string,
  rawblockPort: number | undefined,
  rawtxPort: number | undefined,
): Promise<{ rawblock?: ZmqPublisher; rawtx?: ZmqPublisher; all: ZmqPublisher[] }> {
  const rawblock =
    rawblockPort !== undefined
      ? await ZmqPublisher.listen('rawblock', host, rawblockPort)
      : undefined
  const rawtx =
    rawtxPort !== undefined ? await ZmqPublisher.listen('rawtx', host, rawtxPort) : undefined
  // Core's CZMQNotificationInterface: rawtx when a tx enters the mempool; for a connected block,
  // rawtx for each of its transactions (coinbase first) and then rawblock; rawtx again for every
  // transaction of a disconnected block. Each topic counts its own messages from 0.
  if (rawtx) {
    rawtx.publish(Buffer.from(chain.blockAt(0)!.block.transactions![0]!.toBuffer()))
    chain.on('tx', (tx: { toBuffer(): Uint8Array }) => rawtx.publish(Buffer.from(tx.toBuffer())))
    chain.on('disconnect', (block: { transactions?: Array<{ toBuffer(): Uint8Array }> }) => {
      for (const t of block.transactions ?? []) rawtx.publish(Buffer.from(t.toBuffer()))
    })
  }
  chain.on(
    'block',
    (block: { transactions?: Array<{ toBuffer(): Uint8Array }>; toBuffer(): Uint8Array }) => {
      if (rawtx) for (const t of block.transactions ?? []) rawtx.publish(Buffer.from(t.toBuffer()))
      rawblock?.publish(Buffer.from(block.toBuffer()))
    },
  )
  return {
    rawblock,
    rawtx,
    all: [rawblock, rawtx].filter((z): z is ZmqPublisher => z !== undefined),
  }
}

/** The sync mode: a headers-only chain that the node "downloads" at a set rate. */
class SyncNode {
  readonly chain: SimulatedChain
  blocks: number
  private fraction = 0
  private lastTick = Date.now()
  private ibd: boolean
  private readonly rate: number
  private readonly warmupUntil: number

  constructor(
    private readonly opts: BitcoindSimulatorOptions,
    private readonly network: SimulatedNetwork,
    private readonly log: (l: string) => void,
  ) {
    this.chain = new SimulatedChain({
      network,
      tipHeight: opts.headers ?? 1_000,
      blockIntervalSec: network === 'regtest' ? 1 : 600,
    })
    this.rate = opts.blocksPerSecond ?? 200
    this.blocks = Math.min(opts.blocks ?? 0, this.chain.tipHeight)
    this.ibd = this.blocks < this.chain.tipHeight || this.chain.tipHeight === 0
    this.warmupUntil = Date.now() + (opts.warmupMs ?? 0)
  }

  /** Validation advances in wall-clock time; computed lazily so idle simulators cost nothing. */
  advance(): void {
    const now = Date.now()
    if (now < this.warmupUntil) {
      this.lastTick = now
      return
    }
    const from = Math.max(this.lastTick, this.warmupUntil)
    this.fraction += ((now - from) / 1000) * this.rate
    this.lastTick = now
    const whole = Math.floor(this.fraction)
    if (whole > 0) {
      this.fraction -= whole
      const before = this.blocks
      this.blocks = Math.min(this.chain.tipHeight, this.blocks + whole)
      if (before !== this.blocks && this.blocks % 1000 < whole)
        this.log(`UpdateTip: height=${this.blocks} progress=${this.progress().toFixed(6)}`)
    }
    // A fresh regtest node with only the genesis block stays in IBD until something is mined; once
    // at a tip above genesis, bitcoind latches IBD off and never goes back.
    if (this.blocks >= this.chain.tipHeight && this.chain.tipHeight > 0) {
      this.fraction = 0
      if (this.ibd)
        this.log(`leaving InitialBlockDownload (latching to false) at height ${this.blocks}`)
      this.ibd = false
    }
  }

  tick(): void {
    this.advance()
    if (!this.ibd) {
      this.chain.extend(1)
      this.advance()
    }
  }

  progress(): number {
    // Tx-weighted, like GuessVerificationProgress; exactly 1 only at the network tip.
    const done = this.chain.txTotal(this.blocks)
    const total = this.chain.txTotal(this.chain.tipHeight)
    return this.blocks >= this.chain.tipHeight && this.chain.tipHeight > 0
      ? 1
      : Math.min(0.999999, done / total)
  }

  table(startedAt: number): RpcTable {
    const { chain, network, opts } = this
    const ONE_BLOCK_BYTES = 250_000
    const header = (hash: unknown, verbose: unknown) => {
      const s = String(hash)
      if (s.length !== 64)
        throw new RpcError(
          RPC_CODE.INVALID_PARAMETER,
          `hash must be of length 64 (not ${s.length}, for '${s}')`,
        )
      if (!/^[0-9a-fA-F]{64}$/.test(s))
        throw new RpcError(
          RPC_CODE.INVALID_PARAMETER,
          `hash must be hexadecimal string (not '${s}')`,
        )
      const h = chain.byBlockHash(s)
      if (!h) throw new RpcError(RPC_CODE.INVALID_ADDRESS_OR_KEY, 'Block not found')
      if (verbose === false) return h.hex
      const best = this.ibd || h.height > this.blocks ? chain.tipHeight : this.blocks
      const inActive = h.height <= this.blocks
      const next = chain.at(h.height + 1)
      return {
        hash: h.hash,
        confirmations: inActive ? this.blocks - h.height + 1 : -1,
        height: h.height,
        version: h.version,
        versionHex: (h.version >>> 0).toString(16).padStart(8, '0'),
        merkleroot: h.merkleRoot,
        time: h.time,
        mediantime: chain.medianTime(h.height),
        nonce: h.nonce,
        bits: h.bits.toString(16).padStart(8, '0'),
        target: targetHex(h.bits),
        difficulty: difficultyFromBits(h.bits),
        chainwork: (BigInt(h.height + 1) * 2n).toString(16).padStart(64, '0'),
        nTx: h.txCount,
        ...(h.previousHash ? { previousblockhash: h.previousHash } : {}),
        ...(next && next.height <= best ? { nextblockhash: next.hash } : {}),
      }
    }
    const fixed = (run: (args: unknown[]) => unknown, args: RpcTable[string]['args'] = []) => ({
      args,
      run,
    })
    return {
      getblockchaininfo: fixed(() => {
        const tip = chain.at(this.blocks)!
        return {
          chain: CHAIN_NAME[network],
          blocks: this.blocks,
          headers: chain.tipHeight,
          bestblockhash: tip.hash,
          bits: tip.bits.toString(16).padStart(8, '0'),
          target: targetHex(tip.bits),
          difficulty: difficultyFromBits(tip.bits),
          time: tip.time,
          mediantime: chain.medianTime(this.blocks),
          verificationprogress: this.progress(),
          initialblockdownload: this.ibd,
          chainwork: (BigInt(this.blocks + 1) * 2n).toString(16).padStart(64, '0'),
          size_on_disk: opts.pruned
            ? Math.min(this.blocks, 2_200) * ONE_BLOCK_BYTES
            : (this.blocks + 1) * ONE_BLOCK_BYTES,
          pruned: opts.pruned ?? false,
          ...(opts.pruned
            ? {
                pruneheight: Math.max(0, this.blocks - 2_200),
                automatic_pruning: true,
                prune_target_size: 576_716_800,
              }
            : {}),
          warnings: [],
        }
      }),
      getnetworkinfo: fixed(() => ({
        version: 310000,
        subversion: '/Satoshi:31.0.0/',
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
        relayfee: new Btc(100n),
        incrementalfee: new Btc(100n),
        localaddresses: [],
        warnings: [],
      })),
      getblockcount: fixed(() => this.blocks),
      getbestblockhash: fixed(() => chain.at(this.blocks)!.hash),
      getblockhash: fixed(
        ([height]) => {
          const h = height as number
          if (!Number.isInteger(h) || h < 0 || h > this.blocks)
            throw new RpcError(RPC_CODE.INVALID_PARAMETER, 'Block height out of range')
          return chain.at(h)!.hash
        },
        [{ name: 'height', type: 'number', required: true }],
      ),
      getblockheader: fixed(
        ([hash, verbose]) => header(hash, verbose ?? true),
        [
          { name: 'blockhash', type: 'string', required: true },
          { name: 'verbose', type: 'bool' },
        ],
      ),
      getmempoolinfo: fixed(() => ({
        loaded: !this.ibd,
        size: 0,
        bytes: 0,
        usage: 0,
        total_fee: new Btc(0n),
        maxmempool: 300_000_000,
        mempoolminfee: new Btc(100n),
        minrelaytxfee: new Btc(100n),
        incrementalrelayfee: new Btc(100n),
        unbroadcastcount: 0,
        fullrbf: true,
        permitbaremultisig: true,
        maxdatacarriersize: 100_000,
        limitclustercount: 64,
        limitclustersize: 101_000,
        optimal: true,
      })),
      uptime: fixed(() => Math.floor((Date.now() - startedAt) / 1000)),
      estimatesmartfee: fixed(
        ([target, mode]) => {
          const t = target as number
          if (!Number.isInteger(t) || t < 1 || t > 1008)
            throw new RpcError(
              RPC_CODE.INVALID_PARAMETER,
              'Invalid conf_target, must be between 1 and 1008',
            )
          if (
            mode !== null &&
            mode !== undefined &&
            !['unset', 'economical', 'conservative'].includes(String(mode).toLowerCase())
          )
            throw new RpcError(
              RPC_CODE.INVALID_PARAMETER,
              'Invalid estimate_mode parameter, must be one of: "unset", "economical", "conservative"',
            )
          // Regtest never has fee data in this mode (no transactions), as a real regtest node
          // without tracked confirmations; the other networks get a plausible falling curve.
          if (this.ibd || network === 'regtest')
            return { errors: ['Insufficient data or no feerate found'], blocks: 0 }
          const satPerVb = Math.max(1, Math.round(12 / Math.sqrt(t)))
          return {
            feerate: new Btc(BigInt(satPerVb * 1000)),
            blocks: Math.min(Math.max(2, t), 1008),
          }
        },
        [
          { name: 'conf_target', type: 'number', required: true },
          { name: 'estimate_mode', type: 'string' },
        ],
      ),
      generatetoaddress: fixed(
        ([count, address]) => {
          if (network !== 'regtest')
            throw new RpcError(-32603, 'This method can only be used on regtest')
          const n = count as number
          if (!Number.isInteger(n) || n < 0)
            throw new RpcError(RPC_CODE.INVALID_PARAMETER, 'Invalid nblocks')
          if (String(address).length < 14)
            throw new RpcError(RPC_CODE.INVALID_ADDRESS_OR_KEY, 'Error: Invalid address')
          if (this.blocks < chain.tipHeight)
            throw new RpcError(RPC_CODE.MISC_ERROR, 'SIMULATOR: the node is still syncing')
          const made = chain.extend(n)
          this.blocks = chain.tipHeight
          this.advance()
          return made.map((h) => h.hash)
        },
        [
          { name: 'nblocks', type: 'number', required: true },
          { name: 'address', type: 'string', required: true },
          { name: 'maxtries', type: 'number' },
        ],
      ),
    }
  }
}

function targetHex(bits: number): string {
  const exponent = bits >>> 24
  const mantissa = bits & 0x007fffff
  const t = Buffer.alloc(32)
  const m = Buffer.from([(mantissa >> 16) & 0xff, (mantissa >> 8) & 0xff, mantissa & 0xff])
  const pos = 32 - exponent
  for (let i = 0; i < 3; i++) if (pos + i >= 0 && pos + i < 32) t[pos + i] = m[i]!
  return t.toString('hex')
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
  BITCOIND_SIM_MODE: z.enum(['sync', 'world']).optional(),
})

export interface BitcoinConf {
  network?: SimulatedNetwork
  rpcauth: string[]
  rpcport?: number
  prune?: number
  conf?: string
  datadir?: string
  zmqpubrawblock?: string
  zmqpubrawtx?: string
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
    if (k === 'zmqpubrawblock') out.zmqpubrawblock = v
    if (k === 'zmqpubrawtx') out.zmqpubrawtx = v
  }
  return out
}

/** The port of a `tcp://host:port` ZMQ endpoint (the simulator binds it on BITCOIND_SIM_HOST). */
function zmqPort(endpoint: string): number {
  const m = /^tcp:\/\/[^:]+:(\d+)$/.exec(endpoint)
  if (!m) throw new Error(`unsupported ZMQ endpoint ${endpoint} (SIMULATOR: tcp://host:port only)`)
  return Number(m[1])
}

/**
 * Runs the simulator as a process, configured like bitcoind: command-line arguments
 * (`-regtest -rpcauth=user:salt$hash -rpcport=18443 -conf=/path/bitcoin.conf`) and/or a
 * bitcoin.conf (BITCOIND_SIM_CONF or -conf), plus env: BITCOIND_SIM_RPCAUTH (`user:salt$hash`,
 * several separated by spaces or commas), BITCOIND_SIM_NETWORK, BITCOIND_SIM_PORT,
 * BITCOIND_SIM_HOST, BITCOIND_SIM_HEADERS, BITCOIND_SIM_BLOCKS, BITCOIND_SIM_BLOCKS_PER_SECOND,
 * BITCOIND_SIM_WARMUP_MS, BITCOIND_SIM_MINE_INTERVAL_MS, BITCOIND_SIM_PRUNED, BITCOIND_SIM_MODE
 * (`world`: the simulated chain with transactions, and ZMQ from -zmqpubrawblock/-zmqpubrawtx).
 * SIGTERM/SIGINT stop it.
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
    ...(cfg.BITCOIND_SIM_MODE === 'world'
      ? {
          chain: true as const,
          zmq: {
            ...(conf.zmqpubrawblock ? { rawblockPort: zmqPort(conf.zmqpubrawblock) } : {}),
            ...(conf.zmqpubrawtx ? { rawtxPort: zmqPort(conf.zmqpubrawtx) } : {}),
          },
        }
      : {}),
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
