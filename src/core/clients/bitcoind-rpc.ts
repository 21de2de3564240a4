// bitcoind's JSON-RPC over HTTP (Bitcoin Core doc/JSON-RPC-interface.md), with Basic auth from the
// box's rpcauth user. Every answer is validated with zod; every failure becomes a FlashError that
// says what happened (not running, wrong password, still loading, …) and what to do.
import { z } from 'zod'
import { FlashError } from '../errors'
import { redact } from '../log'

export interface BitcoindRpcOptions {
  /** e.g. http://127.0.0.1:8332 */
  readonly url: string
  readonly user: string
  readonly password: string
  readonly timeoutMs?: number
  /** For tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch
}

/** bitcoind's RPC error codes the box reacts to (src/rpc/protocol.h). */
export const RPC_IN_WARMUP = -28
export const RPC_METHOD_NOT_FOUND = -32601

export const BlockchainInfoSchema = z.object({
  chain: z.string(),
  blocks: z.number().int().min(0),
  headers: z.number().int().min(0),
  bestblockhash: z.string().regex(/^[0-9a-f]{64}$/),
  verificationprogress: z.number().min(0).max(1.0000001),
  initialblockdownload: z.boolean(),
  pruned: z.boolean(),
  size_on_disk: z.number().min(0),
  time: z.number().int().optional(),
  mediantime: z.number().int().optional(),
  pruneheight: z.number().int().optional(),
})
export type BlockchainInfo = z.infer<typeof BlockchainInfoSchema>

export const NetworkInfoSchema = z.object({
  version: z.number().int(),
  subversion: z.string(),
  protocolversion: z.number().int(),
  connections: z.number().int().min(0),
  networkactive: z.boolean(),
  relayfee: z.number(),
})
export type NetworkInfo = z.infer<typeof NetworkInfoSchema>

export const BlockHeaderSchema = z.object({
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  confirmations: z.number().int(),
  height: z.number().int().min(0),
  time: z.number().int(),
  mediantime: z.number().int(),
  previousblockhash: z.string().optional(),
  nextblockhash: z.string().optional(),
  nTx: z.number().int().min(0),
})
export type BlockHeader = z.infer<typeof BlockHeaderSchema>

export const MempoolInfoSchema = z.object({
  loaded: z.boolean(),
  size: z.number().int().min(0),
  bytes: z.number().int().min(0),
  usage: z.number().int().min(0),
  mempoolminfee: z.number(),
})
export type MempoolInfo = z.infer<typeof MempoolInfoSchema>

export const SmartFeeSchema = z.object({
  /** BTC per kvB; absent when bitcoind has no estimate yet. */
  feerate: z.number().optional(),
  errors: z.array(z.string()).optional(),
  blocks: z.number().int(),
})
export type SmartFee = z.infer<typeof SmartFeeSchema>

/** bitcoind's getmempoolentry (fees in BTC). */
export const MempoolEntrySchema = z.object({
  vsize: z.number().int().min(1),
  weight: z.number().int().min(1).optional(),
  time: z.number().int().optional(),
  height: z.number().int().optional(),
  descendantcount: z.number().int(),
  descendantsize: z.number().int(),
  ancestorcount: z.number().int(),
  ancestorsize: z.number().int(),
  fees: z.object({
    base: z.number(),
    modified: z.number().optional(),
    ancestor: z.number(),
    descendant: z.number(),
  }),
  depends: z.array(z.string()),
  spentby: z.array(z.string()),
  'bip125-replaceable': z.boolean().optional(),
})
export type MempoolEntry = z.infer<typeof MempoolEntrySchema>

/** bitcoind v31's getmempoolcluster: the cluster's chunks in mining order (fees in BTC). */
export const MempoolClusterSchema = z.object({
  clusterweight: z.number().int(),
  txcount: z.number().int(),
  chunks: z.array(
    z.object({ chunkfee: z.number(), chunkweight: z.number().int(), txs: z.array(z.string()) }),
  ),
})
export type MempoolCluster = z.infer<typeof MempoolClusterSchema>

/** A JSON-RPC error answer of bitcoind, with the node's own code and words kept for mapping. */
export class BitcoindRpcError extends FlashError {
  constructor(
    code: string,
    message: string,
    hint: string,
    readonly rpcCode: number,
    readonly rpcMessage: string,
  ) {
    super(code, message, hint)
  }
}

/** RPC_INVALID_ADDRESS_OR_KEY: e.g. "Transaction not in mempool". */
export const RPC_INVALID_ADDRESS_OR_KEY = -5

const ReplySchema = z.object({
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string() }).nullable().optional(),
  id: z.unknown().optional(),
})

