// The mint: NUT-00…23 operations over a MintStore and a LightningBackend. HTTP and WebSocket
// live in http.ts / nut17-ws.ts; this file holds the rules that protect the money.
import { createHash, randomBytes } from 'node:crypto'
import { BAD_REQUEST, ErrorCode, MintError } from './errors'
import { parsePoint, pointHex, secretPoint, signBlinded, verifyProofSignature } from './nut00-bdhke'
import type { BlindedMessage, BlindSignature, Proof } from './nut00-models'
import { deriveKeysetKeys } from './nut01-keys'
import { inputFees, keysetIdV2, type Keyset, type KeysetInfo } from './nut02-keysets'
import { changeAmounts } from './nut08-fee-return'
import { verifySpendingConditions } from './nut11-p2pk'
import { dleqProof } from './nut12-dleq'
import { isValidQuotePubkey, verifyMintQuoteSignature } from './nut20-signed-quotes'
import { decodeBolt11 } from './nut23-bolt11'
import { crashPoint } from './fault-injection'
import type { MintConfig } from './config'
import type { LightningBackend, OutgoingStatus } from './lightning/backend'
import type {
  MeltQuote,
  MeltSaga,
  MeltSettlement,
  MintQuote,
  MintStore,
  ProofState,
  StoredProof,
  StoredSignature,
} from './store/store'
import type { Logger } from './log'
import { HookUnreachable, type InternalSettlementHook } from './internal-settlement'

/** Plain-word refusal of an invoice on the mint's own node when the box cannot settle it. */
export const OWN_NODE_DETAIL =
  "This invoice is on the mint's own Lightning node, which cannot pay itself."

export type MintEventPayload =
  | { kind: 'bolt11_mint_quote'; id: string; payload: MintQuoteResponse }
  | { kind: 'bolt11_melt_quote'; id: string; payload: MeltQuoteResponse }
  | { kind: 'proof_state'; id: string; payload: ProofStateResponse }

export interface MintQuoteResponse {
  quote: string
  request: string
  amount: number
  unit: string
  state: MintQuote['state']
  expiry: number
  pubkey?: string
}

export interface MeltQuoteResponse {
  quote: string
  request: string
  amount: number
  unit: string
  fee_reserve: number
  state: MeltQuote['state']
  expiry: number
  payment_preimage: string | null
  change?: BlindSignature[]
}

export interface ProofStateResponse {
  Y: string
  state: ProofState
  witness: string | null
}

const now = () => Math.floor(Date.now() / 1000)
const sha256Hex = (hex: string) =>
  createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex')
/** 128 random bits: quote ids must be unguessable (NUT-04 caution). */
export const newQuoteId = () => randomBytes(16).toString('hex')

export function mintQuoteResponse(q: MintQuote): MintQuoteResponse {
  return {
    quote: q.id,
    request: q.request,
    amount: q.amount,
    unit: q.unit,
    state: q.state,
    expiry: q.expiry,
    ...(q.pubkey ? { pubkey: q.pubkey } : {}),
  }
}

export function meltQuoteResponse(q: MeltQuote, change?: BlindSignature[]): MeltQuoteResponse {
  return {
    quote: q.id,
    request: q.request,
    amount: q.amount,
    unit: q.unit,
    fee_reserve: q.feeReserve,
    state: q.state,
    expiry: q.expiry,
    payment_preimage: q.paymentPreimage,
    ...(change ? { change } : {}),
  }
}

interface VerifiedInputs {
  stored: StoredProof[]
  amount: number
  fee: number
  unit: string
}

export class Mint {
  readonly keysets = new Map<string, Keyset>()
  private readonly listeners = new Set<(e: MintEventPayload) => void>()
  /** Melts this process is driving right now; the pending watcher leaves them alone. */
  private readonly inFlight = new Set<string>()
  private watcher: NodeJS.Timeout | null = null
  private unsubscribeIncoming: (() => void) | null = null

  constructor(
    readonly config: MintConfig,
    readonly store: MintStore,
    readonly backend: LightningBackend,
    private readonly seed: Uint8Array,
    private readonly log: Logger,
    /** The box's settlement hook (internal-settlement.ts); absent: own-node payees are refused. */
    private readonly hook: InternalSettlementHook | null = null,
  ) {}

  // --- lifecycle ---------------------------------------------------------------------------

  async start(): Promise<void> {
    const rows = await this.store.listKeysets()
    for (const r of rows) this.loadKeyset(r)
    if (![...this.keysets.values()].some((k) => k.active && k.unit === this.config.unit)) {
      await this.rotateKeyset(this.config.unit, this.config.inputFeePpk)
    }
    this.unsubscribeIncoming = this.backend.onIncomingPaid((hash) => {
      void this.onIncomingPaid(hash)
    })
    await this.recoverMelts()
    // Incoming payments may have arrived while the mint was down.
    for (const q of await this.store.unpaidMintQuotes(now())) {
      const s = await this.backend.checkIncoming(q.paymentHash).catch(() => undefined)
      if (s?.state === 'PAID') await this.onIncomingPaid(q.paymentHash)
    }
    this.watcher = setInterval(() => {
      void this.recoverMelts().catch((err) =>
        this.log.warn('pending melt check failed', { error: String(err) }),
      )
    }, this.config.pendingCheckIntervalMs)
    this.watcher.unref()
  }

