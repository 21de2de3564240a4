// SIMULATOR — test-only. bitcoind's JSON-RPC as Bitcoin Core v31 answers it, on the simulated
// chain (chain.ts): the request layer (JSON-RPC 1.0 / 2.0 shapes and HTTP statuses, batches,
// notifications, named parameters, type errors, help text on a wrong argument count) and the node
// methods the box, LND, electrs and NBXplorer call. The recorded answers of a real v31 node
// (tests/fixtures/bitcoind-v31) are replayed against it in tests/unit/world-bitcoind-rpc.test.ts.
//
// Not modelled: wallets (wallet methods answer -18 "No wallet is loaded", as a node without a
// wallet does), P2P, estimaterawfee, package validation in testmempoolaccept (each transaction is
// tested alone), help texts other than the three recorded ones (others name the arguments only).
import { address as baddress, Block, Transaction } from 'bitcoinjs-lib'
import * as ecc from 'tiny-secp256k1'
import { DescriptorsFactory } from '@bitcoinerlab/descriptors'
import {
  type Chain,
  ChainPolicyError,
  type Coin,
  DEFAULT_MAX_FEE_PER_KVB,
  REGTEST,
  subsidyAt,
} from './chain'
import { Btc, scriptPubKeyJson, txToJson } from './bitcoind-json'
import { RECORDED_HELP } from './bitcoind-help'

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

export const RPC_CODE = {
  MISC_ERROR: -1,
  TYPE_ERROR: -3,
  WALLET_ERROR: -4,
  INVALID_ADDRESS_OR_KEY: -5,
  INVALID_PARAMETER: -8,
  WALLET_NOT_FOUND: -18,
  VERIFY_ERROR: -25,
  DESERIALIZATION_ERROR: -22,
  IN_WARMUP: -28,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  PARSE_ERROR: -32700,
} as const

export type ArgType =
  'number' | 'string' | 'bool' | 'array' | 'object' | 'numOrBool' | 'amount' | 'any'

export interface RpcArg {
  readonly name: string
  readonly type: ArgType
  readonly required?: boolean
}

export interface RpcCallContext {
  /** The wallet named by a /wallet/<name> path, if any. */
  readonly wallet?: string
}

export interface RpcMethod {
  readonly args: readonly RpcArg[]
  run(args: unknown[], ctx: RpcCallContext): unknown
}

export type RpcTable = Record<string, RpcMethod>

const jsonType = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'array'
      : typeof v === 'boolean'
        ? 'bool'
        : typeof v === 'number'
          ? 'number'
          : typeof v === 'string'
            ? 'string'
            : 'object'

function helpText(method: string, m: RpcMethod): string {
  const recorded = RECORDED_HELP[method]
  if (recorded) return recorded
  const args = m.args.map((a) => (a.required ? a.name : `( ${a.name} )`)).join(' ')
  return `${method}${args ? ` ${args}` : ''}\n\nSIMULATOR: the full help text of this method was not recorded from Bitcoin Core v31.\n`
}

/** Positional arguments after Core's named-parameter mapping and RPCHelpMan's checks. */
function bindArgs(method: string, m: RpcMethod, params: unknown): unknown[] {
  let args: unknown[]
  if (params === undefined || params === null) args = []
  else if (Array.isArray(params)) args = params
  else {
    const named = params as Record<string, unknown>
    for (const k of Object.keys(named)) {
      if (!m.args.some((a) => a.name === k))
        throw new RpcError(RPC_CODE.INVALID_PARAMETER, `Unknown named parameter ${k}`)
    }
    args = m.args.map((a) => (a.name in named ? named[a.name] : null))
    while (args.length > 0 && args[args.length - 1] === null) args.pop()
  }
  const required = m.args.filter((a) => a.required).length
  const given = args.filter((a, i) => a !== null || i >= required).length
  if (
    args.length > m.args.length ||
    given < required ||
    args.slice(0, required).some((a) => a === null || a === undefined)
  )
    throw new RpcError(RPC_CODE.MISC_ERROR, helpText(method, m))
  const wrong: string[] = []
  args.forEach((v, i) => {
    if (v === null || v === undefined) return
    const spec = m.args[i]!
    const t = jsonType(v)
    const ok =
      spec.type === 'any' ||
      (spec.type === 'numOrBool'
        ? t === 'number' || t === 'bool'
        : spec.type === 'amount'
          ? t === 'number' || t === 'string'
          : t === spec.type)
    if (!ok) {
      const expected =
        spec.type === 'numOrBool' ? 'number' : spec.type === 'amount' ? 'number' : spec.type
      wrong.push(
        `    "Position ${i + 1} (${spec.name})": "JSON value of type ${t} is not of expected type ${expected}"`,
      )
    }
  })
  if (wrong.length)
    throw new RpcError(RPC_CODE.TYPE_ERROR, `Wrong type passed:\n{\n${wrong.join(',\n')}\n}`)
  return args
}

export interface RpcReply {
  readonly status: number
  /** Undefined: no body (204). */
  readonly body?: unknown
}

interface Envelope {
  readonly v2: boolean
  readonly hasId: boolean
  readonly id: unknown
}

