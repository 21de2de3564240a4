// The mint's storage, behind one narrow interface (like CDK's MintDatabase trait) so SQLite today
// and PostgreSQL later pass the same conformance suite (store.conformance.ts).
//
// Money safety lives here: every method is ONE transaction. A proof's Y is claimed atomically
// (one table keyed by Y with a state), blinded outputs B_ are unique, quote and proof state
// change together, and at most one melt per payment hash is PENDING or PAID.
// Methods are async so a networked database can implement them; no Lightning call ever runs
// inside one of them.
import type { BlindedMessage } from '../nut00-models'
import type { KeysetInfo } from '../nut02-keysets'

export type ProofState = 'UNSPENT' | 'PENDING' | 'SPENT'
export type MintQuoteState = 'UNPAID' | 'PAID' | 'ISSUED'
export type MeltQuoteState = 'UNPAID' | 'PENDING' | 'PAID'

/** A keyset as stored: what NUT-02 describes, without the derived keys. */
export type KeysetRow = KeysetInfo

export interface StoredProof {
  y: string
  keysetId: string
  amount: number
  secret: string
  C: string
  witness: string | null
}

export interface StoredSignature {
  B_: string
  keysetId: string
  amount: number
  C_: string
  dleq: { e: string; s: string } | null
}

export interface MintQuote {
  id: string
  method: string
  unit: string
  amount: number
  request: string
  paymentHash: string
  description: string | null
  pubkey: string | null
  state: MintQuoteState
  expiry: number
  createdAt: number
  paidAt: number | null
  issuedAt: number | null
  /**
   * How it became PAID without a Lightning payment reaching the node: 'melt' (a melt at this mint
   * paid it, settled internally), 'box' (the box settled it, POST /internal/v1/…/settle).
   * null or absent: paid over Lightning, or not paid yet.
   */
  settledBy?: MintQuoteSettlement | null
}

export type MintQuoteSettlement = 'melt' | 'box'
/**
 * How a melt quote is paid: 'lightning' (the backend pays it), 'mint-quote' (the invoice is one
 * of this mint's own UNPAID mint quotes: settled in the store, NUT-05 internal melt), 'box' (the
 * invoice is on the mint's own node but not its quote: the box's settlement hook settles it).
 */
export type MeltSettlement = 'lightning' | 'mint-quote' | 'box'

export interface MeltQuote {
  id: string
  method: string
  unit: string
  request: string
  paymentHash: string
  amount: number
  feeReserve: number
  state: MeltQuoteState
  expiry: number
  createdAt: number
  paymentPreimage: string | null
  feePaid: number | null
  paidAt: number | null
  /** Absent means 'lightning'. */
  settlement?: MeltSettlement
}

/** A melt in flight, persisted step by step so a crash at any step is recoverable. */
export interface MeltSaga {
  quoteId: string
  /** reserved: proofs PENDING, Lightning not called yet. paying: the payment may have left. */
  step: 'reserved' | 'paying'
  inputYs: string[]
  inputAmount: number
  inputFee: number
  outputs: BlindedMessage[]
  createdAt: number
  updatedAt: number
}

export interface Liability {
  keysetId: string
  unit: string
  active: boolean
  issued: number
  redeemed: number
  outstanding: number
}

export interface MintStore {
  listKeysets(): Promise<KeysetRow[]>
  /** Insert a keyset; when it is active, every other keyset of its unit becomes inactive. */
  addKeyset(row: KeysetRow): Promise<void>

  proofStates(
    ys: readonly string[],
  ): Promise<Map<string, { state: ProofState; witness: string | null }>>
  /** Swap: inputs SPENT and outputs signed, or nothing. Throws 11001/11002/11003/11004. */
  swap(inputs: readonly StoredProof[], outputs: readonly StoredSignature[]): Promise<void>
  signaturesFor(B_s: readonly string[]): Promise<Map<string, StoredSignature>>

  addMintQuote(q: MintQuote): Promise<void>
  mintQuote(id: string): Promise<MintQuote | undefined>
  mintQuoteByPaymentHash(hash: string): Promise<MintQuote | undefined>
  /** UNPAID → PAID; returns false when it was not UNPAID. `settledBy` when paid internally. */
  markMintQuotePaid(id: string, at: number, settledBy?: MintQuoteSettlement): Promise<boolean>
  /** PAID → ISSUED and outputs signed, or nothing. Throws 20001/20002/11003/11004. */
  issueMintQuote(id: string, outputs: readonly StoredSignature[], at: number): Promise<void>
  listMintQuotes(limit: number): Promise<MintQuote[]>
  unpaidMintQuotes(now: number): Promise<MintQuote[]>

  addMeltQuote(q: MeltQuote): Promise<void>
  meltQuote(id: string): Promise<MeltQuote | undefined>
  listMeltQuotes(limit: number): Promise<MeltQuote[]>
  /**
   * Melt step 1: inputs PENDING, blank outputs reserved, quote UNPAID → PENDING, saga written.
   * Throws 11001/11002/11003/11004, 20005 (quote pending), 20006 (already paid: this quote or
   * another one for the same payment hash).
   */
  beginMelt(saga: MeltSaga, inputs: readonly StoredProof[]): Promise<void>
  /** Melt step 2: record that the Lightning payment is about to be (or was) sent. */
  markMeltPaying(quoteId: string, at: number): Promise<void>
  /** Melt settled: inputs SPENT, change signed (unused blanks dropped), quote PAID, saga gone. */
  settleMelt(
    quoteId: string,
    result: { preimage: string | null; feePaid: number; change: readonly StoredSignature[] },
    at: number,
  ): Promise<void>
  /** Melt failed: inputs UNSPENT again, blanks dropped, quote UNPAID, saga gone. */
  releaseMelt(quoteId: string): Promise<void>
  /**
   * NUT-05 internal melt against this mint's own mint quote, in ONE transaction: inputs SPENT,
   * change signed, melt quote PAID (fee 0), the mint quote UNPAID → PAID (settledBy 'melt').
   * Throws 11001–11004, 20005/20006 like beginMelt; 20006 when the mint quote is not UNPAID,
   * 20007 when it expired at `nowSec`.
   */
  meltAgainstMintQuote(args: {
    meltQuoteId: string
    mintQuoteId: string
    inputs: readonly StoredProof[]
    change: readonly StoredSignature[]
    preimage: string | null
    at: number
    nowSec: number
  }): Promise<void>
  meltSagas(): Promise<MeltSaga[]>
  /** The change signed for a settled melt, in the order of the wallet's blank outputs. */
  meltChange(quoteId: string): Promise<StoredSignature[]>

  cachedResponse(key: string, now: number): Promise<string | undefined>
  cacheResponse(key: string, body: string, expiresAt: number | null): Promise<void>

  liabilities(): Promise<Liability[]>
  close(): Promise<void>
}
