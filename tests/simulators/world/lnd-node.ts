// SIMULATOR — test-only. The state machine of one simulated LND node in a world of several: its
// on-chain wallet (real UTXOs on the shared chain), peers, channels opened by a real 2-of-2
// funding transaction and closed by a real cooperative close or commitment transaction (with the
// CSV-delayed to_local swept once mature), invoices (incl. hold invoices) and payments routed
// over the shared gossip graph with each hop's fee and time lock, failing as LND fails them.
// The gRPC/REST façade is lnd-rpc.ts; the world (chain index, graph, node registry) is
// lightning-network.ts.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import * as bitcoin from 'bitcoinjs-lib'
import type { BIP32Interface } from 'bip32'
import { decodeBolt11, type Bolt11Invoice, type Bolt11Network } from '../bolt11'
import {
  commitmentTransaction,
  fundingPayment,
  fundingWitness,
  obscuredCommitmentNumber,
  signWitnessV0,
} from './bolt03'
import { DEFAULT_POLICY, policyFee, type Route, type RoutingPolicy } from './lightning-graph'
import { LndWallet, WalletError, type WalletKey } from './lnd-wallet'
import type { LightningWorld } from './lightning-world'
import {
  acceptHtlc,
  cancel,
  isExpired,
  newInvoice,
  settle,
  type Invoice as SharedInvoice,
  type InvoiceRequest,
} from '../lnd-invoice'

export const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()
const nowSec = () => Math.floor(Date.now() / 1000)
const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n

/** An LND error as the RPC layer returns it (gRPC status + LND's message). */
/** The txid a PSBT will have once signed (segwit: signatures do not change it). */
export function unsignedTxid(psbt: bitcoin.Psbt): string {
  const tx = new bitcoin.Transaction()
  tx.version = psbt.version
  tx.locktime = psbt.locktime
  for (const i of psbt.txInputs) tx.addInput(i.hash, i.index, i.sequence)
  for (const o of psbt.txOutputs) tx.addOutput(o.script, o.value)
  return tx.getId()
}

export class LndError extends Error {
  constructor(
    message: string,
    readonly grpcCode: number = 2, // UNKNOWN, as LND returns most errors
  ) {
    super(message)
  }
}

export const MIN_CHAN_SIZE_SAT = 20_000n
export const MAX_CHAN_SIZE_SAT = 16_777_215n
/** BOLT 3 commitment weight without anchors or HTLCs (LND: input.CommitWeight). */
export const COMMIT_WEIGHT = 724n
export const DUST_LIMIT_SAT = 354n

export type FailureReason =
  | 'FAILURE_REASON_NONE'
  | 'FAILURE_REASON_TIMEOUT'
  | 'FAILURE_REASON_NO_ROUTE'
  | 'FAILURE_REASON_ERROR'
  | 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS'
  | 'FAILURE_REASON_INSUFFICIENT_BALANCE'

export type FailureCode =
  | 'INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS'
  | 'TEMPORARY_CHANNEL_FAILURE'
  | 'UNKNOWN_NEXT_PEER'
  | 'FEE_INSUFFICIENT'
  | 'INCORRECT_CLTV_EXPIRY'

type Side = 'opener' | 'accepter'
const other = (s: Side): Side => (s === 'opener' ? 'accepter' : 'opener')

export type ChannelState =
  | 'psbt_waiting' // PSBT funding: waiting for FundingStateStep
  | 'pending_open'
  | 'open'
  | 'waiting_close' // closing transaction broadcast, not confirmed
  | 'force_closing' // commitment confirmed, to_local time-locked
  | 'closed'

export type CloseType =
  | 'COOPERATIVE_CLOSE'
  | 'LOCAL_FORCE_CLOSE'
  | 'REMOTE_FORCE_CLOSE'
  | 'BREACH_CLOSE'
  | 'FUNDING_CANCELED'
  | 'ABANDONED'

export interface Htlc {
  id: number
  hash: string
  amountMsat: bigint
  expiry: number
  /** The side that offered (pays) it. */
  from: Side
}

/** One channel, shared by both nodes' views. */
export interface Channel {
  readonly pendingChanId: Buffer
  readonly nodes: Record<Side, LndNode>
  readonly capacitySat: bigint
  readonly pushSat: bigint
  readonly private: boolean
  readonly fundingKeys: Record<Side, BIP32Interface>
  readonly revocationKeys: Record<Side, BIP32Interface>
  readonly delayKeys: Record<Side, BIP32Interface>
  /** option_static_remotekey: to_remote pays a wallet key of each side. */
  readonly remotePaymentKeys: Record<Side, WalletKey>
  /** to_self_delay imposed on each side's to_local. */
  readonly csvDelay: Record<Side, number>
  readonly fundingScript: Uint8Array
  readonly fundingAddress: string
  fundingTxid: string
  fundingVout: number
  fundingTx: bitcoin.Transaction | null
  state: ChannelState
  confirmedHeight: number | null
  scid: bigint
  announced: boolean
  balanceMsat: Record<Side, bigint>
  commitFeeSat: bigint
  feePerKw: bigint
  htlcs: Htlc[]
  nextHtlcId: number
  commitNum: number
  sentMsat: Record<Side, bigint>
  policies: Record<Side, RoutingPolicy>
  openedAt: number
  close: {
    type: CloseType
    initiator: Side
    tx: bitcoin.Transaction
    txid: string
    height: number | null
    /** Force close: where the closer's to_local is and until when it is locked. */
    toLocal?: { vout: number; sat: bigint; script: Uint8Array; side: Side }
    sweepTxid?: string
    settledSat: Record<Side, bigint>
    timeLockedSat: bigint
  } | null
  /** PSBT funding: publish it ourselves after finalize (false: the caller publishes). */
  psbtNoPublish: boolean
  psbtVerified: boolean
}

export type { InvoiceHtlcRecord, InvoiceState } from '../lnd-invoice'
type HtlcOutcome = { ok: true; preimage: Buffer } | { ok: false }
export type Invoice = SharedInvoice<(r: HtlcOutcome) => void>

