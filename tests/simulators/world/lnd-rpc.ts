// SIMULATOR — test-only. LND's RPC surface for one world node (lnd-node.ts): gRPC from the REAL
// .proto files ln-service ships (Lightning, Router, Invoices, WalletKit, Versioner, State,
// WalletUnlocker) over TLS, guarded by macaroons with LND's permission table (rpcserver.go
// MainRPCServerPermissions and the sub-servers' tables), and the REST subset BTCPay and
// ln-service's REST users call (lnd-rest.ts). Wallet creation as LND: NON_EXISTING until
// InitWallet (GenSeed gives 24 BIP 39 words — SIMULATOR, not aezeed; the BIP 32 seed is the BIP 39
// seed of those words), auto-unlock from wallet-unlock-password-file, else UnlockWallet.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as bitcoin from 'bitcoinjs-lib'
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { decodeBolt11, type Bolt11Network } from '../bolt11'
import { FEATURES, LND_VERSION, protosDir, writeSecretFile } from '../lnd-common'
import { DEFAULT_MACAROONS, mintMacaroon, verifyMacaroon, type Permission } from '../macaroon-v2'
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
} from '../lnd-wire'
import type { GraphEdge, Route, RoutingPolicy } from './lightning-graph'
import type { LightningWorld } from './lightning-world'
import {
  COMMIT_WEIGHT,
  LndError,
  type Channel,
  type ChannelEvent,
  type Invoice,
  type LndNode,
  type NodeOptions,
  type Payment,
} from './lnd-node'
import { channelDbPath, openChannelDb } from './lnd-channel-db'
import { nodePubkeyOf, WalletError, type Utxo, type WalletTx } from './lnd-wallet'

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()
const rev = (hex: string): Buffer => Buffer.from(hex, 'hex').reverse()
const P = (entity: string, action: string): Permission => ({ entity, action })

/** LND's permission table for every method served here (all listed permissions are required). */
export const METHOD_PERMISSIONS: Record<string, Permission[] | null> = {
  // lnrpc.Lightning (rpcserver.go MainRPCServerPermissions)
  'lnrpc.Lightning/GetInfo': [P('info', 'read')],
  'lnrpc.Lightning/WalletBalance': [P('onchain', 'read')],
  'lnrpc.Lightning/ChannelBalance': [P('offchain', 'read')],
  'lnrpc.Lightning/NewAddress': [P('address', 'write')],
  'lnrpc.Lightning/SendCoins': [P('onchain', 'write')],
  'lnrpc.Lightning/SendMany': [P('onchain', 'write')],
  'lnrpc.Lightning/EstimateFee': [P('onchain', 'read')],
  'lnrpc.Lightning/ListUnspent': [P('onchain', 'read')],
  'lnrpc.Lightning/GetTransactions': [P('onchain', 'read')],
  'lnrpc.Lightning/SubscribeTransactions': [P('onchain', 'read')],
  'lnrpc.Lightning/ConnectPeer': [P('peers', 'write')],
  'lnrpc.Lightning/DisconnectPeer': [P('peers', 'write')],
  'lnrpc.Lightning/ListPeers': [P('peers', 'read')],
  'lnrpc.Lightning/OpenChannelSync': [P('onchain', 'write'), P('offchain', 'write')],
  'lnrpc.Lightning/OpenChannel': [P('onchain', 'write'), P('offchain', 'write')],
  'lnrpc.Lightning/FundingStateStep': [P('onchain', 'write'), P('offchain', 'write')],
  'lnrpc.Lightning/CloseChannel': [P('onchain', 'write'), P('offchain', 'write')],
  'lnrpc.Lightning/PendingChannels': [P('offchain', 'read')],
  'lnrpc.Lightning/ListChannels': [P('offchain', 'read')],
  'lnrpc.Lightning/ClosedChannels': [P('offchain', 'read')],
  'lnrpc.Lightning/SubscribeChannelEvents': [P('offchain', 'read')],
  'lnrpc.Lightning/SubscribeChannelBackups': [P('offchain', 'read')],
  'lnrpc.Lightning/ExportAllChannelBackups': [P('offchain', 'read')],
  'lnrpc.Lightning/ExportChannelBackup': [P('offchain', 'read')],
  'lnrpc.Lightning/RestoreChannelBackups': [P('offchain', 'write')],
  'lnrpc.Lightning/AddInvoice': [P('invoices', 'write')],
  'lnrpc.Lightning/LookupInvoice': [P('invoices', 'read')],
  'lnrpc.Lightning/ListInvoices': [P('invoices', 'read')],
  'lnrpc.Lightning/SubscribeInvoices': [P('invoices', 'read')],
  'lnrpc.Lightning/DecodePayReq': [P('offchain', 'read')],
  'lnrpc.Lightning/ListPayments': [P('offchain', 'read')],
  'lnrpc.Lightning/SendPaymentSync': [P('offchain', 'write')],
  'lnrpc.Lightning/DescribeGraph': [P('info', 'read')],
  'lnrpc.Lightning/GetNodeInfo': [P('info', 'read')],
  'lnrpc.Lightning/GetChanInfo': [P('info', 'read')],
  'lnrpc.Lightning/QueryRoutes': [P('info', 'read')],
  'lnrpc.Lightning/GetNetworkInfo': [P('info', 'read')],
  'lnrpc.Lightning/FeeReport': [P('offchain', 'read')],
  'lnrpc.Lightning/UpdateChannelPolicy': [P('offchain', 'write')],
  'lnrpc.Lightning/BakeMacaroon': [P('macaroon', 'generate')],
  // routerrpc.Router (lnrpc/routerrpc/router_server.go)
  'routerrpc.Router/SendPaymentV2': [P('offchain', 'write')],
  'routerrpc.Router/TrackPaymentV2': [P('offchain', 'read')],
  'routerrpc.Router/SendToRouteV2': [P('offchain', 'write')],
  'routerrpc.Router/EstimateRouteFee': [P('offchain', 'read')],
  // invoicesrpc.Invoices (lnrpc/invoicesrpc/invoices_server.go)
  'invoicesrpc.Invoices/SubscribeSingleInvoice': [P('invoices', 'read')],
  'invoicesrpc.Invoices/AddHoldInvoice': [P('invoices', 'write')],
  'invoicesrpc.Invoices/SettleInvoice': [P('invoices', 'write')],
  'invoicesrpc.Invoices/CancelInvoice': [P('invoices', 'write')],
  'invoicesrpc.Invoices/LookupInvoiceV2': [P('invoices', 'read')],
  // walletrpc.WalletKit (lnrpc/walletrpc/walletkit_server.go)
  'walletrpc.WalletKit/ListUnspent': [P('onchain', 'read')],
  'walletrpc.WalletKit/EstimateFee': [P('onchain', 'read')],
  'walletrpc.WalletKit/NextAddr': [P('address', 'read'), P('address', 'write')],
  'walletrpc.WalletKit/FundPsbt': [P('onchain', 'write')],
  'walletrpc.WalletKit/SignPsbt': [P('onchain', 'write')],
  'walletrpc.WalletKit/FinalizePsbt': [P('onchain', 'write')],
  'walletrpc.WalletKit/PublishTransaction': [P('onchain', 'write')],
  'walletrpc.WalletKit/LeaseOutput': [P('onchain', 'write')],
  'walletrpc.WalletKit/ReleaseOutput': [P('onchain', 'write')],
  'walletrpc.WalletKit/ListLeases': [P('onchain', 'read')],
  'verrpc.Versioner/GetVersion': [P('info', 'read')],
  'lnrpc.State/GetState': null,
  'lnrpc.State/SubscribeState': null,
  'lnrpc.WalletUnlocker/GenSeed': null,
  'lnrpc.WalletUnlocker/InitWallet': null,
  'lnrpc.WalletUnlocker/UnlockWallet': null,
}

export interface WorldLndOptions {
  readonly world: LightningWorld
  readonly alias: string
  /** LND's --lnddir: tls.cert, tls.key, wallet and macaroons live here. */
  readonly dir: string
  readonly network?: Bolt11Network
  readonly host?: string
  readonly grpcPort?: number
  /** LND's restlisten port (0: any free port; null: no REST). */
  readonly restPort?: number | null
  readonly tlsExtraDomains?: readonly string[]
  readonly tlsExtraIps?: readonly string[]
  readonly tlsCertPath?: string
  readonly tlsKeyPath?: string
  /**
   * `auto` (default): a wallet is created (from `mnemonic` if given) and unlocked at start.
   * `rpc`: as LND — NON_EXISTING until InitWallet; an existing wallet unlocks from
   * `passwordFile` when given, else waits for UnlockWallet.
   */
  readonly wallet?: {
    readonly mode: 'auto' | 'rpc'
    readonly passwordFile?: string
    readonly mnemonic?: readonly string[]
  }
  readonly node?: Partial<Omit<NodeOptions, 'alias' | 'seed' | 'network'>>
  /**
   * Keep channels, invoices and payments in `<dir>/data/graph/<network>/channel.db` and restore
   * them when the node starts again in a new process (lnd-channel-db.ts). Off for nodes that live
   * in the test's own process, where the world object itself outlives a node's restart.
   */
  readonly persist?: boolean
  readonly log?: (line: string) => void
}

export interface WorldLnd {
  readonly alias: string
  /** host:port for ln-service's `socket`. */
  readonly socket: string
  readonly grpcPort: number
  /** https://host:port of the REST gateway, or null. */
  readonly restUrl: string | null
  readonly cert: string
  readonly macaroons: {
    readonly admin: Buffer
    readonly readonly: Buffer
    readonly invoice: Buffer
  }
  readonly macaroonDir: string
  /** The node once its wallet is unlocked. */
  readonly node: LndNode | null
  readonly pubkey: string
  /** ln-service's authenticatedLndGrpc arguments (admin macaroon). */
  lnServiceAuth(macaroon?: 'admin' | 'readonly' | 'invoice'): {
    socket: string
    cert: string
    macaroon: string
  }
  /** Runs a gRPC handler the way the server would (for the REST gateway). */
  call(method: string, request: unknown, macaroonHex: string): Promise<unknown>
  /** Process stopped: the node goes offline and the servers close (the state stays in the world). */
  close(): Promise<void>
}

export { GrpcError }

const toGrpc = (err: unknown): GrpcError =>
  err instanceof GrpcError
    ? err
    : err instanceof LndError
      ? new GrpcError(err.grpcCode as grpc.status, err.message)
      : err instanceof WalletError
        ? new GrpcError(grpc.status.UNKNOWN, err.message)
        : new GrpcError(grpc.status.UNKNOWN, String((err as Error)?.message ?? err))

