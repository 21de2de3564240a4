// The fake Lightning wallet: a first-class backend for regtest and development (like CDK's
// cdk-fake-wallet), not a test hack. It issues real-format, signed bolt11 invoices, "pays"
// incoming invoices itself after a configurable delay, pays outgoing invoices after a delay
// with a fixed fee, and can be driven into PENDING and FAILED states:
//   - an invoice whose description contains `fake:fail` fails, `fake:pending` stays pending
//     until resolveOutgoing() is called;
//   - setNextOutgoing('FAILED' | 'PENDING') applies to the next payment.
// Its state lives in its own SQLite file, so after a crash of the mint it still answers
// "what really happened" by payment hash, exactly as a real node would.
import { DatabaseSync, type SQLInputValue } from 'node:sqlite'
import { randomBytes } from 'node:crypto'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { decodeBolt11, encodeBolt11, type Network } from '../nut23-bolt11'
import type {
  BackendStatus,
  IncomingRequest,
  IncomingStatus,
  LightningBackend,
  OutgoingQuote,
  OutgoingStatus,
} from './backend'

export interface FakeWalletOptions {
  network: Network
  /** SQLite file for the wallet's own state, or ':memory:'. */
  statePath: string
  /** Incoming invoices pay themselves after this many ms; negative = only via payIncoming(). */
  incomingPayDelayMs?: number
  /** Outgoing payments settle after this many ms. */
  outgoingDelayMs?: number
  /** Fixed routing fee charged per outgoing payment, msat. */
  feeMsat?: number
  /** Fee reserve quoted per outgoing payment, msat (defaults to max(2 sat, 1%)). */
  feeReserveMsat?: number
  /** 32-byte node key that signs invoices (random per wallet state when omitted). */
  nodeKey?: Uint8Array
}