export interface PaymentAttempt {
  attemptId: number
  status: 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED'
  route: Route
  attemptTimeNs: bigint
  resolveTimeNs: bigint
  failure: { code: FailureCode; failureSourceIndex: number; height: number } | null
  preimage: Buffer | null
}

export interface Payment {
  hash: string
  preimage: string | null
  valueMsat: bigint
  feeMsat: bigint
  status: 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED'
  failureReason: FailureReason
  creationTimeNs: bigint
  paymentRequest: string
  index: number
  attempts: PaymentAttempt[]
}

export interface NodeCounters {
  addIndex: number
  settleIndex: number
  paymentIndex: number
  attemptIndex: number
  keyIndex: number
}

export interface NodeOptions {
  readonly alias: string
  readonly seed: Uint8Array
  readonly network: Bolt11Network
  readonly color?: string
  /** LND's --bitcoin.defaultchanconfs: confirmations before a channel is open (default 3). */
  readonly fundingConfs?: number
  /** to_self_delay this node asks its peers to accept (LND scales 144..2016; default 144). */
  readonly csvDelay?: number
  readonly policy?: Partial<Pick<RoutingPolicy, 'feeBaseMsat' | 'feeRatePpm' | 'timeLockDelta'>>
  readonly log?: (line: string) => void
  /** Height the wallet scans from (LND's recovery: the seed's birthday). Default: the tip. */
  readonly birthHeight?: number
}

export type ChannelEvent =
  | { type: 'PENDING_OPEN_CHANNEL'; channel: Channel }
  | { type: 'OPEN_CHANNEL'; channel: Channel }
  | { type: 'ACTIVE_CHANNEL'; channel: Channel }
  | { type: 'INACTIVE_CHANNEL'; channel: Channel }
  | { type: 'CLOSED_CHANNEL'; channel: Channel }
  | { type: 'FULLY_RESOLVED_CHANNEL'; channel: Channel }

/**
 * One LND node. Events: 'channel' (ChannelEvent), 'invoice' (Invoice), 'payment' (Payment),
 * 'backup' (), 'transaction' (txid), 'chan-update' (Channel: balance or state changed).
 */
export class LndNode extends EventEmitter {
  readonly alias: string
  readonly wallet: LndWallet
  readonly nodeKey: BIP32Interface
  readonly pubkey: string
  readonly color: string
  readonly p2pAddress: string
  readonly network: Bolt11Network
  readonly fundingConfs: number
  readonly csvDelay: number
  readonly policy: Pick<RoutingPolicy, 'feeBaseMsat' | 'feeRatePpm' | 'timeLockDelta'>
  online = true
  readonly peers = new Map<string, { inbound: boolean; since: number }>()
  readonly channels: Channel[] = []
  readonly invoices = new Map<string, Invoice>()
  readonly payments = new Map<string, Payment>()
  private addIndex = 0
  private settleIndex = 0
  private paymentIndex = 0
  private attemptIndex = 0
  private keyIndex = 0
  private readonly log: (line: string) => void
  private readonly timers: NodeJS.Timeout[] = []

  constructor(
    readonly world: LightningWorld,
    opts: NodeOptions,
    p2pPort: number,
  ) {
    super()
    this.setMaxListeners(0)
    this.alias = opts.alias
    this.network = opts.network
    this.color = opts.color ?? '#3399ff'
    this.fundingConfs = opts.fundingConfs ?? 3
    this.csvDelay = opts.csvDelay ?? 144
    this.policy = {
      feeBaseMsat: opts.policy?.feeBaseMsat ?? DEFAULT_POLICY.feeBaseMsat,
      feeRatePpm: opts.policy?.feeRatePpm ?? DEFAULT_POLICY.feeRatePpm,
      timeLockDelta: opts.policy?.timeLockDelta ?? DEFAULT_POLICY.timeLockDelta,
    }
    this.log = opts.log ?? ((l) => process.stdout.write(`[lnd ${opts.alias} SIMULATOR] ${l}\n`))
    this.wallet = new LndWallet(opts.seed, world.chain, opts.birthHeight ?? world.chain.tipHeight())
    this.nodeKey = this.wallet.familyKey(6, 0)
    this.pubkey = Buffer.from(this.nodeKey.publicKey).toString('hex')
    this.p2pAddress = `127.0.0.1:${p2pPort}`
    this.wallet.onTransaction((w) => this.emit('transaction', w.txid))
    // LND's invoice expiry watcher: open invoices past their expiry are canceled.
    const t = setInterval(() => {
      for (const inv of this.invoices.values())
        if (inv.state === 'OPEN' && isExpired(inv)) this.cancelInvoice(inv)
    }, 1_000)
    t.unref()
    this.timers.push(t)
  }

  say(line: string): void {
    this.log(line)
  }

  /** The indices LND keeps in channel.db beside its records (lnd-channel-db.ts persists them). */
  counters(): NodeCounters {
    return {
      addIndex: this.addIndex,
      settleIndex: this.settleIndex,
      paymentIndex: this.paymentIndex,
      attemptIndex: this.attemptIndex,
      keyIndex: this.keyIndex,
    }
  }

  restoreCounters(c: NodeCounters): void {
    this.addIndex = c.addIndex
    this.settleIndex = c.settleIndex
    this.paymentIndex = c.paymentIndex
    this.attemptIndex = c.attemptIndex
    this.keyIndex = c.keyIndex
  }

  height(): number {
    return this.world.chain.tipHeight()
  }

  close(): void {
    for (const t of this.timers) clearInterval(t)
    this.removeAllListeners()
  }

  // --- peers ------------------------------------------------------------------------------------

  connect(pubkey: string, address: string, perm = true): void {
    void perm
    if (pubkey === this.pubkey) throw new LndError('cannot make connection to self')
    const peer = this.world.nodes.get(pubkey)
    if (!peer || peer.p2pAddress !== address || !peer.online)
      throw new LndError(`dial tcp ${address}: connect: connection refused`)
    if (this.peers.has(pubkey))
      throw new LndError(`already connected to peer: ${pubkey}@${address}`)
    this.peers.set(pubkey, { inbound: false, since: nowSec() })
    peer.peers.set(this.pubkey, { inbound: true, since: nowSec() })
    this.say(`Connected to peer ${pubkey.slice(0, 16)}… at ${address}`)
    for (const c of this.channels) if (this.isActive(c)) this.emitChannel('ACTIVE_CHANNEL', c)
  }