  async stop(): Promise<void> {
    if (this.watcher) clearInterval(this.watcher)
    this.unsubscribeIncoming?.()
  }

  subscribe(fn: (e: MintEventPayload) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private emit(e: MintEventPayload) {
    for (const l of this.listeners) {
      try {
        l(e)
      } catch {
        // a broken subscriber never breaks the mint
      }
    }
  }

  private emitProofs(
    ys: readonly string[],
    state: ProofState,
    witnesses?: Map<string, string | null>,
  ) {
    for (const y of ys)
      this.emit({
        kind: 'proof_state',
        id: y,
        payload: { Y: y, state, witness: witnesses?.get(y) ?? null },
      })
  }

  // --- keysets (NUT-01, NUT-02) -------------------------------------------------------------

  private loadKeyset(r: KeysetInfo) {
    const keys = deriveKeysetKeys(this.seed, r.unit, r.derivationIndex, r.maxOrder)
    const id = keysetIdV2(keys.publicKeys, r.unit, r.inputFeePpk, r.finalExpiry)
    if (id !== r.id)
      throw new Error(
        `Keyset ${r.id} does not match the mint seed: the seed file was replaced or lost. ` +
          'Restore the mint’s secrets folder from a backup; never start over, wallets hold its eCash.',
      )
    this.keysets.set(id, { ...r, keys })
  }

  /** New active keyset for `unit`; older ones become inactive but stay redeemable. */
  async rotateKeyset(unit: string, inputFeePpk: number, finalExpiry: number | null = null) {
    const index =
      Math.max(
        -1,
        ...[...this.keysets.values()].filter((k) => k.unit === unit).map((k) => k.derivationIndex),
      ) + 1
    const keys = deriveKeysetKeys(this.seed, unit, index, this.config.maxOrder)
    const id = keysetIdV2(keys.publicKeys, unit, inputFeePpk, finalExpiry)
    const row = {
      id,
      unit,
      active: true,
      inputFeePpk,
      finalExpiry,
      derivationIndex: index,
      maxOrder: this.config.maxOrder,
      createdAt: Date.now(),
    }
    await this.store.addKeyset(row)
    for (const k of this.keysets.values()) if (k.unit === unit) k.active = false
    this.keysets.set(id, { ...row, keys })
    this.log.info('new active keyset', { id, unit, inputFeePpk })
    return row
  }

  activeKeysets(): Keyset[] {
    return [...this.keysets.values()].filter((k) => k.active)
  }

  private keyset(id: string): Keyset {
    const k = this.keysets.get(id)
    if (!k) throw new MintError(ErrorCode.KeysetNotKnown, 'Keyset is not known.')
    return k
  }

  private feeOf = (id: string) => this.keysets.get(id)?.inputFeePpk ?? 0

  // --- shared verification ------------------------------------------------------------------

  private verifyInputs(
    inputs: readonly Proof[],
    outputs: readonly BlindedMessage[],
    quoteId?: string,
  ): VerifiedInputs {
    if (inputs.length === 0)
      throw new MintError(ErrorCode.TransactionUnbalanced, 'No inputs provided.')
    if (inputs.length > this.config.maxInputs)
      throw new MintError(
        ErrorCode.MaxInputsExceeded,
        `Too many inputs (at most ${this.config.maxInputs}).`,
      )
    const units = new Set<string>()
    const ys = new Set<string>()
    const stored: StoredProof[] = []
    let amount = 0
    for (const p of inputs) {
      const ks = this.keyset(p.id)
      units.add(ks.unit)
      if (ks.finalExpiry !== null && ks.finalExpiry <= now())
        throw new MintError(ErrorCode.KeysetExpired, 'Keyset has expired.')
      const k = ks.keys.privateKeys.get(p.amount)
      if (!k)
        throw new MintError(ErrorCode.ProofVerificationFailed, `No key for amount ${p.amount}.`)
      const Y = secretPoint(p.secret) // once: the nullifier and the signature check both use it
      const y = pointHex(Y)
      if (ys.has(y)) throw new MintError(ErrorCode.DuplicateInputs, 'Duplicate inputs provided.')
      ys.add(y)
      if (!verifyProofSignature(p.secret, p.C, k, Y))
        throw new MintError(ErrorCode.ProofVerificationFailed, 'Could not verify proofs.')
      amount += p.amount
      stored.push({
        y,
        keysetId: p.id,
        amount: p.amount,
        secret: p.secret,
        C: p.C,
        witness: p.witness ?? null,
      })
    }
    if (units.size > 1) throw new MintError(ErrorCode.MultipleUnits, 'Inputs of multiple units.')
    verifySpendingConditions(inputs, outputs, quoteId)
    return { stored, amount, fee: inputFees(inputs, this.feeOf), unit: [...units][0]! }
  }

  /** Outputs: known, active keysets of one unit, unique B_, valid points. Amounts checked unless blank. */
  private verifyOutputs(
    outputs: readonly BlindedMessage[],
    blank = false,
  ): { amount: number; unit: string | null } {
    if (outputs.length > this.config.maxOutputs)
      throw new MintError(
        ErrorCode.MaxOutputsExceeded,
        `Too many outputs (at most ${this.config.maxOutputs}).`,
      )
    const units = new Set<string>()
    const seen = new Set<string>()
    let amount = 0
    for (const o of outputs) {
      const ks = this.keyset(o.id)
      if (!ks.active)
        throw new MintError(ErrorCode.KeysetInactive, 'Keyset is inactive, cannot sign messages.')
      if (ks.finalExpiry !== null && ks.finalExpiry <= now())
        throw new MintError(ErrorCode.KeysetExpired, 'Keyset has expired.')
      units.add(ks.unit)
      const b = o.B_.toLowerCase()
      if (seen.has(b))
        throw new MintError(ErrorCode.DuplicateOutputs, 'Duplicate outputs provided.')
      seen.add(b)
      try {
        parsePoint(o.B_)
      } catch {
        throw new MintError(
          ErrorCode.ProofVerificationFailed,
          'An output is not a valid curve point.',
        )
      }
      if (!blank) {
        if (!ks.keys.privateKeys.has(o.amount))
          throw new MintError(
            ErrorCode.AmountOutOfLimitRange,
            `Amount ${o.amount} is not supported by the keyset.`,
          )
        amount += o.amount
      }
    }
    if (units.size > 1) throw new MintError(ErrorCode.MultipleUnits, 'Outputs of multiple units.')
    return { amount, unit: units.size ? [...units][0]! : null }
  }

  /** Sign outputs (pure CPU, never inside a DB transaction). */
  signOutputs(outputs: readonly { amount: number; id: string; B_: string }[]): StoredSignature[] {
    return outputs.map((o) => {
      const ks = this.keyset(o.id)
      const k = ks.keys.privateKeys.get(o.amount)
      if (!k)
        throw new MintError(
          ErrorCode.AmountOutOfLimitRange,
          `Amount ${o.amount} is not supported by the keyset.`,
        )
      const B = parsePoint(o.B_)
      const C_ = signBlinded(B, k)
      return {
        B_: o.B_.toLowerCase(),
        keysetId: o.id,
        amount: o.amount,
        C_: pointHex(C_),
        dleq: dleqProof(B, k, C_),
      }
    })
  }

  static toBlindSignature(s: StoredSignature): BlindSignature {
    return { id: s.keysetId, amount: s.amount, C_: s.C_, ...(s.dleq ? { dleq: s.dleq } : {}) }
  }

  private lowerOutputs(outputs: readonly BlindedMessage[]): BlindedMessage[] {
    return outputs.map((o) => ({ ...o, B_: o.B_.toLowerCase() }))
  }

  // --- NUT-03 swap --------------------------------------------------------------------------

  async swap(
    inputs: Proof[],
    outputs: BlindedMessage[],
  ): Promise<{ signatures: BlindSignature[] }> {
    const ins = this.verifyInputs(inputs, outputs)
    const outs = this.verifyOutputs(outputs)
    // No outputs is fine when the inputs only pay the fee (a 1-sat proof at a 1-sat fee).
    if (outs.unit !== null && outs.unit !== ins.unit)
      throw new MintError(
        ErrorCode.InputsOutputsUnitMismatch,
        'Inputs and outputs are not of the same unit.',
      )
    if (ins.amount - ins.fee !== outs.amount)
      throw new MintError(
        ErrorCode.TransactionUnbalanced,
        `Inputs (${ins.amount}) minus fees (${ins.fee}) do not equal outputs (${outs.amount}).`,
      )
    const signed = this.signOutputs(this.lowerOutputs(outputs))
    await this.store.swap(ins.stored, signed)
    this.emitProofs(
      ins.stored.map((p) => p.y),
      'SPENT',
      new Map(ins.stored.map((p) => [p.y, p.witness])),
    )
    return { signatures: signed.map(Mint.toBlindSignature) }
  }

  // --- NUT-04 / NUT-23 mint -----------------------------------------------------------------

  private checkUnit(unit: string) {
    if (unit !== this.config.unit)
      throw new MintError(ErrorCode.UnitNotSupported, `Unit "${unit}" is not supported.`)
  }

  async createMintQuote(req: {
    amount: number
    unit: string
    description?: string | null
    pubkey?: string | null
  }): Promise<MintQuoteResponse> {
    if (this.config.mintingDisabled)
      throw new MintError(ErrorCode.MintingDisabled, 'Minting is disabled.')
    this.checkUnit(req.unit)
    if (req.amount < this.config.mintMinAmount || req.amount > this.config.mintMaxAmount)
      throw new MintError(
        ErrorCode.AmountOutOfLimitRange,
        `Amount must be between ${this.config.mintMinAmount} and ${this.config.mintMaxAmount}.`,
      )
    if (req.pubkey !== undefined && req.pubkey !== null && !isValidQuotePubkey(req.pubkey))
      throw new MintError(
        ErrorCode.MintQuotePubkeyRequired,
        'The quote pubkey is not a valid compressed public key.',
      )
    const incoming = await this.backend.createIncomingRequest({
      amountMsat: req.amount * 1000,
      description: req.description ?? null,
      expirySeconds: this.config.quoteTtlSeconds,
    })
    const q: MintQuote = {
      id: newQuoteId(),
      method: 'bolt11',
      unit: req.unit,
      amount: req.amount,
      request: incoming.request,
      paymentHash: incoming.paymentHash,
      description: req.description ?? null,
      pubkey: req.pubkey?.toLowerCase() ?? null,
      state: 'UNPAID',
      expiry: incoming.expiry,
      createdAt: now(),
      paidAt: null,
      issuedAt: null,
    }
    await this.store.addMintQuote(q)
    return mintQuoteResponse(q)
  }

  private async onIncomingPaid(paymentHash: string) {
    const q = await this.store.mintQuoteByPaymentHash(paymentHash)
    if (!q) return
    if (await this.store.markMintQuotePaid(q.id, now())) {
      const updated = await this.store.mintQuote(q.id)
      if (updated)
        this.emit({ kind: 'bolt11_mint_quote', id: q.id, payload: mintQuoteResponse(updated) })
    }
  }

  private async emitMintQuote(id: string) {
    const q = await this.store.mintQuote(id)
    if (q) this.emit({ kind: 'bolt11_mint_quote', id, payload: mintQuoteResponse(q) })
  }

  /**
   * The box settled this mint quote itself (POST /internal/v1/mint-quote/{id}/settle): it paid
   * from the box's own LND, which cannot pay its own node. Idempotent: PAID or ISSUED is answered
   * as it is. `undefined` = no such quote; `mismatch`/`expired` = refused, nothing changed.
   */
  async settleMintQuoteInternally(
    id: string,
    paymentHash: string,
  ): Promise<MintQuote['state'] | 'mismatch' | 'expired' | undefined> {
    const q = await this.store.mintQuote(id)
    if (!q) return undefined
    if (q.paymentHash !== paymentHash.toLowerCase()) return 'mismatch'
    if (q.state !== 'UNPAID') return q.state
    if (q.expiry <= now()) return 'expired'
    if (await this.store.markMintQuotePaid(id, now(), 'box')) {
      this.log.info('mint quote settled internally by the box', { quote: id, amount: q.amount })
      await this.emitMintQuote(id)
      await this.cancelSettledInvoice(id, q.paymentHash)
    }
    return (await this.store.mintQuote(id))?.state ?? q.state
  }

  async getMintQuote(id: string): Promise<MintQuoteResponse> {
    let q = await this.store.mintQuote(id)
    if (!q) throw new MintError(ErrorCode.QuoteNotPaid, 'Quote not found.')
    if (q.state === 'UNPAID') {
      const s = await this.backend.checkIncoming(q.paymentHash)
      if (s.state === 'PAID') {
        await this.onIncomingPaid(q.paymentHash)
        q = (await this.store.mintQuote(id)) ?? q
      }
    }
    return mintQuoteResponse(q)
  }

  async mint(req: { quote: string; outputs: BlindedMessage[]; signature?: string | null }) {
    if (this.config.mintingDisabled)
      throw new MintError(ErrorCode.MintingDisabled, 'Minting is disabled.')
    const q = await this.store.mintQuote(req.quote)
    if (!q) throw new MintError(ErrorCode.QuoteNotPaid, 'Quote not found.')
    if (q.state === 'ISSUED')
      throw new MintError(ErrorCode.QuoteAlreadyIssued, 'Quote already issued.')
    if (q.state === 'UNPAID') {
      const current = await this.getMintQuote(q.id)
      if (current.state === 'UNPAID') {
        if (q.expiry <= now()) throw new MintError(ErrorCode.QuoteExpired, 'Quote is expired.')
        throw new MintError(ErrorCode.QuoteNotPaid, 'Quote not paid.')
      }
    }
    if (q.pubkey) {
      if (!req.signature || !verifyMintQuoteSignature(q.pubkey, q.id, req.outputs, req.signature))
        throw new MintError(
          ErrorCode.MintQuoteSignatureInvalid,
          'No valid signature for this locked mint quote.',
        )
    }
    if (req.outputs.length === 0)
      throw new MintError(ErrorCode.TransactionUnbalanced, 'No outputs provided.')
    const outs = this.verifyOutputs(req.outputs)
    if (outs.unit !== q.unit)
      throw new MintError(
        ErrorCode.InputsOutputsUnitMismatch,
        'Outputs are not in the unit of the quote.',
      )
    if (outs.amount !== q.amount)
      throw new MintError(
        ErrorCode.TransactionUnbalanced,
        `Outputs (${outs.amount}) do not equal the quote amount (${q.amount}).`,
      )
    const signed = this.signOutputs(this.lowerOutputs(req.outputs))
    await this.store.issueMintQuote(q.id, signed, now())
    const issued = await this.store.mintQuote(q.id)
    if (issued)
      this.emit({ kind: 'bolt11_mint_quote', id: q.id, payload: mintQuoteResponse(issued) })
    return { signatures: signed.map(Mint.toBlindSignature) }
  }

  // --- NUT-05 / NUT-08 / NUT-23 melt --------------------------------------------------------

  async createMeltQuote(req: {
    request: string
    unit: string
    options?: { amountless?: { amount_msat: number } } | null
  }): Promise<MeltQuoteResponse> {
    if (this.config.meltingDisabled)
      throw new MintError(ErrorCode.MintingDisabled, 'Melting is disabled.')
    this.checkUnit(req.unit)
    let inv
    try {
      inv = decodeBolt11(req.request)
    } catch (err) {
      throw new MintError(
        10000,
        `The Lightning invoice is not valid: ${err instanceof Error ? err.message : 'unreadable'}.`,
      )
    }
    if (inv.amountMsat === null)
      throw new MintError(
        ErrorCode.AmountlessInvoiceNotSupported,
        'Amountless invoices are not supported.',
      )
    // An expired invoice cannot be paid: refuse it now rather than hand out a quote that only
    // fails at melt time as "Quote is expired". error_codes.md has no code for this, so it is
    // the generic bad-request code with a detail that says what to do.
    const expiredAt = (at: number) =>
      new MintError(
        BAD_REQUEST,
        `The Lightning invoice expired at ${new Date(at * 1000).toISOString()}; ask the payee for a new invoice.`,
      )
    const invoiceExpiry = inv.timestamp + inv.expirySeconds
    if (invoiceExpiry <= now()) throw expiredAt(invoiceExpiry)
    const quote = await this.backend.quoteOutgoing(req.request)
    if (quote.expiry <= now()) throw expiredAt(quote.expiry)
    const amount = Math.ceil(quote.amountMsat / 1000)
    if (amount < this.config.meltMinAmount || amount > this.config.meltMaxAmount)
      throw new MintError(
        ErrorCode.AmountOutOfLimitRange,
        `Amount must be between ${this.config.meltMinAmount} and ${this.config.meltMaxAmount}.`,
      )
    const settlement = await this.meltSettlement(
      req.request,
      inv.payeePubkey,
      quote.paymentHash,
      quote.amountMsat,
      req.unit,
    )
    const q: MeltQuote = {
      id: newQuoteId(),
      method: 'bolt11',
      unit: req.unit,
      request: req.request,
      paymentHash: quote.paymentHash,
      amount,
      // Settled without Lightning: no routing fee to reserve.
      feeReserve: settlement === 'lightning' ? Math.ceil(quote.feeReserveMsat / 1000) : 0,
      state: 'UNPAID',
      expiry: Math.min(quote.expiry, now() + this.config.quoteTtlSeconds),
      createdAt: now(),
      paymentPreimage: null,
      feePaid: null,
      paidAt: null,
      settlement,
    }
    await this.store.addMeltQuote(q)
    return meltQuoteResponse(q)
  }

  /**
   * How a melt of this invoice is paid. One of this mint's own mint quotes → settled in the store
   * (NUT-05 internal melt, as nutshell and CDK do); another invoice of the mint's own node → the
   * box's settlement hook, or refused without one (LND cannot pay its own node); else Lightning.
   */
  private async meltSettlement(
    request: string,
    payee: string,
    paymentHash: string,
    amountMsat: number,
    unit: string,
  ): Promise<MeltSettlement> {
    const own = await this.store.mintQuoteByPaymentHash(paymentHash)
    // The very invoice the mint issued, not another one that only reuses its payment hash.
    if (own && own.request.toLowerCase() === request.trim().toLowerCase()) {
      if (own.state !== 'UNPAID')
        throw new MintError(ErrorCode.InvoiceAlreadyPaid, 'Invoice already paid.')
      if (own.expiry <= now())
        throw new MintError(ErrorCode.QuoteExpired, 'The invoice has expired.')
      if (own.unit !== unit || own.amount * 1000 !== amountMsat)
        throw new MintError(
          ErrorCode.AmountMismatch,
          `The invoice asks for ${amountMsat} msat but its mint quote is for ${own.amount} ${own.unit}.`,
        )
      return 'mint-quote'
    }
    let nodeKey: string
    try {
      nodeKey = await this.backend.nodePubkey()
    } catch (err) {
      throw new MintError(
        ErrorCode.LightningPaymentFailed,
        `The mint cannot reach its Lightning node to check the invoice: ${err instanceof Error ? err.message : 'no answer'}.`,
      )
    }
    if (payee.toLowerCase() !== nodeKey.toLowerCase()) return 'lightning'
    if (!this.hook) throw new MintError(ErrorCode.LightningPaymentFailed, OWN_NODE_DETAIL)
    return 'box'
  }

  async getMeltQuote(id: string): Promise<MeltQuoteResponse> {
    const q = await this.store.meltQuote(id)
    if (!q) throw new MintError(ErrorCode.QuoteNotPaid, 'Quote not found.')
    if (q.state === 'PENDING' && !this.inFlight.has(id)) await this.checkPendingMelt(id)
    const fresh = (await this.store.meltQuote(id)) ?? q
    // A wallet that lost the melt's answer (network cut, mint restart) still gets its change.
    const change = fresh.state === 'PAID' ? await this.store.meltChange(id) : []
    return meltQuoteResponse(fresh, change.length ? change.map(Mint.toBlindSignature) : undefined)
  }

  async melt(req: {
    quote: string
    inputs: Proof[]
    outputs?: BlindedMessage[] | null
    prefer_async?: boolean | null
  }): Promise<MeltQuoteResponse> {
    if (this.config.meltingDisabled)
      throw new MintError(ErrorCode.MintingDisabled, 'Melting is disabled.')
    const q = await this.store.meltQuote(req.quote)
    if (!q) throw new MintError(ErrorCode.QuoteNotPaid, 'Quote not found.')
    if (q.state === 'PENDING') throw new MintError(ErrorCode.QuotePending, 'Quote is pending.')
    if (q.state === 'PAID')
      throw new MintError(ErrorCode.InvoiceAlreadyPaid, 'Invoice already paid.')
    if (q.expiry <= now()) throw new MintError(ErrorCode.QuoteExpired, 'Quote is expired.')
    // Quoted while the box's hook was set, melted after a restart without it: nobody can pay it.
    if (q.settlement === 'box' && !this.hook)
      throw new MintError(ErrorCode.LightningPaymentFailed, OWN_NODE_DETAIL)
    const blanks = this.lowerOutputs(req.outputs ?? [])
    // SIG_ALL signs the outputs exactly as the wallet sent them.
    const ins = this.verifyInputs(req.inputs, req.outputs ?? [], q.id)
    const outs = this.verifyOutputs(blanks, true)
    if (ins.unit !== q.unit || (outs.unit !== null && outs.unit !== q.unit))
      throw new MintError(
        ErrorCode.InputsOutputsUnitMismatch,
        'Inputs and outputs are not in the unit of the quote.',
      )
    const needed = q.amount + q.feeReserve
    if (ins.amount - ins.fee < needed)
      throw new MintError(
        ErrorCode.TransactionUnbalanced,
        `Inputs (${ins.amount}) minus fees (${ins.fee}) do not cover amount plus fee reserve (${needed}).`,
      )
    if (q.settlement === 'mint-quote') return this.meltAgainstMintQuote(q, ins, blanks)
    const saga: MeltSaga = {
      quoteId: q.id,
      step: 'reserved',
      inputYs: ins.stored.map((p) => p.y),
      inputAmount: ins.amount,
      inputFee: ins.fee,
      outputs: blanks,
      createdAt: Date.now(),
      updatedAt: Date.now(),
    }
    this.inFlight.add(q.id)
    try {
      // Step 1 (one transaction): proofs PENDING, blanks reserved, quote PENDING, saga stored.
      await this.store.beginMelt(saga, ins.stored)
      crashPoint('after_reserve')
      this.emitProofs(saga.inputYs, 'PENDING')
      await this.emitMeltQuote(q.id)
      const run = this.payMelt(q, saga)
      if (req.prefer_async) {
        void run.catch(() => undefined).finally(() => this.inFlight.delete(q.id))
        const pending = await this.store.meltQuote(q.id)
        return meltQuoteResponse(pending ?? q)
      }
      const result = await run
      return result
    } finally {
      if (!req.prefer_async) this.inFlight.delete(q.id)
    }
  }

  /** Steps 2–3: mark "paying", call Lightning (outside any transaction), then settle or release. */
  private async payMelt(q: MeltQuote, saga: MeltSaga): Promise<MeltQuoteResponse> {
    await this.store.markMeltPaying(q.id, Date.now())
    crashPoint('before_payment')
    if (q.settlement === 'box') return this.payMeltByBox(q, saga)
    let status: OutgoingStatus
    try {
      const paying = this.backend.makePayment({
        request: q.request,
        paymentHash: q.paymentHash,
        maxFeeMsat: q.feeReserve * 1000,
      })
      crashPoint('during_payment')
      status = await paying
    } catch (err) {
      this.log.warn('Lightning payment call failed; asking the node what happened', {
        quote: q.id,
        error: String(err),
      })
      status = await this.backend
        .checkOutgoing(q.paymentHash)
        .catch(() => ({ state: 'PENDING' }) as const)
    }
    crashPoint('after_payment')
    return this.finishMelt(q.id, saga, status, true)
  }

  /**
   * NUT-05 internal melt: the invoice is one of this mint's own UNPAID mint quotes, so no
   * Lightning payment can or need happen. One store transaction spends the inputs, signs the
   * change (fee 0), marks the melt quote PAID and the mint quote PAID for its owner to mint.
   */
  private async meltAgainstMintQuote(
    q: MeltQuote,
    ins: VerifiedInputs,
    blanks: BlindedMessage[],
  ): Promise<MeltQuoteResponse> {
    const mq = await this.store.mintQuoteByPaymentHash(q.paymentHash)
    if (!mq) throw new MintError(ErrorCode.QuoteNotPaid, 'The invoice’s mint quote is not found.')
    const overpaid = ins.amount - ins.fee - q.amount
    const amounts = overpaid > 0 ? changeAmounts(overpaid, blanks.length) : []
    const change = this.signOutputs(
      amounts.map((amount, i) => ({ amount, id: blanks[i]!.id, B_: blanks[i]!.B_ })),
    )
    const preimage = await this.backend.incomingPreimage(q.paymentHash).catch(() => null)
    await this.store.meltAgainstMintQuote({
      meltQuoteId: q.id,
      mintQuoteId: mq.id,
      inputs: ins.stored,
      change,
      preimage: preimage !== null && sha256Hex(preimage) === q.paymentHash ? preimage : null,
      at: Date.now(),
      nowSec: now(),
    })
    this.emitProofs(
      ins.stored.map((p) => p.y),
      'SPENT',
      new Map(ins.stored.map((p) => [p.y, p.witness])),
    )
    const paid = (await this.store.meltQuote(q.id))!
    const response = meltQuoteResponse(paid, change.map(Mint.toBlindSignature))
    this.emit({ kind: 'bolt11_melt_quote', id: q.id, payload: response })
    await this.emitMintQuote(mq.id)
    this.log.info('melt settled internally against a mint quote', {
      quote: q.id,
      mintQuote: mq.id,
      amount: q.amount,
    })
    await this.cancelSettledInvoice(mq.id, q.paymentHash)
    return response
  }

  /**
   * A mint quote settled inside the box: its Lightning invoice is cancelled, so a payer cannot
   * pay it a second time over Lightning (the sats would reach the node and mint nothing). After
   * the quote is PAID on disk; a failure is logged and changes nothing for the quote.
   */
  private async cancelSettledInvoice(mintQuoteId: string, paymentHash: string): Promise<void> {
    try {
      await this.backend.cancelIncoming(paymentHash)
    } catch (err) {
      this.log.warn('the Lightning invoice of a mint quote settled inside the box stays open', {
        quote: mintQuoteId,
        error: String((err as Error).message ?? err),
      })
    }
  }

  /**
   * The invoice is on the mint's own node but not its quote (a BTCPay invoice of the box's
   * shop): the box's settlement hook settles it. The proofs are PENDING (persisted) before the
   * one /pay call; PAID settles, FAILED / NOT_INTERNAL release, anything else stays PENDING for
   * the pending-check loop, which asks /status and never /pay again.
   */
  private async payMeltByBox(q: MeltQuote, saga: MeltSaga): Promise<MeltQuoteResponse> {
    let status: OutgoingStatus
    try {
      const answer = await this.hook!.pay({
        paymentHash: q.paymentHash,
        bolt11: q.request,
        amountMsat: decodeBolt11(q.request).amountMsat ?? q.amount * 1000,
        meltQuote: q.id,
      })
      crashPoint('after_payment')
      status = this.hookStatus(answer, q.paymentHash)
    } catch (err) {
      if (!(err instanceof HookUnreachable)) throw err
      if (err.refused) {
        // The box turned the request away before doing anything: nothing to wait for.
        this.log.warn('the box refused to settle the melt', { quote: q.id, error: err.message })
        status = { state: 'FAILED', reason: err.message }
      } else {
        this.log.warn('the box did not settle the melt yet; it stays pending', {
          quote: q.id,
          error: err.message,
        })
        status = { state: 'PENDING' }
      }
    }
    return this.finishMelt(q.id, saga, status, true)
  }

  /** The hook's answer as a payment status; NOT_INTERNAL means nothing was done: a failure. */
  private hookStatus(
    answer: Awaited<ReturnType<InternalSettlementHook['status']>>,
    paymentHash: string,
  ): OutgoingStatus {
    switch (answer.state) {
      case 'PAID': {
        const ok = answer.preimage !== null && sha256Hex(answer.preimage) === paymentHash
        if (answer.preimage !== null && !ok)
          this.log.warn('the box settled an invoice but its preimage does not match; kept none', {
            hash: paymentHash,
          })
        return { state: 'PAID', preimage: ok ? answer.preimage : null, feePaidMsat: 0 }
      }
      case 'FAILED':
        return { state: 'FAILED', reason: answer.reason }
      case 'NOT_INTERNAL':
        return {
          state: 'FAILED',
          reason: 'the box does not know this invoice of its own Lightning node',
        }
      case 'UNKNOWN':
        return { state: 'UNKNOWN' }
      default:
        return { state: 'PENDING' }
    }
  }

  /**
   * Apply what Lightning says happened. PAID → settle (proofs SPENT, change signed);
   * FAILED (or UNKNOWN: the payment never left) → release (proofs UNSPENT). Never both.
   */
  private async finishMelt(
    quoteId: string,
    saga: MeltSaga,
    status: OutgoingStatus,
    throwOnFailure: boolean,
  ): Promise<MeltQuoteResponse> {
    const q = await this.store.meltQuote(quoteId)
    if (!q) throw new MintError(ErrorCode.QuoteNotPaid, 'Quote not found.')
    if (status.state === 'PAID') {
      const feePaid = Math.ceil(status.feePaidMsat / 1000)
      const overpaid = saga.inputAmount - saga.inputFee - q.amount - feePaid
      const amounts = overpaid > 0 ? changeAmounts(overpaid, saga.outputs.length) : []
      const change = this.signOutputs(
        amounts.map((amount, i) => ({ amount, id: saga.outputs[i]!.id, B_: saga.outputs[i]!.B_ })),
      )
      await this.store.settleMelt(
        quoteId,
        { preimage: status.preimage, feePaid, change },
        Date.now(),
      )
      this.emitProofs(saga.inputYs, 'SPENT')
      const paid = (await this.store.meltQuote(quoteId))!
      const response = meltQuoteResponse(paid, change.map(Mint.toBlindSignature))
      this.emit({ kind: 'bolt11_melt_quote', id: quoteId, payload: response })
      this.log.info('melt paid', { quote: quoteId, amount: q.amount, feePaid })
      return response
    }
    if (status.state === 'FAILED' || status.state === 'UNKNOWN') {
      await this.store.releaseMelt(quoteId)
      this.emitProofs(saga.inputYs, 'UNSPENT')
      await this.emitMeltQuote(quoteId)
      this.log.info('melt released: the Lightning payment did not happen', { quote: quoteId })
      if (throwOnFailure)
        throw new MintError(
          ErrorCode.LightningPaymentFailed,
          `Lightning payment failed${status.state === 'FAILED' ? `: ${status.reason}` : ''}.`,
        )
      return meltQuoteResponse((await this.store.meltQuote(quoteId)) ?? q)
    }
    return meltQuoteResponse(q)
  }

  private async emitMeltQuote(id: string) {
    const q = await this.store.meltQuote(id)
    if (q) this.emit({ kind: 'bolt11_melt_quote', id, payload: meltQuoteResponse(q) })
  }

  private async checkPendingMelt(quoteId: string) {
    const saga = (await this.store.meltSagas()).find((s) => s.quoteId === quoteId)
    if (!saga) return
    await this.recoverSaga(saga)
  }

  private async recoverSaga(saga: MeltSaga) {
    if (this.inFlight.has(saga.quoteId)) return
    const q = await this.store.meltQuote(saga.quoteId)
    if (!q) return
    this.inFlight.add(saga.quoteId)
    try {
      if (saga.step === 'reserved') {
        // Lightning was never called for this melt: releasing is safe.
        await this.finishMelt(saga.quoteId, saga, { state: 'UNKNOWN' }, false)
        return
      }
      if (q.settlement === 'box') {
        if (!this.hook) {
          this.log.warn('a melt waits for the box to settle it, but no settlement hook is set', {
            quote: q.id,
          })
          return
        }
        let status = this.hookStatus(await this.hook.status(q.paymentHash), q.paymentHash)
        // UNKNOWN: the box never accepted the /pay. A /pay that was still on its way when the
        // call timed out could yet arrive, so release only once that cannot be the case.
        if (status.state === 'UNKNOWN' && Date.now() - saga.updatedAt <= this.hook.timeoutMs)
          status = { state: 'PENDING' }
        await this.finishMelt(saga.quoteId, saga, status, false)
        return
      }
      const status = await this.backend.checkOutgoing(q.paymentHash)
      await this.finishMelt(saga.quoteId, saga, status, false)
    } finally {
      this.inFlight.delete(saga.quoteId)
    }
  }

  /** Settle or release every melt a crash (or a slow payment) left in flight. */
  async recoverMelts(): Promise<void> {
    for (const saga of await this.store.meltSagas()) {
      try {
        await this.recoverSaga(saga)
      } catch (err) {
        this.log.warn('could not settle a pending melt yet', {
          quote: saga.quoteId,
          error: String(err),
        })
      }
    }
  }

  // --- NUT-07 / NUT-09 ----------------------------------------------------------------------

  async checkState(Ys: string[]): Promise<{ states: ProofStateResponse[] }> {
    const states = await this.store.proofStates(Ys.map((y) => y.toLowerCase()))
    return {
      states: Ys.map((y) => {
        const s = states.get(y.toLowerCase())!
        return { Y: y, state: s.state, witness: s.witness }
      }),
    }
  }

  async restore(
    outputs: BlindedMessage[],
  ): Promise<{ outputs: BlindedMessage[]; signatures: BlindSignature[] }> {
    if (outputs.length > this.config.maxOutputs)
      throw new MintError(
        ErrorCode.MaxOutputsExceeded,
        `Too many outputs (at most ${this.config.maxOutputs}).`,
      )
    const found = await this.store.signaturesFor(outputs.map((o) => o.B_.toLowerCase()))
    const outs: BlindedMessage[] = []
    const sigs: BlindSignature[] = []
    for (const o of outputs) {
      const s = found.get(o.B_.toLowerCase())
      if (!s) continue
      outs.push({ amount: s.amount, id: s.keysetId, B_: o.B_ })
      sigs.push(Mint.toBlindSignature(s))
    }
    return { outputs: outs, signatures: sigs }
  }
}
