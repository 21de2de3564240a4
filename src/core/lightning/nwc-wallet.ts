// The NIP-47 methods over the box's LND, for one connection at a time. Payments go through the
// Lightning module's payment saga (keyed by payment hash: never sent twice), inside a budget
// reservation (src/core/lightning/nwc-connections.ts):
//
//   decode + checks → RESERVE amount + fee limit (budget checked in the same transaction)
//   → payment saga → SETTLE at amount + fee paid | RELEASE when it failed or was never sent
//
// A crash anywhere leaves at worst a reservation, which reconcile() settles or releases from the
// saga's record; until then it counts against the budget, so a crash never lets an app overspend.
// An app sees and looks up only the invoices it made and the payments it sent.
import { createRequire } from 'node:module'
import type * as Lightning from 'lightning'
import type { PaymentView } from '../../shared/api/lightning'
import type { NwcMethod } from '../../shared/api/wallet-service'
import { FlashError } from '../errors'
import type { Logger } from '../log'
import type { LightningModule } from './lightning-module'
import {
  listTransactionsParams,
  lookupInvoiceParams,
  makeInvoiceParams,
  NwcError,
  payInvoiceParams,
  type NwcRequest,
  type NwcTransaction,
} from './nip47-wallet-service'
import { budgetWindowEnd, type Connection, type NwcConnectionStore } from './nwc-connections'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

type WalletLightning = Pick<
  LightningModule,
  'appLnd' | 'preparePayment' | 'sendPayment' | 'paymentState' | 'network'
>

export interface NwcWalletDeps {
  readonly lightning: () => WalletLightning | undefined
  readonly store: NwcConnectionStore
  readonly log: Logger
  /** Budgets or connections changed (the page refreshes). */
  readonly onChange: () => void
  /** How long a pay_invoice waits for the payment's outcome before answering (ms). */
  readonly payWaitMs?: number
}

const unix = (iso: string | undefined): number | undefined =>
  iso ? Math.floor(Date.parse(iso) / 1000) : undefined

/** A Lightning module error → the NIP-47 code an app can act on, with the plain sentence. */
export function nwcErrorOf(err: unknown): NwcError {
  if (err instanceof NwcError) return err
  if (err instanceof FlashError) {
    const code = err.code
    const message = err.message
    if (code === 'lightning.over_limit') return new NwcError('QUOTA_EXCEEDED', message)
    if (code === 'lightning.already_paid') return new NwcError('PAYMENT_FAILED', message)
    if (code === 'lightning.invoice_expired') return new NwcError('PAYMENT_FAILED', message)
    if (code === 'lightning.not_ready' || code === 'lightning.disabled' || code.startsWith('lnd.'))
      return new NwcError('INTERNAL', message)
    return new NwcError('OTHER', message)
  }
  return new NwcError('INTERNAL', 'The box’s Lightning node could not answer.')
}

const stopping = () =>
  new NwcError('INTERNAL', 'The box is stopping; look the payment up once it is back.')

function periodWords(c: Connection): string {
  return c.budgetPeriod === 'total'
    ? 'in total'
    : { daily: 'today', weekly: 'this week', monthly: 'this month' }[c.budgetPeriod]
}

export class NwcWallet {
  /** `connection:hash` of payments this process is sending (reconcile leaves them alone). */
  private readonly active = new Set<string>()
  private closed = false

  constructor(private readonly deps: NwcWalletDeps) {}

  /**
   * The engine stops: payments still waiting leave their reservation as it is (reconcile settles
   * or releases it on the next start, from the payment saga's record).
   */
  close(): void {
    this.closed = true
  }

  private lightning(): WalletLightning {
    const l = this.deps.lightning()
    if (!l) throw new NwcError('INTERNAL', 'Lightning is not part of this box.')
    return l
  }

  private lnd(): Lightning.AuthenticatedLnd {
    const lnd = this.lightning().appLnd()
    if (!lnd) throw new NwcError('INTERNAL', 'The box’s Lightning node is not ready.')
    return lnd
  }

  async call(c: Connection, req: NwcRequest): Promise<unknown> {
    try {
      switch (req.method as NwcMethod) {
        case 'pay_invoice':
          return await this.payInvoice(c, req.params)
        case 'make_invoice':
          return await this.makeInvoice(c, req.params)
        case 'lookup_invoice':
          return await this.lookupInvoice(c, req.params)
        case 'get_balance':
          return await this.getBalance()
        case 'get_info':
          return await this.getInfo(c)
        case 'list_transactions':
          return await this.listTransactions(c, req.params)
      }
    } catch (err) {
      throw nwcErrorOf(err)
    }
    throw new NwcError('NOT_IMPLEMENTED', `The box does not serve "${req.method}".`)
  }