  disconnect(pubkey: string): void {
    if (!this.peers.has(pubkey)) throw new LndError(`peer ${pubkey} is not connected`)
    const peer = this.world.nodes.get(pubkey)
    this.peers.delete(pubkey)
    peer?.peers.delete(this.pubkey)
    for (const c of this.channels)
      if (this.peerOf(c) === peer && c.state === 'open') {
        this.emitChannel('INACTIVE_CHANNEL', c)
        peer.emitChannel('INACTIVE_CHANNEL', c)
      }
  }

  /** Takes the node off the network (its process stopped): every peer connection drops. */
  goOffline(): void {
    for (const pub of [...this.peers.keys()]) this.disconnect(pub)
    this.online = false
    this.say('Offline (SIMULATOR: process stopped)')
  }

  /** Back online: reconnects to channel peers, as LND's persistent connections do. */
  goOnline(): void {
    this.online = true
    for (const c of this.channels) {
      const peer = this.peerOf(c)
      if (c.state !== 'closed' && peer.online && !this.peers.has(peer.pubkey))
        this.connect(peer.pubkey, peer.p2pAddress)
    }
    this.say('Online')
  }

  // --- channel views --------------------------------------------------------------------------

  sideOf(c: Channel): Side {
    return c.nodes.opener === this ? 'opener' : 'accepter'
  }

  peerOf(c: Channel): LndNode {
    return c.nodes[other(this.sideOf(c))]
  }

  isActive(c: Channel): boolean {
    const peer = this.peerOf(c)
    return c.state === 'open' && this.online && peer.online && this.peers.has(peer.pubkey)
  }

  chanPoint(c: Channel): string {
    return `${c.fundingTxid}:${c.fundingVout}`
  }

  reserveSat(c: Channel): bigint {
    return c.capacitySat / 100n
  }

  /** What this node can send over the channel now (LND's bandwidth: balance minus reserve). */
  bandwidthMsat(c: Channel): bigint {
    const s = this.sideOf(c)
    const b = c.balanceMsat[s] - this.reserveSat(c) * 1000n
    return b > 0n ? b : 0n
  }

  emitChannel(type: ChannelEvent['type'], channel: Channel): void {
    this.emit('channel', { type, channel } satisfies ChannelEvent)
    if (type !== 'ACTIVE_CHANNEL' && type !== 'INACTIVE_CHANNEL') this.emit('backup')
  }

  private nextKeyIndex(): number {
    return this.keyIndex++
  }

  // --- opening --------------------------------------------------------------------------------

  /**
   * LND's OpenChannel. `psbt`: PSBT funding (returns with state psbt_waiting; the caller funds the
   * returned address through FundingStateStep). Otherwise the wallet funds and broadcasts.
   */
  openChannel(req: {
    peer: string
    localSat: bigint
    pushSat?: bigint
    private?: boolean
    satPerVbyte?: number
    targetConf?: number
    minConfs?: number
    remoteCsvDelay?: number
    psbt?: { pendingChanId: Buffer; noPublish: boolean }
  }): Channel {
    const peer = this.world.nodes.get(req.peer)
    if (!peer || !this.peers.has(req.peer) || !peer.online)
      throw new LndError(`peer ${req.peer} is not online`)
    if (req.localSat < MIN_CHAN_SIZE_SAT)
      throw new LndError(
        `channel is too small, the minimum channel size is: ${MIN_CHAN_SIZE_SAT} SAT`,
      )
    if (req.localSat > MAX_CHAN_SIZE_SAT)
      throw new LndError(
        `funding amount is too large, the max channel size is: ${MAX_CHAN_SIZE_SAT} SAT`,
      )
    const push = req.pushSat ?? 0n
    if (push > req.localSat)
      throw new LndError(
        'amount pushed to remote peer for initial state must be below the local funding amount',
      )
    const feePerKw = BigInt(Math.max(253, Math.round(this.world.chain.feeRate(6) * 250)))
    const commitFeeSat = (feePerKw * COMMIT_WEIGHT) / 1000n
    if (req.localSat - push < commitFeeSat + req.localSat / 100n)
      throw new LndError('funding amount is too small to pay for the commitment fee and reserve')
    const key = (n: LndNode, family: number) => n.wallet.familyKey(family, n.nextKeyIndex())
    const fundingKeys = { opener: key(this, 0), accepter: key(peer, 0) }
    const pay = fundingPayment(
      fundingKeys.opener.publicKey,
      fundingKeys.accepter.publicKey,
      this.world.chain.network,
    )
    const c: Channel = {
      pendingChanId: req.psbt?.pendingChanId ?? randomBytes(32),
      nodes: { opener: this, accepter: peer },
      capacitySat: req.localSat,
      pushSat: push,
      private: !!req.private,
      fundingKeys,
      revocationKeys: { opener: key(this, 1), accepter: key(peer, 1) },
      delayKeys: { opener: key(this, 4), accepter: key(peer, 4) },
      remotePaymentKeys: {
        opener: this.wallet.newAddress('p2wkh'),
        accepter: peer.wallet.newAddress('p2wkh'),
      },
      // Each side's to_local waits the delay its peer asked for.
      csvDelay: { opener: req.remoteCsvDelay || peer.csvDelay, accepter: this.csvDelay },
      fundingScript: pay.redeem!.output!,
      fundingAddress: pay.address!,
      fundingTxid: '',
      fundingVout: 0,
      fundingTx: null,
      state: 'psbt_waiting',
      confirmedHeight: null,
      scid: 0n,
      announced: false,
      balanceMsat: {
        opener: (req.localSat - push - commitFeeSat) * 1000n,
        accepter: push * 1000n,
      },
      commitFeeSat,
      feePerKw,
      htlcs: [],
      nextHtlcId: 0,
      commitNum: 0,
      sentMsat: { opener: 0n, accepter: 0n },
      policies: {
        opener: this.initialPolicy(req.localSat),
        accepter: peer.initialPolicy(req.localSat),
      },
      openedAt: nowSec(),
      close: null,
      psbtNoPublish: req.psbt?.noPublish ?? false,
      psbtVerified: false,
    }
    if (req.psbt) {
      this.channels.push(c)
      peer.channels.push(c)
      this.say(`PSBT funding started: send ${req.localSat} sat to ${c.fundingAddress}`)
      return c
    }
    const fee =
      req.satPerVbyte && req.satPerVbyte > 0
        ? req.satPerVbyte
        : this.world.chain.feeRate(req.targetConf || 6)
    let funded
    try {
      funded = this.wallet.fund([{ script: pay.output!, value: req.localSat }], fee, {
        minConfs: req.minConfs ?? 1,
      })
    } catch (err) {
      if (err instanceof WalletError) throw new LndError(err.message)
      throw err
    }
    this.wallet.signPsbt(funded.psbt)
    funded.psbt.finalizeAllInputs()
    const tx = funded.psbt.extractTransaction()
    this.adoptFunding(c, tx)
    this.channels.push(c)
    peer.channels.push(c)
    try {
      this.wallet.broadcast(tx, `0:openchannel:shortchanid-0`)
    } catch (err) {
      this.channels.splice(this.channels.indexOf(c), 1)
      peer.channels.splice(peer.channels.indexOf(c), 1)
      throw new LndError(`unable to publish funding transaction: ${(err as Error).message}`)
    }
    this.markPending(c)
    return c
  }

