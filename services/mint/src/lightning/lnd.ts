// LND backend through ln-service (gRPC): createInvoice / subscribeToInvoices for incoming,
// decodePaymentRequest + subscribeToPayViaRequest / getPayment for outgoing.
import { readFileSync } from 'node:fs'
import {
  authenticatedLndGrpc,
  cancelHodlInvoice,
  createInvoice,
  decodePaymentRequest,
  getInvoice,
  getPayment,
  getWalletInfo,
  subscribeToPayViaRequest,
  subscribeToInvoices,
  type AuthenticatedLnd,
} from 'ln-service'
import { redact } from '../log'
import type {
  BackendStatus,
  IncomingRequest,
  IncomingStatus,
  LightningBackend,
  OutgoingQuote,
  OutgoingStatus,
} from './backend'

export interface LndBackendOptions {
  /** host:port of LND's gRPC. */
  socket: string
  /** TLS cert (base64 or PEM text) or a path to it. */
  cert?: string
  certPath?: string
  /** Macaroon (hex or base64) or a path to it. */
  macaroon?: string
  macaroonPath?: string
  /** Fee reserve: max(minFeeReserveMsat, feeReservePercent of the amount). */
  feeReservePercent?: number
  minFeeReserveMsat?: number
  /** A payment still in flight after this long is reported PENDING (default 30 s). */
  pendingAfterMs?: number
}

/** ln-service errors are arrays: [httpLikeCode, 'Message', details?]. */
function lnError(err: unknown): { code: number; message: string } {
  if (Array.isArray(err)) return { code: Number(err[0]), message: String(err[1]) }
  return { code: 0, message: err instanceof Error ? err.message : String(err) }
}

/**
 * LookupInvoice of a hash LND never issued: ln-service reports it as 503
 * UnexpectedLookupInvoiceErr wrapping LND's "unable to locate invoice" (invoices.ErrInvoiceNotFound)
 * or "there are no existing invoices" (ErrNoInvoicesCreated).
 */
function invoiceNotFound(err: unknown): boolean {
  if (lnError(err).code === 404) return true
  const inner = Array.isArray(err) ? (err[2] as { err?: { details?: unknown } } | undefined) : null
  const details = String(inner?.err?.details ?? '')
  return /unable to locate invoice|there are no existing invoices/.test(details)
}

export class LndBackend implements LightningBackend {
  readonly name = 'lnd'
  readonly supportsDescription = true
  private readonly lnd: AuthenticatedLnd
  private readonly listeners = new Set<(hash: string) => void>()
  private subscription: ReturnType<typeof subscribeToInvoices> | null = null
  private readonly feePercent: number
  private readonly minFeeMsat: number
  private readonly pendingAfterMs: number

  constructor(opts: LndBackendOptions) {
    // ln-service wants the PEM file's bytes in base64; accept PEM text too.
    const certText = opts.cert ?? (opts.certPath ? readFileSync(opts.certPath, 'utf8') : undefined)
    const cert = certText?.includes('BEGIN CERTIFICATE')
      ? Buffer.from(certText).toString('base64')
      : certText
    const macRaw =
      opts.macaroon ??
      (opts.macaroonPath ? readFileSync(opts.macaroonPath).toString('hex') : undefined)
    if (!macRaw) throw new Error('LND backend needs a macaroon.')
    redact(macRaw)
    this.lnd = authenticatedLndGrpc({
      socket: opts.socket,
      macaroon: macRaw,
      ...(cert ? { cert } : {}),
    }).lnd
    this.feePercent = opts.feeReservePercent ?? 1
    this.minFeeMsat = opts.minFeeReserveMsat ?? 2000
    this.pendingAfterMs = opts.pendingAfterMs ?? 30_000
  }

  /** Invoices we issued and have not seen paid: polled as a safety net for the stream. */
  private readonly watched = new Map<string, number>()
  private poller: NodeJS.Timeout | null = null