  private async payInvoice(c: Connection, params: Record<string, unknown>) {
    const { invoice, amountMsat } = payInvoiceParams(params)
    if (amountMsat !== undefined && amountMsat % 1000 !== 0) {
      throw new NwcError(
        'OTHER',
        'The box pays whole satoshis: the amount must be a multiple of 1000 msat.',
      )
    }
    const L = this.lightning()
    const prepared = await L.preparePayment(
      invoice,
      amountMsat !== undefined ? amountMsat / 1000 : undefined,
    )
    const reserveSat = prepared.amountSat + prepared.feeLimitSat
    const reserved = this.deps.store.reserve(c, prepared.hash, reserveSat)
    if (!reserved.ok) {
      if (reserved.reason === 'duplicate') {
        throw new NwcError(
          'PAYMENT_FAILED',
          'This invoice is already being paid, or was paid, through this connection.',
        )
      }
      throw new NwcError(
        'QUOTA_EXCEEDED',
        `This payment needs up to ${reserveSat} sat (${prepared.amountSat} sat and at most ${prepared.feeLimitSat} sat in fees), but this connection has ${reserved.remainingSat} sat of its ${c.budgetSat} sat budget left ${periodWords(c)}.`,
      )
    }
    this.deps.onChange()
    const key = `${c.id}:${prepared.hash}`
    this.active.add(key)
    let view: PaymentView & { preimage?: string }
    try {
      view = await L.sendPayment(prepared, this.deps.payWaitMs ?? 60_000)
    } catch (err) {
      if (this.closed) throw stopping()
      // Refused before anything was sent (the saga records before it sends).
      if (!L.paymentState(prepared.hash) || L.paymentState(prepared.hash)?.state === 'failed')
        this.deps.store.release(c.id, prepared.hash)
      this.deps.onChange()
      throw err
    } finally {
      this.active.delete(key)
    }
    if (this.closed) throw stopping()
    if (view.state === 'succeeded') {
      this.deps.store.settle(c.id, prepared.hash, view.amountSat + (view.feeSat ?? 0))
      this.deps.onChange()
      return { preimage: view.preimage ?? '', fees_paid: (view.feeSat ?? 0) * 1000 }
    }
    if (view.state === 'failed') {
      this.deps.store.release(c.id, prepared.hash)
      this.deps.onChange()
      throw new NwcError(
        view.failure === 'not_enough_outbound' ? 'INSUFFICIENT_BALANCE' : 'PAYMENT_FAILED',
        view.failureText ?? 'The payment failed.',
      )
    }
    // Still in flight: the reservation stays until the saga knows the outcome.
    throw new NwcError(
      'OTHER',
      'The payment is still in flight; look it up later with lookup_invoice. Its amount stays reserved from the budget until it settles.',
    )
  }

  /** Settles or releases reservations a crash (or a payment still in flight) left behind. */
  reconcile(): void {
    const L = this.deps.lightning()
    if (!L || this.closed) return
    let changed = false
    for (const r of this.deps.store.unsettled()) {
      if (this.active.has(`${r.connection_id}:${r.hash}`)) continue
      const p = L.paymentState(r.hash)
      if (p?.state === 'pending') continue
      if (p?.state === 'succeeded') {
        this.deps.store.settle(r.connection_id, r.hash, p.amountSat + (p.feeSat ?? 0))
      } else {
        this.deps.store.release(r.connection_id, r.hash)
      }
      changed = true
      this.deps.log.info('NWC budget reservation resolved from the payment record', {
        hash: r.hash,
        outcome: p?.state ?? 'never sent',
      })
    }
    if (changed) this.deps.onChange()
  }

  private async makeInvoice(c: Connection, params: Record<string, unknown>) {
    const p = makeInvoiceParams(params)
    const lnd = this.lnd()
    const created = await ln.createInvoice({
      lnd,
      mtokens: String(p.amountMsat),
      ...(p.descriptionHash
        ? { description_hash: p.descriptionHash }
        : { description: p.description }),
      ...(p.expirySeconds
        ? { expires_at: new Date(Date.now() + p.expirySeconds * 1000).toISOString() }
        : {}),
    })
    this.deps.store.recordInvoice(c.id, created.id)
    return this.incoming(created.id)
  }

