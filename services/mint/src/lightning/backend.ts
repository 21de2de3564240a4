// One narrow interface for every Lightning backend the mint can use (like CDK's MintPayment
// trait, crates/cdk-common/src/payment.rs): create an incoming request, quote an outgoing one,
// pay, stream incoming payments, check either side by payment hash. LND (through ln-service)
// and the fake wallet implement it; backend.conformance.ts runs the same tests on both.
export type OutgoingStatus =
  | { state: 'PAID'; preimage: string | null; feePaidMsat: number }
  | { state: 'PENDING' }
  | { state: 'FAILED'; reason: string }
  /** The backend has never seen a payment for this hash. */
  | { state: 'UNKNOWN' }

export type IncomingStatus = { state: 'PAID'; amountMsat: number } | { state: 'UNPAID' }

export interface IncomingRequest {
  request: string
  paymentHash: string
  /** Unix seconds. */
  expiry: number
}

export interface OutgoingQuote {
  paymentHash: string
  amountMsat: number
  /** Most the mint will spend on routing fees, in msat. */
  feeReserveMsat: number
  /** Unix seconds the invoice stays payable. */
  expiry: number
}

export interface BackendStatus {
  ok: boolean
  name: string
  detail: string
}

export interface LightningBackend {
  readonly name: string
  /** Whether invoices can carry a description (NUT-23 setting). */
  readonly supportsDescription: boolean
  createIncomingRequest(opts: {
    amountMsat: number
    description: string | null
    expirySeconds: number
  }): Promise<IncomingRequest>
  quoteOutgoing(request: string): Promise<OutgoingQuote>
  /** Pay `request`, spending at most `maxFeeMsat` on fees. Resolves with the final or pending state. */
  makePayment(opts: {
    request: string
    paymentHash: string
    maxFeeMsat: number
  }): Promise<OutgoingStatus>
  checkOutgoing(paymentHash: string): Promise<OutgoingStatus>
  checkIncoming(paymentHash: string): Promise<IncomingStatus>
  /**
   * The node's identity public key (hex, 33 bytes compressed): the payee of every invoice it
   * issues. The mint compares it with a melt invoice's payee: a Lightning node cannot pay itself.
   */
  nodePubkey(): Promise<string>
  /** Preimage of an invoice this node issued (whether paid or not), or null when not ours. */
  incomingPreimage(paymentHash: string): Promise<string | null>
  /**
   * Cancels an invoice this node issued that is still open: a mint quote settled inside the box
   * must not be payable a second time over Lightning. A paid, canceled or unknown one is left as
   * it is (resolves all the same).
   */
  cancelIncoming(paymentHash: string): Promise<void>
  /** Stream of settled incoming payments; returns the unsubscribe function. */
  onIncomingPaid(listener: (paymentHash: string) => void): () => void
  status(): Promise<BackendStatus>
  close(): Promise<void>
}

export const msatToSat = (msat: number): number => Math.floor(msat / 1000)
export const satToMsat = (sat: number): number => sat * 1000
