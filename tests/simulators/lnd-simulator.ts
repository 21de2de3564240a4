// SIMULATOR — test-only, never imported by production code. LND's gRPC surface built from the
// REAL .proto files that ln-service ships (node_modules/lightning/grpc/protos), served over TLS
// with a self-signed certificate shaped like LND's tls.cert, and guarded by macaroons written where
// LND writes them (<lnddir>/data/chain/bitcoin/<network>/{admin,readonly,invoice}.macaroon).
// Invoices are real, signed BOLT 11 payment requests. The node has one simulated channel to a
// simulated peer; outgoing payments to that peer's invoices, to this node's own invoices and to
// other simulators registered as peers succeed with the real preimage; anything else fails with
// NO_ROUTE. A control API (HTTP, second port, `/v1/simulator/...`) lets tests make the peer pay
// or issue invoices, and make payments fail or stay in flight.
// Run alone: `npx tsx tests/simulators/lnd-simulator.ts` (see main()).
import { createHash, randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { wordlist as bip39Words } from '@scure/bip39/wordlists/english.js'
import { z } from 'zod'
import { decodeBolt11, encodeBolt11, type Bolt11Invoice } from './bolt11'
import {
  acceptHtlc,
  cancel,
  isExpired,
  newInvoice,
  settle,
  type Invoice,
  type InvoiceRequest,
} from './lnd-invoice'
export { parseLndConf, type LndConf } from './lnd-common'
import {
  FEATURES,
  INVOICE_FEATURE_BITS,
  LND_VERSION,
  writeSecretFile,
  parseLndConf,
} from './lnd-common'
import type { SimulatedNetwork } from './chain-simulator'
import { DEFAULT_MACAROONS, mintMacaroon, verifyMacaroon, type Permission } from './macaroon-v2'
import {
  GrpcError,
  bindLndGrpc,
  decodePayReqOrThrow,
  ensureLndTls,
  addHoldInvoiceResponse,
  addInvoiceResponse,
  invoiceBacklog,
  invoiceMessage,
  invoiceRequestOf,
  invoiceToSettle,
  isInvoiceFinal,
  isInvoiceStreamUpdate,
  isToCancel,
  listInvoicesMessage,
  lookupInvoice,
  type AddInvoiceFields,
  loadLndProto,
  msatToSat,
  openMacaroons,
  payReqMessage,
  paymentMessage,
} from './lnd-wire'

export type PaymentMode = 'settle' | 'fail' | 'hold'
export type FailureReason =
  | 'FAILURE_REASON_TIMEOUT'
  | 'FAILURE_REASON_NO_ROUTE'
  | 'FAILURE_REASON_ERROR'
  | 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS'
  | 'FAILURE_REASON_INSUFFICIENT_BALANCE'

export interface LndSimulatorOptions {
  /** LND's --lnddir: tls.cert, tls.key and macaroons are written (and reused) here. */
  readonly dir: string
  readonly network?: SimulatedNetwork
  readonly host?: string
  readonly grpcPort?: number
  /** Simulator-only control API port (0: any free port). */
  readonly controlPort?: number
  readonly alias?: string
  /** Follow a bitcoind (or its simulator) for block height and sync state. */
  readonly bitcoind?: { readonly url: string; readonly user: string; readonly password: string }
  /** Without bitcoind: start height, and a new block every this many ms (0: never). */
  readonly startHeight?: number
  readonly blockIntervalMs?: number
  /** Without bitcoind: synced_to_chain turns true after this long. */
  readonly chainSyncDelayMs?: number
  /** synced_to_graph turns true after this long. */
  readonly graphSyncDelayMs?: number
  readonly channelCapacitySat?: number
  readonly localBalanceSat?: number
  readonly walletBalanceSat?: number
  readonly tlsExtraDomains?: readonly string[]
  readonly tlsExtraIps?: readonly string[]
  /** LND's tlscertpath / tlskeypath (default <dir>/tls.cert, <dir>/tls.key); used if present. */
  readonly tlsCertPath?: string
  readonly tlsKeyPath?: string
  /**
   * `auto` (default): a wallet is created and unlocked at start. `rpc`: as LND with
   * wallet-unlock-allow-create — NON_EXISTING until WalletUnlocker.InitWallet, then unlocked;
   * an existing wallet is unlocked from `passwordFile` when given, else waits for UnlockWallet.
   */
  readonly wallet?: { readonly mode: 'auto' | 'rpc'; readonly passwordFile?: string }
  readonly log?: (line: string) => void
}

export interface LndSimulator {
  /** host:port for ln-service's `socket`. */
  readonly socket: string
  readonly grpcPort: number
  readonly controlUrl: string
  readonly publicKey: string
  readonly peerPublicKey: string
  /** PEM contents of tls.cert. */
  readonly cert: string
  readonly macaroons: {
    readonly admin: Buffer
    readonly readonly: Buffer
    readonly invoice: Buffer
  }
  readonly macaroonDir: string
  /** In-process form of the control API. */
  readonly control: LndSimulatorControl
  close(): Promise<void>
}

export interface LndSimulatorControl {
  state(): Promise<Record<string, unknown>>
  setPaymentMode(mode: PaymentMode, failureReason?: FailureReason): void
  resolvePayment(paymentHash: string, outcome: 'succeed' | 'fail', reason?: FailureReason): void
  /** The channel peer issues an invoice this node can pay. */
  createPeerInvoice(
    amountMsat: bigint,
    memo?: string,
  ): { paymentRequest: string; paymentHash: string }
  /** The channel peer pays one of this node's invoices. */
  payFromPeer(paymentRequest: string, amountMsat?: bigint): Promise<HtlcResult>
  /** Another simulator (its control URL) becomes reachable for payments. */
  addPeer(controlUrl: string): Promise<void>
  setSync(flags: { syncedToChain?: boolean; syncedToGraph?: boolean }): void
}

type HtlcResult =
  | { status: 'settled'; preimage: string }
  | { status: 'accepted' }
  | { status: 'failed'; reason: string }

type SimInvoice = Invoice<(r: HtlcResult) => void>

type PaymentStatus = 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED'

interface SimPayment {
  hash: string
  preimage: string | null
  valueMsat: bigint
  feeMsat: bigint
  status: PaymentStatus
  failureReason: FailureReason | 'FAILURE_REASON_NONE'
  creationTimeNs: bigint
  paymentRequest: string
  index: number
  route: Record<string, unknown> | null
  attemptTimeNs: bigint
  resolveTimeNs: bigint
  /** How a held payment completes: settles the destination and yields the preimage. */
  complete?: () => Promise<HtlcResult>
}

const CHAIN_HASH_NETWORK: Record<SimulatedNetwork, string> = {
  mainnet: 'mainnet',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
}

/** The permission LND's rpcserver.go requires for each method the simulator serves. */
const REQUIRED: Record<string, Permission | null> = {
  GetInfo: { entity: 'info', action: 'read' },
  WalletBalance: { entity: 'onchain', action: 'read' },
  ChannelBalance: { entity: 'offchain', action: 'read' },
  ListChannels: { entity: 'offchain', action: 'read' },
  AddInvoice: { entity: 'invoices', action: 'write' },
  LookupInvoice: { entity: 'invoices', action: 'read' },
  ListInvoices: { entity: 'invoices', action: 'read' },
  SubscribeInvoices: { entity: 'invoices', action: 'read' },
  DecodePayReq: { entity: 'offchain', action: 'read' },
  ListPayments: { entity: 'offchain', action: 'read' },
  SendPaymentV2: { entity: 'offchain', action: 'write' },
  TrackPaymentV2: { entity: 'offchain', action: 'read' },
  SubscribeSingleInvoice: { entity: 'invoices', action: 'read' },
  AddHoldInvoice: { entity: 'invoices', action: 'write' },
  SettleInvoice: { entity: 'invoices', action: 'write' },
  CancelInvoice: { entity: 'invoices', action: 'write' },
  LookupInvoiceV2: { entity: 'invoices', action: 'read' },
  GetVersion: { entity: 'info', action: 'read' },
  EstimateRouteFee: { entity: 'offchain', action: 'read' },
  PendingChannels: { entity: 'offchain', action: 'read' },
  ListPeers: { entity: 'peers', action: 'read' },
  GetTransactions: { entity: 'onchain', action: 'read' },
  BakeMacaroon: { entity: 'macaroon', action: 'generate' },
  GetState: null,
  SubscribeState: null,
  GenSeed: null,
  InitWallet: null,
  UnlockWallet: null,
}

const SERVICE_OF: Record<string, string> = {
  SendPaymentV2: 'routerrpc.Router',
  TrackPaymentV2: 'routerrpc.Router',
  EstimateRouteFee: 'routerrpc.Router',
  SubscribeSingleInvoice: 'invoicesrpc.Invoices',
  AddHoldInvoice: 'invoicesrpc.Invoices',
  SettleInvoice: 'invoicesrpc.Invoices',
  CancelInvoice: 'invoicesrpc.Invoices',
  LookupInvoiceV2: 'invoicesrpc.Invoices',
  GetVersion: 'verrpc.Versioner',
}

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n
const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest()

export async function startLndSimulator(opts: LndSimulatorOptions): Promise<LndSimulator> {
  const network = opts.network ?? 'regtest'
  const host = opts.host ?? '127.0.0.1'
  const log = opts.log ?? ((l: string) => process.stdout.write(`[lnd SIMULATOR] ${l}\n`))
  const startedAt = Date.now()

  // --- TLS (kept across restarts; a box-supplied tls.cert/tls.key is used as is) ---------------
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 })
  const macaroonDir = join(opts.dir, 'data', 'chain', 'bitcoin', network)
  mkdirSync(macaroonDir, { recursive: true, mode: 0o700 })
  const certFile = opts.tlsCertPath ?? join(opts.dir, 'tls.cert')
  const tlsKeyFile = opts.tlsKeyPath ?? join(opts.dir, 'tls.key')
  const cert = ensureLndTls({
    certFile,
    keyFile: tlsKeyFile,
    commonName: hostname(),
    hostName: hostname(),
    extraDomains: opts.tlsExtraDomains,
    extraIps: opts.tlsExtraIps,
  })

  // --- wallet, node identity and macaroons ----------------------------------------------------
  // LND: no wallet → NON_EXISTING until WalletUnlocker.InitWallet; a wallet → LOCKED until
  // UnlockWallet (or auto-unlock from wallet-unlock-password-file). Macaroons are written when
  // the wallet is created or unlocked. The node key comes from the seed, as in LND (the seed
  // here is 24 BIP 39 words, not a real aezeed: SIMULATOR).
  const walletFile = join(macaroonDir, 'wallet.db')
  const rootKeyFile = join(macaroonDir, 'simulator-macaroons.key')
  let walletState: 'NON_EXISTING' | 'LOCKED' | 'UNLOCKED' = existsSync(walletFile)
    ? 'LOCKED'
    : 'NON_EXISTING'
  let nodeKey = new Uint8Array(32)
  let peerKey: Buffer = Buffer.alloc(32)
  let publicKey = ''
  let peerPublicKey = ''
  let rootKey: Buffer = Buffer.alloc(0)
  const macaroons: Record<'admin' | 'readonly' | 'invoice', Buffer> = {
    admin: Buffer.alloc(0),
    readonly: Buffer.alloc(0),
    invoice: Buffer.alloc(0),
  }
  interface WalletFile {
    simulator: 'lnd'
    salt: string
    passwordHash: string
    nodeKey: string
  }
  const passwordHash = (salt: string, password: Buffer) =>
    sha256(Buffer.concat([Buffer.from(salt, 'hex'), password])).toString('hex')
  const unlock = (password: Buffer, statelessInit = false): void => {
    const w = JSON.parse(readFileSync(walletFile, 'utf8')) as WalletFile
    if (passwordHash(w.salt, password) !== w.passwordHash)
      throw new GrpcError(grpc.status.UNKNOWN, 'invalid passphrase for master public key')
    nodeKey = new Uint8Array(Buffer.from(w.nodeKey, 'hex'))
    peerKey = sha256(Buffer.concat([Buffer.from('SIMULATOR channel peer'), nodeKey]))
    publicKey = Buffer.from(secp256k1.getPublicKey(nodeKey)).toString('hex')
    peerPublicKey = Buffer.from(secp256k1.getPublicKey(peerKey)).toString('hex')
    rootKey = openMacaroons(rootKeyFile, macaroonDir, statelessInit, macaroons)
    walletState = 'UNLOCKED'
    log(`Wallet unlocked; node ${publicKey}`)
  }
  const createWallet = (
    password: Buffer,
    mnemonic: readonly string[],
    macaroonRootKey?: Buffer,
  ) => {
    const salt = randomBytes(16).toString('hex')
    const key = sha256(Buffer.from(`SIMULATOR aezeed ${mnemonic.join(' ')}`))
    const w: WalletFile = {
      simulator: 'lnd',
      salt,
      passwordHash: passwordHash(salt, password),
      nodeKey: key.toString('hex'),
    }
    if (macaroonRootKey?.length === 32) writeSecretFile(rootKeyFile, macaroonRootKey, 0o600)
    writeSecretFile(walletFile, JSON.stringify(w), 0o600)
    log('Wallet created (SIMULATOR)')
  }
  const newMnemonic = (): string[] =>
    Array.from(randomBytes(48)).reduce<string[]>((words, _b, i, bytes) => {
      if (i % 2 === 0) words.push(bip39Words[((bytes[i]! << 8) | bytes[i + 1]!) % 2048]!)
      return words
    }, [])

  const walletMode = opts.wallet?.mode ?? 'auto'
  const passwordFile = opts.wallet?.passwordFile
  if (walletMode === 'auto' && walletState === 'NON_EXISTING') {
    const pw = passwordFile ? readFileSync(passwordFile) : Buffer.from('SIMULATOR-wallet')
    createWallet(pw, newMnemonic())
    walletState = 'LOCKED'
  }
  if (walletState === 'LOCKED' && (walletMode === 'auto' || passwordFile)) {
    unlock(passwordFile ? readFileSync(passwordFile) : Buffer.from('SIMULATOR-wallet'))
  }
  if ((walletState as string) !== 'UNLOCKED')
    log(
      walletState === 'NON_EXISTING'
        ? 'Waiting for wallet creation (InitWallet)'
        : 'Waiting for wallet unlock (UnlockWallet)',
    )

  // --- chain view ---------------------------------------------------------------------------
  let height = opts.startHeight ?? 100
  let blockHash = sha256(Buffer.from(`SIMULATOR block ${height}`)).toString('hex')
  let bestHeaderTime = Math.floor(Date.now() / 1000)
  let chainReady = !opts.bitcoind
  let bitcoindSynced = !opts.bitcoind
  const overrides: { syncedToChain?: boolean; syncedToGraph?: boolean } = {}
  const timers: NodeJS.Timeout[] = []
  const heightListeners = new Set<() => void>()

  const syncedToChain = (): boolean =>
    overrides.syncedToChain ??
    (opts.bitcoind ? bitcoindSynced : Date.now() - startedAt >= (opts.chainSyncDelayMs ?? 0))
  const syncedToGraph = (): boolean =>
    overrides.syncedToGraph ??
    (syncedToChain() && Date.now() - startedAt >= (opts.graphSyncDelayMs ?? 0))

  if (opts.bitcoind) {
    const { url, user, password } = opts.bitcoind
    const auth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')
    const poll = async () => {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: JSON.stringify({
            jsonrpc: '1.0',
            id: 'lnd-sim',
            method: 'getblockchaininfo',
            params: [],
          }),
          signal: AbortSignal.timeout(5_000),
        })
        const body = (await res.json()) as {
          result?: {
            blocks: number
            bestblockhash: string
            time: number
            initialblockdownload: boolean
            headers: number
          }
        }
        if (!body.result) return
        if (!chainReady) log('Chain backend ready (bitcoind RPC answered)')
        chainReady = true
        const r = body.result
        if (r.blocks !== height) {
          height = r.blocks
          blockHash = r.bestblockhash
          bestHeaderTime = r.time
          for (const l of heightListeners) l()
        }
        bitcoindSynced = !r.initialblockdownload && r.blocks === r.headers
      } catch {
        // bitcoind not reachable yet: LND keeps waiting on its chain backend.
      }
    }
    void poll()
    const t = setInterval(() => void poll(), 1_000)
    t.unref()
    timers.push(t)
  } else if ((opts.blockIntervalMs ?? 0) > 0) {
    const t = setInterval(() => {
      height += 1
      blockHash = sha256(Buffer.from(`SIMULATOR block ${height}`)).toString('hex')
      bestHeaderTime = Math.floor(Date.now() / 1000)
      for (const l of heightListeners) l()
    }, opts.blockIntervalMs)
    t.unref()
    timers.push(t)
  }

  // --- wallet and channel ---------------------------------------------------------------------
  const capacityMsat = BigInt(opts.channelCapacitySat ?? 5_000_000) * 1000n
  let localMsat = BigInt(opts.localBalanceSat ?? Number(capacityMsat / 2000n)) * 1000n
  const walletSat = BigInt(opts.walletBalanceSat ?? 1_000_000)
  const chanId = (BigInt(Math.max(1, height - 10)) << 40n) | (1n << 16n)
  let htlcIndex = 0

  // --- invoices ---------------------------------------------------------------------------------
  const invoices = new Map<string, SimInvoice>()
  const peerInvoices = new Map<string, { preimage: Buffer; valueMsat: bigint; request: string }>()
  let addIndex = 0
  let settleIndex = 0
  const invoiceSubscribers = new Set<(inv: SimInvoice) => void>()

  const notifyInvoice = (inv: SimInvoice) => {
    for (const s of invoiceSubscribers) s(inv)
  }

  const addInvoice = (req: InvoiceRequest): SimInvoice => {
    const inv: SimInvoice = newInvoice(req, {
      network,
      nodeSecretKey: nodeKey,
      addIndex: addIndex + 1,
    })
    if (invoices.has(inv.hash.toString('hex')))
      throw new GrpcError(grpc.status.UNKNOWN, 'invoice with payment hash already exists')
    addIndex = inv.addIndex
    invoices.set(inv.hash.toString('hex'), inv)
    log(
      `Invoice added: add_index=${inv.addIndex} value_msat=${inv.valueMsat}${inv.isHold ? ' (hold)' : ''}`,
    )
    notifyInvoice(inv)
    return inv
  }

  const settleInvoice = (inv: SimInvoice) => {
    const waiters = settle(inv, ++settleIndex)
    localMsat += inv.amtPaidMsat
    log(`Invoice settled: settle_index=${inv.settleIndex} amt_paid_msat=${inv.amtPaidMsat}`)
    notifyInvoice(inv)
    for (const w of waiters) w({ status: 'settled', preimage: inv.preimage!.toString('hex') })
  }

  const cancelInvoice = (inv: SimInvoice) => {
    const waiters = cancel(inv)
    notifyInvoice(inv)
    for (const w of waiters)
      w({ status: 'failed', reason: 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS' })
  }

  // LND's invoice expiry watcher: open invoices past their expiry are canceled.
  const expiryWatcher = setInterval(() => {
    for (const inv of invoices.values())
      if (inv.state === 'OPEN' && isExpired(inv)) cancelInvoice(inv)
  }, 1_000)
  expiryWatcher.unref()
  timers.push(expiryWatcher)

  /** An HTLC for one of our invoices arrives (from the channel peer or another simulator). */
  const receiveHtlc = (
    request: string,
    amountMsat: bigint | undefined,
    wait: boolean,
  ): Promise<HtlcResult> => {
    let decoded: Bolt11Invoice
    try {
      decoded = decodeBolt11(request)
    } catch {
      return Promise.resolve({
        status: 'failed',
        reason: 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS',
      })
    }
    const inv = invoices.get(decoded.paymentHash)
    const amount = amountMsat ?? decoded.amountMsat ?? 0n
    if (!inv || inv.state !== 'OPEN' || isExpired(inv) || amount < inv.valueMsat || amount === 0n)
      return Promise.resolve({
        status: 'failed',
        reason: 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS',
      })
    acceptHtlc(inv, {
      chanId: chanId.toString(),
      htlcIndex: htlcIndex++,
      amtMsat: amount,
      acceptHeight: height,
      expiryHeight: height + inv.cltvExpiry,
      totalMsat: amount,
    })
    inv.amtPaidMsat = amount
    if (!inv.isHold) {
      settleInvoice(inv)
      return Promise.resolve({ status: 'settled', preimage: inv.preimage!.toString('hex') })
    }
    inv.state = 'ACCEPTED'
    log(`Hold invoice accepted: add_index=${inv.addIndex}`)
    notifyInvoice(inv)
    if (!wait) return Promise.resolve({ status: 'accepted' })
    return new Promise((resolve) => inv.waiters.push(resolve))
  }

  // --- payments ---------------------------------------------------------------------------------
  const payments = new Map<string, SimPayment>()
  let paymentIndex = 0
  let paymentMode: PaymentMode = 'settle'
  let modeFailure: FailureReason = 'FAILURE_REASON_NO_ROUTE'
  const paymentListeners = new Map<string, Set<(p: SimPayment) => void>>()
  const networkPeers = new Map<string, string>() // pubkey → control URL

  const paymentRpc = (p: SimPayment) => {
    const htlcs = p.route
      ? [
          {
            attempt_id: String(p.index),
            status:
              p.status === 'SUCCEEDED'
                ? 'SUCCEEDED'
                : p.status === 'FAILED'
                  ? 'FAILED'
                  : 'IN_FLIGHT',
            route: p.route,
            attempt_time_ns: p.attemptTimeNs.toString(),
            resolve_time_ns: p.resolveTimeNs.toString(),
            ...(p.status === 'FAILED'
              ? {
                  failure: {
                    code: 'INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS',
                    failure_source_index: 1,
                    height,
                  },
                }
              : {}),
            preimage: p.preimage ? Buffer.from(p.preimage, 'hex') : Buffer.alloc(0),
          },
        ]
      : []
    return paymentMessage(p, htlcs)
  }

  const notifyPayment = (p: SimPayment) => {
    for (const l of paymentListeners.get(p.hash) ?? []) l(p)
  }

  const finishPayment = (p: SimPayment, r: HtlcResult) => {
    if (p.status !== 'IN_FLIGHT') return
    p.resolveTimeNs = nowNs()
    if (r.status === 'settled') {
      p.status = 'SUCCEEDED'
      p.preimage = r.preimage
      p.failureReason = 'FAILURE_REASON_NONE'
      log(`Payment succeeded: index=${p.index} value_msat=${p.valueMsat} fee_msat=${p.feeMsat}`)
    } else {
      p.status = 'FAILED'
      p.failureReason = (r.status === 'failed' ? r.reason : 'FAILURE_REASON_ERROR') as FailureReason
      localMsat += p.valueMsat + p.feeMsat // HTLC failed back: funds return
      log(`Payment failed: index=${p.index} reason=${p.failureReason}`)
    }
    notifyPayment(p)
  }

  const callPeerControl = async (url: string, path: string, body: unknown): Promise<unknown> => {
    const res = await fetch(url + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(600_000),
    })
    return res.json()
  }

  const sendPayment = (req: {
    payment_request?: string
    amt?: string
    amt_msat?: string
    fee_limit_sat?: string
    fee_limit_msat?: string
    dest?: Buffer
    payment_hash?: Buffer
  }): SimPayment => {
    if (!req.payment_request) {
      throw new GrpcError(
        grpc.status.INVALID_ARGUMENT,
        'SIMULATOR supports paying BOLT 11 payment requests only (no keysend)',
      )
    }
    let inv: Bolt11Invoice
    try {
      inv = decodeBolt11(req.payment_request)
    } catch {
      throw new GrpcError(grpc.status.UNKNOWN, 'invalid payment request: checksum failed')
    }
    if (inv.network !== network)
      throw new GrpcError(
        grpc.status.UNKNOWN,
        `invoice not for current active network '${network}'`,
      )
    if (Date.now() / 1000 > inv.timestamp + inv.expirySeconds)
      throw new GrpcError(grpc.status.UNKNOWN, 'invoice expired')
    const requested =
      BigInt(req.amt_msat && req.amt_msat !== '0' ? req.amt_msat : '0') ||
      BigInt(req.amt && req.amt !== '0' ? req.amt : '0') * 1000n
    if (inv.amountMsat && requested && requested !== inv.amountMsat)
      throw new GrpcError(
        grpc.status.UNKNOWN,
        'amount must not be specified when paying a non-zero amount invoice',
      )
    const valueMsat = inv.amountMsat ?? requested
    if (valueMsat === 0n)
      throw new GrpcError(
        grpc.status.UNKNOWN,
        'amount must be specified when paying a zero amount invoice',
      )
    const existing = payments.get(inv.paymentHash)
    if (existing?.status === 'SUCCEEDED')
      throw new GrpcError(grpc.status.ALREADY_EXISTS, 'invoice is already paid')
    if (existing?.status === 'IN_FLIGHT')
      throw new GrpcError(grpc.status.ALREADY_EXISTS, 'payment is in transition')

    const direct = inv.payee === peerPublicKey || inv.payee === publicKey
    const feeMsat = direct ? 0n : 1_000n + valueMsat / 1_000n // base 1 sat + 1000 ppm at the peer
    const feeLimitMsat =
      req.fee_limit_msat && req.fee_limit_msat !== '0'
        ? BigInt(req.fee_limit_msat)
        : req.fee_limit_sat && req.fee_limit_sat !== '0'
          ? BigInt(req.fee_limit_sat) * 1000n
          : null
    const now = nowNs()
    const p: SimPayment = {
      hash: inv.paymentHash,
      preimage: null,
      valueMsat,
      feeMsat,
      status: 'IN_FLIGHT',
      failureReason: 'FAILURE_REASON_NONE',
      creationTimeNs: now,
      paymentRequest: req.payment_request,
      index: ++paymentIndex,
      route: null,
      attemptTimeNs: now,
      resolveTimeNs: 0n,
    }
    payments.set(p.hash, p)
    log(`Payment initiated: index=${p.index} value_msat=${valueMsat}`)

    const failNow = (reason: FailureReason) => {
      setImmediate(() => {
        p.status = 'FAILED'
        p.failureReason = reason
        p.resolveTimeNs = nowNs()
        log(`Payment failed: index=${p.index} reason=${reason}`)
        notifyPayment(p)
      })
      return p
    }
    const peerUrl = networkPeers.get(inv.payee)
    if (!direct && !peerUrl) return failNow('FAILURE_REASON_NO_ROUTE')
    if (feeLimitMsat !== null && feeMsat > feeLimitMsat) return failNow('FAILURE_REASON_NO_ROUTE')
    if (valueMsat + feeMsat > localMsat) return failNow('FAILURE_REASON_INSUFFICIENT_BALANCE')
    if (paymentMode === 'fail') return failNow(modeFailure)

    const hop = (pub: string, amt: bigint, fee: bigint, last: boolean) => ({
      chan_id: chanId.toString(),
      chan_capacity: msatToSat(capacityMsat),
      amt_to_forward: msatToSat(amt),
      fee: msatToSat(fee),
      expiry: height + inv.minFinalCltvExpiry,
      amt_to_forward_msat: amt.toString(),
      fee_msat: fee.toString(),
      pub_key: pub,
      tlv_payload: true,
      ...(last
        ? {
            mpp_record: {
              payment_addr: Buffer.from(inv.paymentSecret, 'hex'),
              total_amt_msat: amt.toString(),
            },
          }
        : {}),
    })
    const hops =
      inv.payee === peerPublicKey || inv.payee === publicKey
        ? [hop(inv.payee, valueMsat, 0n, true)]
        : [hop(peerPublicKey, valueMsat, feeMsat, false), hop(inv.payee, valueMsat, 0n, true)]
    p.route = {
      total_time_lock: height + inv.minFinalCltvExpiry + (hops.length - 1) * 40,
      total_fees: msatToSat(feeMsat),
      total_amt: msatToSat(valueMsat + feeMsat),
      hops,
      total_fees_msat: feeMsat.toString(),
      total_amt_msat: (valueMsat + feeMsat).toString(),
    }
    localMsat -= valueMsat + feeMsat // the HTLC locks the funds

    p.complete = async (): Promise<HtlcResult> => {
      if (inv.payee === publicKey) return receiveHtlc(req.payment_request!, valueMsat, true)
      if (inv.payee === peerPublicKey) {
        const known = peerInvoices.get(inv.paymentHash)
        if (!known || known.valueMsat > valueMsat)
          return { status: 'failed', reason: 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS' }
        peerInvoices.delete(inv.paymentHash)
        return { status: 'settled', preimage: known.preimage.toString('hex') }
      }
      try {
        return (await callPeerControl(peerUrl!, '/v1/simulator/htlc', {
          paymentRequest: req.payment_request,
          amountMsat: valueMsat.toString(),
        })) as HtlcResult
      } catch {
        return { status: 'failed', reason: 'FAILURE_REASON_ERROR' }
      }
    }
    setImmediate(() => {
      notifyPayment(p)
      if (paymentMode === 'hold') {
        log(`Payment held in flight by the control API: index=${p.index}`)
        return
      }
      void p.complete!().then((r) => finishPayment(p, r))
    })
    return p
  }

  // --- gRPC ---------------------------------------------------------------------------------------
  const lnrpc = loadLndProto('lightning.proto')
  const routerrpc = loadLndProto('router.proto')
  const invoicesrpc = loadLndProto('invoices.proto')
  const verrpc = loadLndProto('verrpc.proto')
  const staterpc = loadLndProto('stateservice.proto')
  const unlockerrpc = loadLndProto('walletunlocker.proto')

  const authorize = (method: string, metadata: grpc.Metadata): void => {
    const need = REQUIRED[method]
    if (need === null) return
    if (walletState === 'NON_EXISTING')
      throw new GrpcError(
        grpc.status.UNKNOWN,
        'wallet not created, create one to enable full RPC access',
      )
    if (walletState === 'LOCKED')
      throw new GrpcError(grpc.status.UNKNOWN, 'wallet locked, unlock it to enable full RPC access')
    if (!chainReady)
      throw new GrpcError(
        grpc.status.UNKNOWN,
        'the RPC server is in the process of starting up, but not yet ready to accept calls',
      )
    const values = metadata.get('macaroon')
    if (values.length !== 1)
      throw new GrpcError(grpc.status.UNKNOWN, `expected 1 macaroon, got ${values.length}`)
    const hex = String(values[0])
    if (!/^[0-9a-fA-F]+$/.test(hex))
      throw new GrpcError(grpc.status.UNKNOWN, 'unable to decode macaroon: invalid hex')
    const v = verifyMacaroon(rootKey, Buffer.from(hex, 'hex'))
    if (!v.ok) throw new GrpcError(grpc.status.UNKNOWN, v.reason)
    const uri = `/${SERVICE_OF[method] ?? 'lnrpc.Lightning'}/${method}`
    if (
      need &&
      !v.permissions.some(
        (p) =>
          (p.entity === need.entity && p.action === need.action) ||
          (p.entity === 'uri' && p.action === uri),
      )
    )
      throw new GrpcError(grpc.status.UNKNOWN, 'permission denied')
  }

  type Unary = (req: never) => unknown
  const unary =
    (name: string, fn: Unary): grpc.handleUnaryCall<unknown, unknown> =>
    (call, cb) => {
      try {
        authorize(name, call.metadata)
        cb(null, (fn as (r: unknown) => unknown)(call.request))
      } catch (err) {
        const e = err instanceof GrpcError ? err : new GrpcError(grpc.status.UNKNOWN, String(err))
        cb({ code: e.code, details: e.message })
      }
    }
  type Stream = (req: never, call: grpc.ServerWritableStream<unknown, unknown>) => void
  const stream =
    (name: string, fn: Stream): grpc.handleServerStreamingCall<unknown, unknown> =>
    (call) => {
      try {
        authorize(name, call.metadata)
        ;(fn as (r: unknown, c: grpc.ServerWritableStream<unknown, unknown>) => void)(
          call.request,
          call,
        )
      } catch (err) {
        const e = err instanceof GrpcError ? err : new GrpcError(grpc.status.UNKNOWN, String(err))
        call.emit('error', { code: e.code, details: e.message })
      }
    }

  const lookup = (hash: Buffer | string | undefined) => lookupInvoice(invoices, hash)

  const trackStream = (
    p: SimPayment,
    call: grpc.ServerWritableStream<unknown, unknown>,
    inflightUpdates: boolean,
  ) => {
    const listeners = paymentListeners.get(p.hash) ?? new Set<(p: SimPayment) => void>()
    paymentListeners.set(p.hash, listeners)
    const write = (cur: SimPayment) => {
      if (cur.status === 'IN_FLIGHT' && !inflightUpdates) return
      call.write(paymentRpc(cur))
      if (cur.status !== 'IN_FLIGHT') {
        listeners.delete(write)
        call.end()
      }
    }
    listeners.add(write)
    call.on('cancelled', () => listeners.delete(write))
    return write
  }

  const server = new grpc.Server()
  server.addService(lnrpc.lnrpc!.Lightning!.service, {
    GetInfo: unary('GetInfo', () => ({
      version: LND_VERSION.version,
      commit_hash: LND_VERSION.commit_hash,
      identity_pubkey: publicKey,
      alias: opts.alias ?? 'flashbox-lnd-SIMULATOR',
      color: '#3399ff',
      num_pending_channels: 0,
      num_active_channels: 1,
      num_inactive_channels: 0,
      num_peers: 1,
      block_height: height,
      block_hash: blockHash,
      best_header_timestamp: String(bestHeaderTime),
      synced_to_chain: syncedToChain(),
      synced_to_graph: syncedToGraph(),
      testnet: network === 'testnet4',
      chains: [{ chain: 'bitcoin', network: CHAIN_HASH_NETWORK[network] }],
      uris: [`${publicKey}@${host === '0.0.0.0' ? '127.0.0.1' : host}:9735`],
      features: FEATURES,
      require_htlc_interceptor: false,
      store_final_htlc_resolutions: false,
    })),
    WalletBalance: unary('WalletBalance', () => ({
      total_balance: walletSat.toString(),
      confirmed_balance: walletSat.toString(),
      unconfirmed_balance: '0',
      locked_balance: '0',
      reserved_balance_anchor_chan: '10000',
      account_balance: {
        default: { confirmed_balance: walletSat.toString(), unconfirmed_balance: '0' },
      },
    })),
    ChannelBalance: unary('ChannelBalance', () => {
      const remote = capacityMsat - localMsat
      const amt = (m: bigint) => ({ sat: msatToSat(m), msat: m.toString() })
      return {
        balance: msatToSat(localMsat),
        pending_open_balance: '0',
        local_balance: amt(localMsat),
        remote_balance: amt(remote),
        unsettled_local_balance: amt(0n),
        unsettled_remote_balance: amt(0n),
        pending_open_local_balance: amt(0n),
        pending_open_remote_balance: amt(0n),
      }
    }),
    ListChannels: unary('ListChannels', () => ({
      channels: [
        {
          active: true,
          remote_pubkey: peerPublicKey,
          channel_point: `${sha256(Buffer.from('SIMULATOR funding')).toString('hex')}:0`,
          chan_id: chanId.toString(),
          capacity: msatToSat(capacityMsat),
          local_balance: msatToSat(localMsat),
          remote_balance: msatToSat(capacityMsat - localMsat),
          commit_fee: '2810',
          commit_weight: '772',
          fee_per_kw: '2500',
          unsettled_balance: '0',
          total_satoshis_sent: '0',
          total_satoshis_received: '0',
          num_updates: String(paymentIndex + settleIndex),
          pending_htlcs: [],
          csv_delay: 144,
          private: false,
          initiator: true,
          chan_status_flags: 'ChanStatusDefault',
          local_chan_reserve_sat: msatToSat(capacityMsat / 100n),
          remote_chan_reserve_sat: msatToSat(capacityMsat / 100n),
          static_remote_key: true,
          commitment_type: 'ANCHORS',
          lifetime: String(Math.floor((Date.now() - startedAt) / 1000)),
          uptime: String(Math.floor((Date.now() - startedAt) / 1000)),
          close_address: '',
          push_amount_sat: '0',
          thaw_height: 0,
          local_constraints: {
            csv_delay: 144,
            chan_reserve_sat: msatToSat(capacityMsat / 100n),
            dust_limit_sat: '354',
            max_pending_amt_msat: capacityMsat.toString(),
            min_htlc_msat: '1',
            max_accepted_htlcs: 483,
          },
          remote_constraints: {
            csv_delay: 144,
            chan_reserve_sat: msatToSat(capacityMsat / 100n),
            dust_limit_sat: '354',
            max_pending_amt_msat: capacityMsat.toString(),
            min_htlc_msat: '1',
            max_accepted_htlcs: 483,
          },
          alias_scids: [],
          zero_conf: false,
          zero_conf_confirmed_scid: '0',
          peer_alias: 'SIMULATOR-peer',
          peer_scid_alias: '0',
          memo: '',
        },
      ],
    })),
    AddInvoice: unary('AddInvoice', (r: AddInvoiceFields) =>
      addInvoiceResponse(addInvoice(invoiceRequestOf(r))),
    ),
    LookupInvoice: unary('LookupInvoice', (r: { r_hash?: Buffer; r_hash_str?: string }) =>
      invoiceMessage(lookup(r.r_hash?.length ? r.r_hash : r.r_hash_str)),
    ),
    ListInvoices: unary(
      'ListInvoices',
      (r: {
        pending_only?: boolean
        index_offset?: string
        num_max_invoices?: string
        reversed?: boolean
      }) => listInvoicesMessage(invoices.values(), r),
    ),
    SubscribeInvoices: stream(
      'SubscribeInvoices',
      (r: { add_index?: string; settle_index?: string }, call) => {
        // Backlog first (LND replays invoices after the given indices), then live updates.
        for (const inv of invoiceBacklog(invoices.values(), r)) call.write(invoiceMessage(inv))
        const sub = (inv: SimInvoice) => {
          if (isInvoiceStreamUpdate(inv)) call.write(invoiceMessage(inv))
        }
        invoiceSubscribers.add(sub)
        call.on('cancelled', () => invoiceSubscribers.delete(sub))
      },
    ),
    DecodePayReq: unary('DecodePayReq', (r: { pay_req?: string }) =>
      payReqMessage(decodePayReqOrThrow(r.pay_req ?? ''), network),
    ),
    PendingChannels: unary('PendingChannels', () => ({
      total_limbo_balance: '0',
      pending_open_channels: [],
      pending_closing_channels: [],
      pending_force_closing_channels: [],
      waiting_close_channels: [],
    })),
    ListPeers: unary('ListPeers', () => ({
      peers: [
        {
          pub_key: peerPublicKey,
          address: '127.0.0.1:9735',
          bytes_sent: '1024',
          bytes_recv: '1024',
          sat_sent: '0',
          sat_recv: '0',
          inbound: false,
          ping_time: '1000',
          sync_type: 'ACTIVE_SYNC',
          features: FEATURES,
          errors: [],
          flap_count: 0,
          last_flap_ns: '0',
          last_ping_payload: Buffer.alloc(0),
        },
      ],
    })),
    GetTransactions: unary('GetTransactions', () => ({ transactions: [] })),
    BakeMacaroon: unary(
      'BakeMacaroon',
      (r: { permissions?: { entity: string; action: string }[] }) => {
        const perms = r.permissions ?? []
        if (perms.length === 0)
          throw new GrpcError(grpc.status.UNKNOWN, 'permission list cannot be empty')
        for (const p of perms) {
          const known =
            p.entity === 'uri'
              ? p.action.startsWith('/')
              : DEFAULT_MACAROONS.admin.some((a) => a.entity === p.entity) &&
                ['read', 'write', 'generate'].includes(p.action)
          if (!known)
            throw new GrpcError(
              grpc.status.UNKNOWN,
              `invalid permission action. ${p.entity}:${p.action} is not allowed`,
            )
        }
        return { macaroon: mintMacaroon(rootKey, perms).toString('hex') }
      },
    ),
    ListPayments: unary(
      'ListPayments',
      (r: {
        include_incomplete?: boolean
        index_offset?: string
        max_payments?: string
        reversed?: boolean
        count_total_payments?: boolean
      }) => {
        let all = [...payments.values()].filter(
          (p) => r.include_incomplete || p.status === 'SUCCEEDED',
        )
        const offset = Number(r.index_offset ?? 0)
        const max = Number(r.max_payments ?? 0) || 100
        all = r.reversed
          ? all.filter((p) => !offset || p.index < offset).slice(-max)
          : all.filter((p) => p.index > offset).slice(0, max)
        return {
          payments: all.map(paymentRpc),
          first_index_offset: String(all[0]?.index ?? 0),
          last_index_offset: String(all[all.length - 1]?.index ?? 0),
          total_num_payments: r.count_total_payments ? String(payments.size) : '0',
        }
      },
    ),
  })
  server.addService(routerrpc.routerrpc!.Router!.service, {
    SendPaymentV2: stream(
      'SendPaymentV2',
      (r: Parameters<typeof sendPayment>[0] & { no_inflight_updates?: boolean }, call) => {
        try {
          const p = sendPayment(r)
          trackStream(p, call, !r.no_inflight_updates)
        } catch (err) {
          const e = err instanceof GrpcError ? err : new GrpcError(grpc.status.UNKNOWN, String(err))
          call.emit('error', { code: e.code, details: e.message })
        }
      },
    ),
    EstimateRouteFee: unary(
      'EstimateRouteFee',
      (r: { dest?: Buffer; amt_sat?: string; payment_request?: string }) => {
        let dest = r.dest?.length ? r.dest.toString('hex') : ''
        let amountMsat = BigInt(r.amt_sat ?? '0') * 1000n
        let finalCltv = 80
        if (r.payment_request) {
          const inv = decodeBolt11(r.payment_request)
          dest = inv.payee
          amountMsat = inv.amountMsat ?? amountMsat
          finalCltv = inv.minFinalCltvExpiry
        }
        const direct = dest === peerPublicKey || dest === publicKey
        if (!direct && !networkPeers.has(dest))
          return {
            routing_fee_msat: '0',
            time_lock_delay: '0',
            failure_reason: 'FAILURE_REASON_NO_ROUTE',
          }
        return {
          routing_fee_msat: direct ? '0' : String(1_000n + amountMsat / 1_000n),
          time_lock_delay: String(height + finalCltv + (direct ? 0 : 40)),
          failure_reason: 'FAILURE_REASON_NONE',
        }
      },
    ),
    TrackPaymentV2: stream(
      'TrackPaymentV2',
      (r: { payment_hash?: Buffer; no_inflight_updates?: boolean }, call) => {
        const p = payments.get((r.payment_hash ?? Buffer.alloc(0)).toString('hex'))
        if (!p) {
          call.emit('error', { code: grpc.status.NOT_FOUND, details: "payment isn't initiated" })
          return
        }
        const write = trackStream(p, call, !r.no_inflight_updates)
        write(p)
      },
    ),
  })
  server.addService(invoicesrpc.invoicesrpc!.Invoices!.service, {
    SubscribeSingleInvoice: stream('SubscribeSingleInvoice', (r: { r_hash?: Buffer }, call) => {
      const key = (r.r_hash ?? Buffer.alloc(0)).toString('hex')
      const current = invoices.get(key)
      if (!current) {
        call.emit('error', { code: grpc.status.NOT_FOUND, details: 'unable to locate invoice' })
        return
      }
      call.write(invoiceMessage(current))
      const sub = (inv: SimInvoice) => {
        if (inv.hash.toString('hex') !== key) return
        call.write(invoiceMessage(inv))
        if (isInvoiceFinal(inv)) {
          invoiceSubscribers.delete(sub)
          call.end()
        }
      }
      invoiceSubscribers.add(sub)
      call.on('cancelled', () => invoiceSubscribers.delete(sub))
    }),
    AddHoldInvoice: unary('AddHoldInvoice', (r: AddInvoiceFields) =>
      addHoldInvoiceResponse(addInvoice(invoiceRequestOf(r, true))),
    ),
    SettleInvoice: unary('SettleInvoice', (r: { preimage?: Buffer }) => {
      const preimage = r.preimage ?? Buffer.alloc(0)
      const inv = invoiceToSettle(invoices, preimage)
      if (inv) {
        inv.preimage = preimage
        settleInvoice(inv)
      }
      return {}
    }),
    CancelInvoice: unary('CancelInvoice', (r: { payment_hash?: Buffer }) => {
      const inv = lookup(r.payment_hash)
      if (isToCancel(inv)) cancelInvoice(inv)
      return {}
    }),
    LookupInvoiceV2: unary('LookupInvoiceV2', (r: { payment_hash?: Buffer }) =>
      invoiceMessage(lookup(r.payment_hash)),
    ),
  })
  server.addService(verrpc.verrpc!.Versioner!.service, {
    GetVersion: unary('GetVersion', () => LND_VERSION),
  })
  const lndState = () =>
    walletState !== 'UNLOCKED' ? walletState : chainReady ? 'SERVER_ACTIVE' : 'RPC_ACTIVE'
  const unlockerUnavailable = () => {
    if (walletState === 'UNLOCKED')
      throw new GrpcError(
        grpc.status.UNIMPLEMENTED,
        'wallet already unlocked, WalletUnlocker service is no longer available',
      )
  }
  server.addService(unlockerrpc.lnrpc!.WalletUnlocker!.service, {
    GenSeed: unary('GenSeed', () => {
      unlockerUnavailable()
      return { cipher_seed_mnemonic: newMnemonic(), enciphered_seed: randomBytes(33) }
    }),
    InitWallet: unary(
      'InitWallet',
      (r: {
        wallet_password?: Buffer
        cipher_seed_mnemonic?: string[]
        stateless_init?: boolean
        macaroon_root_key?: Buffer
      }) => {
        unlockerUnavailable()
        if (walletState !== 'NON_EXISTING')
          throw new GrpcError(grpc.status.UNKNOWN, 'wallet already exists')
        const password = r.wallet_password ?? Buffer.alloc(0)
        if (password.length < 8)
          throw new GrpcError(grpc.status.UNKNOWN, 'password must have at least 8 characters')
        const words = r.cipher_seed_mnemonic ?? []
        if (words.length !== 24 || words.some((w) => !bip39Words.includes(w)))
          throw new GrpcError(
            grpc.status.UNKNOWN,
            'wrong cipher seed mnemonic length: got ' + words.length + ' words, expecting 24 words',
          )
        createWallet(password, words, r.macaroon_root_key)
        unlock(password, r.stateless_init === true)
        return { admin_macaroon: macaroons.admin }
      },
    ),
    UnlockWallet: unary(
      'UnlockWallet',
      (r: { wallet_password?: Buffer; stateless_init?: boolean }) => {
        unlockerUnavailable()
        if (walletState === 'NON_EXISTING')
          throw new GrpcError(grpc.status.UNKNOWN, 'wallet not found')
        unlock(r.wallet_password ?? Buffer.alloc(0), r.stateless_init === true)
        return {}
      },
    ),
  })
  server.addService(staterpc.lnrpc!.State!.service, {
    GetState: unary('GetState', () => ({ state: lndState() })),
    SubscribeState: stream('SubscribeState', (_r: unknown, call) => {
      let last = ''
      const tick = () => {
        const s = lndState()
        if (s !== last) call.write({ state: (last = s) })
      }
      tick()
      const t = setInterval(tick, 250)
      call.on('cancelled', () => clearInterval(t))
    }),
  })

  const grpcPort = await bindLndGrpc(server, host, opts.grpcPort ?? 0, tlsKeyFile, cert)

  // --- control API (SIMULATOR only) -------------------------------------------------------------
  const control: LndSimulatorControl = {
    state: async () => ({
      simulator: 'lnd',
      walletState,
      state: lndState(),
      publicKey,
      peerPublicKey,
      height,
      chainReady,
      syncedToChain: syncedToChain(),
      syncedToGraph: syncedToGraph(),
      localBalanceMsat: localMsat.toString(),
      paymentMode,
      invoices: invoices.size,
      payments: payments.size,
    }),
    setPaymentMode: (mode, reason) => {
      paymentMode = mode
      if (reason) modeFailure = reason
      log(`Control: payment mode=${mode}${mode === 'fail' ? ` reason=${modeFailure}` : ''}`)
    },
    resolvePayment: (hash, outcome, reason) => {
      const p = payments.get(hash)
      if (!p || p.status !== 'IN_FLIGHT') throw new Error('no payment in flight with that hash')
      if (outcome === 'fail')
        finishPayment(p, { status: 'failed', reason: reason ?? 'FAILURE_REASON_TIMEOUT' })
      else void p.complete!().then((r) => finishPayment(p, r))
    },
    createPeerInvoice: (amountMsat, memo = 'SIMULATOR peer invoice') => {
      const preimage = randomBytes(32)
      const hash = sha256(preimage).toString('hex')
      const request = encodeBolt11({
        network,
        ...(amountMsat > 0n ? { amountMsat } : {}),
        timestamp: Math.floor(Date.now() / 1000),
        paymentHash: hash,
        paymentSecret: randomBytes(32).toString('hex'),
        description: memo,
        expirySeconds: 3600,
        minFinalCltvExpiry: 80,
        featureBits: INVOICE_FEATURE_BITS,
        nodeSecretKey: peerKey,
      })
      peerInvoices.set(hash, { preimage, valueMsat: amountMsat, request })
      return { paymentRequest: request, paymentHash: hash }
    },
    payFromPeer: (request, amountMsat) => {
      const decoded = (() => {
        try {
          return decodeBolt11(request)
        } catch {
          return null
        }
      })()
      const amount = amountMsat ?? decoded?.amountMsat ?? 0n
      if (capacityMsat - localMsat < amount)
        return Promise.resolve({
          status: 'failed',
          reason: 'FAILURE_REASON_INSUFFICIENT_BALANCE',
        } as HtlcResult)
      return receiveHtlc(request, amountMsat, false)
    },
    addPeer: async (url) => {
      const s = (await callPeerControl(url, '/v1/simulator/state', undefined)) as {
        publicKey: string
      }
      networkPeers.set(s.publicKey, url)
      log(`Control: peer ${s.publicKey.slice(0, 16)}… reachable via ${url}`)
    },
    setSync: (flags) => {
      Object.assign(overrides, flags)
    },
  }

  const ControlBody = z.object({
    mode: z.enum(['settle', 'fail', 'hold']).optional(),
    failureReason: z
      .enum([
        'FAILURE_REASON_TIMEOUT',
        'FAILURE_REASON_NO_ROUTE',
        'FAILURE_REASON_ERROR',
        'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS',
        'FAILURE_REASON_INSUFFICIENT_BALANCE',
      ])
      .optional(),
    paymentHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    outcome: z.enum(['succeed', 'fail']).optional(),
    amountMsat: z.string().regex(/^\d+$/).optional(),
    memo: z.string().max(639).optional(),
    paymentRequest: z.string().max(4096).optional(),
    controlUrl: z.string().url().optional(),
    syncedToChain: z.boolean().optional(),
    syncedToGraph: z.boolean().optional(),
  })
  const controlServer: HttpServer = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      }
      void (async () => {
        const parsed = ControlBody.safeParse(
          chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {},
        )
        if (!parsed.success) return reply(400, { error: parsed.error.message })
        const b = parsed.data
        const amount = b.amountMsat ? BigInt(b.amountMsat) : undefined
        switch (`${req.method} ${req.url}`) {
          case 'GET /v1/simulator/state':
            return reply(200, await control.state())
          case 'POST /v1/simulator/payments/mode':
            if (!b.mode) return reply(400, { error: 'mode required' })
            control.setPaymentMode(b.mode, b.failureReason)
            return reply(200, { mode: b.mode })
          case 'POST /v1/simulator/payments/resolve':
            if (!b.paymentHash || !b.outcome)
              return reply(400, { error: 'paymentHash and outcome required' })
            control.resolvePayment(b.paymentHash, b.outcome, b.failureReason)
            return reply(200, { ok: true })
          case 'POST /v1/simulator/peer/invoices':
            return reply(200, control.createPeerInvoice(amount ?? 0n, b.memo))
          case 'POST /v1/simulator/peer/pay':
            if (!b.paymentRequest) return reply(400, { error: 'paymentRequest required' })
            return reply(200, await control.payFromPeer(b.paymentRequest, amount))
          case 'POST /v1/simulator/htlc':
            if (!b.paymentRequest) return reply(400, { error: 'paymentRequest required' })
            return reply(200, await receiveHtlc(b.paymentRequest, amount, true))
          case 'POST /v1/simulator/peers':
            if (!b.controlUrl) return reply(400, { error: 'controlUrl required' })
            await control.addPeer(b.controlUrl)
            return reply(200, { ok: true })
          case 'POST /v1/simulator/sync':
            control.setSync({
              ...(b.syncedToChain !== undefined ? { syncedToChain: b.syncedToChain } : {}),
              ...(b.syncedToGraph !== undefined ? { syncedToGraph: b.syncedToGraph } : {}),
            })
            return reply(200, await control.state())
          default:
            return reply(404, { error: 'unknown SIMULATOR control endpoint' })
        }
      })().catch((err: unknown) => reply(409, { error: String((err as Error).message ?? err) }))
    })
  })
  await new Promise<void>((resolve, reject) => {
    controlServer.once('error', reject)
    controlServer.listen(opts.controlPort ?? 0, host, () => resolve())
  })
  const controlPort = (controlServer.address() as AddressInfo).port
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  log(
    `LND SIMULATOR ${network}: gRPC (TLS) on ${host}:${grpcPort}, control API on ${host}:${controlPort}, ` +
      `pubkey ${publicKey}, macaroons in ${macaroonDir}`,
  )

  return {
    socket: `${reachable}:${grpcPort}`,
    grpcPort,
    controlUrl: `http://${reachable}:${controlPort}`,
    get publicKey() {
      return publicKey
    },
    get peerPublicKey() {
      return peerPublicKey
    },
    cert,
    macaroons,
    macaroonDir,
    control,
    close: async () => {
      for (const t of timers) clearInterval(t)
      heightListeners.clear()
      controlServer.closeAllConnections()
      await new Promise<void>((r) => controlServer.close(() => r()))
      server.forceShutdown()
    },
  }
}