type Req = Record<string, unknown>
type Unary = (req: Req) => unknown
type Streaming = (req: Req, call: grpc.ServerWritableStream<unknown, unknown>) => void

const scriptType = (script: Uint8Array, network: bitcoin.Network): string => {
  const s = Buffer.from(script)
  if (s.length === 22 && s[0] === 0x00 && s[1] === 0x14) return 'SCRIPT_TYPE_WITNESS_V0_PUBKEY_HASH'
  if (s.length === 34 && s[0] === 0x00 && s[1] === 0x20) return 'SCRIPT_TYPE_WITNESS_V0_SCRIPT_HASH'
  if (s.length === 34 && s[0] === 0x51 && s[1] === 0x20) return 'SCRIPT_TYPE_WITNESS_V1_TAPROOT'
  if (s.length === 25 && s[0] === 0x76) return 'SCRIPT_TYPE_PUBKEY_HASH'
  if (s.length === 23 && s[0] === 0xa9) return 'SCRIPT_TYPE_SCRIPT_HASH'
  if (s[0] === 0x6a) return 'SCRIPT_TYPE_NULLDATA'
  void network
  return 'SCRIPT_TYPE_NON_STANDARD'
}

const addressOf = (script: Uint8Array, network: bitcoin.Network): string => {
  try {
    return bitcoin.address.fromOutputScript(script, network)
  } catch {
    return ''
  }
}