function replyError(env: Envelope, code: number, message: string): RpcReply {
  const status = env.v2
    ? code === RPC_CODE.INVALID_REQUEST
      ? 400
      : 200
    : code === RPC_CODE.METHOD_NOT_FOUND
      ? 404
      : code === RPC_CODE.INVALID_REQUEST
        ? 400
        : 500
  const id = env.hasId ? { id: env.id } : {}
  return {
    status,
    body: env.v2
      ? { jsonrpc: '2.0', error: { code, message }, ...id }
      : { result: null, error: { code, message }, ...id },
  }
}

/** One request object, answered as Core's JSONRPCExecOne / HTTPReq_JSONRPC do. */
export function execRequest(
  raw: unknown,
  table: RpcTable,
  ctx: RpcCallContext,
  opts: { beforeExec?: () => void } = {},
): RpcReply | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return replyError(
      { v2: false, hasId: true, id: null },
      RPC_CODE.INVALID_REQUEST,
      'Invalid Request object',
    )
  const req = raw as Record<string, unknown>
  const hasId = 'id' in req
  const id = req.id ?? null
  if ('jsonrpc' in req && typeof req.jsonrpc !== 'string')
    return replyError(
      { v2: false, hasId, id },
      RPC_CODE.INVALID_REQUEST,
      'jsonrpc field must be a string',
    )
  if ('jsonrpc' in req && req.jsonrpc !== '1.0' && req.jsonrpc !== '2.0')
    return replyError(
      { v2: false, hasId, id },
      RPC_CODE.INVALID_REQUEST,
      'JSON-RPC version not supported',
    )
  const env: Envelope = { v2: req.jsonrpc === '2.0', hasId, id }
  const notification = env.v2 && !hasId
  if (!('method' in req)) return replyError(env, RPC_CODE.INVALID_REQUEST, 'Missing method')
  if (typeof req.method !== 'string')
    return replyError(env, RPC_CODE.INVALID_REQUEST, 'Method must be a string')
  if ('params' in req && req.params !== null && typeof req.params !== 'object')
    return replyError(env, RPC_CODE.INVALID_REQUEST, 'Params must be an array or object')
  let reply: RpcReply
  try {
    opts.beforeExec?.()
    const m = table[req.method]
    if (!m) throw new RpcError(RPC_CODE.METHOD_NOT_FOUND, 'Method not found')
    const result = m.run(bindArgs(req.method, m, req.params), ctx)
    const idPart = hasId ? { id } : {}
    reply = {
      status: 200,
      body: env.v2 ? { jsonrpc: '2.0', result, ...idPart } : { result, error: null, ...idPart },
    }
  } catch (e) {
    if (e instanceof RpcError) reply = replyError(env, e.code, e.message)
    else reply = replyError(env, RPC_CODE.MISC_ERROR, e instanceof Error ? e.message : String(e))
  }
  return notification ? null : reply
}

/** An HTTP POST body, as bitcoind's HTTPReq_JSONRPC answers it. */
export function execBody(
  text: string,
  table: RpcTable,
  ctx: RpcCallContext,
  opts: { beforeExec?: () => void } = {},
): RpcReply {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return {
      status: 500,
      body: {
        result: null,
        error: { code: RPC_CODE.PARSE_ERROR, message: 'Parse error' },
        id: null,
      },
    }
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0) return { status: 200, body: [] }
    const replies = parsed
      .map((r) => execRequest(r, table, ctx, opts))
      .filter((r): r is RpcReply => r !== null)
    if (replies.length === 0) return { status: 204 }
    return { status: 200, body: replies.map((r) => r.body) }
  }
  if (typeof parsed !== 'object' || parsed === null)
    return {
      status: 500,
      body: {
        result: null,
        error: { code: RPC_CODE.PARSE_ERROR, message: 'Top-level object parse error' },
        id: null,
      },
    }
  return execRequest(parsed, table, ctx, opts) ?? { status: 204 }
}

// ------------------------------------------------------------------ helpers