const EnvSchema = z.object({
  LND_SIM_DIR: z.string().min(1).optional(),
  LND_SIM_NETWORK: z.enum(['mainnet', 'testnet4', 'signet', 'regtest']).optional(),
  LND_SIM_HOST: z.string().optional(),
  LND_SIM_GRPC_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  LND_SIM_CONTROL_PORT: z.coerce.number().int().min(0).max(65535).default(10019),
  LND_SIM_ALIAS: z.string().optional(),
  LND_SIM_BITCOIND_URL: z.string().url().optional(),
  LND_SIM_BITCOIND_USER: z.string().optional(),
  LND_SIM_BITCOIND_PASSWORD: z.string().optional(),
  LND_SIM_START_HEIGHT: z.coerce.number().int().min(0).default(100),
  LND_SIM_BLOCK_INTERVAL_MS: z.coerce.number().int().min(0).default(0),
  LND_SIM_CHAIN_SYNC_DELAY_MS: z.coerce.number().int().min(0).default(0),
  LND_SIM_GRAPH_SYNC_DELAY_MS: z.coerce.number().int().min(0).default(0),
  LND_SIM_TLS_EXTRA_DOMAINS: z.string().default(''),
  LND_SIM_TLS_EXTRA_IPS: z.string().default(''),
  LND_SIM_PEERS: z.string().default(''),
  LND_SIM_WALLET: z.enum(['auto', 'rpc']).optional(),
})