  initialPolicy(capacitySat: bigint): RoutingPolicy {
    return {
      ...this.policy,
      minHtlcMsat: DEFAULT_POLICY.minHtlcMsat,
      maxHtlcMsat: (capacitySat * 1000n * 99n) / 100n,
      disabled: false,
      lastUpdate: nowSec(),
    }
  }

  private adoptFunding(c: Channel, tx: bitcoin.Transaction): void {
    const out = tx.outs.findIndex(
      (o) =>
        Buffer.from(o.script).equals(
          Buffer.from(bitcoin.address.toOutputScript(c.fundingAddress, this.world.chain.network)),
        ) && o.value === c.capacitySat,
    )
    if (out < 0) throw new LndError('funding output not found in transaction')
    c.fundingTx = tx
    c.fundingTxid = tx.getId()
    c.fundingVout = out
  }

  private markPending(c: Channel): void {
    c.state = 'pending_open'
    this.say(`Channel pending: ${this.chanPoint(c)} (${c.capacitySat} sat)`)
    this.emitChannel('PENDING_OPEN_CHANNEL', c)
    this.peerOf(c).emitChannel('PENDING_OPEN_CHANNEL', c)
    this.world.onChainChange()
  }

  private pendingPsbt(pendingChanId: Buffer): Channel {
    const c = this.channels.find(
      (x) => x.pendingChanId.equals(pendingChanId) && x.state === 'psbt_waiting',
    )
    if (!c) throw new LndError(`pending channel ID ${pendingChanId.toString('hex')} not found`)
    return c
  }

  /** FundingStateStep psbt_verify: the PSBT must pay the funding address exactly. */
  psbtVerify(pendingChanId: Buffer, psbtBytes: Buffer): void {
    const c = this.pendingPsbt(pendingChanId)
    let psbt: bitcoin.Psbt
    try {
      psbt = bitcoin.Psbt.fromBuffer(psbtBytes, { network: this.world.chain.network })
    } catch (err) {
      throw new LndError(`error parsing PSBT: ${(err as Error).message}`)
    }
    const script = Buffer.from(
      bitcoin.address.toOutputScript(c.fundingAddress, this.world.chain.network),
    )
    const outs = psbt.txOutputs
    const i = outs.findIndex((o) => Buffer.from(o.script).equals(script))
    if (i < 0) throw new LndError('funding output not found in PSBT')
    if (outs[i]!.value !== c.capacitySat)
      throw new LndError(
        `funding output amount does not match: expected ${c.capacitySat}, got ${outs[i]!.value}`,
      )
    if (psbt.txInputs.length === 0) throw new LndError('PSBT has no inputs')
    psbt.data.inputs.forEach((inp, n) => {
      if (!inp.witnessUtxo)
        throw new LndError(`input ${n} is not a SegWit input or is missing the witness UTXO`)
    })
    c.fundingTxid = unsignedTxid(psbt)
    c.fundingVout = i
    c.psbtVerified = true
  }

  /** FundingStateStep psbt_finalize: a fully signed PSBT (or raw tx); publishes unless no_publish. */
  psbtFinalize(pendingChanId: Buffer, signedPsbt: Buffer | null, rawTx: Buffer | null): void {
    const c = this.pendingPsbt(pendingChanId)
    if (!c.psbtVerified) throw new LndError('PSBT not verified yet, call PsbtVerify first')
    let tx: bitcoin.Transaction
    try {
      if (signedPsbt?.length) {
        const psbt = bitcoin.Psbt.fromBuffer(signedPsbt, { network: this.world.chain.network })
        psbt.data.inputs.forEach((inp, n) => {
          if (!inp.finalScriptWitness && !inp.finalScriptSig) {
            if (inp.partialSig?.length || inp.tapKeySig) psbt.finalizeInput(n)
            else throw new Error(`input ${n} not signed`)
          }
        })
        tx = psbt.extractTransaction()
      } else tx = bitcoin.Transaction.fromBuffer(rawTx ?? Buffer.alloc(0))
    } catch (err) {
      throw new LndError(`error finalizing PSBT: ${(err as Error).message}`)
    }
    if (tx.getId() !== c.fundingTxid)
      throw new LndError('the final transaction ID does not match the verified PSBT')
    this.adoptFunding(c, tx)
    if (!c.psbtNoPublish) {
      try {
        this.world.chain.broadcast(tx)
      } catch (err) {
        throw new LndError(`unable to publish funding transaction: ${(err as Error).message}`)
      }
    }
    this.markPending(c)
  }

  /** FundingStateStep shim_cancel. */
  psbtCancel(pendingChanId: Buffer): void {
    const c = this.pendingPsbt(pendingChanId)
    for (const n of [c.nodes.opener, c.nodes.accepter]) n.channels.splice(n.channels.indexOf(c), 1)
  }

  // --- chain events (called by the world after each chain change) -----------------------------

