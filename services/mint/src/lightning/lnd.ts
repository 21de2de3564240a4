// LND backend through ln-service (gRPC): createInvoice / subscribeToInvoices for incoming,
// decodePaymentRequest + payViaPaymentRequest / getPayment for outgoing.
import { readFileSync } from 'node:fs'
import {
  authenticatedLndGrpc,
  createInvoice,
  decodePaymentRequest,
  getInvoice,
  getPayment,
  getWalletInfo,
  payViaPaymentRequest,
  subscribeToInvoices,
  type AuthenticatedLnd,
} from 'ln-service'
import { redact } from '../../../../src/core/log'
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
}

/** ln-service errors are arrays: [httpLikeCode, 'Message', details?]. */
function lnError(err: unknown): { code: number; message: string } {
  if (Array.isArray(err)) return { code: Number(err[0]), message: String(err[1]) }
  return { code: 0, message: err instanceof Error ? err.message : String(err) }
}

export class LndBackend implements LightningBackend {
  readonly name = 'lnd'
  readonly supportsDescription = true
  private readonly lnd: AuthenticatedLnd
  private readonly listeners = new Set<(hash: string) => void>()
  private subscription: ReturnType<typeof subscribeToInvoices> | null = null
  private readonly feePercent: number
  private readonly minFeeMsat: number

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
  }

  private ensureSubscription() {
    if (this.subscription) return
    const sub = subscribeToInvoices({ lnd: this.lnd })
    sub.on('invoice_updated', (inv: { id: string; is_confirmed: boolean }) => {
      if (inv.is_confirmed) for (const l of this.listeners) l(inv.id)
    })
    sub.on('error', () => {
      // Reconnect on the next subscriber call or status check; missed payments are caught by
      // checkIncoming when a wallet asks about its quote.
      sub.removeAllListeners()
      this.subscription = null
      setTimeout(() => {
        if (this.listeners.size) this.ensureSubscription()
      }, 2000).unref()
    })
    this.subscription = sub
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
    return {
      request: inv.request,
      paymentHash: inv.id,
      expiry: Math.floor(expiresAt.getTime() / 1000),
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

  async makePayment(opts: {
    request: string
    paymentHash: string
    maxFeeMsat: number
  }): Promise<OutgoingStatus> {
    try {
      const r = await payViaPaymentRequest({
        lnd: this.lnd,
        request: opts.request,
        max_fee_mtokens: String(opts.maxFeeMsat),
      })
      return { state: 'PAID', preimage: r.secret, feePaidMsat: Number(r.fee_mtokens) }
    } catch (err) {
      // The call failing does not prove the payment failed: ask LND what happened.
      const status = await this.checkOutgoing(opts.paymentHash).catch(() => null)
      if (status && status.state !== 'UNKNOWN') return status
      const e = lnError(err)
      if (status?.state === 'UNKNOWN' && e.code >= 400 && e.code < 600)
        return { state: 'FAILED', reason: e.message }
      return { state: 'PENDING' }
    }
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

  async checkIncoming(paymentHash: string): Promise<IncomingStatus> {
    try {
      const inv = await getInvoice({ lnd: this.lnd, id: paymentHash })
      return inv.is_confirmed
        ? { state: 'PAID', amountMsat: Number(inv.received_mtokens) }
        : { state: 'UNPAID' }
    } catch (err) {
      if (lnError(err).code === 404) return { state: 'UNPAID' }
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
    this.subscription?.removeAllListeners()
    this.subscription = null
    this.listeners.clear()
  }
}