/**
 * Runs the simulator as a process, configured like LND (`--lnddir=… --configfile=…/lnd.conf`,
 * honouring lnddir, rpclisten, tlscertpath/tlskeypath, tlsextradomain/tlsextraip,
 * bitcoin.<network>, bitcoind.rpchost/rpcuser/rpcpass, wallet-unlock-password-file,
 * wallet-unlock-allow-create, alias) and/or env: LND_SIM_DIR, LND_SIM_NETWORK, LND_SIM_HOST,
 * LND_SIM_GRPC_PORT (10009), LND_SIM_CONTROL_PORT (10019), LND_SIM_ALIAS,
 * LND_SIM_BITCOIND_URL/_USER/_PASSWORD, LND_SIM_START_HEIGHT, LND_SIM_BLOCK_INTERVAL_MS,
 * LND_SIM_CHAIN_SYNC_DELAY_MS, LND_SIM_GRAPH_SYNC_DELAY_MS, LND_SIM_TLS_EXTRA_DOMAINS / _IPS,
 * LND_SIM_PEERS (control URLs of other LND simulators), LND_SIM_WALLET (auto|rpc),
 * LND_SIM_PROTOS_DIR. With a config file the wallet behaves as LND's (`rpc`): created by
 * InitWallet, auto-unlocked from the password file.
 */