  private emitPaid(hash: string) {
    if (!this.watched.delete(hash)) return
    for (const l of this.listeners) l(hash)
  }

  private ensureSubscription() {
    if (!this.subscription) {
      const sub = subscribeToInvoices({ lnd: this.lnd })
      sub.on('invoice_updated', (inv: { id: string; is_confirmed: boolean }) => {
        if (inv.is_confirmed) this.emitPaid(inv.id)
      })
      // ln-service restarts the stream itself (keeping its cursors); nothing to do here.
      sub.on('error', () => undefined)
      this.subscription = sub
    }
    // The stream only carries updates made after it is established; a payment that lands in
    // that gap, or while it reconnects, is still found by polling the invoices we issued.
    if (!this.poller) {
      this.poller = setInterval(() => void this.pollWatched(), 2000)
      this.poller.unref()
    }
  }

  private async pollWatched() {
    const now = Date.now() / 1000
    for (const [hash, expiry] of this.watched) {
      if (expiry < now - 60) {
        this.watched.delete(hash)
        continue
      }
      const s = await this.checkIncoming(hash).catch(() => undefined)
      if (s?.state === 'PAID') this.emitPaid(hash)
    }
  }

  async createIncomingRequest(opts: {
    amountMsat: number
    description: string | null
    expirySeconds: number
  }): Promise<IncomingRequest> {
    const expiresAt = new Date(Date.now() + opts.expirySeconds * 1000)
    const inv = await createInvoice({
      lnd: this.lnd,
      mtokens: String(opts.amountMsat),
      description: opts.description ?? '',
      expires_at: expiresAt.toISOString(),
    })
    const expiry = Math.floor(expiresAt.getTime() / 1000)
    this.watched.set(inv.id, expiry)
    return {
      request: inv.request,
      paymentHash: inv.id,
      expiry,
    }
  }

  async quoteOutgoing(request: string): Promise<OutgoingQuote> {
    const d = await decodePaymentRequest({ lnd: this.lnd, request })
    const amountMsat = Number(d.mtokens)
    if (!amountMsat) throw new Error('amountless invoices are not supported')
    const reserve = Math.max(this.minFeeMsat, Math.ceil((amountMsat * this.feePercent) / 100))
    return {
      paymentHash: d.id,
      amountMsat,
      feeReserveMsat: Math.ceil(reserve / 1000) * 1000,
      expiry: Math.floor(new Date(d.expires_at).getTime() / 1000),
    }
  }