/** Core's getblockstats over a connected block and its undo data (rpc/blockchain.cpp). */
function blockStats(
  b: NonNullable<ReturnType<Chain['knownBlock']>>,
  undo: Coin[][],
  mediantime: number,
): Record<string, unknown> {
  const PER_UTXO_OVERHEAD = 41 // sizeof(COutPoint) + sizeof(uint32_t) + sizeof(bool)
  const outSize = (script: Uint8Array) => 8 + (script.length < 253 ? 1 : 3) + script.length
  const txs = b.block.transactions!
  let inputs = 0
  let outputs = 0
  let utxos = 0
  let totalOut = 0n
  let totalSize = 0
  let totalWeight = 0
  let swtxs = 0
  let swSize = 0
  let swWeight = 0
  let utxoSizeInc = 0
  let utxoSizeIncActual = 0
  let totalFee = 0n
  const fees: bigint[] = []
  const sizes: number[] = []
  const feerates: Array<[bigint, number]> = []
  txs.forEach((tx, i) => {
    outputs += tx.outs.length
    let txOut = 0n
    for (const o of tx.outs) {
      txOut += o.value
      const size = outSize(o.script) + PER_UTXO_OVERHEAD
      utxoSizeInc += size
      if (b.height === 0) continue
      if (o.script[0] === 0x6a || o.script.length > 10_000) continue
      utxos++
      utxoSizeIncActual += size
    }
    if (i === 0) return
    inputs += tx.ins.length
    totalOut += txOut
    const size = tx.byteLength()
    sizes.push(size)
    totalSize += size
    const weight = tx.weight()
    totalWeight += weight
    if (tx.hasWitnesses()) {
      swtxs++
      swSize += size
      swWeight += weight
    }
    let txIn = 0n
    for (const c of undo[i] ?? []) {
      txIn += c.value
      const s = outSize(c.script) + PER_UTXO_OVERHEAD
      utxoSizeInc -= s
      utxoSizeIncActual -= s
    }
    const fee = txIn - txOut
    fees.push(fee)
    totalFee += fee
    feerates.push([weight ? (fee * 4n) / BigInt(weight) : 0n, weight])
  })
  const n = txs.length - 1
  const median = <T extends number | bigint>(xs: T[], half: (a: T, b: T) => T): T | 0 => {
    if (xs.length === 0) return 0
    const s = [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return s.length % 2 ? s[(s.length - 1) / 2]! : half(s[s.length / 2 - 1]!, s[s.length / 2]!)
  }
  const percentiles = [0n, 0n, 0n, 0n, 0n]
  if (feerates.length) {
    const sorted = [...feerates].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]))
    const marks = [
      totalWeight / 10,
      totalWeight / 4,
      totalWeight / 2,
      (totalWeight * 3) / 4,
      (totalWeight * 9) / 10,
    ]
    let next = 0
    let cumulative = 0
    for (const [rate, w] of sorted) {
      cumulative += w
      while (next < 5 && cumulative >= marks[next]!) percentiles[next++] = rate
    }
    for (let i = next; i < 5; i++) percentiles[i] = sorted[sorted.length - 1]![0]
  }
  const min = <T extends number | bigint>(xs: T[]): T | 0 =>
    xs.length ? xs.reduce((a, x) => (x < a ? x : a)) : 0
  const max = <T extends number | bigint>(xs: T[]): T | 0 =>
    xs.length ? xs.reduce((a, x) => (x > a ? x : a)) : 0
  const rates = feerates.map((f) => f[0])
  const subsidy = txs[0]!.outs.reduce((a, o) => a + o.value, 0n) - totalFee
  return {
    avgfee: n > 0 ? Number(totalFee / BigInt(n)) : 0,
    avgfeerate: totalWeight ? Number((totalFee * 4n) / BigInt(totalWeight)) : 0,
    avgtxsize: n > 0 ? Math.floor(totalSize / n) : 0,
    blockhash: b.hash,
    feerate_percentiles: percentiles.map(Number),
    height: b.height,
    ins: inputs,
    maxfee: Number(max(fees)),
    maxfeerate: Number(max(rates)),
    maxtxsize: max(sizes),
    medianfee: Number(median(fees, (a, c) => (a + c) / 2n)),
    mediantime,
    mediantxsize: median(sizes, (a, c) => Math.floor((a + c) / 2)),
    minfee: Number(min(fees)),
    minfeerate: Number(min(rates)),
    mintxsize: min(sizes),
    outs: outputs,
    subsidy: Number(subsidyFromCoinbase(subsidy, b.height)),
    swtotal_size: swSize,
    swtotal_weight: swWeight,
    swtxs,
    time: b.block.timestamp,
    total_out: Number(totalOut),
    total_size: totalSize,
    total_weight: totalWeight,
    totalfee: Number(totalFee),
    txs: txs.length,
    utxo_increase: outputs - inputs,
    utxo_size_inc: utxoSizeInc,
    utxo_increase_actual: utxos - inputs,
    utxo_size_inc_actual: utxoSizeIncActual,
  }
}

/** Core reports the consensus subsidy, not what the coinbase claimed. */
function subsidyFromCoinbase(_claimed: bigint, height: number): bigint {
  return subsidyAt(height)
}

const HEX64 = /^[0-9a-fA-F]{64}$/
function parseHash(v: unknown, name: string): string {
  const s = String(v)
  if (s.length !== 64)
    throw new RpcError(
      RPC_CODE.INVALID_PARAMETER,
      `${name} must be of length 64 (not ${s.length}, for '${s}')`,
    )
  if (!HEX64.test(s))
    throw new RpcError(
      RPC_CODE.INVALID_PARAMETER,
      `${name} must be hexadecimal string (not '${s}')`,
    )
  return s.toLowerCase()
}

/** BTC/kvB (number or string) to sat/kvB, as AmountFromValue. */
function amountToSats(v: unknown): bigint {
  const n = typeof v === 'string' ? Number(v) : (v as number)
  if (!Number.isFinite(n) || n < 0) throw new RpcError(RPC_CODE.TYPE_ERROR, 'Amount out of range')
  return BigInt(Math.round(n * 1e8))
}