  private async incoming(hash: string): Promise<NwcTransaction> {
    let i: Lightning.GetInvoiceResult
    try {
      i = await ln.getInvoice({ lnd: this.lnd(), id: hash })
    } catch {
      throw new NwcError('NOT_FOUND', 'No invoice with that payment hash.')
    }
    const paid = i.is_confirmed
    const expiresAt = unix(i.expires_at)!
    return {
      type: 'incoming',
      state: paid
        ? 'settled'
        : expiresAt * 1000 <= Date.now() || i.is_canceled
          ? 'expired'
          : 'pending',
      invoice: i.request ?? '',
      description: i.description ?? '',
      ...(i.description_hash ? { description_hash: i.description_hash } : {}),
      ...(paid ? { preimage: i.secret } : {}),
      payment_hash: i.id,
      amount: Number((i as { mtokens?: string }).mtokens ?? i.tokens * 1000),
      fees_paid: 0,
      created_at: unix(i.created_at)!,
      expires_at: expiresAt,
      ...(paid && i.confirmed_at ? { settled_at: unix(i.confirmed_at)! } : {}),
    }
  }

  private async outgoing(hash: string): Promise<NwcTransaction> {
    const p = this.lightning().paymentState(hash)
    if (!p) throw new NwcError('NOT_FOUND', 'No payment with that payment hash.')
    let preimage: string | undefined
    let request: string | undefined
    if (p.state === 'succeeded') {
      const paid = await ln.getPayment({ lnd: this.lnd(), id: hash }).catch(() => undefined)
      preimage = paid?.payment?.secret
      request = paid?.payment?.request
    }
    return {
      type: 'outgoing',
      state: p.state === 'succeeded' ? 'settled' : p.state === 'failed' ? 'failed' : 'pending',
      ...(request ? { invoice: request } : {}),
      description: p.description,
      ...(preimage ? { preimage } : {}),
      payment_hash: hash,
      amount: p.amountSat * 1000,
      fees_paid: (p.feeSat ?? 0) * 1000,
      created_at: unix(p.createdAt)!,
      ...(p.state === 'succeeded' ? { settled_at: unix(p.updatedAt)! } : {}),
    }
  }

  private async lookupInvoice(c: Connection, params: Record<string, unknown>) {
    const p = lookupInvoiceParams(params)
    let hash = p.paymentHash
    if (!hash) {
      try {
        hash = (
          await ln.decodePaymentRequest({
            lnd: this.lnd(),
            request: p
              .invoice!.trim()
              .replace(/^lightning:/i, '')
              .toLowerCase(),
          })
        ).id
      } catch {
        throw new NwcError('OTHER', 'That is not a valid Lightning invoice.')
      }
    }
    if (this.deps.store.ownsInvoice(c.id, hash)) return this.incoming(hash)
    if (this.deps.store.ownsPayment(c.id, hash)) return this.outgoing(hash)
    throw new NwcError(
      'NOT_FOUND',
      'This connection made no invoice and sent no payment with that hash.',
    )
  }

  private async getBalance() {
    const b = await ln.getChannelBalance({ lnd: this.lnd() })
    return {
      balance: b.channel_balance_mtokens
        ? Number(b.channel_balance_mtokens)
        : b.channel_balance * 1000,
    }
  }

  private async getInfo(c: Connection) {
    const w = await ln.getWalletInfo({ lnd: this.lnd() })
    const net = this.lightning().network()
    return {
      alias: w.alias,
      color: w.color,
      pubkey: w.public_key,
      network: net === 'testnet4' ? 'testnet' : net,
      block_height: w.current_block_height,
      block_hash: w.current_block_hash,
      methods: c.methods,
      notifications: [],
    }
  }

  private async listTransactions(c: Connection, params: Record<string, unknown>) {
    const p = listTransactionsParams(params)
    const until = p.until ?? Math.floor(Date.now() / 1000)
    const rows = this.deps.store
      .transactions(c.id)
      .filter((r) => (!p.type || r.type === p.type) && r.created_at / 1000 >= p.from)
      .filter((r) => r.created_at / 1000 <= until + 1)
      .slice(0, 1000)
    const out: NwcTransaction[] = []
    for (const r of rows) {
      const tx = await (
        r.type === 'incoming' ? this.incoming(r.hash) : this.outgoing(r.hash)
      ).catch(() => undefined)
      if (!tx) continue
      if (!p.unpaid && tx.state !== 'settled') continue
      out.push(tx)
    }
    return { transactions: out.slice(p.offset, p.offset + p.limit) }
  }

  /** What a connection has spent (and holds reserved) in its current window. */
  usage(c: Connection, now = Date.now()) {
    const spentSat = this.deps.store.usedSat(c, now)
    const end = budgetWindowEnd(c.budgetPeriod, now)
    return {
      spentSat,
      remainingSat: c.budgetSat === null ? null : Math.max(0, c.budgetSat - spentSat),
      renewsAt: end === null ? null : new Date(end).toISOString(),
    }
  }
}