export async function startWorldLnd(opts: WorldLndOptions): Promise<WorldLnd> {
  const { world } = opts
  const network = opts.network ?? 'regtest'
  const host = opts.host ?? '127.0.0.1'
  const log =
    opts.log ?? ((l: string) => process.stdout.write(`[lnd ${opts.alias} SIMULATOR] ${l}\n`))
  const btcNetwork = world.chain.network

  // --- TLS ------------------------------------------------------------------------------------
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 })
  const macaroonDir = join(opts.dir, 'data', 'chain', 'bitcoin', network)
  mkdirSync(macaroonDir, { recursive: true, mode: 0o700 })
  const certFile = opts.tlsCertPath ?? join(opts.dir, 'tls.cert')
  const tlsKeyFile = opts.tlsKeyPath ?? join(opts.dir, 'tls.key')
  const cert = ensureLndTls({
    certFile,
    keyFile: tlsKeyFile,
    commonName: `${opts.alias}-SIMULATOR`,
    hostName: opts.alias,
    extraDomains: opts.tlsExtraDomains,
    extraIps: opts.tlsExtraIps,
  })

  // --- wallet file, unlock, macaroons -----------------------------------------------------------
  const walletFile = join(macaroonDir, 'wallet.db')
  const rootKeyFile = join(macaroonDir, 'simulator-macaroons.key')
  let walletState: 'NON_EXISTING' | 'LOCKED' | 'UNLOCKED' = existsSync(walletFile)
    ? 'LOCKED'
    : 'NON_EXISTING'
  let node: LndNode | null = null
  let rootKey: Buffer = Buffer.alloc(0)
  const macaroons: Record<'admin' | 'readonly' | 'invoice', Buffer> = {
    admin: Buffer.alloc(0),
    readonly: Buffer.alloc(0),
    invoice: Buffer.alloc(0),
  }
  interface WalletFile {
    simulator: 'lnd-world'
    salt: string
    nonce: string
    sealed: string
  }
  const sealKey = (salt: Buffer, password: Buffer) => sha256(Buffer.concat([salt, password]))
  const createWallet = (password: Buffer, words: readonly string[], macRoot?: Buffer) => {
    const salt = randomBytes(16)
    const nonce = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', sealKey(salt, password), nonce)
    const sealed = Buffer.concat([c.update(words.join(' ')), c.final(), c.getAuthTag()])
    const w: WalletFile = {
      simulator: 'lnd-world',
      salt: salt.toString('hex'),
      nonce: nonce.toString('hex'),
      sealed: sealed.toString('hex'),
    }
    if (macRoot?.length === 32) writeSecretFile(rootKeyFile, macRoot, 0o600)
    writeSecretFile(walletFile, JSON.stringify(w), 0o600)
    walletState = 'LOCKED'
    log('Wallet created (SIMULATOR)')
  }
  /**
   * `init`: the wallet was just made by InitWallet in an empty lnddir. A node with the same seed
   * still in the world is what a dead disk left behind: its channel.db is gone, so this node
   * starts without its channels (they come back only through a static channel backup).
   */
  const unlock = (password: Buffer, statelessInit = false, init?: { recoveryWindow: number }) => {
    const w = JSON.parse(readFileSync(walletFile, 'utf8')) as WalletFile
    const sealed = Buffer.from(w.sealed, 'hex')
    let words: string
    try {
      const d = createDecipheriv(
        'aes-256-gcm',
        sealKey(Buffer.from(w.salt, 'hex'), password),
        Buffer.from(w.nonce, 'hex'),
      )
      d.setAuthTag(sealed.subarray(sealed.length - 16))
      words = Buffer.concat([
        d.update(sealed.subarray(0, sealed.length - 16)),
        d.final(),
      ]).toString()
    } catch {
      throw new GrpcError(grpc.status.UNKNOWN, 'invalid passphrase for master public key')
    }
    rootKey = openMacaroons(rootKeyFile, macaroonDir, statelessInit, macaroons)
    const seed = mnemonicToSeedSync(words)
    // A restarted process finds its node (channels, invoices) still in the world.
    let existingNode = world.nodes.get(nodePubkeyOf(seed, btcNetwork))
    if (existingNode && init) {
      log('A node with this seed was in the world; its channel state is lost (new lnddir)')
      world.removeNode(existingNode)
      existingNode = undefined
    }
    node =
      existingNode ??
      world.addNode({
        ...opts.node,
        alias: opts.alias,
        seed,
        network,
        log,
        // LND's recovery_window: rescan from the seed's birthday (SIMULATOR: BIP 39 words carry
        // none, so from the start of the chain).
        ...(init && init.recoveryWindow > 0 ? { birthHeight: 0 } : {}),
      })
    if (!existingNode && opts.persist) openChannelDb(world, node, channelDbPath(opts.dir, network))
    if (existingNode && !existingNode.online) existingNode.goOnline()
    walletState = 'UNLOCKED'
    log(`Wallet unlocked; node ${node.pubkey}`)
  }

  const mode = opts.wallet?.mode ?? 'auto'
  const passwordFile = opts.wallet?.passwordFile
  const autoPassword = () =>
    passwordFile ? readFileSync(passwordFile) : Buffer.from('SIMULATOR-wallet')
  if (mode === 'auto' && walletState === 'NON_EXISTING')
    createWallet(
      autoPassword(),
      opts.wallet?.mnemonic ?? generateMnemonic(wordlist, 256).split(' '),
    )
  if (walletState === 'LOCKED' && (mode === 'auto' || passwordFile)) unlock(autoPassword())

  const need = (): LndNode => {
    if (!node)
      throw new GrpcError(grpc.status.UNKNOWN, 'wallet locked, unlock it to enable full RPC access')
    return node
  }

  // --- authorization ----------------------------------------------------------------------------
  const authorize = (method: string, macaroonHex: string | undefined): void => {
    const perms = METHOD_PERMISSIONS[method]
    if (perms === undefined)
      throw new GrpcError(grpc.status.UNIMPLEMENTED, `unknown method ${method}`)
    if (perms === null) return
    if (walletState === 'NON_EXISTING')
      throw new GrpcError(
        grpc.status.UNKNOWN,
        'wallet not created, create one to enable full RPC access',
      )
    if (walletState === 'LOCKED')
      throw new GrpcError(grpc.status.UNKNOWN, 'wallet locked, unlock it to enable full RPC access')
    if (macaroonHex === undefined)
      throw new GrpcError(grpc.status.UNKNOWN, 'expected 1 macaroon, got 0')
    if (!/^[0-9a-fA-F]+$/.test(macaroonHex))
      throw new GrpcError(grpc.status.UNKNOWN, 'unable to decode macaroon: invalid hex')
    const v = verifyMacaroon(rootKey, Buffer.from(macaroonHex, 'hex'))
    if (!v.ok) throw new GrpcError(grpc.status.UNKNOWN, v.reason)
    const uri = `/${method}`
    const ok = perms.every((need) =>
      v.permissions.some(
        (p) =>
          (p.entity === need.entity && p.action === need.action) ||
          (p.entity === 'uri' && p.action === uri),
      ),
    )
    if (!ok) throw new GrpcError(grpc.status.UNKNOWN, 'permission denied')
  }
  const metadataMacaroon = (md: grpc.Metadata): string | undefined => {
    const v = md.get('macaroon')
    if (v.length > 1)
      throw new GrpcError(grpc.status.UNKNOWN, `expected 1 macaroon, got ${v.length}`)
    return v.length ? String(v[0]) : undefined
  }

  // --- renderers (LND's RPC shapes) ---------------------------------------------------------
  const n = () => need()
  const side = (c: Channel) => n().sideOf(c)
  const peerOf = (c: Channel) => n().peerOf(c)
  const localMsat = (c: Channel) => c.balanceMsat[side(c)]
  const remoteMsat = (c: Channel) => c.balanceMsat[side(c) === 'opener' ? 'accepter' : 'opener']
  const chanPointRpc = (c: Channel) => ({
    funding_txid_bytes: rev(c.fundingTxid),
    output_index: c.fundingVout,
  })
  const constraints = (c: Channel, csv: number) => ({
    csv_delay: csv,
    chan_reserve_sat: String(c.capacitySat / 100n),
    dust_limit_sat: '354',
    max_pending_amt_msat: String((c.capacitySat * 1000n * 99n) / 100n),
    min_htlc_msat: '1',
    max_accepted_htlcs: 483,
  })
  const channelRpc = (c: Channel) => {
    const me = side(c)
    const them = me === 'opener' ? 'accepter' : 'opener'
    const age = String(Math.floor(Date.now() / 1000) - c.openedAt)
    return {
      active: n().isActive(c),
      remote_pubkey: peerOf(c).pubkey,
      channel_point: `${c.fundingTxid}:${c.fundingVout}`,
      chan_id: c.scid.toString(),
      capacity: c.capacitySat.toString(),
      local_balance: msatToSat(localMsat(c)),
      remote_balance: msatToSat(remoteMsat(c)),
      commit_fee: c.commitFeeSat.toString(),
      commit_weight: COMMIT_WEIGHT.toString(),
      fee_per_kw: c.feePerKw.toString(),
      unsettled_balance: msatToSat(c.htlcs.reduce((s, h) => s + h.amountMsat, 0n)),
      total_satoshis_sent: msatToSat(c.sentMsat[me]),
      total_satoshis_received: msatToSat(c.sentMsat[them]),
      num_updates: String(c.commitNum),
      pending_htlcs: c.htlcs.map((h) => ({
        incoming: h.from === them,
        amount: msatToSat(h.amountMsat),
        hash_lock: Buffer.from(h.hash, 'hex'),
        expiration_height: h.expiry,
        htlc_index: String(h.id),
        forwarding_channel: '0',
        forwarding_htlc_index: '0',
      })),
      csv_delay: c.csvDelay[me],
      private: c.private,
      initiator: me === 'opener',
      chan_status_flags: 'ChanStatusDefault',
      local_chan_reserve_sat: String(c.capacitySat / 100n),
      remote_chan_reserve_sat: String(c.capacitySat / 100n),
      static_remote_key: true,
      commitment_type: 'STATIC_REMOTE_KEY',
      lifetime: age,
      uptime: n().isActive(c) ? age : '0',
      close_address: '',
      push_amount_sat: c.pushSat.toString(),
      thaw_height: 0,
      local_constraints: constraints(c, c.csvDelay[me]),
      remote_constraints: constraints(c, c.csvDelay[them]),
      alias_scids: [],
      zero_conf: false,
      zero_conf_confirmed_scid: '0',
      peer_alias: peerOf(c).alias,
      peer_scid_alias: '0',
      memo: '',
    }
  }
  const pendingChannelRpc = (c: Channel) => ({
    remote_node_pub: peerOf(c).pubkey,
    channel_point: `${c.fundingTxid}:${c.fundingVout}`,
    capacity: c.capacitySat.toString(),
    local_balance: msatToSat(localMsat(c)),
    remote_balance: msatToSat(remoteMsat(c)),
    local_chan_reserve_sat: String(c.capacitySat / 100n),
    remote_chan_reserve_sat: String(c.capacitySat / 100n),
    initiator: side(c) === 'opener' ? 'INITIATOR_LOCAL' : 'INITIATOR_REMOTE',
    commitment_type: 'STATIC_REMOTE_KEY',
    num_forwarding_packages: '0',
    chan_status_flags: 'ChanStatusDefault',
    private: c.private,
    memo: '',
  })
  const closeSummaryRpc = (c: Channel) => {
    const me = side(c)
    const cl = c.close!
    const closeType =
      cl.type === 'LOCAL_FORCE_CLOSE' && cl.initiator !== me ? 'REMOTE_FORCE_CLOSE' : cl.type
    return {
      channel_point: `${c.fundingTxid}:${c.fundingVout}`,
      chan_id: c.scid.toString(),
      chain_hash: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
      closing_tx_hash: cl.txid,
      remote_pubkey: peerOf(c).pubkey,
      capacity: c.capacitySat.toString(),
      close_height: cl.height ?? 0,
      settled_balance: String(cl.settledSat[me] ?? 0n),
      time_locked_balance: cl.toLocal?.side === me ? cl.timeLockedSat.toString() : '0',
      close_type: closeType,
      open_initiator: me === 'opener' ? 'INITIATOR_LOCAL' : 'INITIATOR_REMOTE',
      close_initiator: cl.initiator === me ? 'INITIATOR_LOCAL' : 'INITIATOR_REMOTE',
      resolutions: [],
      alias_scids: [],
      zero_conf_confirmed_scid: '0',
    }
  }
  const policyRpc = (p: RoutingPolicy) => ({
    time_lock_delta: p.timeLockDelta,
    min_htlc: p.minHtlcMsat.toString(),
    fee_base_msat: p.feeBaseMsat.toString(),
    fee_rate_milli_msat: p.feeRatePpm.toString(),
    disabled: p.disabled,
    max_htlc_msat: p.maxHtlcMsat.toString(),
    last_update: p.lastUpdate,
    custom_records: {},
    inbound_fee_base_msat: 0,
    inbound_fee_rate_milli_msat: 0,
  })
  const edgeRpc = (e: GraphEdge) => ({
    channel_id: e.channelId.toString(),
    chan_point: e.chanPoint,
    last_update: e.lastUpdate,
    node1_pub: e.node1,
    node2_pub: e.node2,
    capacity: e.capacitySat.toString(),
    node1_policy: policyRpc(e.node1Policy),
    node2_policy: policyRpc(e.node2Policy),
    custom_records: {},
  })
  const nodeRpc = (pub: string) => {
    const g = world.graph.nodes.get(pub)
    return {
      last_update: g?.lastUpdate ?? 0,
      pub_key: pub,
      alias: g?.alias ?? '',
      addresses: (g?.addresses ?? []).map((addr) => ({ network: 'tcp', addr })),
      color: g?.color ?? '#000000',
      features: FEATURES,
      custom_records: {},
    }
  }
  const routeRpc = (r: Route, paymentAddr?: Buffer) => ({
    total_time_lock: r.totalTimeLock,
    total_fees: msatToSat(r.totalFeesMsat),
    total_amt: msatToSat(r.totalAmtMsat),
    hops: r.hops.map((h, i) => ({
      chan_id: h.channelId.toString(),
      chan_capacity: h.capacitySat.toString(),
      amt_to_forward: msatToSat(h.amtToForwardMsat),
      fee: msatToSat(h.feeMsat),
      expiry: h.expiry,
      amt_to_forward_msat: h.amtToForwardMsat.toString(),
      fee_msat: h.feeMsat.toString(),
      pub_key: h.pubkey,
      tlv_payload: true,
      ...(i === r.hops.length - 1 && paymentAddr
        ? {
            mpp_record: {
              payment_addr: paymentAddr,
              total_amt_msat: h.amtToForwardMsat.toString(),
            },
          }
        : {}),
      custom_records: {},
    })),
    total_fees_msat: r.totalFeesMsat.toString(),
    total_amt_msat: r.totalAmtMsat.toString(),
  })
  const paymentRpc = (p: Payment) => {
    const secret = (() => {
      try {
        return Buffer.from(decodeBolt11(p.paymentRequest).paymentSecret, 'hex')
      } catch {
        return undefined
      }
    })()
    return paymentMessage(
      p,
      p.attempts.map((a) => ({
        attempt_id: String(a.attemptId),
        status: a.status,
        route: routeRpc(a.route, secret),
        attempt_time_ns: a.attemptTimeNs.toString(),
        resolve_time_ns: a.resolveTimeNs.toString(),
        ...(a.failure
          ? {
              failure: {
                code: a.failure.code,
                failure_source_index: a.failure.failureSourceIndex,
                height: a.failure.height,
              },
            }
          : {}),
        preimage: a.preimage ?? Buffer.alloc(0),
      })),
    )
  }
  const utxoRpc = (u: Utxo) => ({
    address_type: u.key.kind === 'p2tr' ? 'TAPROOT_PUBKEY' : 'WITNESS_PUBKEY_HASH',
    address: u.key.address,
    amount_sat: u.value.toString(),
    pk_script: Buffer.from(u.key.script).toString('hex'),
    outpoint: { txid_bytes: rev(u.txid), txid_str: u.txid, output_index: u.vout },
    confirmations: String(u.confirmations),
  })
  const txRpc = (w: WalletTx) => {
    const wallet = n().wallet
    let ours = 0n
    let inputsOurs = 0n
    let allInputsOurs = w.tx.ins.length > 0
    const prev = w.tx.ins.map((i) => {
      const txid = Buffer.from(i.hash).reverse().toString('hex')
      const po = wallet.prevout(txid, i.index)
      const mine = !!po && !!wallet.ownsScript(po.script)
      if (mine) inputsOurs += po!.value
      else allInputsOurs = false
      return { outpoint: `${txid}:${i.index}`, is_our_output: mine }
    })
    const outputs = w.tx.outs.map((o, i) => {
      const mine = !!wallet.ownsScript(o.script)
      if (mine) ours += o.value
      return {
        output_type: scriptType(o.script, btcNetwork),
        address: addressOf(o.script, btcNetwork),
        pk_script: Buffer.from(o.script).toString('hex'),
        output_index: String(i),
        amount: o.value.toString(),
        is_our_address: mine,
      }
    })
    const outTotal = w.tx.outs.reduce((s, o) => s + o.value, 0n)
    return {
      tx_hash: w.txid,
      amount: (ours - inputsOurs).toString(),
      num_confirmations: wallet.confirmations(w),
      block_hash: w.blockHash,
      block_height: w.height ?? 0,
      time_stamp: String(w.blockTime || w.firstSeen),
      total_fees: allInputsOurs ? (inputsOurs - outTotal).toString() : '0',
      dest_addresses: outputs.map((o) => o.address).filter(Boolean),
      output_details: outputs,
      raw_tx_hex: w.tx.toHex(),
      label: w.label,
      previous_outpoints: prev,
    }
  }

  // --- helpers --------------------------------------------------------------------------------
  const bigOf = (v: unknown): bigint => BigInt((v as string | undefined) || '0')
  const chanFromPoint = (cp: Req | undefined): Channel => {
    if (!cp) throw new GrpcError(grpc.status.INVALID_ARGUMENT, 'channel point required')
    const bytes = cp.funding_txid_bytes as Buffer | undefined
    const str = cp.funding_txid_str as string | undefined
    const txid = bytes?.length ? Buffer.from(bytes).reverse().toString('hex') : (str ?? '')
    return n().findChannel(txid, Number(cp.output_index ?? 0))
  }
  const feeRateOf = (r: Req, fallbackTarget = 6): number => {
    const v =
      Number((r.sat_per_vbyte as string) || '0') || Number((r.sat_per_byte as string) || '0')
    return v > 0 ? v : world.chain.feeRate(Number(r.target_conf || 0) || fallbackTarget)
  }
  const addrScript = (addr: string): Uint8Array => {
    try {
      return bitcoin.address.toOutputScript(addr, btcNetwork)
    } catch {
      throw new GrpcError(grpc.status.UNKNOWN, `invalid address: ${addr}`)
    }
  }
  const lookup = (hash: Buffer | string | undefined) => lookupInvoice(n().invoices, hash)
  const amountMsatOf = (r: Req, sat = 'value', msat = 'value_msat') =>
    bigOf(r[msat]) || bigOf(r[sat]) * 1000n
  const feeLimitMsatOf = (r: Req, valueMsat: bigint): bigint | null => {
    if (bigOf(r.fee_limit_msat)) return bigOf(r.fee_limit_msat)
    if (bigOf(r.fee_limit_sat)) return bigOf(r.fee_limit_sat) * 1000n
    const fl = r.fee_limit as Req | undefined
    if (fl?.fixed_msat) return bigOf(fl.fixed_msat)
    if (fl?.fixed) return bigOf(fl.fixed) * 1000n
    if (fl?.percent) return (valueMsat * bigOf(fl.percent)) / 100n
    return null
  }
  const watchPayment = (
    p: Payment,
    call: grpc.ServerWritableStream<unknown, unknown>,
    inflight: boolean,
  ) => {
    const me = n()
    const write = (cur: Payment) => {
      if (cur !== p) return
      if (cur.status === 'IN_FLIGHT' && !inflight) return
      call.write(paymentRpc(cur))
      if (cur.status !== 'IN_FLIGHT') {
        me.off('payment', write)
        call.end()
      }
    }
    me.on('payment', write)
    call.on('cancelled', () => me.off('payment', write))
    return write
  }
  const streamEvent = <T>(
    call: grpc.ServerWritableStream<unknown, unknown>,
    event: string,
    fn: (v: T) => void,
  ) => {
    const me = n()
    me.on(event, fn)
    call.on('cancelled', () => me.off(event, fn))
    call.on('close', () => me.off(event, fn))
  }
  const backupSnapshot = () => {
    const me = n()
    const open = me.channels.filter((c) => c.state === 'open' || c.state === 'pending_open')
    return {
      single_chan_backups: {
        chan_backups: open.map((c) => ({
          chan_point: chanPointRpc(c),
          chan_backup: me.channelBackup([c]),
        })),
      },
      multi_chan_backup: {
        chan_points: open.map(chanPointRpc),
        multi_chan_backup: me.channelBackup(open),
      },
    }
  }

  // --- handlers -------------------------------------------------------------------------------
  const unary: Record<string, Unary> = {
    'lnrpc.Lightning/GetInfo': () => {
      const me = n()
      const chans = me.channels
      const tip = world.chain.tipHeight()
      return {
        version: LND_VERSION.version,
        commit_hash: LND_VERSION.commit_hash,
        identity_pubkey: me.pubkey,
        alias: me.alias,
        color: me.color,
        num_pending_channels: chans.filter((c) => c.state === 'pending_open').length,
        num_active_channels: chans.filter((c) => me.isActive(c)).length,
        num_inactive_channels: chans.filter((c) => c.state === 'open' && !me.isActive(c)).length,
        num_peers: me.peers.size,
        block_height: tip,
        block_hash: world.chain.block(tip)?.hash ?? '',
        best_header_timestamp: String(world.chain.block(tip)?.time ?? 0),
        synced_to_chain: true,
        synced_to_graph: true,
        testnet: network === 'testnet4',
        chains: [{ chain: 'bitcoin', network }],
        uris: [`${me.pubkey}@${me.p2pAddress}`],
        features: FEATURES,
        require_htlc_interceptor: false,
        store_final_htlc_resolutions: false,
      }
    },
    'lnrpc.Lightning/WalletBalance': () => {
      const b = n().wallet.balance()
      const total = b.confirmed + b.unconfirmed
      return {
        total_balance: total.toString(),
        confirmed_balance: b.confirmed.toString(),
        unconfirmed_balance: b.unconfirmed.toString(),
        locked_balance: b.locked.toString(),
        reserved_balance_anchor_chan: '0',
        account_balance: {
          default: {
            confirmed_balance: b.confirmed.toString(),
            unconfirmed_balance: b.unconfirmed.toString(),
          },
        },
      }
    },
    'lnrpc.Lightning/ChannelBalance': () => {
      const me = n()
      let local = 0n
      let remote = 0n
      let pendLocal = 0n
      let pendRemote = 0n
      let unsettledLocal = 0n
      let unsettledRemote = 0n
      for (const c of me.channels) {
        if (c.state === 'open') {
          local += localMsat(c)
          remote += remoteMsat(c)
          for (const h of c.htlcs)
            if (h.from === side(c)) unsettledLocal += h.amountMsat
            else unsettledRemote += h.amountMsat
        } else if (c.state === 'pending_open') {
          pendLocal += localMsat(c)
          pendRemote += remoteMsat(c)
        }
      }
      const amt = (m: bigint) => ({ sat: msatToSat(m), msat: m.toString() })
      return {
        balance: msatToSat(local),
        pending_open_balance: msatToSat(pendLocal),
        local_balance: amt(local),
        remote_balance: amt(remote),
        unsettled_local_balance: amt(unsettledLocal),
        unsettled_remote_balance: amt(unsettledRemote),
        pending_open_local_balance: amt(pendLocal),
        pending_open_remote_balance: amt(pendRemote),
      }
    },
    'lnrpc.Lightning/NewAddress': (r) => {
      const t = String(r.type ?? 'WITNESS_PUBKEY_HASH')
      const kind =
        t === 'WITNESS_PUBKEY_HASH' || t === 'UNUSED_WITNESS_PUBKEY_HASH'
          ? 'p2wkh'
          : t === 'TAPROOT_PUBKEY' || t === 'UNUSED_TAPROOT_PUBKEY'
            ? 'p2tr'
            : null
      if (!kind)
        throw new GrpcError(
          grpc.status.UNIMPLEMENTED,
          `SIMULATOR: address type ${t} is not modelled`,
        )
      return { address: n().wallet.newAddress(kind).address }
    },
    'lnrpc.Lightning/SendCoins': (r) => {
      const me = n()
      const sendAll = !!r.send_all
      const amount = bigOf(r.amount)
      if (sendAll && amount > 0n)
        throw new GrpcError(grpc.status.UNKNOWN, 'amount set while SendAll is active')
      if (!sendAll && amount <= 0n)
        throw new GrpcError(grpc.status.UNKNOWN, 'amount must be positive')
      const script = addrScript(String(r.addr ?? ''))
      const minConfs = r.spend_unconfirmed ? 0 : Number(r.min_confs || 1)
      const f = me.wallet.fund([{ script, value: amount }], feeRateOf(r), { minConfs, sendAll })
      me.wallet.signPsbt(f.psbt)
      f.psbt.finalizeAllInputs()
      const tx = f.psbt.extractTransaction()
      try {
        me.wallet.broadcast(tx, String(r.label ?? ''))
      } catch (err) {
        throw new GrpcError(grpc.status.UNKNOWN, (err as Error).message)
      }
      me.say(`SendCoins: ${tx.getId()} fee ${f.fee} sat`)
      return { txid: tx.getId() }
    },
    'lnrpc.Lightning/SendMany': (r) => {
      const me = n()
      const outs = Object.entries((r.AddrToAmount ?? {}) as Record<string, string>).map(
        ([a, v]) => ({
          script: addrScript(a),
          value: BigInt(v),
        }),
      )
      const f = me.wallet.fund(outs, feeRateOf(r), {
        minConfs: r.spend_unconfirmed ? 0 : Number(r.min_confs || 1),
      })
      me.wallet.signPsbt(f.psbt)
      f.psbt.finalizeAllInputs()
      const tx = f.psbt.extractTransaction()
      me.wallet.broadcast(tx, String(r.label ?? ''))
      return { txid: tx.getId() }
    },
    'lnrpc.Lightning/EstimateFee': (r) => {
      const me = n()
      const outs = Object.entries((r.AddrToAmount ?? {}) as Record<string, string>).map(
        ([a, v]) => ({
          script: addrScript(a),
          value: BigInt(v),
        }),
      )
      const rate = world.chain.feeRate(Number(r.target_conf || 0) || 6)
      const f = me.wallet.fund(outs, rate, {
        minConfs: r.spend_unconfirmed ? 0 : Number(r.min_confs || 1),
      })
      for (const inp of f.inputs) void inp
      return {
        fee_sat: f.fee.toString(),
        feerate_sat_per_byte: String(Math.ceil(rate)),
        sat_per_vbyte: String(Math.ceil(rate)),
      }
    },
    'lnrpc.Lightning/ListUnspent': (r) => ({
      utxos: n()
        .wallet.utxos(Number(r.min_confs ?? 0), Number(r.max_confs || 0) || Number.MAX_SAFE_INTEGER)
        .map(utxoRpc),
    }),
    'lnrpc.Lightning/GetTransactions': (r) => {
      const me = n()
      const start = Number(r.start_height ?? 0)
      const end = Number(r.end_height ?? 0)
      return {
        transactions: [...me.wallet.txs.values()]
          .filter((w) => {
            if (w.height === null) return end === -1 || (start === 0 && end === 0) || true
            return w.height >= start && (end <= 0 || w.height <= end)
          })
          .map(txRpc),
        last_index: '0',
        first_index: '0',
      }
    },
    'lnrpc.Lightning/ConnectPeer': (r) => {
      const addr = (r.addr ?? {}) as { pubkey?: string; host?: string }
      if (!addr.pubkey || !addr.host)
        throw new GrpcError(grpc.status.UNKNOWN, 'need: lnc pubkeyhash@hostname')
      n().connect(addr.pubkey, addr.host, !!r.perm)
      return { status: `connection to ${addr.pubkey}@${addr.host} initiated` }
    },
    'lnrpc.Lightning/DisconnectPeer': (r) => {
      const me = n()
      const pub = String(r.pub_key ?? '')
      if (me.channels.some((c) => c.state === 'open' && me.peerOf(c).pubkey === pub))
        throw new GrpcError(
          grpc.status.UNKNOWN,
          'cannot disconnect from peer(' + pub + '), still has open channels',
        )
      me.disconnect(pub)
      return {}
    },
    'lnrpc.Lightning/ListPeers': () => {
      const me = n()
      return {
        peers: [...me.peers].map(([pub, p]) => ({
          pub_key: pub,
          address: world.nodes.get(pub)?.p2pAddress ?? '',
          bytes_sent: '1024',
          bytes_recv: '1024',
          sat_sent: '0',
          sat_recv: '0',
          inbound: p.inbound,
          ping_time: '1000',
          sync_type: 'ACTIVE_SYNC',
          features: FEATURES,
          errors: [],
          flap_count: 0,
          last_flap_ns: '0',
          last_ping_payload: Buffer.alloc(0),
        })),
      }
    },
    'lnrpc.Lightning/OpenChannelSync': (r) => {
      const c = openFrom(r)
      return chanPointRpc(c)
    },
    'lnrpc.Lightning/FundingStateStep': (r) => {
      const me = n()
      if (r.psbt_verify) {
        const v = r.psbt_verify as Req
        me.psbtVerify(v.pending_chan_id as Buffer, v.funded_psbt as Buffer)
      } else if (r.psbt_finalize) {
        const f = r.psbt_finalize as Req
        me.psbtFinalize(
          f.pending_chan_id as Buffer,
          (f.signed_psbt as Buffer)?.length ? (f.signed_psbt as Buffer) : null,
          (f.final_raw_tx as Buffer)?.length ? (f.final_raw_tx as Buffer) : null,
        )
      } else if (r.shim_cancel) {
        me.psbtCancel((r.shim_cancel as Req).pending_chan_id as Buffer)
      } else if (r.shim_register) {
        throw new GrpcError(grpc.status.UNIMPLEMENTED, 'SIMULATOR: chan_point_shim is not modelled')
      }
      return {}
    },
    'lnrpc.Lightning/PendingChannels': () => {
      const me = n()
      const tip = world.chain.tipHeight()
      const pendingOpen = me.channels.filter((c) => c.state === 'pending_open')
      const waiting = me.channels.filter((c) => c.state === 'waiting_close')
      const forced = me.channels.filter(
        (c) => c.state === 'force_closing' || (c.state === 'closed' && false),
      )
      let limbo = 0n
      const waitingRpc = waiting.map((c) => {
        const l = localMsat(c) / 1000n
        limbo += l
        return {
          channel: pendingChannelRpc(c),
          limbo_balance: l.toString(),
          commitments: {
            local_txid: c.close?.type === 'COOPERATIVE_CLOSE' ? '' : (c.close?.txid ?? ''),
            remote_txid: '',
            remote_pending_txid: '',
            local_commit_fee_sat: c.commitFeeSat.toString(),
            remote_commit_fee_sat: c.commitFeeSat.toString(),
            remote_pending_commit_fee_sat: '0',
          },
          closing_txid: c.close?.txid ?? '',
          closing_tx_hex: c.close?.tx.toHex() ?? '',
        }
      })
      const forcedRpc = forced
        .filter((c) => c.close?.toLocal?.side === side(c))
        .map((c) => {
          const cl = c.close!
          const maturity = (cl.height ?? tip) + c.csvDelay[side(c)] - 1
          const l = cl.timeLockedSat
          limbo += l
          return {
            channel: pendingChannelRpc(c),
            closing_txid: cl.txid,
            limbo_balance: l.toString(),
            maturity_height: maturity,
            blocks_til_maturity: maturity - tip,
            recovered_balance: '0',
            pending_htlcs: [],
            anchor: 'LIMBO',
          }
        })
      return {
        total_limbo_balance: limbo.toString(),
        pending_open_channels: pendingOpen.map((c) => ({
          channel: pendingChannelRpc(c),
          commit_fee: c.commitFeeSat.toString(),
          commit_weight: COMMIT_WEIGHT.toString(),
          fee_per_kw: c.feePerKw.toString(),
          funding_expiry_blocks: 2016,
          confirmations_until_active: Math.max(
            0,
            c.nodes.opener.fundingConfs - world.confirmations(c.fundingTxid),
          ),
          confirmation_height: world.confirmation(c.fundingTxid)?.height ?? 0,
        })),
        pending_closing_channels: [],
        pending_force_closing_channels: forcedRpc,
        waiting_close_channels: waitingRpc,
      }
    },
    'lnrpc.Lightning/ListChannels': (r) => {
      const me = n()
      const peer = (r.peer as Buffer | undefined)?.length
        ? (r.peer as Buffer).toString('hex')
        : null
      return {
        channels: me.channels
          .filter((c) => c.state === 'open')
          .filter((c) => !r.active_only || me.isActive(c))
          .filter((c) => !r.inactive_only || !me.isActive(c))
          .filter((c) => !r.public_only || !c.private)
          .filter((c) => !r.private_only || c.private)
          .filter((c) => !peer || me.peerOf(c).pubkey === peer)
          .map(channelRpc),
      }
    },
    'lnrpc.Lightning/ClosedChannels': (r) => {
      const me = n()
      const filters = [
        'cooperative',
        'local_force',
        'remote_force',
        'breach',
        'funding_canceled',
        'abandoned',
      ]
      const any = filters.some((f) => r[f])
      return {
        channels: me.channels
          .filter(
            (c) =>
              c.close &&
              c.close.height !== null &&
              (c.state === 'closed' || c.state === 'force_closing'),
          )
          .map(closeSummaryRpc)
          .filter(
            (s) =>
              !any ||
              (r.cooperative && s.close_type === 'COOPERATIVE_CLOSE') ||
              (r.local_force && s.close_type === 'LOCAL_FORCE_CLOSE') ||
              (r.remote_force && s.close_type === 'REMOTE_FORCE_CLOSE'),
          ),
      }
    },
    'lnrpc.Lightning/ExportAllChannelBackups': () => backupSnapshot(),
    'lnrpc.Lightning/RestoreChannelBackups': (r) => {
      const multi = r.multi_chan_backup as Buffer | undefined
      if (!multi?.length)
        throw new GrpcError(grpc.status.UNKNOWN, 'SIMULATOR: only multi_chan_backup is modelled')
      try {
        n().restoreFromChannelBackup(multi)
      } catch (err) {
        throw new GrpcError(grpc.status.UNKNOWN, (err as Error).message)
      }
      return {}
    },
    'lnrpc.Lightning/ExportChannelBackup': (r) => {
      const c = chanFromPoint(r.chan_point as Req)
      return { chan_point: chanPointRpc(c), chan_backup: n().channelBackup([c]) }
    },
    'lnrpc.Lightning/AddInvoice': (r) =>
      addInvoiceResponse(n().addInvoice(invoiceRequestOf(r as AddInvoiceFields))),
    'lnrpc.Lightning/LookupInvoice': (r) =>
      invoiceMessage(
        lookup((r.r_hash as Buffer)?.length ? (r.r_hash as Buffer) : (r.r_hash_str as string)),
      ),
    'lnrpc.Lightning/ListInvoices': (r) => listInvoicesMessage(n().invoices.values(), r),
    'lnrpc.Lightning/DecodePayReq': (r) =>
      payReqMessage(decodePayReqOrThrow(String(r.pay_req ?? '')), network),
    'lnrpc.Lightning/ListPayments': (r) => {
      const all0 = [...n().payments.values()].filter(
        (p) => r.include_incomplete || p.status === 'SUCCEEDED',
      )
      const offset = Number(r.index_offset ?? 0)
      const max = Number(r.max_payments ?? 0) || 100
      const all = r.reversed
        ? all0.filter((p) => !offset || p.index < offset).slice(-max)
        : all0.filter((p) => p.index > offset).slice(0, max)
      return {
        payments: all.map(paymentRpc),
        first_index_offset: String(all[0]?.index ?? 0),
        last_index_offset: String(all[all.length - 1]?.index ?? 0),
        total_num_payments: r.count_total_payments ? String(n().payments.size) : '0',
      }
    },
    'lnrpc.Lightning/DescribeGraph': (r) => {
      const me = n()
      const edges = [...world.graph.edges.values()]
      if (r.include_unannounced) for (const e of world.privateEdgesOf(me)) edges.push(e)
      const nodes = new Set(world.graph.nodes.keys())
      return { nodes: [...nodes].map(nodeRpc), edges: edges.map(edgeRpc) }
    },
    'lnrpc.Lightning/GetNodeInfo': (r) => {
      const pub = String(r.pub_key ?? '')
      if (!world.graph.nodes.has(pub))
        throw new GrpcError(grpc.status.NOT_FOUND, 'unable to find node')
      const edges = [...world.graph.edges.values()].filter(
        (e) => e.node1 === pub || e.node2 === pub,
      )
      return {
        node: nodeRpc(pub),
        num_channels: edges.length,
        total_capacity: edges.reduce((s, e) => s + e.capacitySat, 0n).toString(),
        channels: r.include_channels ? edges.map(edgeRpc) : [],
      }
    },
    'lnrpc.Lightning/GetChanInfo': (r) => {
      const id = bigOf(r.chan_id)
      const e =
        world.graph.edges.get(id) ??
        world.privateEdgesOf(n()).find((x) => x.channelId === id || x.chanPoint === r.chan_point)
      if (!e) throw new GrpcError(grpc.status.NOT_FOUND, 'edge not found')
      return edgeRpc(e)
    },
    'lnrpc.Lightning/GetNetworkInfo': () => {
      const edges = [...world.graph.edges.values()]
      const caps = edges.map((e) => e.capacitySat).sort((a, b) => (a < b ? -1 : 1))
      const total = caps.reduce((s, c) => s + c, 0n)
      const degree = new Map<string, number>()
      for (const e of edges)
        for (const p of [e.node1, e.node2]) degree.set(p, (degree.get(p) ?? 0) + 1)
      return {
        graph_diameter: 0,
        avg_out_degree: world.graph.nodes.size ? (edges.length * 2) / world.graph.nodes.size : 0,
        max_out_degree: Math.max(0, ...degree.values()),
        num_nodes: world.graph.nodes.size,
        num_channels: edges.length,
        total_network_capacity: total.toString(),
        avg_channel_size: edges.length ? Number(total) / edges.length : 0,
        min_channel_size: (caps[0] ?? 0n).toString(),
        max_channel_size: (caps[caps.length - 1] ?? 0n).toString(),
        median_channel_size_sat: (caps[Math.floor(caps.length / 2)] ?? 0n).toString(),
        num_zombie_chans: '0',
      }
    },
    'lnrpc.Lightning/QueryRoutes': (r) => {
      const me = n()
      const target = String(r.pub_key ?? '')
      if (!/^[0-9a-f]{66}$/.test(target))
        throw new GrpcError(grpc.status.UNKNOWN, 'pubkey must be 33 bytes hex')
      const amt = amountMsatOf(r, 'amt', 'amt_msat')
      if (amt <= 0n) throw new GrpcError(grpc.status.UNKNOWN, 'amount must be greater than 0')
      const source = String(r.source_pub_key || me.pubkey)
      const ignoredNodes = new Set(
        ((r.ignored_nodes ?? []) as Buffer[]).map((b) => b.toString('hex')),
      )
      const feeLimit = feeLimitMsatOf(r, amt)
      // outgoing_chan_id (deprecated) or outgoing_chan_ids, and last_hop_pubkey: the restrictions
      // rebalancers use to ask for a circular route to themselves.
      const outgoing = new Set<bigint>(
        [
          ...((r.outgoing_chan_ids ?? []) as string[]),
          ...(bigOf(r.outgoing_chan_id) ? [r.outgoing_chan_id as string] : []),
        ].map((id) => BigInt(id)),
      )
      const lastHop = (r.last_hop_pubkey as Buffer | undefined)?.length
        ? (r.last_hop_pubkey as Buffer).toString('hex')
        : undefined
      const route = world.graph.findRoute({
        source,
        target,
        amountMsat: amt,
        finalCltvDelta: Number(r.final_cltv_delta || 0) || 40,
        height: world.chain.tipHeight(),
        localBandwidth:
          source === me.pubkey
            ? me.localBandwidth()
            : new Map(
                [...world.graph.edges.values()].map((e) => [e.channelId, e.capacitySat * 1000n]),
              ),
        excludedNodes: ignoredNodes,
        extraEdges: source === me.pubkey ? world.privateEdgesOf(me) : [],
        ...(feeLimit !== null ? { feeLimitMsat: feeLimit } : {}),
        ...(outgoing.size ? { outgoingChannelIds: outgoing } : {}),
        ...(lastHop ? { lastHop } : {}),
      })
      if (!route) throw new GrpcError(grpc.status.UNKNOWN, 'unable to find a path to destination')
      return { routes: [routeRpc(route)], success_prob: 1 }
    },
    'lnrpc.Lightning/FeeReport': () => {
      const me = n()
      return {
        channel_fees: me.channels
          .filter((c) => c.state === 'open')
          .map((c) => ({
            chan_id: c.scid.toString(),
            channel_point: `${c.fundingTxid}:${c.fundingVout}`,
            base_fee_msat: c.policies[side(c)].feeBaseMsat.toString(),
            fee_per_mil: c.policies[side(c)].feeRatePpm.toString(),
            fee_rate: Number(c.policies[side(c)].feeRatePpm) / 1e6,
            inbound_base_fee_msat: 0,
            inbound_fee_per_mil: 0,
          })),
        day_fee_sum: '0',
        week_fee_sum: '0',
        month_fee_sum: '0',
      }
    },
    'lnrpc.Lightning/UpdateChannelPolicy': (r) => {
      const me = n()
      const targets = r.global
        ? me.channels.filter((c) => c.state === 'open')
        : [chanFromPoint(r.chan_point as Req)]
      for (const c of targets) {
        const p = c.policies[side(c)]
        p.feeBaseMsat = bigOf(r.base_fee_msat)
        p.feeRatePpm = bigOf(r.fee_rate_ppm) || BigInt(Math.round(Number(r.fee_rate ?? 0) * 1e6))
        if (r.time_lock_delta) p.timeLockDelta = Number(r.time_lock_delta)
        if (bigOf(r.max_htlc_msat)) p.maxHtlcMsat = bigOf(r.max_htlc_msat)
        p.lastUpdate = Math.floor(Date.now() / 1000)
        if (c.announced) world.graph.updatePolicy(c.scid, me.pubkey, {})
      }
      return { failed_updates: [] }
    },
    'lnrpc.Lightning/BakeMacaroon': (r) => {
      const perms = (r.permissions ?? []) as Permission[]
      if (perms.length === 0)
        throw new GrpcError(grpc.status.UNKNOWN, 'permission list cannot be empty')
      for (const p of perms) {
        const known =
          p.entity === 'uri'
            ? METHOD_PERMISSIONS[p.action.slice(1)] !== undefined
            : DEFAULT_MACAROONS.admin.some((a) => a.entity === p.entity && a.action === p.action) ||
              ([
                'onchain',
                'offchain',
                'address',
                'message',
                'peers',
                'info',
                'invoices',
                'signer',
                'macaroon',
              ].includes(p.entity) &&
                ['read', 'write', 'generate'].includes(p.action))
        if (!known)
          throw new GrpcError(
            grpc.status.UNKNOWN,
            `invalid permission action. ${p.entity}:${p.action} is not allowed`,
          )
      }
      return { macaroon: mintMacaroon(rootKey, perms).toString('hex') }
    },
    'lnrpc.Lightning/SendPaymentSync': (r) => {
      // Answered asynchronously below (see unaryAsync).
      void r
      throw new GrpcError(grpc.status.INTERNAL, 'unreachable')
    },
    'routerrpc.Router/EstimateRouteFee': (r) => {
      const me = n()
      let dest = (r.dest as Buffer)?.length ? (r.dest as Buffer).toString('hex') : ''
      let amountMsat = bigOf(r.amt_sat) * 1000n
      let finalCltv = 40
      if (r.payment_request) {
        const inv = decodePayReqOrThrow(String(r.payment_request))
        dest = inv.payee
        amountMsat = inv.amountMsat ?? amountMsat
        finalCltv = inv.minFinalCltvExpiry
      }
      const route = world.graph.findRoute({
        source: me.pubkey,
        target: dest,
        amountMsat,
        finalCltvDelta: finalCltv,
        height: world.chain.tipHeight(),
        localBandwidth: me.localBandwidth(),
        extraEdges: world.privateEdgesOf(me),
      })
      if (!route)
        return {
          routing_fee_msat: '0',
          time_lock_delay: '0',
          failure_reason: 'FAILURE_REASON_NO_ROUTE',
        }
      return {
        routing_fee_msat: route.totalFeesMsat.toString(),
        time_lock_delay: String(route.totalTimeLock - world.chain.tipHeight()),
        failure_reason: 'FAILURE_REASON_NONE',
      }
    },
    'invoicesrpc.Invoices/AddHoldInvoice': (r) =>
      addHoldInvoiceResponse(n().addInvoice(invoiceRequestOf(r as AddInvoiceFields, true))),
    'invoicesrpc.Invoices/SettleInvoice': (r) => {
      const preimage = (r.preimage as Buffer) ?? Buffer.alloc(0)
      const inv = invoiceToSettle(n().invoices, preimage)
      if (inv) n().settleInvoice(inv, preimage)
      return {}
    },
    'invoicesrpc.Invoices/CancelInvoice': (r) => {
      const inv = lookup(r.payment_hash as Buffer)
      if (isToCancel(inv)) n().cancelInvoice(inv)
      return {}
    },
    'invoicesrpc.Invoices/LookupInvoiceV2': (r) => invoiceMessage(lookup(r.payment_hash as Buffer)),
    'walletrpc.WalletKit/ListUnspent': (r) => ({
      utxos: n()
        .wallet.utxos(
          r.unconfirmed_only ? 0 : Number(r.min_confs ?? 0),
          r.unconfirmed_only ? 0 : Number(r.max_confs || 0) || Number.MAX_SAFE_INTEGER,
        )
        .map(utxoRpc),
    }),
    'walletrpc.WalletKit/EstimateFee': (r) => {
      const target = Number(r.conf_target ?? 0)
      if (target < 2)
        throw new GrpcError(grpc.status.UNKNOWN, 'confirmation target must be greater than 1')
      return {
        sat_per_kw: String(Math.round(world.chain.feeRate(target) * 250)),
        min_relay_fee_sat_per_kw: '253',
      }
    },
    'walletrpc.WalletKit/NextAddr': (r) => {
      const t = String(r.type ?? 'UNKNOWN')
      const kind = t === 'TAPROOT_PUBKEY' ? 'p2tr' : 'p2wkh'
      return { addr: n().wallet.newAddress(kind, !!r.change).address }
    },
    'walletrpc.WalletKit/FundPsbt': (r) => {
      const me = n()
      let outputs: { script: Uint8Array; value: bigint }[]
      let inputs: Utxo[] | undefined
      if ((r.psbt as Buffer)?.length) {
        const tpl = bitcoin.Psbt.fromBuffer(r.psbt as Buffer, { network: btcNetwork })
        outputs = tpl.txOutputs.map((o) => ({ script: o.script, value: o.value }))
        if (tpl.txInputs.length)
          inputs = tpl.txInputs.map((i) =>
            utxoOf(Buffer.from(i.hash).reverse().toString('hex'), i.index),
          )
      } else if (r.raw) {
        const raw = r.raw as { inputs?: Req[]; outputs?: Record<string, string> }
        outputs = Object.entries(raw.outputs ?? {}).map(([a, v]) => ({
          script: addrScript(a),
          value: BigInt(v),
        }))
        if (raw.inputs?.length)
          inputs = raw.inputs.map((i) =>
            utxoOf(
              (i.txid_bytes as Buffer)?.length
                ? Buffer.from(i.txid_bytes as Buffer)
                    .reverse()
                    .toString('hex')
                : String(i.txid_str),
              Number(i.output_index ?? 0),
            ),
          )
      } else throw new GrpcError(grpc.status.UNKNOWN, 'must specify either raw txtemplate or psbt')
      const rate = bigOf(r.sat_per_kw)
        ? Number(bigOf(r.sat_per_kw)) / 250
        : bigOf(r.sat_per_vbyte)
          ? Number(bigOf(r.sat_per_vbyte))
          : world.chain.feeRate(Number(r.target_conf || 6))
      const f = me.wallet.fund(outputs, rate, {
        minConfs: r.spend_unconfirmed ? 0 : Number(r.min_confs || 1),
        ...(inputs ? { inputs } : {}),
      })
      const id = randomBytes(32)
      const locked = f.inputs.map((u) => {
        const expiration = me.wallet.lease(u.txid, u.vout, id.toString('hex'))
        return {
          id,
          outpoint: { txid_bytes: rev(u.txid), txid_str: u.txid, output_index: u.vout },
          expiration: String(expiration),
          pk_script: Buffer.from(u.key.script),
          value: u.value.toString(),
        }
      })
      return {
        funded_psbt: f.psbt.toBuffer(),
        change_output_index: f.changeVout,
        locked_utxos: locked,
      }
    },
    'walletrpc.WalletKit/SignPsbt': (r) => {
      const psbt = bitcoin.Psbt.fromBuffer(r.funded_psbt as Buffer, { network: btcNetwork })
      const before = psbt.data.inputs.map((i) => !!i.partialSig?.length || !!i.tapKeySig)
      n().wallet.signPsbt(psbt)
      const signed = psbt.data.inputs
        .map((i, k) => (!before[k] && (i.partialSig?.length || i.tapKeySig) ? k : -1))
        .filter((k) => k >= 0)
      return { signed_psbt: psbt.toBuffer(), signed_inputs: signed }
    },
    'walletrpc.WalletKit/FinalizePsbt': (r) => {
      const me = n()
      const psbt = bitcoin.Psbt.fromBuffer(r.funded_psbt as Buffer, { network: btcNetwork })
      me.wallet.signPsbt(psbt)
      try {
        psbt.finalizeAllInputs()
      } catch (err) {
        throw new GrpcError(grpc.status.UNKNOWN, `error finalizing PSBT: ${(err as Error).message}`)
      }
      const tx = psbt.extractTransaction()
      return { signed_psbt: psbt.toBuffer(), raw_final_tx: tx.toBuffer() }
    },
    'walletrpc.WalletKit/PublishTransaction': (r) => {
      const tx = bitcoin.Transaction.fromBuffer(r.tx_hex as Buffer)
      try {
        n().wallet.broadcast(tx, String(r.label ?? ''))
      } catch (err) {
        return { publish_error: (err as Error).message }
      }
      return { publish_error: '' }
    },
    'walletrpc.WalletKit/LeaseOutput': (r) => {
      const op = r.outpoint as Req
      const txid = (op.txid_bytes as Buffer)?.length
        ? Buffer.from(op.txid_bytes as Buffer)
            .reverse()
            .toString('hex')
        : String(op.txid_str)
      const exp = n().wallet.lease(
        txid,
        Number(op.output_index ?? 0),
        (r.id as Buffer).toString('hex'),
        Number(r.expiration_seconds || 600),
      )
      return { expiration: String(exp) }
    },
    'walletrpc.WalletKit/ReleaseOutput': (r) => {
      const op = r.outpoint as Req
      const txid = (op.txid_bytes as Buffer)?.length
        ? Buffer.from(op.txid_bytes as Buffer)
            .reverse()
            .toString('hex')
        : String(op.txid_str)
      n().wallet.release(txid, Number(op.output_index ?? 0))
      return { status: 'released' }
    },
    'walletrpc.WalletKit/ListLeases': () => ({
      locked_utxos: n()
        .wallet.leases()
        .map((l) => {
          const po = n().wallet.prevout(l.txid, l.vout)
          return {
            id: Buffer.from(l.id, 'hex'),
            outpoint: { txid_bytes: rev(l.txid), txid_str: l.txid, output_index: l.vout },
            expiration: String(l.expires),
            pk_script: Buffer.from(po?.script ?? new Uint8Array()),
            value: String(po?.value ?? 0n),
          }
        }),
    }),
    'verrpc.Versioner/GetVersion': () => LND_VERSION,
    'lnrpc.State/GetState': () => ({ state: lndState() }),
    'lnrpc.WalletUnlocker/GenSeed': () => {
      unlockerOpen()
      return {
        cipher_seed_mnemonic: generateMnemonic(wordlist, 256).split(' '),
        enciphered_seed: randomBytes(33),
      }
    },
    'lnrpc.WalletUnlocker/InitWallet': (r) => {
      unlockerOpen()
      if (walletState !== 'NON_EXISTING')
        throw new GrpcError(grpc.status.UNKNOWN, 'wallet already exists')
      const password = (r.wallet_password as Buffer) ?? Buffer.alloc(0)
      if (password.length < 8)
        throw new GrpcError(grpc.status.UNKNOWN, 'password must have at least 8 characters')
      const words = (r.cipher_seed_mnemonic ?? []) as string[]
      if (words.length !== 24)
        throw new GrpcError(
          grpc.status.UNKNOWN,
          `wrong cipher seed mnemonic length: got ${words.length} words, expecting 24 words`,
        )
      if (!validateMnemonic(words.join(' '), wordlist))
        throw new GrpcError(
          grpc.status.UNKNOWN,
          'invalid cipher seed mnemonic (SIMULATOR: BIP 39 checksum)',
        )
      createWallet(password, words, r.macaroon_root_key as Buffer | undefined)
      unlock(password, !!r.stateless_init, { recoveryWindow: Number(r.recovery_window ?? 0) })
      // LND restores the channels of channel_backups once the wallet is unlocked; a backup it
      // cannot read is logged, not returned (lnd.go: "unable to recover multichannel backup").
      const multi = ((r.channel_backups as Req | undefined)?.multi_chan_backup as Req | undefined)
        ?.multi_chan_backup as Buffer | undefined
      if (multi?.length) {
        try {
          node!.restoreFromChannelBackup(multi)
        } catch (err) {
          log(`unable to recover multichannel backup: ${(err as Error).message}`)
        }
      }
      return { admin_macaroon: macaroons.admin }
    },
    'lnrpc.WalletUnlocker/UnlockWallet': (r) => {
      unlockerOpen()
      if (walletState === 'NON_EXISTING')
        throw new GrpcError(grpc.status.UNKNOWN, 'wallet not found')
      unlock((r.wallet_password as Buffer) ?? Buffer.alloc(0), !!r.stateless_init)
      return {}
    },
  }
  const utxoOf = (txid: string, vout: number): Utxo => {
    const u = n()
      .wallet.utxos()
      .find((x) => x.txid === txid && x.vout === vout)
    if (!u) throw new GrpcError(grpc.status.UNKNOWN, `unable to find UTXO ${txid}:${vout}`)
    return u
  }
  const lndState = () => (walletState !== 'UNLOCKED' ? walletState : 'SERVER_ACTIVE')
  const unlockerOpen = () => {
    if (walletState === 'UNLOCKED')
      throw new GrpcError(
        grpc.status.UNIMPLEMENTED,
        'wallet already unlocked, WalletUnlocker service is no longer available',
      )
  }
  const openFrom = (r: Req, psbt?: { pendingChanId: Buffer; noPublish: boolean }): Channel => {
    const pub = (r.node_pubkey as Buffer)?.length
      ? (r.node_pubkey as Buffer).toString('hex')
      : String(r.node_pubkey_string ?? '')
    if (r.fund_max)
      throw new GrpcError(grpc.status.UNIMPLEMENTED, 'SIMULATOR: fund_max is not modelled')
    return n().openChannel({
      peer: pub,
      localSat: bigOf(r.local_funding_amount),
      pushSat: bigOf(r.push_sat),
      private: !!r.private,
      satPerVbyte: Number(bigOf(r.sat_per_vbyte) || bigOf(r.sat_per_byte)),
      targetConf: Number(r.target_conf ?? 0),
      minConfs: r.spend_unconfirmed ? 0 : Number(r.min_confs || 1),
      remoteCsvDelay: Number(r.remote_csv_delay ?? 0),
      ...(psbt ? { psbt } : {}),
    })
  }

  // An rpc Route (lnrpc.Route) as the caller sent it: the simulator forwards exactly these
  // amounts and fees, and each hop checks them as a forwarding node would.
  const routeFromRpc = (r: Req | undefined): Route => {
    const hops = ((r?.hops ?? []) as Req[]).map((h) => {
      const amt = bigOf(h.amt_to_forward_msat) || bigOf(h.amt_to_forward) * 1000n
      const fee = bigOf(h.fee_msat) || bigOf(h.fee) * 1000n
      const pub = h.pub_key as string | Buffer | undefined
      return {
        channelId: bigOf(h.chan_id),
        capacitySat: bigOf(h.chan_capacity),
        pubkey: Buffer.isBuffer(pub) ? pub.toString('hex') : String(pub ?? ''),
        amtToForwardMsat: amt,
        feeMsat: fee,
        expiry: Number(h.expiry ?? 0),
      }
    })
    const totalFeesMsat = hops.reduce((s, h) => s + h.feeMsat, 0n)
    const last = hops[hops.length - 1]
    return {
      hops,
      totalFeesMsat,
      totalAmtMsat: bigOf(r?.total_amt_msat) || (last ? last.amtToForwardMsat + totalFeesMsat : 0n),
      totalTimeLock: Number(r?.total_time_lock ?? 0),
    }
  }

  const asyncUnary: Record<string, (r: Req) => Promise<unknown>> = {
    'routerrpc.Router/SendToRouteV2': async (r) => {
      const hash = (r.payment_hash as Buffer | undefined) ?? Buffer.alloc(0)
      if (hash.length !== 32)
        throw new GrpcError(grpc.status.UNKNOWN, 'payment hash must be 32 bytes')
      const route = routeFromRpc(r.route as Req | undefined)
      if (route.hops.length === 0) throw new GrpcError(grpc.status.UNKNOWN, 'route has no hops')
      const final = ((r.route as Req).hops as Req[])[route.hops.length - 1]!
      const mpp = final.mpp_record as Req | undefined
      const addr = mpp?.payment_addr as Buffer | undefined
      const a = await n().sendToRoute(
        hash.toString('hex'),
        route,
        addr?.length
          ? {
              paymentAddr: addr.toString('hex'),
              totalMsat:
                bigOf(mpp!.total_amt_msat) || route.hops[route.hops.length - 1]!.amtToForwardMsat,
            }
          : null,
      )
      return {
        attempt_id: String(a.attemptId),
        status: a.status,
        route: routeRpc(a.route, addr?.length ? addr : undefined),
        attempt_time_ns: a.attemptTimeNs.toString(),
        resolve_time_ns: a.resolveTimeNs.toString(),
        ...(a.failure
          ? {
              failure: {
                code: a.failure.code,
                failure_source_index: a.failure.failureSourceIndex,
                height: a.failure.height,
              },
            }
          : {}),
        preimage: a.preimage ?? Buffer.alloc(0),
      }
    },
    'lnrpc.Lightning/SendPaymentSync': (r) =>
      new Promise((resolve, reject) => {
        const me = n()
        const request = String(r.payment_request ?? '')
        if (!request)
          return reject(
            new GrpcError(
              grpc.status.UNKNOWN,
              'SIMULATOR: only payment_request payments are modelled',
            ),
          )
        const amt = amountMsatOf(r, 'amt', 'amt_msat')
        let p: Payment
        try {
          const { valueMsat } = me.decodeForPayment(request, amt)
          p = me.sendPayment({
            request,
            amtMsat: amt,
            feeLimitMsat: feeLimitMsatOf(r, valueMsat),
            maxParts: 1, // the legacy SendPaymentSync takes one path
          })
        } catch (err) {
          return reject(toGrpc(err))
        }
        const done = (cur: Payment) => {
          if (cur !== p || cur.status === 'IN_FLIGHT') return
          me.off('payment', done)
          const last = cur.attempts[cur.attempts.length - 1]
          resolve({
            payment_error:
              cur.status === 'SUCCEEDED'
                ? ''
                : cur.failureReason === 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS'
                  ? 'invoice is already paid'.length && 'incorrect_payment_details'
                  : cur.failureReason === 'FAILURE_REASON_INSUFFICIENT_BALANCE'
                    ? 'insufficient_balance'
                    : 'no_route',
            payment_preimage: cur.preimage ? Buffer.from(cur.preimage, 'hex') : Buffer.alloc(0),
            ...(cur.status === 'SUCCEEDED' && last ? { payment_route: routeRpc(last.route) } : {}),
            payment_hash: Buffer.from(cur.hash, 'hex'),
          })
        }
        me.on('payment', done)
      }),
  }

  const streaming: Record<string, Streaming> = {
    'lnrpc.Lightning/OpenChannel': (r, call) => {
      const shim = (r.funding_shim as Req | undefined)?.psbt_shim as Req | undefined
      const psbt = shim
        ? {
            pendingChanId:
              (shim.pending_chan_id as Buffer)?.length === 32
                ? (shim.pending_chan_id as Buffer)
                : randomBytes(32),
            noPublish: !!shim.no_publish,
          }
        : undefined
      const c = openFrom(r, psbt)
      const me = n()
      const onEvent = (ev: ChannelEvent) => {
        if (ev.channel !== c) return
        if (ev.type === 'PENDING_OPEN_CHANNEL')
          call.write({
            chan_pending: { txid: rev(c.fundingTxid), output_index: c.fundingVout },
            pending_chan_id: c.pendingChanId,
          })
        if (ev.type === 'OPEN_CHANNEL') {
          call.write({
            chan_open: { channel_point: chanPointRpc(c) },
            pending_chan_id: c.pendingChanId,
          })
          me.off('channel', onEvent)
          call.end()
        }
      }
      me.on('channel', onEvent)
      call.on('cancelled', () => me.off('channel', onEvent))
      if (psbt) {
        const base = (shim?.base_psbt as Buffer)?.length
          ? bitcoin.Psbt.fromBuffer(shim!.base_psbt as Buffer, { network: btcNetwork })
          : new bitcoin.Psbt({ network: btcNetwork })
        base.addOutput({ address: c.fundingAddress, value: c.capacitySat })
        call.write({
          psbt_fund: {
            funding_address: c.fundingAddress,
            funding_amount: c.capacitySat.toString(),
            psbt: base.toBuffer(),
          },
          pending_chan_id: c.pendingChanId,
        })
      } else
        call.write({
          chan_pending: { txid: rev(c.fundingTxid), output_index: c.fundingVout },
          pending_chan_id: c.pendingChanId,
        })
    },
    'lnrpc.Lightning/CloseChannel': (r, call) => {
      const me = n()
      const c = chanFromPoint(r.channel_point as Req)
      const tx = r.force
        ? me.closeForce(c)
        : me.closeCooperative(c, {
            ...(r.delivery_address ? { deliveryAddress: String(r.delivery_address) } : {}),
            satPerVbyte: Number(bigOf(r.sat_per_vbyte) || bigOf(r.sat_per_byte)),
            targetConf: Number(r.target_conf ?? 0),
          })
      call.write({ close_pending: { txid: rev(tx.getId()), output_index: 0 } })
      if (r.no_wait) return void call.end()
      const onEvent = (ev: ChannelEvent) => {
        if (ev.channel !== c || ev.type !== 'CLOSED_CHANNEL') return
        call.write({ chan_close: { closing_txid: rev(tx.getId()), success: true } })
        me.off('channel', onEvent)
        call.end()
      }
      me.on('channel', onEvent)
      call.on('cancelled', () => me.off('channel', onEvent))
    },
    'lnrpc.Lightning/SubscribeChannelEvents': (_r, call) => {
      streamEvent<ChannelEvent>(call, 'channel', (ev) => {
        const c = ev.channel
        const body =
          ev.type === 'OPEN_CHANNEL'
            ? { open_channel: channelRpc(c) }
            : ev.type === 'CLOSED_CHANNEL'
              ? { closed_channel: closeSummaryRpc(c) }
              : ev.type === 'ACTIVE_CHANNEL'
                ? { active_channel: chanPointRpc(c) }
                : ev.type === 'INACTIVE_CHANNEL'
                  ? { inactive_channel: chanPointRpc(c) }
                  : ev.type === 'PENDING_OPEN_CHANNEL'
                    ? {
                        pending_open_channel: {
                          txid: rev(c.fundingTxid),
                          output_index: c.fundingVout,
                        },
                      }
                    : { fully_resolved_channel: chanPointRpc(c) }
        call.write({ ...body, type: ev.type })
      })
    },
    'lnrpc.Lightning/SubscribeChannelBackups': (_r, call) => {
      streamEvent<void>(call, 'backup', () => call.write(backupSnapshot()))
    },
    'lnrpc.Lightning/SubscribeInvoices': (r, call) => {
      for (const inv of invoiceBacklog(n().invoices.values(), r)) call.write(invoiceMessage(inv))
      streamEvent<Invoice>(call, 'invoice', (inv) => {
        if (isInvoiceStreamUpdate(inv)) call.write(invoiceMessage(inv))
      })
    },
    'lnrpc.Lightning/SubscribeTransactions': (_r, call) => {
      const me = n()
      streamEvent<string>(call, 'transaction', (txid) => {
        const w = me.wallet.txs.get(txid)
        if (w) call.write(txRpc(w))
      })
    },
    'routerrpc.Router/SendPaymentV2': (r, call) => {
      const me = n()
      const request = String(r.payment_request ?? '')
      if (!request)
        throw new GrpcError(
          grpc.status.INVALID_ARGUMENT,
          'SIMULATOR: only payment_request payments are modelled (no keysend)',
        )
      const amt = amountMsatOf(r, 'amt', 'amt_msat')
      const { valueMsat } = me.decodeForPayment(request, amt)
      const p = me.sendPayment({
        request,
        amtMsat: amt,
        feeLimitMsat: feeLimitMsatOf(r, valueMsat),
        // routerrpc's DefaultMaxParts is 16.
        maxParts: Number(r.max_parts || 0) || 16,
      })
      watchPayment(p, call, !r.no_inflight_updates)
    },
    'routerrpc.Router/TrackPaymentV2': (r, call) => {
      const p = n().payments.get(((r.payment_hash as Buffer) ?? Buffer.alloc(0)).toString('hex'))
      if (!p) throw new GrpcError(grpc.status.NOT_FOUND, "payment isn't initiated")
      const write = watchPayment(p, call, !r.no_inflight_updates)
      write(p)
    },
    'invoicesrpc.Invoices/SubscribeSingleInvoice': (r, call) => {
      const me = n()
      const key = ((r.r_hash as Buffer) ?? Buffer.alloc(0)).toString('hex')
      const current = me.invoices.get(key)
      if (!current) throw new GrpcError(grpc.status.NOT_FOUND, 'unable to locate invoice')
      call.write(invoiceMessage(current))
      const sub = (inv: Invoice) => {
        if (inv.hash.toString('hex') !== key) return
        call.write(invoiceMessage(inv))
        if (isInvoiceFinal(inv)) {
          me.off('invoice', sub)
          call.end()
        }
      }
      streamEvent<Invoice>(call, 'invoice', sub)
    },
    'lnrpc.State/SubscribeState': (_r, call) => {
      let last = ''
      const tick = () => {
        const s = lndState()
        if (s !== last) call.write({ state: (last = s) })
      }
      tick()
      const t = setInterval(tick, 250)
      call.on('cancelled', () => clearInterval(t))
    },
  }

  // --- gRPC server ----------------------------------------------------------------------------

  const services: [string, grpc.ServiceDefinition][] = [
    ['lnrpc.Lightning', loadLndProto('lightning.proto').lnrpc!.Lightning!.service],
    ['routerrpc.Router', loadLndProto('router.proto').routerrpc!.Router!.service],
    ['invoicesrpc.Invoices', loadLndProto('invoices.proto').invoicesrpc!.Invoices!.service],
    ['walletrpc.WalletKit', loadLndProto('walletkit.proto').walletrpc!.WalletKit!.service],
    ['verrpc.Versioner', loadLndProto('verrpc.proto').verrpc!.Versioner!.service],
    ['lnrpc.State', loadLndProto('stateservice.proto').lnrpc!.State!.service],
    ['lnrpc.WalletUnlocker', loadLndProto('walletunlocker.proto').lnrpc!.WalletUnlocker!.service],
  ]
  const server = new grpc.Server()
  const callUnary = async (
    key: string,
    request: unknown,
    mac: string | undefined,
  ): Promise<unknown> => {
    authorize(key, mac)
    if (asyncUnary[key]) return asyncUnary[key]!(request as Req)
    return unary[key]!(request as Req)
  }
  for (const [name, def] of services) {
    const impl: grpc.UntypedServiceImplementation = {}
    for (const [method, d] of Object.entries(def)) {
      const key = `${name}/${method}`
      if (d.responseStream) {
        const fn = streaming[key]
        impl[method] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
          try {
            if (!fn)
              throw new GrpcError(grpc.status.UNIMPLEMENTED, `SIMULATOR: ${key} is not modelled`)
            authorize(key, metadataMacaroon(call.metadata))
            fn(call.request as Req, call)
          } catch (err) {
            const e = toGrpc(err)
            call.emit('error', { code: e.code, details: e.message })
          }
        }
      } else if (!d.requestStream) {
        impl[method] = (
          call: grpc.ServerUnaryCall<unknown, unknown>,
          cb: grpc.sendUnaryData<unknown>,
        ) => {
          if (!unary[key] && !asyncUnary[key])
            return cb({
              code: grpc.status.UNIMPLEMENTED,
              details: `SIMULATOR: ${key} is not modelled`,
            })
          let mac: string | undefined
          try {
            mac = metadataMacaroon(call.metadata)
          } catch (err) {
            const e = toGrpc(err)
            return cb({ code: e.code, details: e.message })
          }
          callUnary(key, call.request, mac).then(
            (res) => cb(null, res),
            (err: unknown) => {
              const e = toGrpc(err)
              cb({ code: e.code, details: e.message })
            },
          )
        }
      } else {
        impl[method] = (call: grpc.ServerDuplexStream<unknown, unknown>) =>
          call.emit('error', {
            code: grpc.status.UNIMPLEMENTED,
            details: `SIMULATOR: ${key} is not modelled`,
          })
      }
    }
    server.addService(def, impl)
  }
  const grpcPort = await bindLndGrpc(server, host, opts.grpcPort ?? 0, tlsKeyFile, cert)
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host

  let rest: { url: string; close: () => Promise<void> } | null = null
  const self: WorldLnd = {
    alias: opts.alias,
    socket: `${reachable}:${grpcPort}`,
    grpcPort,
    get restUrl() {
      return rest?.url ?? null
    },
    cert,
    macaroons,
    macaroonDir,
    get node() {
      return node
    },
    get pubkey() {
      return node?.pubkey ?? ''
    },
    lnServiceAuth: (m = 'admin') => ({
      socket: `${reachable}:${grpcPort}`,
      cert: Buffer.from(cert).toString('base64'),
      macaroon: macaroons[m].toString('base64'),
    }),
    call: (method, request, mac) => callUnary(method, request, mac),
    close: async () => {
      if (node?.online) node.goOffline()
      await rest?.close()
      server.forceShutdown()
    },
  }
  if (opts.restPort !== null) {
    const { startLndRest } = await import('./lnd-rest')
    rest = await startLndRest({
      lnd: self,
      host,
      port: opts.restPort ?? 0,
      cert,
      key: readFileSync(tlsKeyFile),
      protosDir: protosDir(),
      streaming,
      need: () => need(),
      authorize,
    })
  }
  log(
    `LND SIMULATOR ${opts.alias} (${network}): gRPC on ${host}:${grpcPort}${rest ? `, REST on ${rest.url}` : ''}, ` +
      `wallet ${walletState}${node ? `, pubkey ${(node as LndNode).pubkey}` : ''}`,
  )
  return self
}