const REGTEST_DIFFICULTY = 4.656542373906925e-10
const REGTEST_TARGET = '7fffff0000000000000000000000000000000000000000000000000000000000'
const WALLET_METHODS = [
  'getbalance',
  'getbalances',
  'getwalletinfo',
  'getnewaddress',
  'getrawchangeaddress',
  'sendtoaddress',
  'sendmany',
  'send',
  'sendall',
  'listunspent',
  'listtransactions',
  'listsinceblock',
  'gettransaction',
  'fundrawtransaction',
  'signrawtransactionwithwallet',
  'walletprocesspsbt',
  'walletcreatefundedpsbt',
  'bumpfee',
  'psbtbumpfee',
  'listdescriptors',
  'importdescriptors',
  'getaddressinfo',
  'getreceivedbyaddress',
  'listreceivedbyaddress',
  'lockunspent',
  'listlockunspent',
  'settxfee',
  'abandontransaction',
  'rescanblockchain',
  'walletpassphrase',
  'walletlock',
  'backupwallet',
  'unloadwallet',
]

export interface WorldRpcOptions {
  /** ZMQ endpoints to report in getzmqnotifications. */
  readonly zmq?: { readonly rawblock?: string; readonly rawtx?: string }
  readonly startedAt?: number
  readonly now?: () => number
}