  /** Funding confirmed deep enough: the channel opens (LND's funding manager). */
  channelOpened(c: Channel): void {
    this.say(`Channel open: ${this.chanPoint(c)} scid ${c.scid}`)
    this.emitChannel('OPEN_CHANNEL', c)
    if (this.isActive(c)) this.emitChannel('ACTIVE_CHANNEL', c)
  }

  channelClosed(c: Channel): void {
    this.say(`Channel closed: ${this.chanPoint(c)} (${c.close?.type})`)
    this.emitChannel('CLOSED_CHANNEL', c)
  }

  channelResolved(c: Channel): void {
    this.emitChannel('FULLY_RESOLVED_CHANNEL', c)
  }

  // --- closing --------------------------------------------------------------------------------

  findChannel(txid: string, vout: number): Channel {
    const c = this.channels.find((x) => x.fundingTxid === txid && x.fundingVout === vout)
    if (!c) throw new LndError('channel not found')
    return c
  }

  /** Cooperative close (BOLT 2 shutdown/closing_signed, with both signatures). */
  closeCooperative(
    c: Channel,
    opts: { deliveryAddress?: string; satPerVbyte?: number; targetConf?: number },
  ): bitcoin.Transaction {
    if (c.state !== 'open') throw new LndError('channel is not open')
    const peer = this.peerOf(c)
    if (!this.isActive(c)) throw new LndError(`peer ${peer.pubkey} is not online`)
    if (c.htlcs.length > 0) throw new LndError('cannot co-op close channel with active htlcs')
    const network = this.world.chain.network
    const me = this.sideOf(c)
    const script = (side: Side) =>
      side === me && opts.deliveryAddress
        ? bitcoin.address.toOutputScript(opts.deliveryAddress, network)
        : c.nodes[side].wallet.newAddress('p2wkh').script
    const rate =
      opts.satPerVbyte && opts.satPerVbyte > 0
        ? opts.satPerVbyte
        : this.world.chain.feeRate(opts.targetConf || 6)
    // Closing tx: 1 P2WSH 2-of-2 input (~96 vB incl. witness), two P2WPKH outputs.
    const feeSat = BigInt(Math.ceil((11 + 105 + 31 * 2) * rate))
    const amounts: Record<Side, bigint> = {
      opener: c.balanceMsat.opener / 1000n + c.commitFeeSat - feeSat,
      accepter: c.balanceMsat.accepter / 1000n,
    }
    const tx = new bitcoin.Transaction()
    tx.version = 2
    tx.addInput(Buffer.from(c.fundingTxid, 'hex').reverse(), c.fundingVout, 0xffffffff)
    const outs = (['opener', 'accepter'] as const)
      .filter((s) => amounts[s] >= DUST_LIMIT_SAT)
      .map((s) => ({ script: script(s), value: amounts[s], side: s }))
      .sort((a, b) =>
        a.value === b.value ? Buffer.compare(a.script, b.script) : a.value < b.value ? -1 : 1,
      )
    for (const o of outs) tx.addOutput(o.script, o.value)
    this.signFunding(c, tx)
    c.close = {
      type: 'COOPERATIVE_CLOSE',
      initiator: me,
      tx,
      txid: tx.getId(),
      height: null,
      settledSat: amounts,
      timeLockedSat: 0n,
    }
    this.publishClose(c)
    return tx
  }

  /** Force close: our latest commitment transaction goes on chain. */
  closeForce(c: Channel): bitcoin.Transaction {
    if (c.state !== 'open') throw new LndError('channel is not open')
    // SIMULATOR: HTLCs still in flight are failed back first (no HTLC outputs are modelled).
    for (const h of [...c.htlcs]) this.world.failHtlc(c, h)
    const me = this.sideOf(c)
    const them = other(me)
    const network = this.world.chain.network
    // The opener paid the commitment fee out of its balance when the channel was made.
    const sat = (s: Side) => c.balanceMsat[s] / 1000n
    const commit = commitmentTransaction(
      {
        fundingTxid: c.fundingTxid,
        fundingVout: c.fundingVout,
        dustLimitSat: DUST_LIMIT_SAT,
        toLocal: {
          sat: sat(me),
          revocationKey: c.revocationKeys[them].publicKey,
          delayedKey: c.delayKeys[me].publicKey,
          toSelfDelay: c.csvDelay[me],
        },
        toRemote: { sat: sat(them), paymentKey: c.remotePaymentKeys[them].node.publicKey },
        obscuredNumber: obscuredCommitmentNumber(
          c.fundingKeys.opener.publicKey,
          c.fundingKeys.accepter.publicKey,
          c.commitNum,
        ),
      },
      network,
    )
    const tx = commit.tx
    this.signFunding(c, tx)
    const toLocalSat = commit.toLocalVout >= 0 ? tx.outs[commit.toLocalVout]!.value : 0n
    c.close = {
      type: 'LOCAL_FORCE_CLOSE',
      initiator: me,
      tx,
      txid: tx.getId(),
      height: null,
      ...(commit.toLocalVout >= 0
        ? {
            toLocal: {
              vout: commit.toLocalVout,
              sat: toLocalSat,
              script: commit.toLocalScript,
              side: me,
            },
          }
        : {}),
      settledSat: { [me]: 0n, [them]: commit.toRemoteVout >= 0 ? sat(them) : 0n } as Record<
        Side,
        bigint
      >,
      timeLockedSat: toLocalSat,
    }
    void network
    this.publishClose(c)
    return tx
  }

  private signFunding(c: Channel, tx: bitcoin.Transaction): void {
    const sigs = (['opener', 'accepter'] as const).map((s) => ({
      pubkey: c.fundingKeys[s].publicKey,
      signature: signWitnessV0(tx, 0, c.fundingScript, c.capacitySat, (h) =>
        c.fundingKeys[s].sign(h),
      ),
    }))
    tx.setWitness(0, fundingWitness(c.fundingScript, sigs))
  }