export class BitcoindRpc {
  private readonly url: string
  private readonly auth: string
  private readonly timeoutMs: number
  private readonly fetch: typeof fetch
  private nextId = 1

  constructor(opts: BitcoindRpcOptions) {
    let parsed: URL
    try {
      parsed = new URL(opts.url)
    } catch {
      throw new FlashError(
        'bitcoind.bad-url',
        `The Bitcoin node address "${opts.url}" is not a valid URL.`,
        'Check the Bitcoin node settings; the address looks like http://127.0.0.1:8332.',
      )
    }
    if (parsed.username || parsed.password) {
      throw new FlashError(
        'bitcoind.bad-url',
        'The Bitcoin node address must not contain a user name or password.',
        'Remove the credentials from the address; Flash Box sends them separately.',
      )
    }
    redact(opts.password)
    this.url = parsed.toString()
    this.auth = 'Basic ' + Buffer.from(`${opts.user}:${opts.password}`).toString('base64')
    this.timeoutMs = opts.timeoutMs ?? 10_000
    this.fetch = opts.fetch ?? fetch
  }

  /** One JSON-RPC call; the result is validated with `schema`. */
  async call<T>(method: string, params: readonly unknown[], schema: z.ZodType<T>): Promise<T> {
    const id = this.nextId++
    let res: Response
    try {
      res = await this.fetch(this.url, {
        method: 'POST',
        headers: { authorization: this.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '1.0', id, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (err) {
      throw transportError(err, this.timeoutMs)
    }
    if (res.status === 401) {
      await res.body?.cancel()
      throw new FlashError(
        'bitcoind.auth',
        'The Bitcoin node refused the password Flash Box sent.',
        'The node and Flash Box have different RPC credentials. Restart the Bitcoin node from Flash Box so it picks up the current settings.',
      )
    }
    if (res.status === 403) {
      // Bitcoin Core answers 403 before it looks at any password when the caller's address is not
      // in rpcallowip (httpserver.cpp, ClientAllowed).
      await res.body?.cancel()
      throw new FlashError(
        'bitcoind.forbidden',
        'The Bitcoin node does not accept connections from the address Flash Box connects from.',
        'The node only answers addresses listed in its rpcallowip setting. Restart the Bitcoin node from Flash Box so it picks up the current settings; if you run the node yourself, add the address Flash Box connects from to rpcallowip in its bitcoin.conf.',
      )
    }
    let body: unknown
    const text = await res.text()
    try {
      body = JSON.parse(text)
    } catch {
      throw badResponse(`HTTP ${res.status} with a body that is not JSON`)
    }
    const reply = ReplySchema.safeParse(body)
    if (!reply.success) throw badResponse('an answer that is not a JSON-RPC reply')
    if (reply.data.error) throw rpcError(method, reply.data.error.code, reply.data.error.message)
    const result = schema.safeParse(reply.data.result)
    if (!result.success) throw badResponse(`an unexpected answer to ${method}`)
    return result.data
  }

  getBlockchainInfo(): Promise<BlockchainInfo> {
    return this.call('getblockchaininfo', [], BlockchainInfoSchema)
  }
  getNetworkInfo(): Promise<NetworkInfo> {
    return this.call('getnetworkinfo', [], NetworkInfoSchema)
  }
  getBlockCount(): Promise<number> {
    return this.call('getblockcount', [], z.number().int().min(0))
  }
  getBlockHash(height: number): Promise<string> {
    return this.call('getblockhash', [height], z.string().regex(/^[0-9a-f]{64}$/))
  }
  getBestBlockHash(): Promise<string> {
    return this.call('getbestblockhash', [], z.string().regex(/^[0-9a-f]{64}$/))
  }
  getBlockHeader(hash: string): Promise<BlockHeader> {
    return this.call('getblockheader', [hash, true], BlockHeaderSchema)
  }
  /** The raw 80-byte header, hex. */
  getBlockHeaderHex(hash: string): Promise<string> {
    return this.call('getblockheader', [hash, false], z.string().regex(/^[0-9a-f]{160}$/))
  }
  getMempoolInfo(): Promise<MempoolInfo> {
    return this.call('getmempoolinfo', [], MempoolInfoSchema)
  }
  uptime(): Promise<number> {
    return this.call('uptime', [], z.number().int().min(0))
  }
  estimateSmartFee(confTarget: number): Promise<SmartFee> {
    return this.call('estimatesmartfee', [confTarget], SmartFeeSchema)
  }
  /** Relays a signed transaction; the node's refusal is a BitcoindRpcError with its reason. */
  sendRawTransaction(hex: string): Promise<string> {
    return this.call('sendrawtransaction', [hex], z.string().regex(/^[0-9a-f]{64}$/))
  }
  /** The mempool entry of `txid`, or undefined when it is not in the mempool. */
  async getMempoolEntry(txid: string): Promise<MempoolEntry | undefined> {
    try {
      return await this.call('getmempoolentry', [txid], MempoolEntrySchema)
    } catch (e) {
      if (e instanceof BitcoindRpcError && e.rpcCode === RPC_INVALID_ADDRESS_OR_KEY)
        return undefined
      throw e
    }
  }
  /** v31's cluster of `txid` with its chunks, or undefined when it is not in the mempool. */
  async getMempoolCluster(txid: string): Promise<MempoolCluster | undefined> {
    try {
      return await this.call('getmempoolcluster', [txid], MempoolClusterSchema)
    } catch (e) {
      if (e instanceof BitcoindRpcError && e.rpcCode === RPC_INVALID_ADDRESS_OR_KEY)
        return undefined
      throw e
    }
  }
}

function transportError(err: unknown, timeoutMs: number): FlashError {
  const e = err as { name?: string; cause?: { code?: string } }
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new FlashError(
      'bitcoind.timeout',
      `The Bitcoin node did not answer within ${Math.round(timeoutMs / 1000)} seconds.`,
      'It may be very busy (for example while it verifies blocks). Wait a minute; if it stays silent, restart it from the dashboard.',
      { cause: err },
    )
  }
  const code = e?.cause?.code
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH') {
    return new FlashError(
      'bitcoind.unreachable',
      'The Bitcoin node is not running or not accepting connections.',
      'Start the stack from the dashboard. If the node keeps stopping, open its logs.',
      { cause: err },
    )
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new FlashError(
      'bitcoind.unreachable',
      'Flash Box cannot find the Bitcoin node on the network.',
      'Make sure the Bitcoin node container is running; restart the stack if it is not.',
      { cause: err },
    )
  }
  return new FlashError(
    'bitcoind.unreachable',
    'Flash Box could not talk to the Bitcoin node.',
    'Check that the stack is running. If this keeps happening, open the Bitcoin node logs.',
    { cause: err },
  )
}

function rpcError(method: string, code: number, message: string): FlashError {
  if (code === RPC_IN_WARMUP) {
    return new FlashError(
      'bitcoind.warming-up',
      `The Bitcoin node is starting up (${message.replace(/…|\.\.\.$/, '').trim()}).`,
      'This is normal after a start and can take a few minutes. Nothing to do but wait.',
    )
  }
  if (code === RPC_METHOD_NOT_FOUND) {
    return new FlashError(
      'bitcoind.method-not-found',
      `The Bitcoin node does not know the command "${method}".`,
      'The node version may be too old or too new for this Flash Box. Update Flash Box.',
    )
  }
  return new BitcoindRpcError(
    'bitcoind.rpc-error',
    `The Bitcoin node answered "${method}" with an error: ${message} (code ${code}).`,
    'If this keeps happening, open the Bitcoin node logs or contact support.',
    code,
    message,
  )
}

function badResponse(what: string): FlashError {
  return new FlashError(
    'bitcoind.bad-response',
    `The Bitcoin node sent ${what}.`,
    'Something other than Bitcoin Core may be answering on its port. Check the stack settings.',
  )
}