  /**
   * Pay through LND's router and follow the payment. Resolves with the final state, or PENDING
   * when it is still in flight after `pendingAfterMs` (an HTLC held downstream); the mint then
   * keeps asking checkOutgoing until LND settles it.
   */
  makePayment(opts: {
    request: string
    paymentHash: string
    maxFeeMsat: number
  }): Promise<OutgoingStatus> {
    return new Promise<OutgoingStatus>((resolve) => {
      let settled = false
      const finish = (s: OutgoingStatus) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(s)
      }
      const timer = setTimeout(() => finish({ state: 'PENDING' }), this.pendingAfterMs)
      let sub: ReturnType<typeof subscribeToPayViaRequest>
      try {
        sub = subscribeToPayViaRequest({
          lnd: this.lnd,
          request: opts.request,
          max_fee_mtokens: String(opts.maxFeeMsat),
        })
      } catch (err) {
        finish({ state: 'FAILED', reason: lnError(err).message })
        return
      }
      const done = () => setImmediate(() => sub.removeAllListeners())
      sub.on('confirmed', (p: { secret: string; fee_mtokens: string }) => {
        finish({ state: 'PAID', preimage: p.secret, feePaidMsat: Number(p.fee_mtokens) })
        done()
      })
      sub.on('failed', () => {
        finish({ state: 'FAILED', reason: 'LND could not find a route or the payment was refused' })
        done()
      })
      sub.on('error', (err: unknown) => {
        done()
        // The call failing does not prove the payment failed: ask LND what happened.
        void this.checkOutgoing(opts.paymentHash)
          .catch(() => null)
          .then((status) => {
            if (status && status.state !== 'UNKNOWN') return finish(status)
            const e = lnError(err)
            // LND refused before sending anything (bad invoice, self-payment, …).
            if (status?.state === 'UNKNOWN' && e.code >= 400 && e.code < 600)
              return finish({ state: 'FAILED', reason: e.message })
            finish({ state: 'PENDING' })
          })
      })
    })
  }

  async checkOutgoing(paymentHash: string): Promise<OutgoingStatus> {
    try {
      const p = await getPayment({ lnd: this.lnd, id: paymentHash })
      if (p.is_confirmed && p.payment)
        return {
          state: 'PAID',
          preimage: p.payment.secret,
          feePaidMsat: Number(p.payment.fee_mtokens),
        }
      if (p.is_failed) return { state: 'FAILED', reason: 'LND reports the payment failed' }
      return { state: 'PENDING' }
    } catch (err) {
      const e = lnError(err)
      if (e.code === 404) return { state: 'UNKNOWN' }
      throw err
    }
  }

  private identity: Promise<string> | null = null

  nodePubkey(): Promise<string> {
    // The identity key never changes for a node; a failed lookup is retried next time.
    this.identity ??= getWalletInfo({ lnd: this.lnd }).then(
      (info) => info.public_key,
      (err: unknown) => {
        this.identity = null
        throw new Error(`LND did not tell its node key: ${lnError(err).message}`)
      },
    )
    return this.identity
  }

  async incomingPreimage(paymentHash: string): Promise<string | null> {
    try {
      const inv = await getInvoice({ lnd: this.lnd, id: paymentHash })
      return inv.secret ?? null
    } catch (err) {
      if (invoiceNotFound(err)) return null
      throw err
    }
  }

  async cancelIncoming(paymentHash: string): Promise<void> {
    // LND's CancelInvoice (invoicesrpc; the mint's macaroon has invoices:write) cancels any open
    // invoice, not only hold ones; it refuses a settled one, which is then left as it is.
    const inv = await getInvoice({ lnd: this.lnd, id: paymentHash }).catch((err: unknown) => {
      if (invoiceNotFound(err)) return undefined
      throw err
    })
    if (!inv || inv.is_confirmed || inv.is_canceled) return
    await cancelHodlInvoice({ lnd: this.lnd, id: paymentHash })
  }

  async checkIncoming(paymentHash: string): Promise<IncomingStatus> {
    try {
      const inv = await getInvoice({ lnd: this.lnd, id: paymentHash })
      return inv.is_confirmed
        ? { state: 'PAID', amountMsat: Number(inv.received_mtokens) }
        : { state: 'UNPAID' }
    } catch (err) {
      if (invoiceNotFound(err)) return { state: 'UNPAID' }
      throw err
    }
  }

  onIncomingPaid(listener: (paymentHash: string) => void): () => void {
    this.listeners.add(listener)
    this.ensureSubscription()
    return () => this.listeners.delete(listener)
  }

  async status(): Promise<BackendStatus> {
    try {
      const info = await getWalletInfo({ lnd: this.lnd })
      return {
        ok: info.is_synced_to_chain,
        name: this.name,
        detail: `LND ${info.alias || info.public_key.slice(0, 12)}: ${info.active_channels_count} active channels${info.is_synced_to_chain ? '' : ', not synced to chain yet'}.`,
      }
    } catch (err) {
      return {
        ok: false,
        name: this.name,
        detail: `LND is not reachable: ${lnError(err).message}.`,
      }
    }
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller)
    this.poller = null
    this.watched.clear()
    this.subscription?.removeAllListeners()
    this.subscription = null
    this.listeners.clear()
  }
}