export async function main(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const cfg = EnvSchema.parse(env)
  const list = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)
  const flags = parseLndConf('', argv)
  const lnddir = flags.lnddir ?? cfg.LND_SIM_DIR
  const configfile = flags.configfile ?? (lnddir ? join(lnddir, 'lnd.conf') : undefined)
  const hasConf = !!configfile && existsSync(configfile)
  const conf = parseLndConf(hasConf ? readFileSync(configfile, 'utf8') : '', argv)
  const dir = conf.lnddir ?? cfg.LND_SIM_DIR
  if (!dir) throw new Error('no lnddir: pass --lnddir=… or LND_SIM_DIR')
  const listen = conf.rpclisten ? /^(.*):(\d+)$/.exec(conf.rpclisten) : null
  const rpchost = conf.rpchost
  const bitcoindUrl =
    cfg.LND_SIM_BITCOIND_URL ??
    (rpchost ? `http://${rpchost.includes(':') ? rpchost : `${rpchost}:8332`}` : undefined)
  const sim = await startLndSimulator({
    dir,
    network: conf.network ?? cfg.LND_SIM_NETWORK ?? 'regtest',
    host: cfg.LND_SIM_HOST ?? listen?.[1]?.replace(/^\[|\]$/g, '') ?? '0.0.0.0',
    grpcPort: cfg.LND_SIM_GRPC_PORT ?? (listen ? Number(listen[2]) : 10009),
    controlPort: cfg.LND_SIM_CONTROL_PORT,
    ...((cfg.LND_SIM_ALIAS ?? conf.alias) ? { alias: cfg.LND_SIM_ALIAS ?? conf.alias } : {}),
    ...(bitcoindUrl
      ? {
          bitcoind: {
            url: bitcoindUrl,
            user: cfg.LND_SIM_BITCOIND_USER ?? conf.rpcuser ?? '',
            password: cfg.LND_SIM_BITCOIND_PASSWORD ?? conf.rpcpass ?? '',
          },
        }
      : {}),
    startHeight: cfg.LND_SIM_START_HEIGHT,
    blockIntervalMs: cfg.LND_SIM_BLOCK_INTERVAL_MS,
    chainSyncDelayMs: cfg.LND_SIM_CHAIN_SYNC_DELAY_MS,
    graphSyncDelayMs: cfg.LND_SIM_GRAPH_SYNC_DELAY_MS,
    tlsExtraDomains: [...list(cfg.LND_SIM_TLS_EXTRA_DOMAINS), ...conf.tlsextradomain],
    tlsExtraIps: [...list(cfg.LND_SIM_TLS_EXTRA_IPS), ...conf.tlsextraip],
    ...(conf.tlscertpath ? { tlsCertPath: conf.tlscertpath } : {}),
    ...(conf.tlskeypath ? { tlsKeyPath: conf.tlskeypath } : {}),
    wallet: {
      mode: cfg.LND_SIM_WALLET ?? (hasConf ? 'rpc' : 'auto'),
      ...(conf.walletUnlockPasswordFile ? { passwordFile: conf.walletUnlockPasswordFile } : {}),
    },
  })
  for (const url of list(cfg.LND_SIM_PEERS)) {
    // Peers may start later; keep trying in the background.
    const attempt = (n: number): void => {
      sim.control.addPeer(url).catch(() => {
        if (n < 60) setTimeout(() => attempt(n + 1), 2_000).unref()
      })
    }
    attempt(0)
  }
  const stop = () => {
    process.stdout.write('[lnd SIMULATOR] Shutdown complete\n')
    void sim.close().then(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`[lnd SIMULATOR] fatal: ${String(err)}\n`)
    process.exit(1)
  })
}