  private publishClose(c: Channel): void {
    try {
      this.world.chain.broadcast(c.close!.tx)
    } catch (err) {
      const msg = (err as Error).message
      c.close = null
      throw new LndError(`unable to publish closing transaction: ${msg}`)
    }
    c.state = 'waiting_close'
    for (const n of [c.nodes.opener, c.nodes.accepter]) {
      n.emitChannel('INACTIVE_CHANNEL', c)
      n.emit('chan-update', c)
    }
    this.world.graph.closeChannel(c.scid)
    this.say(`Closing transaction broadcast: ${c.close!.txid} (${c.close!.type})`)
    this.world.onChainChange()
  }

  /**
   * The commitment confirmed and to_local has `csvDelay` confirmations: sweep it to our wallet
   * (LND's sweeper). The input's nSequence is the CSV delay (BIP 68), so the chain refuses it earlier.
   */
  sweepToLocal(c: Channel): bitcoin.Transaction {
    const tl = c.close!.toLocal!
    const me = tl.side
    const dest = this.wallet.newAddress('p2wkh')
    const feeSat = BigInt(Math.ceil(122 * this.world.chain.feeRate(6)))
    const tx = new bitcoin.Transaction()
    tx.version = 2
    tx.addInput(Buffer.from(c.close!.txid, 'hex').reverse(), tl.vout, c.csvDelay[me])
    tx.addOutput(dest.script, tl.sat - feeSat)
    const sig = signWitnessV0(tx, 0, tl.script, tl.sat, (h) => c.delayKeys[me].sign(h))
    // to_local delayed path: <local_delayedsig> <> (OP_IF false branch) <witness script>
    tx.setWitness(0, [sig, new Uint8Array(0), tl.script])
    return tx
  }

  // --- invoices ---------------------------------------------------------------------------------

  addInvoice(req: InvoiceRequest): Invoice {
    const inv: Invoice = newInvoice(req, {
      network: this.network,
      nodeSecretKey: this.nodeKey.privateKey!,
      addIndex: this.addIndex + 1,
    })
    if (this.invoices.has(inv.hash.toString('hex')))
      throw new LndError('invoice with payment hash already exists')
    this.addIndex = inv.addIndex
    this.invoices.set(inv.hash.toString('hex'), inv)
    this.say(`Invoice added: add_index=${inv.addIndex} value_msat=${inv.valueMsat}`)
    this.emit('invoice', inv)
    return inv
  }

  settleInvoice(inv: Invoice, preimage?: Buffer): void {
    if (preimage) inv.preimage = preimage
    const waiters = settle(inv, ++this.settleIndex)
    this.say(`Invoice settled: settle_index=${inv.settleIndex} amt_paid_msat=${inv.amtPaidMsat}`)
    this.emit('invoice', inv)
    for (const w of waiters) w({ ok: true, preimage: inv.preimage! })
  }

  cancelInvoice(inv: Invoice): void {
    const waiters = cancel(inv)
    this.emit('invoice', inv)
    for (const w of waiters) w({ ok: false })
  }

  /**
   * The final hop: an HTLC for one of our invoices arrives over `c`. With multi-path payments
   * (BOLT 4 `total_msat`), shards wait until the set adds up to `totalMsat`; then the invoice
   * settles (or, for a hold invoice, is ACCEPTED) and every shard gets the preimage.
   */
  receiveHtlc(
    c: Channel,
    htlc: Htlc,
    paymentAddr: string,
    totalMsat: bigint = htlc.amountMsat,
  ): Promise<HtlcOutcome> {
    const inv = this.invoices.get(htlc.hash)
    if (
      !inv ||
      inv.state !== 'OPEN' ||
      isExpired(inv) ||
      totalMsat < inv.valueMsat ||
      inv.paymentAddr.toString('hex') !== paymentAddr
    )
      return Promise.resolve({ ok: false })
    acceptHtlc(inv, {
      chanId: c.scid.toString(),
      htlcIndex: htlc.id,
      amtMsat: htlc.amountMsat,
      acceptHeight: this.height(),
      expiryHeight: htlc.expiry,
      totalMsat,
    })
    inv.amtPaidMsat += htlc.amountMsat
    const waiting = new Promise<HtlcOutcome>((resolve) => inv.waiters.push(resolve))
    if (inv.amtPaidMsat < totalMsat) return waiting // more shards to come
    if (!inv.isHold) {
      this.settleInvoice(inv)
      return waiting
    }
    inv.state = 'ACCEPTED'
    this.say(`Hold invoice accepted: add_index=${inv.addIndex}`)
    this.emit('invoice', inv)
    return waiting
  }

  /** LND's MPP timeout: an incomplete set's shards are failed back and the invoice stays open. */
  abandonPartialSet(hash: string): void {
    const inv = this.invoices.get(hash)
    if (!inv || inv.state !== 'OPEN' || inv.waiters.length === 0) return
    for (const h of inv.htlcs)
      if (h.state === 'ACCEPTED') {
        h.state = 'CANCELED'
        h.resolve_time = String(nowSec())
      }
    inv.amtPaidMsat = 0n
    for (const w of inv.waiters.splice(0)) w({ ok: false })
  }

  // --- payments ---------------------------------------------------------------------------------

  /** LND's checks before a payment starts (routerrpc: extractIntentFromSendRequest). */
  decodeForPayment(request: string, amtMsat: bigint): { inv: Bolt11Invoice; valueMsat: bigint } {
    let inv: Bolt11Invoice
    try {
      inv = decodeBolt11(request)
    } catch {
      throw new LndError('invalid payment request: checksum failed')
    }
    if (inv.network !== this.network)
      throw new LndError(`invoice not for current active network '${this.network}'`)
    const expiresAt = inv.timestamp + inv.expirySeconds
    if (Date.now() / 1000 > expiresAt)
      throw new LndError(
        `invoice expired. Valid until ${new Date(expiresAt * 1000).toISOString().replace('.000Z', 'Z')}`,
      )
    if (inv.amountMsat && amtMsat && amtMsat !== inv.amountMsat)
      throw new LndError('amount must not be specified when paying a non-zero amount invoice')
    const valueMsat = inv.amountMsat ?? amtMsat
    if (valueMsat === 0n)
      throw new LndError('amount must be specified when paying a zero amount invoice')
    if (inv.payee === this.pubkey) throw new LndError('no self-payments allowed')
    return { inv, valueMsat }
  }