type Planned = 'PAID' | 'FAILED' | 'PENDING'
type Row = Record<string, SQLInputValue>

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class FakeWalletBackend implements LightningBackend {
  readonly name = 'fake'
  readonly supportsDescription = true
  private readonly db: DatabaseSync
  private readonly opts: Required<Omit<FakeWalletOptions, 'feeReserveMsat' | 'nodeKey'>> & {
    feeReserveMsat?: number
  }
  private readonly nodeKey: Uint8Array
  private readonly listeners = new Set<(hash: string) => void>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private nextOutgoing: Planned | null = null
  private closed = false

  constructor(opts: FakeWalletOptions) {
    this.opts = {
      incomingPayDelayMs: 0,
      outgoingDelayMs: 0,
      feeMsat: 1000,
      ...opts,
    }
    this.db = new DatabaseSync(opts.statePath)
    this.db.exec('PRAGMA journal_mode = WAL')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS incoming (payment_hash TEXT PRIMARY KEY, preimage TEXT NOT NULL,
        amount_msat INTEGER NOT NULL, request TEXT NOT NULL, state TEXT NOT NULL,
        created_at INTEGER NOT NULL, expiry INTEGER NOT NULL, paid_at INTEGER);
      CREATE TABLE IF NOT EXISTS outgoing (payment_hash TEXT PRIMARY KEY, request TEXT NOT NULL,
        amount_msat INTEGER NOT NULL, fee_msat INTEGER NOT NULL, planned TEXT NOT NULL,
        state TEXT NOT NULL, settle_at INTEGER NOT NULL, preimage TEXT, created_at INTEGER NOT NULL);`)
    const stored = this.db.prepare("SELECT value FROM meta WHERE key = 'node_key'").get() as
      Row | undefined
    if (opts.nodeKey) this.nodeKey = opts.nodeKey
    else if (stored) this.nodeKey = hexToBytes(String(stored.value))
    else {
      this.nodeKey = new Uint8Array(randomBytes(32))
      this.db
        .prepare("INSERT INTO meta (key, value) VALUES ('node_key', ?)")
        .run(bytesToHex(this.nodeKey))
    }
    // Invoices created before a restart still pay themselves.
    if (this.opts.incomingPayDelayMs >= 0) {
      for (const r of this.db
        .prepare("SELECT payment_hash, created_at FROM incoming WHERE state = 'UNPAID'")
        .all() as Row[]) {
        this.scheduleIncoming(
          String(r.payment_hash),
          Number(r.created_at) + this.opts.incomingPayDelayMs - Date.now(),
        )
      }
    }
  }

  private scheduleIncoming(hash: string, delay: number) {
    const t = setTimeout(
      () => {
        this.timers.delete(t)
        this.payIncoming(hash)
      },
      Math.max(0, delay),
    )
    t.unref()
    this.timers.add(t)
  }

  /** Mark an incoming invoice paid (what a payer's node would do) and tell listeners. */
  payIncoming(paymentHash: string): boolean {
    if (this.closed) return false
    const changed = Number(
      this.db
        .prepare(
          "UPDATE incoming SET state = 'PAID', paid_at = ? WHERE payment_hash = ? AND state = 'UNPAID'",
        )
        .run(Date.now(), paymentHash).changes,
    )
    if (changed === 1) for (const l of this.listeners) l(paymentHash)
    return changed === 1
  }

  /** The next outgoing payment will end in this state. */
  setNextOutgoing(state: 'FAILED' | 'PENDING' | null): void {
    this.nextOutgoing = state
  }

  /** Settle a payment that was held PENDING. */
  resolveOutgoing(paymentHash: string, state: 'PAID' | 'FAILED'): void {
    this.db
      .prepare(
        "UPDATE outgoing SET planned = ?, settle_at = 0 WHERE payment_hash = ? AND state = 'PENDING'",
      )
      .run(state, paymentHash)
  }

  async createIncomingRequest(opts: {
    amountMsat: number
    description: string | null
    expirySeconds: number
  }): Promise<IncomingRequest> {
    const preimage = new Uint8Array(randomBytes(32))
    const paymentHash = bytesToHex(sha256(preimage))
    const now = Math.floor(Date.now() / 1000)
    const request = encodeBolt11({
      network: this.opts.network,
      amountMsat: opts.amountMsat,
      paymentHash,
      paymentSecret: bytesToHex(new Uint8Array(randomBytes(32))),
      description: opts.description ?? '',
      expirySeconds: opts.expirySeconds,
      timestamp: now,
      nodeKey: this.nodeKey,
    })
    this.db
      .prepare(
        `INSERT INTO incoming (payment_hash, preimage, amount_msat, request, state, created_at, expiry)
         VALUES (?, ?, ?, ?, 'UNPAID', ?, ?)`,
      )
      .run(
        paymentHash,
        bytesToHex(preimage),
        opts.amountMsat,
        request,
        Date.now(),
        now + opts.expirySeconds,
      )
    if (this.opts.incomingPayDelayMs >= 0)
      this.scheduleIncoming(paymentHash, this.opts.incomingPayDelayMs)
    return { request, paymentHash, expiry: now + opts.expirySeconds }
  }

  async quoteOutgoing(request: string): Promise<OutgoingQuote> {
    const inv = decodeBolt11(request)
    if (inv.amountMsat === null) throw new Error('amountless invoices are not supported')
    const reserve =
      this.opts.feeReserveMsat ?? Math.max(2000, Math.ceil(inv.amountMsat / 100 / 1000) * 1000)
    return {
      paymentHash: inv.paymentHash,
      amountMsat: inv.amountMsat,
      feeReserveMsat: Math.max(reserve, this.opts.feeMsat),
      expiry: inv.timestamp + inv.expirySeconds,
    }
  }

  async makePayment(opts: {
    request: string
    paymentHash: string
    maxFeeMsat: number
  }): Promise<OutgoingStatus> {
    // Everything up to the first await runs synchronously: the payment is recorded at once.
    const existing = this.outgoingRow(opts.paymentHash)
    if (existing) return this.checkOutgoing(opts.paymentHash)
    const inv = decodeBolt11(opts.request)
    let planned: Planned = this.nextOutgoing ?? 'PAID'
    this.nextOutgoing = null
    if (inv.description?.includes('fake:fail')) planned = 'FAILED'
    if (inv.description?.includes('fake:pending')) planned = 'PENDING'
    if (this.opts.feeMsat > opts.maxFeeMsat) planned = 'FAILED'
    const own = this.db
      .prepare('SELECT state, expiry FROM incoming WHERE payment_hash = ?')
      .get(opts.paymentHash) as Row | undefined
    if (own && String(own.state) === 'PAID') planned = 'FAILED'
    this.db
      .prepare(
        `INSERT INTO outgoing (payment_hash, request, amount_msat, fee_msat, planned, state, settle_at, created_at)
         VALUES (?, ?, ?, ?, ?, 'PENDING', ?, ?)`,
      )
      .run(
        opts.paymentHash,
        opts.request,
        inv.amountMsat ?? 0,
        this.opts.feeMsat,
        planned,
        planned === 'PENDING' ? Number.MAX_SAFE_INTEGER : Date.now() + this.opts.outgoingDelayMs,
        Date.now(),
      )
    if (this.opts.outgoingDelayMs > 0) await sleep(this.opts.outgoingDelayMs)
    return this.checkOutgoing(opts.paymentHash)
  }

  private outgoingRow(hash: string): Row | undefined {
    return this.db.prepare('SELECT * FROM outgoing WHERE payment_hash = ?').get(hash) as
      Row | undefined
  }

  async checkOutgoing(paymentHash: string): Promise<OutgoingStatus> {
    const r = this.outgoingRow(paymentHash)
    if (!r) return { state: 'UNKNOWN' }
    if (String(r.state) === 'PENDING' && Number(r.settle_at) <= Date.now()) {
      const planned = String(r.planned) as Planned
      if (planned !== 'PENDING') {
        // Paying one of our own invoices settles it, and reveals its preimage.
        const own = this.db
          .prepare('SELECT preimage FROM incoming WHERE payment_hash = ?')
          .get(paymentHash) as Row | undefined
        // A foreign invoice's preimage is unknowable to a fake; only our own reveal theirs.
        const preimage = planned === 'PAID' && own ? String(own.preimage) : null
        this.db
          .prepare(
            "UPDATE outgoing SET state = ?, preimage = ? WHERE payment_hash = ? AND state = 'PENDING'",
          )
          .run(planned, preimage, paymentHash)
        if (planned === 'PAID' && own) this.payIncoming(paymentHash)
        return this.checkOutgoing(paymentHash)
      }
    }
    switch (String(r.state)) {
      case 'PAID':
        return {
          state: 'PAID',
          preimage: r.preimage === null ? null : String(r.preimage),
          feePaidMsat: Number(r.fee_msat),
        }
      case 'FAILED':
        return { state: 'FAILED', reason: 'the fake wallet was told to fail this payment' }
      default:
        return { state: 'PENDING' }
    }
  }

  /** The fake node's identity: the public key of the key that signs its invoices. */
  async nodePubkey(): Promise<string> {
    return bytesToHex(secp256k1.getPublicKey(this.nodeKey, true))
  }

  async incomingPreimage(paymentHash: string): Promise<string | null> {
    const r = this.db
      .prepare('SELECT preimage FROM incoming WHERE payment_hash = ?')
      .get(paymentHash) as Row | undefined
    return r ? String(r.preimage) : null
  }

  async checkIncoming(paymentHash: string): Promise<IncomingStatus> {
    const r = this.db
      .prepare('SELECT state, amount_msat, created_at FROM incoming WHERE payment_hash = ?')
      .get(paymentHash) as Row | undefined
    if (!r) return { state: 'UNPAID' }
    if (
      String(r.state) === 'UNPAID' &&
      this.opts.incomingPayDelayMs >= 0 &&
      Number(r.created_at) + this.opts.incomingPayDelayMs <= Date.now()
    )
      this.payIncoming(paymentHash)
    const now = this.db
      .prepare('SELECT state FROM incoming WHERE payment_hash = ?')
      .get(paymentHash) as Row
    return String(now.state) === 'PAID'
      ? { state: 'PAID', amountMsat: Number(r.amount_msat) }
      : { state: 'UNPAID' }
  }

  async cancelIncoming(paymentHash: string): Promise<void> {
    this.db
      .prepare("UPDATE incoming SET state = 'CANCELED' WHERE payment_hash = ? AND state = 'UNPAID'")
      .run(paymentHash)
  }

  /** An incoming invoice's state here: UNPAID, PAID or CANCELED (tests). */
  incomingState(paymentHash: string): string | undefined {
    const r = this.db
      .prepare('SELECT state FROM incoming WHERE payment_hash = ?')
      .get(paymentHash) as Row | undefined
    return r ? String(r.state) : undefined
  }

  onIncomingPaid(listener: (paymentHash: string) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async status(): Promise<BackendStatus> {
    return {
      ok: !this.closed,
      name: this.name,
      detail: `Fake Lightning wallet (${this.opts.network}): invoices pay themselves after ${this.opts.incomingPayDelayMs} ms; payments cost ${this.opts.feeMsat / 1000} sat.`,
    }
  }

  async close(): Promise<void> {
    this.closed = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.listeners.clear()
    if (this.db.isOpen) this.db.close()
  }
}