/** The node methods, answering from `chain`. */
export function worldRpcTable(chain: Chain, opts: WorldRpcOptions = {}): RpcTable {
  const now = opts.now ?? (() => Date.now())
  const startedAt = opts.startedAt ?? now()
  const descriptors = DescriptorsFactory(ecc)
  let leftIbd = false
  const ibd = (): boolean => {
    if (leftIbd) return false
    const tip = chain.blockAt(chain.tip().height)!
    // Core latches out of IBD once the tip is less than a day old (-maxtipage).
    if (tip.block.timestamp > now() / 1000 - 24 * 3600) leftIbd = true
    return !leftIbd
  }

  const blockOf = (hashArg: unknown, name: string) => {
    const hash = parseHash(hashArg, name)
    const b = chain.knownBlock(hash)
    if (!b) throw new RpcError(RPC_CODE.INVALID_ADDRESS_OR_KEY, 'Block not found')
    return b
  }

  const headerJson = (b: ReturnType<Chain['knownBlock']> & object) => {
    const tip = chain.tip()
    const next = b.active ? chain.blockAt(b.height + 1) : undefined
    const blk = b.block
    return {
      hash: b.hash,
      confirmations: b.active ? tip.height - b.height + 1 : -1,
      height: b.height,
      version: blk.version,
      versionHex: (blk.version >>> 0).toString(16).padStart(8, '0'),
      merkleroot: Buffer.from(blk.merkleRoot!).reverse().toString('hex'),
      time: blk.timestamp,
      mediantime: b.active ? chain.medianTimePast(b.height) : blk.timestamp,
      nonce: blk.nonce,
      bits: blk.bits.toString(16).padStart(8, '0'),
      target: REGTEST_TARGET,
      difficulty: REGTEST_DIFFICULTY,
      chainwork: (BigInt(b.height + 1) * 2n).toString(16).padStart(64, '0'),
      nTx: blk.transactions!.length,
      ...(b.height > 0
        ? { previousblockhash: Buffer.from(blk.prevHash!).reverse().toString('hex') }
        : {}),
      ...(next ? { nextblockhash: next.hash } : {}),
    }
  }

  const entryJson = (txid: string) => {
    const e = chain.mempoolEntry(txid)
    if (!e) throw new RpcError(RPC_CODE.INVALID_ADDRESS_OR_KEY, 'Transaction not in mempool')
    const chunk = chain.mempoolChunks().find((c) => c.txids.includes(txid))!
    const signals = (t: string, seen = new Set<string>()): boolean => {
      const x = chain.mempoolEntry(t)
      if (!x || seen.has(t)) return false
      seen.add(t)
      return (
        x.tx.ins.some((i) => i.sequence < 0xfffffffe) ||
        [...x.parents].some((p) => signals(p, seen))
      )
    }
    return {
      vsize: e.vsize,
      weight: e.weight,
      time: e.time,
      height: e.height,
      descendantcount: e.descendantCount,
      descendantsize: e.descendantSize,
      ancestorcount: e.ancestorCount,
      ancestorsize: e.ancestorSize,
      wtxid: e.wtxid,
      chunkweight: chunk.weight,
      fees: {
        base: new Btc(e.fee),
        modified: new Btc(e.fee),
        ancestor: new Btc(e.ancestorFees),
        descendant: new Btc(e.descendantFees),
        chunk: new Btc(chunk.fee),
      },
      depends: [...e.parents],
      spentby: [...e.children],
      'bip125-replaceable': signals(txid),
      unbroadcast: true,
    }
  }

  const mempoolOrder = (): string[] => chain.mempoolChunks().flatMap((c) => c.txids)

  const verbosityOf = (v: unknown, dflt: number): number =>
    v === null || v === undefined ? dflt : typeof v === 'boolean' ? (v ? 1 : 0) : (v as number)

  const blockJson = (b: NonNullable<ReturnType<Chain['knownBlock']>>, verbosity: number) => {
    const blk = b.block
    const txs = blk.transactions!
    const cb = txs[0]!
    const undo = chain.blockUndo(b.hash) ?? []
    const txField =
      verbosity <= 1
        ? txs.map((t) => t.getId())
        : txs.map((t, i) =>
            txToJson(t, { prevouts: i > 0 ? undo[i] : undefined, withPrevout: verbosity >= 3 }),
          )
    return {
      ...headerJson(b),
      strippedsize: blk.byteLength(false, false),
      size: blk.byteLength(false, true),
      weight: blk.weight(),
      coinbase_tx: {
        version: cb.version,
        locktime: cb.locktime,
        sequence: cb.ins[0]!.sequence,
        coinbase: Buffer.from(cb.ins[0]!.script).toString('hex'),
        ...(cb.ins[0]!.witness.length > 0
          ? { witness: Buffer.from(cb.ins[0]!.witness[0]!).toString('hex') }
          : {}),
      },
      tx: txField,
    }
  }

  const decode = (hex: unknown): Transaction => {
    try {
      const s = String(hex)
      if (!/^([0-9a-fA-F]{2})+$/.test(s)) throw new Error('not hex')
      const tx = Transaction.fromHex(s)
      if (tx.ins.length === 0) throw new Error('no inputs')
      return tx
    } catch {
      throw new RpcError(
        RPC_CODE.DESERIALIZATION_ERROR,
        'TX decode failed. Make sure the tx has at least one input.',
      )
    }
  }

  const maxFeeArg = (v: unknown): bigint =>
    v === null || v === undefined ? DEFAULT_MAX_FEE_PER_KVB : amountToSats(v)

  const generate = (n: unknown, script: Uint8Array): string[] => {
    const count = n as number
    if (!Number.isInteger(count) || count < 0)
      throw new RpcError(RPC_CODE.INVALID_PARAMETER, 'Invalid nblocks')
    return chain.mine(count, script)
  }

  // getmempoolancestors / getmempooldescendants: one shape, the relation differs.
  const mempoolRelatives = (relation: 'ancestors' | 'descendants'): RpcTable[string] => ({
    args: [
      { name: 'txid', type: 'string', required: true },
      { name: 'verbose', type: 'bool' },
    ],
    run: ([txidArg, verbose]) => {
      const txid = parseHash(txidArg, 'parameter 1')
      if (!chain.mempoolEntry(txid))
        throw new RpcError(RPC_CODE.INVALID_ADDRESS_OR_KEY, 'Transaction not in mempool')
      const set = chain[relation](txid)
      const order = mempoolOrder().filter((t) => set.has(t))
      return verbose === true ? Object.fromEntries(order.map((t) => [t, entryJson(t)])) : order
    },
  })

  const table: RpcTable = {
    getblockchaininfo: {
      args: [],
      run: () => {
        const tip = chain.tip()
        const b = chain.blockAt(tip.height)!
        let size = 0
        for (let h = 0; h <= tip.height; h++)
          size += chain.blockAt(h)!.block.byteLength() + 8 + (h > 0 ? 40 : 0)
        const inIbd = ibd()
        return {
          chain: 'regtest',
          blocks: tip.height,
          headers: tip.height,
          bestblockhash: tip.hash,
          bits: '207fffff',
          target: REGTEST_TARGET,
          difficulty: REGTEST_DIFFICULTY,
          time: b.block.timestamp,
          mediantime: chain.medianTimePast(),
          // Core's GuessVerificationProgress against the regtest chain params.
          verificationprogress: inIbd ? 2.000987455293388e-6 : 1,
          initialblockdownload: inIbd,
          chainwork: (BigInt(tip.height + 1) * 2n).toString(16).padStart(64, '0'),
          size_on_disk: size,
          pruned: false,
          warnings: [],
        }
      },
    },
    getnetworkinfo: {
      args: [],
      run: () => ({
        version: 310000,
        subversion: '/Satoshi:31.0.0/',
        protocolversion: 70016,
        localservices: '0000000000000c09',
        localservicesnames: ['NETWORK', 'WITNESS', 'NETWORK_LIMITED', 'P2P_V2'],
        localrelay: true,
        timeoffset: 0,
        networkactive: true,
        connections: 0,
        connections_in: 0,
        connections_out: 0,
        networks: ['ipv4', 'ipv6', 'onion', 'i2p', 'cjdns'].map((name) => ({
          name,
          limited: name !== 'ipv4' && name !== 'ipv6',
          reachable: name === 'ipv4' || name === 'ipv6',
          proxy: '',
          proxy_randomize_credentials: false,
        })),
        relayfee: new Btc(100n),
        incrementalfee: new Btc(100n),
        localaddresses: [],
        warnings: [],
      }),
    },
    getblockcount: { args: [], run: () => chain.tip().height },
    getbestblockhash: { args: [], run: () => chain.tip().hash },
    getdifficulty: { args: [], run: () => REGTEST_DIFFICULTY },
    getconnectioncount: { args: [], run: () => 0 },
    getpeerinfo: { args: [], run: () => [] },
    uptime: { args: [], run: () => Math.floor((now() - startedAt) / 1000) },
    getindexinfo: {
      args: [{ name: 'index_name', type: 'string' }],
      run: ([name]) =>
        name === null || name === undefined || name === 'txindex'
          ? { txindex: { synced: true, best_block_height: chain.tip().height } }
          : {},
    },
    getblockhash: {
      args: [{ name: 'height', type: 'number', required: true }],
      run: ([height]) => {
        const h = height as number
        const b = Number.isInteger(h) && h >= 0 ? chain.blockAt(h) : undefined
        if (!b) throw new RpcError(RPC_CODE.INVALID_PARAMETER, 'Block height out of range')
        return b.hash
      },
    },
    getblockheader: {
      args: [
        { name: 'blockhash', type: 'string', required: true },
        { name: 'verbose', type: 'bool' },
      ],
      run: ([hash, verbose]) => {
        const b = blockOf(hash, 'hash')
        if (verbose === false) return b.block.toHex(true)
        return headerJson(b)
      },
    },
    getblock: {
      args: [
        { name: 'blockhash', type: 'string', required: true },
        { name: 'verbosity', type: 'numOrBool' },
      ],
      run: ([hash, verbosity]) => {
        const b = blockOf(hash, 'blockhash')
        const v = verbosityOf(verbosity, 1)
        if (v <= 0) return b.block.toHex()
        return blockJson(b, v)
      },
    },
    getblockstats: {
      args: [
        { name: 'hash_or_height', type: 'any', required: true },
        { name: 'stats', type: 'array' },
      ],
      run: ([which, stats]) => {
        let b: NonNullable<ReturnType<Chain['knownBlock']>>
        if (typeof which === 'number') {
          const tip = chain.tip().height
          if (which < 0)
            throw new RpcError(
              RPC_CODE.INVALID_PARAMETER,
              `Target block height ${which} is negative`,
            )
          if (which > tip)
            throw new RpcError(
              RPC_CODE.INVALID_PARAMETER,
              `Target block height ${which} after current tip ${tip}`,
            )
          b = chain.knownBlock(chain.blockAt(which)!.hash)!
        } else b = blockOf(which, 'hash_or_height')
        const all = blockStats(b, chain.blockUndo(b.hash) ?? [], chain.medianTimePast(b.height))
        if (stats === null || stats === undefined) return all
        const out: Record<string, unknown> = {}
        for (const name of stats as unknown[]) {
          if (typeof name !== 'string' || !(name in all))
            throw new RpcError(
              RPC_CODE.INVALID_PARAMETER,
              `Invalid selected statistic '${String(name)}'`,
            )
          out[name] = all[name]
        }
        return Object.fromEntries(
          Object.keys(all)
            .filter((k) => k in out)
            .map((k) => [k, out[k]]),
        )
      },
    },
    getchaintips: {
      args: [],
      run: () => {
        const tip = chain.tip()
        return [
          { height: tip.height, hash: tip.hash, branchlen: 0, status: 'active' },
          ...chain.staleTips().map((t) => ({
            height: t.height,
            hash: t.hash,
            branchlen: t.height - t.forkHeight,
            status: t.invalid ? 'invalid' : 'valid-fork',
          })),
        ]
      },
    },
    getrawtransaction: {
      args: [
        { name: 'txid', type: 'string', required: true },
        { name: 'verbosity', type: 'numOrBool' },
        { name: 'blockhash', type: 'string' },
      ],
      run: ([txidArg, verbosity, blockhash]) => {
        const txid = parseHash(txidArg, 'parameter 1')
        if (blockhash !== null && blockhash !== undefined) blockOf(blockhash, 'parameter 3')
        const found = chain.getTransaction(txid)
        if (!found || (blockhash && found.blockHash !== blockhash))
          throw new RpcError(
            RPC_CODE.INVALID_ADDRESS_OR_KEY,
            blockhash
              ? 'No such transaction found in the provided block. Use gettransaction for wallet transactions.'
              : 'No such mempool or blockchain transaction. Use gettransaction for wallet transactions.',
          )
        const v = verbosityOf(verbosity, 0)
        if (v <= 0) return found.tx.toHex()
        let prevouts: Coin[] | undefined
        if (v >= 2 && found.blockHash) {
          const b = chain.knownBlock(found.blockHash)!
          const idx = b.block.transactions!.findIndex((t) => t.getId() === txid)
          prevouts = idx > 0 ? chain.blockUndo(found.blockHash)?.[idx] : undefined
        } else if (v >= 2 && found.inMempool) {
          const coins = found.tx.ins.map((i) => {
            const prev = Buffer.from(i.hash).reverse().toString('hex')
            return chain.utxo(prev, i.index) ?? mempoolOutput(prev, i.index)
          })
          prevouts = coins.every(Boolean) ? (coins as Coin[]) : undefined
        }
        const json = txToJson(found.tx, { prevouts, withPrevout: v >= 2 })
        if (!found.blockHash) return json
        const b = chain.knownBlock(found.blockHash)!
        return {
          ...json,
          blockhash: found.blockHash,
          confirmations: chain.tip().height - b.height + 1,
          time: b.block.timestamp,
          blocktime: b.block.timestamp,
        }
      },
    },
    decoderawtransaction: {
      args: [
        { name: 'hexstring', type: 'string', required: true },
        { name: 'iswitness', type: 'bool' },
      ],
      run: ([hex]) => txToJson(decode(hex), { withHex: false }),
    },
    sendrawtransaction: {
      args: [
        { name: 'hexstring', type: 'string', required: true },
        { name: 'maxfeerate', type: 'amount' },
        { name: 'maxburnamount', type: 'amount' },
      ],
      run: ([hex, maxfeerate, maxburn]) => {
        const tx = decode(hex)
        const burn = maxburn === null || maxburn === undefined ? 0n : amountToSats(maxburn)
        for (const o of tx.outs) {
          if ((o.script[0] === 0x6a || o.script.length > 10_000) && o.value > burn)
            throw new RpcError(
              RPC_CODE.VERIFY_ERROR,
              'Unspendable output exceeds maximum configured by user (maxburnamount)',
            )
        }
        try {
          return chain.submit(tx, { maxFeePerKvB: maxFeeArg(maxfeerate) })
        } catch (e) {
          if (e instanceof ChainPolicyError) throw new RpcError(e.code, e.message)
          throw e
        }
      },
    },
    testmempoolaccept: {
      args: [
        { name: 'rawtxs', type: 'array', required: true },
        { name: 'maxfeerate', type: 'amount' },
      ],
      run: ([rawtxs, maxfeerate]) => {
        const list = rawtxs as unknown[]
        if (list.length === 0 || list.length > 25)
          throw new RpcError(
            RPC_CODE.INVALID_PARAMETER,
            'Array must contain between 1 and 25 transactions.',
          )
        const txs = list.map((h) => {
          try {
            return decode(h)
          } catch {
            throw new RpcError(
              RPC_CODE.DESERIALIZATION_ERROR,
              `TX decode failed: ${String(h)} Make sure the tx has at least one input.`,
            )
          }
        })
        const max = maxFeeArg(maxfeerate)
        return txs.map((tx) => {
          const r = chain.testAccept(tx, { maxFeePerKvB: max })
          const ids = {
            txid: tx.getId(),
            wtxid: Buffer.from(tx.getHash(true)).reverse().toString('hex'),
          }
          if (r.allowed)
            return {
              ...ids,
              allowed: true,
              vsize: r.vsize,
              fees: {
                base: new Btc(r.fee),
                'effective-feerate': new Btc((r.fee * 1000n) / BigInt(r.vsize)),
                'effective-includes': [ids.wtxid],
              },
            }
          return {
            ...ids,
            allowed: false,
            'reject-reason': r.reason,
            ...(r.details !== undefined ? { 'reject-details': r.details } : {}),
          }
        })
      },
    },
    gettxout: {
      args: [
        { name: 'txid', type: 'string', required: true },
        { name: 'n', type: 'number', required: true },
        { name: 'include_mempool', type: 'bool' },
      ],
      run: ([txidArg, n, includeMempool]) => {
        const txid = parseHash(txidArg, 'txid')
        const vout = n as number
        const tip = chain.tip()
        const withPool = includeMempool !== false
        let coin: Coin | undefined
        if (withPool) {
          if (chain.spentInMempool(txid, vout)) return null
          coin = chain.utxo(txid, vout) ?? mempoolOutput(txid, vout)
        } else coin = chain.utxo(txid, vout)
        if (!coin) return null
        const confirmed = coin.height <= tip.height
        return {
          bestblock: tip.hash,
          confirmations: confirmed ? tip.height - coin.height + 1 : 0,
          value: new Btc(coin.value),
          scriptPubKey: scriptPubKeyJson(coin.script),
          coinbase: coin.coinbase,
        }
      },
    },
    getrawmempool: {
      args: [
        { name: 'verbose', type: 'bool' },
        { name: 'mempool_sequence', type: 'bool' },
      ],
      run: ([verbose, withSequence]) => {
        if (verbose === true && withSequence === true)
          throw new RpcError(
            RPC_CODE.INVALID_PARAMETER,
            'Verbose results cannot contain mempool sequence values.',
          )
        const order = mempoolOrder()
        if (verbose === true) return Object.fromEntries(order.map((t) => [t, entryJson(t)]))
        if (withSequence === true)
          return { txids: order, mempool_sequence: chain.mempoolSequence() }
        return order
      },
    },
    getmempoolentry: {
      args: [{ name: 'txid', type: 'string', required: true }],
      run: ([txid]) => entryJson(parseHash(txid, 'parameter 1')),
    },
    getmempoolancestors: mempoolRelatives('ancestors'),
    getmempooldescendants: mempoolRelatives('descendants'),
    getmempoolcluster: {
      args: [{ name: 'txid', type: 'string', required: true }],
      run: ([txidArg]) => {
        const txid = parseHash(txidArg, 'parameter 1')
        if (!chain.mempoolEntry(txid))
          throw new RpcError(RPC_CODE.INVALID_ADDRESS_OR_KEY, 'Transaction not in mempool')
        const members = new Set([txid])
        for (let grew = true; grew;) {
          grew = false
          for (const t of [...members]) {
            const e = chain.mempoolEntry(t)!
            for (const x of [...e.parents, ...e.children]) {
              if (members.has(x)) continue
              members.add(x)
              grew = true
            }
          }
        }
        const chunks = chain.mempoolChunks().filter((c) => c.txids.some((t) => members.has(t)))
        return {
          clusterweight: chunks.reduce((a, c) => a + c.weight, 0),
          txcount: members.size,
          chunks: chunks.map((c) => ({
            chunkfee: new Btc(c.fee),
            chunkweight: c.weight,
            txs: c.txids,
          })),
        }
      },
    },
    getmempoolinfo: {
      args: [],
      run: () => {
        const entries = chain.mempool()
        const fee = entries.reduce((a, e) => a + e.fee, 0n)
        return {
          loaded: true,
          size: entries.length,
          bytes: entries.reduce((a, e) => a + e.vsize, 0),
          // Core's DynamicMemoryUsage is allocator-dependent; roughly 1.2 KB per entry.
          usage: entries.reduce((a, e) => a + 1_000 + e.weight, 0),
          total_fee: new Btc(fee),
          maxmempool: 300_000_000,
          mempoolminfee: new Btc(100n),
          minrelaytxfee: new Btc(100n),
          incrementalrelayfee: new Btc(100n),
          unbroadcastcount: entries.length,
          fullrbf: true,
          permitbaremultisig: true,
          maxdatacarriersize: 100_000,
          limitclustercount: 64,
          limitclustersize: 101_000,
          optimal: true,
        }
      },
    },
    estimatesmartfee: {
      args: [
        { name: 'conf_target', type: 'number', required: true },
        { name: 'estimate_mode', type: 'string' },
      ],
      run: ([target, mode]) => {
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
        const est = chain.estimateFee(t)
        if (!est) return { errors: ['Insufficient data or no feerate found'], blocks: 0 }
        return { feerate: new Btc(BigInt(Math.ceil(est.feeRate * 1000))), blocks: est.blocks }
      },
    },
    generatetoaddress: {
      args: [
        { name: 'nblocks', type: 'number', required: true },
        { name: 'address', type: 'string', required: true },
        { name: 'maxtries', type: 'number' },
      ],
      run: ([n, addr]) => {
        let script: Uint8Array
        try {
          script = baddress.toOutputScript(String(addr), REGTEST)
        } catch {
          throw new RpcError(RPC_CODE.INVALID_ADDRESS_OR_KEY, 'Error: Invalid address')
        }
        return generate(n, script)
      },
    },
    generatetodescriptor: {
      args: [
        { name: 'num_blocks', type: 'number', required: true },
        { name: 'descriptor', type: 'string', required: true },
        { name: 'maxtries', type: 'number' },
      ],
      run: ([n, desc]) => {
        let script: Uint8Array
        try {
          script = new descriptors.Output({
            descriptor: String(desc),
            network: REGTEST,
          }).getScriptPubKey()
        } catch (e) {
          throw new RpcError(
            RPC_CODE.INVALID_ADDRESS_OR_KEY,
            e instanceof Error ? e.message : String(e),
          )
        }
        return generate(n, script)
      },
    },
    submitblock: {
      args: [
        { name: 'hexdata', type: 'string', required: true },
        { name: 'dummy', type: 'string' },
      ],
      run: ([hex]) => {
        let block: Block
        try {
          block = Block.fromHex(String(hex))
        } catch {
          throw new RpcError(RPC_CODE.DESERIALIZATION_ERROR, 'Block decode failed')
        }
        try {
          chain.submitBlock(block)
          return null
        } catch (e) {
          if (e instanceof ChainPolicyError) return e.reason
          throw e
        }
      },
    },
    invalidateblock: {
      args: [{ name: 'blockhash', type: 'string', required: true }],
      run: ([hash]) => {
        const h = parseHash(hash, 'blockhash')
        try {
          chain.invalidateBlock(h)
        } catch (e) {
          if (e instanceof ChainPolicyError) throw new RpcError(e.code, e.message)
          throw e
        }
        return null
      },
    },
    getzmqnotifications: {
      args: [],
      run: () => [
        ...(opts.zmq?.rawblock
          ? [{ type: 'pubrawblock', address: opts.zmq.rawblock, hwm: 1000 }]
          : []),
        ...(opts.zmq?.rawtx ? [{ type: 'pubrawtx', address: opts.zmq.rawtx, hwm: 1000 }] : []),
      ],
    },
    listwallets: { args: [], run: () => [] },
  }
  for (const m of WALLET_METHODS) {
    table[m] = {
      // Any arguments: the wallet check comes first in Core.
      args: Array.from({ length: 8 }, (_, i) => ({ name: `arg${i}`, type: 'any' as const })),
      run: (_args, ctx) => {
        throw new RpcError(
          RPC_CODE.WALLET_NOT_FOUND,
          ctx.wallet !== undefined
            ? 'Requested wallet does not exist or is not loaded'
            : 'No wallet is loaded. Load a wallet using loadwallet or create a new one with createwallet. (Note: A default wallet is no longer automatically created)',
        )
      },
    }
  }

  function mempoolOutput(txid: string, vout: number): Coin | undefined {
    const c = chain.utxoWithMempool(txid, vout)
    return c && !chain.utxo(txid, vout) ? c : undefined
  }

  return table
}