  localBandwidth(): Map<bigint, bigint> {
    const m = new Map<bigint, bigint>()
    for (const c of this.channels) if (this.isActive(c)) m.set(c.scid, this.bandwidthMsat(c))
    return m
  }

  /** SendPaymentV2: starts the payment and returns at once; 'payment' events follow. */
  sendPayment(req: {
    request: string
    amtMsat: bigint
    feeLimitMsat: bigint | null
    maxAttempts?: number
    /** SendPaymentV2 max_parts (LND default 16); 1 = one path only. */
    maxParts?: number
  }): Payment {
    const { inv, valueMsat } = this.decodeForPayment(req.request, req.amtMsat)
    const existing = this.payments.get(inv.paymentHash)
    if (existing?.status === 'SUCCEEDED') throw new LndError('invoice is already paid', 6)
    if (existing?.status === 'IN_FLIGHT') throw new LndError('payment is in transition', 6)
    const p: Payment = {
      hash: inv.paymentHash,
      preimage: null,
      valueMsat,
      feeMsat: 0n,
      status: 'IN_FLIGHT',
      failureReason: 'FAILURE_REASON_NONE',
      creationTimeNs: nowNs(),
      paymentRequest: req.request,
      index: ++this.paymentIndex,
      attempts: [],
    }
    this.payments.set(p.hash, p)
    this.say(`Payment initiated: index=${p.index} value_msat=${valueMsat}`)
    setImmediate(() => {
      this.emit('payment', p)
      void this.runPayment(p, inv, req.feeLimitMsat, req.maxAttempts ?? 10, req.maxParts ?? 16)
    })
    return p
  }

  /**
   * routerrpc SendToRouteV2: one HTLC along a route the caller built (rebalancers build circular
   * routes to their own invoices this way). As LND's control tower: a paid hash is refused, an
   * in-flight one too; a failed payment may be tried again. The payment is recorded like any
   * other (ListPayments, TrackPaymentV2), its fee is the route's fee, and any failure — at a hop
   * or at the final node — fails the payment (LND's default, skip_temp_err false).
   */
  async sendToRoute(
    hash: string,
    route: Route,
    mpp: { paymentAddr: string; totalMsat: bigint } | null,
  ): Promise<PaymentAttempt> {
    if (route.hops.length === 0) throw new LndError('route has no hops')
    const existing = this.payments.get(hash)
    if (existing?.status === 'SUCCEEDED') throw new LndError('invoice is already paid', 6)
    if (existing?.status === 'IN_FLIGHT') throw new LndError('payment is in transition', 6)
    const last = route.hops[route.hops.length - 1]!
    const p: Payment = {
      hash,
      preimage: null,
      valueMsat: last.amtToForwardMsat,
      feeMsat: 0n,
      status: 'IN_FLIGHT',
      failureReason: 'FAILURE_REASON_NONE',
      creationTimeNs: nowNs(),
      paymentRequest: '',
      index: ++this.paymentIndex,
      attempts: [],
    }
    this.payments.set(hash, p)
    const a: PaymentAttempt = {
      attemptId: ++this.attemptIndex,
      status: 'IN_FLIGHT',
      route,
      attemptTimeNs: nowNs(),
      resolveTimeNs: 0n,
      failure: null,
      preimage: null,
    }
    p.attempts.push(a)
    this.say(
      `SendToRoute: index=${p.index} hops=${route.hops.length} fee_msat=${route.totalFeesMsat}`,
    )
    this.emit('payment', p)
    // Without an MPP record the final node has no payment secret to check, and refuses.
    const r = await this.world.dispatch(this, route, hash, mpp?.paymentAddr ?? '', mpp?.totalMsat)
    a.resolveTimeNs = nowNs()
    if (r.ok) {
      a.status = 'SUCCEEDED'
      a.preimage = r.preimage
      p.feeMsat = route.totalFeesMsat
      this.finish(p, 'FAILURE_REASON_NONE', r.preimage)
    } else {
      a.status = 'FAILED'
      a.failure = { code: r.code, failureSourceIndex: r.index, height: this.height() }
      this.finish(
        p,
        r.index === route.hops.length
          ? 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS'
          : 'FAILURE_REASON_ERROR',
      )
    }
    return a
  }

  private finish(p: Payment, reason: FailureReason, preimage?: Buffer): void {
    if (preimage) {
      p.status = 'SUCCEEDED'
      p.preimage = preimage.toString('hex')
      this.say(`Payment succeeded: index=${p.index} fee_msat=${p.feeMsat}`)
    } else {
      p.status = 'FAILED'
      p.failureReason = reason
      this.say(`Payment failed: index=${p.index} reason=${reason}`)
    }
    this.emit('payment', p)
  }

