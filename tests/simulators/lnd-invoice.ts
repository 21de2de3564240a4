// SIMULATOR support — test-only. One LND invoice as both LND simulators keep it (the single node of
// lnd-simulator.ts and the world's nodes, world/lnd-node.ts) and the state changes LND's invoice
// registry makes to it (lnd invoices/invoiceregistry.go): add (a hold invoice is given only the
// hash), an HTLC accepted, settle, cancel, expiry. lnd-wire.ts turns it into lnrpc.Invoice.
import { createHash, randomBytes } from 'node:crypto'
import { encodeBolt11, type Bolt11Network } from './bolt11'
import { INVOICE_FEATURE_BITS } from './lnd-common'

export type InvoiceState = 'OPEN' | 'SETTLED' | 'CANCELED' | 'ACCEPTED'

/** lnrpc.InvoiceHTLC */
export interface InvoiceHtlcRecord {
  chan_id: string
  htlc_index: string
  amt_msat: string
  accept_height: number
  accept_time: string
  resolve_time: string
  expiry_height: number
  state: 'ACCEPTED' | 'SETTLED' | 'CANCELED'
  custom_records: Record<string, never>
  mpp_total_amt_msat: string
}

/** An invoice; `Waiter` is how the simulator answers the payer once the invoice resolves. */
export interface Invoice<Waiter> {
  hash: Buffer
  preimage: Buffer | null
  paymentAddr: Buffer
  valueMsat: bigint
  memo: string
  descriptionHash: Buffer
  expiry: number
  cltvExpiry: number
  creationDate: number
  settleDate: number
  paymentRequest: string
  addIndex: number
  settleIndex: number
  state: InvoiceState
  amtPaidMsat: bigint
  isHold: boolean
  private: boolean
  htlcs: InvoiceHtlcRecord[]
  /** Payers waiting for a hold invoice (or an incomplete multi-path set) to resolve. */
  waiters: Waiter[]
}

/** AddInvoice's and AddHoldInvoice's fields (a hold invoice has `hash` and no preimage). */
export interface InvoiceRequest {
  valueMsat: bigint
  memo: string
  descriptionHash?: Buffer
  expiry?: number
  cltvExpiry?: number
  preimage?: Buffer
  hash?: Buffer
  private?: boolean
}

const nowSec = () => Math.floor(Date.now() / 1000)
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()

/** A new OPEN invoice with a signed BOLT 11 request (LND's defaults: 24 h expiry, CLTV 80). */
export function newInvoice<Waiter>(
  req: InvoiceRequest,
  node: { network: Bolt11Network; nodeSecretKey: Uint8Array; addIndex: number },
): Invoice<Waiter> {
  const preimage = req.hash ? null : (req.preimage ?? randomBytes(32))
  const hash = req.hash ?? sha256(preimage!)
  const paymentAddr = randomBytes(32)
  const creationDate = nowSec()
  const expiry = req.expiry || 86_400
  const cltvExpiry = req.cltvExpiry || 80
  const paymentRequest = encodeBolt11({
    network: node.network,
    ...(req.valueMsat > 0n ? { amountMsat: req.valueMsat } : {}),
    timestamp: creationDate,
    paymentHash: hash.toString('hex'),
    paymentSecret: paymentAddr.toString('hex'),
    ...(req.descriptionHash?.length
      ? { descriptionHash: req.descriptionHash.toString('hex') }
      : { description: req.memo }),
    expirySeconds: expiry,
    minFinalCltvExpiry: cltvExpiry,
    featureBits: INVOICE_FEATURE_BITS,
    nodeSecretKey: node.nodeSecretKey,
  })
  return {
    hash,
    preimage,
    paymentAddr,
    valueMsat: req.valueMsat,
    memo: req.memo,
    descriptionHash: req.descriptionHash ?? Buffer.alloc(0),
    expiry,
    cltvExpiry,
    creationDate,
    settleDate: 0,
    paymentRequest,
    addIndex: node.addIndex,
    settleIndex: 0,
    state: 'OPEN',
    amtPaidMsat: 0n,
    isHold: !!req.hash,
    private: !!req.private,
    htlcs: [],
    waiters: [],
  }
}

/** Past its expiry (LND's expiry watcher cancels an OPEN one; an HTLC for it is refused). */
export const isExpired = (inv: Invoice<unknown>, nowMs = Date.now()): boolean =>
  nowMs / 1000 > inv.creationDate + inv.expiry

/** An HTLC the invoice accepts (its state stays ACCEPTED until the invoice resolves). */
export function acceptHtlc(
  inv: Invoice<unknown>,
  h: {
    chanId: string
    htlcIndex: number
    amtMsat: bigint
    acceptHeight: number
    expiryHeight: number
    totalMsat: bigint
  },
): void {
  inv.htlcs.push({
    chan_id: h.chanId,
    htlc_index: String(h.htlcIndex),
    amt_msat: h.amtMsat.toString(),
    accept_height: h.acceptHeight,
    accept_time: String(nowSec()),
    resolve_time: '0',
    expiry_height: h.expiryHeight,
    state: 'ACCEPTED',
    custom_records: {},
    mpp_total_amt_msat: h.totalMsat.toString(),
  })
}

/** SETTLED with the next settle index, its HTLCs with it; returns the payers to answer. */
export function settle<Waiter>(inv: Invoice<Waiter>, settleIndex: number): Waiter[] {
  inv.state = 'SETTLED'
  inv.settleDate = nowSec()
  inv.settleIndex = settleIndex
  for (const h of inv.htlcs) {
    h.state = 'SETTLED'
    h.resolve_time = String(inv.settleDate)
  }
  return inv.waiters.splice(0)
}

/** CANCELED, its HTLCs failed back and nothing paid; returns the payers to answer. */
export function cancel<Waiter>(inv: Invoice<Waiter>): Waiter[] {
  inv.state = 'CANCELED'
  for (const h of inv.htlcs) {
    h.state = 'CANCELED'
    h.resolve_time = String(nowSec())
  }
  inv.amtPaidMsat = 0n
  return inv.waiters.splice(0)
}