  /**
   * LND's payment loop: a route for what is left, dispatched; a failed shard's edge is left out
   * and its amount tried again. With `maxParts` > 1 an amount no single route carries is split
   * in halves (down to LND's 10,000 sat minimum shard) and the shards travel at once (MPP).
   */
  private async runPayment(
    p: Payment,
    inv: Bolt11Invoice,
    feeLimitMsat: bigint | null,
    maxAttempts: number,
    maxParts: number,
  ): Promise<void> {
    const total = [...this.localBandwidth().values()].reduce((s, b) => s + b, 0n)
    if (total < p.valueMsat) return this.finish(p, 'FAILURE_REASON_INSUFFICIENT_BALANCE')
    const excludedEdges = new Set<string>()
    const reserved = new Map<bigint, bigint>() // first-hop channel → msat of shards in flight
    const bandwidth = () => {
      const m = this.localBandwidth()
      for (const [k, v] of reserved) m.set(k, (m.get(k) ?? 0n) - v)
      return m
    }
    const MIN_SHARD_MSAT = 10_000_000n
    let remaining = p.valueMsat
    let inFlight = 0
    let attempts = 0
    let preimage: Buffer | null = null
    let finalFailure: FailureReason | null = null
    let feesMsat = 0n
    let wake: () => void = () => undefined
    const shard = (route: Route, amount: bigint) => {
      const a: PaymentAttempt = {
        attemptId: ++this.attemptIndex,
        status: 'IN_FLIGHT',
        route,
        attemptTimeNs: nowNs(),
        resolveTimeNs: 0n,
        failure: null,
        preimage: null,
      }
      p.attempts.push(a)
      const first = route.hops[0]!.channelId
      reserved.set(first, (reserved.get(first) ?? 0n) + route.totalAmtMsat)
      remaining -= amount
      inFlight++
      this.emit('payment', p)
      void this.world.dispatch(this, route, p.hash, inv.paymentSecret, p.valueMsat).then((r) => {
        inFlight--
        reserved.set(first, reserved.get(first)! - route.totalAmtMsat)
        a.resolveTimeNs = nowNs()
        if (r.ok) {
          a.status = 'SUCCEEDED'
          a.preimage = r.preimage
          preimage = r.preimage
          feesMsat += route.totalFeesMsat
        } else {
          a.status = 'FAILED'
          a.failure = { code: r.code, failureSourceIndex: r.index, height: this.height() }
          remaining += amount
          if (r.code === 'INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS')
            finalFailure ??= 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS'
          // Mission control: leave out the failing node's outgoing channel.
          const hop = route.hops[r.index]
          const fromNode = r.index === 0 ? this.pubkey : route.hops[r.index - 1]!.pubkey
          if (hop) excludedEdges.add(`${hop.channelId}:${fromNode}`)
        }
        this.emit('payment', p)
        wake()
      })
    }
    for (;;) {
      if (preimage && inFlight === 0) {
        p.feeMsat = feesMsat
        return this.finish(p, 'FAILURE_REASON_NONE', preimage)
      }
      if (!preimage && finalFailure && inFlight === 0) return this.finish(p, finalFailure)
      if (!preimage && !finalFailure && remaining > 0n) {
        const parts = p.attempts.filter((a) => a.status !== 'FAILED').length
        let amount = remaining
        let route: Route | null
        for (;;) {
          route = this.world.graph.findRoute({
            source: this.pubkey,
            target: inv.payee,
            amountMsat: amount,
            finalCltvDelta: inv.minFinalCltvExpiry,
            height: this.height(),
            localBandwidth: bandwidth(),
            excludedEdges,
            extraEdges: this.world.privateEdgesOf(this),
            ...(feeLimitMsat !== null ? { feeLimitMsat: feeLimitMsat - feesMsat } : {}),
          })
          const canSplit = parts + 1 < maxParts && amount / 2n >= MIN_SHARD_MSAT
          if (route || !canSplit) break
          amount /= 2n
        }
        if (route && attempts < maxAttempts) {
          attempts++
          shard(route, amount)
          continue
        }
        if (inFlight === 0) return this.finish(p, 'FAILURE_REASON_NO_ROUTE')
        // No way to deliver the rest: the payee fails the partial set back (MPP timeout).
        finalFailure = 'FAILURE_REASON_NO_ROUTE'
        this.world.nodes.get(inv.payee)?.abandonPartialSet(p.hash)
      }
      await new Promise<void>((r) => (wake = r))
    }
  }

  /** Single Chan Backups (SCB) of open channels, encrypted with a key from the seed as LND does. */
  channelBackup(chans: readonly Channel[]): Buffer {
    const key = sha256(this.wallet.familyKey(7, 0).publicKey)
    const nonce = randomBytes(24).subarray(0, 12)
    const plain = Buffer.from(
      JSON.stringify({
        simulator: 'lnd',
        channels: chans.map((c) => ({
          chanPoint: this.chanPoint(c),
          remote: this.peerOf(c).pubkey,
          address: this.peerOf(c).p2pAddress,
          capacity: c.capacitySat.toString(),
        })),
      }),
    )
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
    const enc = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()])
    return Buffer.concat([nonce, enc])
  }

  /**
   * LND's channel recovery from a multi-channel backup (chanbackup.UnpackAndRecoverMulti): the
   * backup is opened with the key from this seed; each channel still open at its peer is taken
   * over as a restored shell, the node connects to the peer, and the peer, seeing that this side
   * lost its state (BOLT 2 option_data_loss_protect), force-closes with its latest commitment.
   * to_remote pays this seed's wallet key (option_static_remotekey), so the funds come back to
   * the restored wallet. Returns the channels restored; throws on a backup of another seed.
   */
  restoreFromChannelBackup(multi: Uint8Array): number {
    const key = sha256(this.wallet.familyKey(7, 0).publicKey)
    const buf = Buffer.from(multi)
    if (buf.length < 12 + 16) throw new LndError('unable to unpack chan backups: too short')
    let plain: { channels: { chanPoint: string; remote: string }[] }
    try {
      const d = createDecipheriv('chacha20-poly1305', key, buf.subarray(0, 12), {
        authTagLength: 16,
      })
      d.setAuthTag(buf.subarray(buf.length - 16))
      plain = JSON.parse(
        Buffer.concat([d.update(buf.subarray(12, buf.length - 16)), d.final()]).toString(),
      ) as typeof plain
    } catch {
      throw new LndError(
        'unable to unpack chan backups: chacha20poly1305: message authentication failed',
      )
    }
    let restored = 0
    for (const entry of plain.channels) {
      const peer = this.world.nodes.get(entry.remote)
      const c = peer?.channels.find((x) => peer.chanPoint(x) === entry.chanPoint)
      if (!peer || !c || c.state !== 'open') continue
      const side: Side = c.nodes.opener.pubkey === this.pubkey ? 'opener' : 'accepter'
      const before = c.nodes[side]
      if (before !== this) {
        const i = before.channels.indexOf(c)
        if (i >= 0) before.channels.splice(i, 1)
        c.nodes[side] = this
      }
      if (!this.channels.includes(c)) this.channels.push(c)
      restored++
      this.say(`Restored channel ${entry.chanPoint} from the static channel backup`)
      if (peer.online) {
        if (!this.peers.has(peer.pubkey)) this.connect(peer.pubkey, peer.p2pAddress)
        peer.say(`Peer ${this.pubkey.slice(0, 16)}… lost its channel state: force closing`)
        peer.closeForce(c)
      }
    }
    return restored
  }

  fee(c: Channel, amt: bigint): bigint {
    return policyFee(c.policies[this.sideOf(c)], amt)
  }
}
