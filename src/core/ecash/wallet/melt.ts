// Melt saga (NUT-05, NUT-08): ecash out, a Lightning invoice paid.
//   quote → select inputs, persist them 'pending-melt' with the blank change outputs as 'paying'
//   → the mint pays → 'done' with the change (NUT-08) and the preimage.
// Crash path (settleMelt): ask the mint for the quote. PENDING: wait. PAID: book the change (from
// the quote, or NUT-09 restore of our blank outputs). UNPAID: release what NUT-07 says is unspent.
import {
  CheckStateEnum,
  OutputData,
  type MeltQuoteBolt11Response,
  type Proof,
} from '@cashu/cashu-ts'
import type { MeltQuoteView, MeltResult } from '../../../shared/api/ecash'
import { FlashError } from '../../errors'
import { readBolt11 } from '../bolt11'
import { isUnreachable, mintErrorCode } from '../mint-errors'
import { proofAmount, toProof, type Operation } from '../store'
import { insufficient, type WalletContext } from './context'
import { checkStates, outputsOf, restoreOutputs, serializeOutputs } from './outputs'

export async function createMeltQuote(
  ctx: WalletContext,
  invoice: string,
  mintUrl?: string,
): Promise<MeltQuoteView> {
  const inv = readBolt11(invoice)
  const url = ctx.chooseMint(mintUrl, inv.amountSat)
  return ctx.serial(url, async () => {
    const w = await ctx.walletFor(url, { allowCache: false })
    let q: MeltQuoteBolt11Response
    try {
      q = await w.createMeltQuoteBolt11(invoice)
    } catch (err) {
      throw ctx.mintFailed(url, err)
    }
    const op = ctx.store.createOperation({
      kind: 'melt',
      state: 'quoted',
      mintUrl: url,
      amount: q.amount.toNumber(),
      fee: q.fee_reserve.toNumber(),
      quoteId: q.quote,
      data: { invoice, feeReserve: q.fee_reserve.toNumber(), expiry: q.expiry },
    })
    return {
      quoteId: q.quote,
      mintUrl: url,
      amount: op.amount,
      feeReserve: q.fee_reserve.toNumber(),
      ...(q.expiry ? { expiry: q.expiry } : {}),
      invoice,
    }
  })
}

export async function melt(ctx: WalletContext, quoteId: string): Promise<MeltResult> {
  const found = ctx.store.findOperationByQuote('melt', quoteId)
  if (!found) {
    throw new FlashError(
      'ecash.unknown_quote',
      'There is no payment prepared with that id.',
      'Paste the invoice again to get a new quote.',
    )
  }
  return ctx.serial(found.mintUrl, async () => {
    const op = ctx.store.getOperation(found.id)!
    if (op.state === 'done') return meltResult(op)
    if (op.state === 'paying') {
      await settleMelt(ctx, op.id)
      return meltResult(ctx.store.getOperation(op.id)!)
    }
    if (op.state !== 'quoted') {
      throw new FlashError(
        'ecash.quote_used',
        'This payment was already tried and failed.',
        'Paste the invoice again to get a new quote.',
      )
    }
    const w = await ctx.walletFor(op.mintUrl, { allowCache: false })
    let q: MeltQuoteBolt11Response
    try {
      q = await w.checkMeltQuoteBolt11(quoteId)
    } catch (err) {
      throw ctx.mintFailed(op.mintUrl, err)
    }
    if (q.state !== 'UNPAID') {
      throw new FlashError(
        'ecash.invoice_paid',
        'This invoice is already being paid or was paid.',
        'Look at the history; ask the recipient for a new invoice if needed.',
      )
    }
    const proofs = ctx.store.listProofs(op.mintUrl, 'unspent').map(toProof)
    const have = proofAmount(proofs)
    const amount = q.amount.toNumber()
    const need = amount + q.fee_reserve.toNumber()
    if (have < amount) throw insufficient(have, amount)
    let selected: Proof[]
    try {
      selected = w.selectProofsToSend(proofs, need, true, false).send
    } catch {
      selected = []
    }
    if (!selected.length) {
      throw new FlashError(
        'ecash.fee_too_high',
        `You have ${have} sat here, enough for the ${amount} sat invoice but not for the up to ${need - amount} sat Lightning fee the mint reserves.`,
        'Receive a little more ecash first, or pay a smaller invoice. Unused fee reserve comes back as change.',
      )
    }
    const preview = await w.prepareMelt(
      'bolt11',
      q,
      selected,
      {},
      { type: 'deterministic', counter: 0 },
    )
    const inputs = preview.inputs.map((p) => p.secret)
    ctx.store.transaction(() => {
      ctx.store.moveProofs(inputs, 'unspent', 'pending-melt', op.id)
      ctx.store.updateOperation(
        op.id,
        {
          state: 'paying',
          data: { ...op.data, inputs, outputs: serializeOutputs(preview.outputData) },
          attempted: true,
        },
        'quoted',
      )
    })
    ctx.balanceChanged()
    ctx.historyChanged(op.id)
    let res
    try {
      res = await w.completeMelt(preview)
    } catch (err) {
      await settleMelt(ctx, op.id).catch(() => {})
      const now = ctx.store.getOperation(op.id)!
      if (now.state === 'done') return meltResult(now)
      if (now.state === 'paying' && (isUnreachable(err) || mintErrorCode(err) === 20005)) {
        return meltResult(now)
      }
      throw ctx.mintFailed(op.mintUrl, err)
    }
    if (res.quote.state === 'PAID') {
      finishMelt(ctx, op.id, res.change, res.quote.payment_preimage ?? undefined)
    } else if (res.quote.state === 'UNPAID') {
      await settleMelt(ctx, op.id)
      throw new FlashError(
        'ecash.lightning_failed',
        'The mint could not pay the Lightning invoice.',
        'Your ecash was not spent. Try again later, or ask for a new invoice.',
      )
    }
    return meltResult(ctx.store.getOperation(op.id)!)
  })
}

function finishMelt(ctx: WalletContext, opId: string, change: Proof[], preimage?: string): void {
  const op = ctx.store.getOperation(opId)!
  const inputs = (op.data.inputs as string[] | undefined) ?? []
  const spent = proofAmount(ctx.store.proofsBySecrets(inputs).map(toProof))
  const back = proofAmount(change)
  ctx.store.transaction(() => {
    ctx.store.moveProofs(inputs, 'pending-melt', 'spent', op.id)
    ctx.store.insertProofs(op.mintUrl, change, 'unspent', op.id)
    ctx.store.updateOperation(
      op.id,
      {
        state: 'done',
        fee: Math.max(0, spent - op.amount - back),
        data: { ...op.data, change: back, ...(preimage ? { preimage } : {}) },
        lastError: null,
      },
      'paying',
    )
  })
  ctx.balanceChanged()
  ctx.historyChanged(op.id)
}

function meltResult(op: Operation): MeltResult {
  return {
    operationId: op.id,
    state: op.state === 'done' ? 'paid' : 'pending',
    amount: op.amount,
    fee: op.state === 'done' ? op.fee : 0,
    change: typeof op.data.change === 'number' ? op.data.change : 0,
    ...(typeof op.data.preimage === 'string' ? { preimage: op.data.preimage } : {}),
  }
}

/** Finishes or undoes an interrupted payment (caller holds the mint's lock). */
export async function settleMelt(ctx: WalletContext, opId: string): Promise<void> {
  const op = ctx.store.getOperation(opId)
  if (op?.kind === 'melt' && op.state === 'paying') return settlePaying(ctx, op)
}

async function settlePaying(ctx: WalletContext, op: Operation): Promise<void> {
  const w = await ctx.walletFor(op.mintUrl, { allowCache: false })
  let q: MeltQuoteBolt11Response
  try {
    q = await w.checkMeltQuoteBolt11(op.quoteId!)
  } catch (err) {
    throw ctx.mintFailed(op.mintUrl, err)
  }
  if (q.state === 'PENDING') return
  if (q.state === 'PAID') {
    const outputs = outputsOf(op, 'outputs').map((o) => OutputData.deserialize(o))
    let change: Proof[] = []
    if (q.change?.length) {
      change = w.createMeltChangeProofs(outputs, q.change)
    } else if (outputs.length) {
      change = await restoreOutputs(ctx, w, op.mintUrl, outputsOf(op, 'outputs'))
    }
    finishMelt(ctx, op.id, change, q.payment_preimage ?? undefined)
    return
  }
  // UNPAID: the mint gives the inputs back; release only what it says is unspent.
  const inputs = ctx.store
    .proofsBySecrets((op.data.inputs as string[]) ?? [])
    .filter((p) => p.state === 'pending-melt')
  const states = await checkStates(ctx, w, op.mintUrl, inputs)
  // The mint still holds them for this melt: wait.
  if (states.some((s) => s === CheckStateEnum.PENDING)) return
  // Spent although the quote is unpaid can only mean spent elsewhere: book it, never resurrect it.
  const spent = inputs.filter((_, i) => states[i] === CheckStateEnum.SPENT)
  const unspent = inputs.filter((_, i) => states[i] === CheckStateEnum.UNSPENT)
  ctx.store.transaction(() => {
    ctx.store.moveProofs(
      unspent.map((p) => p.secret),
      'pending-melt',
      'unspent',
      null,
    )
    ctx.store.moveProofs(
      spent.map((p) => p.secret),
      'pending-melt',
      'spent',
    )
    ctx.store.updateOperation(
      op.id,
      {
        state: 'failed',
        lastError: spent.length
          ? 'the Lightning payment failed; some of the ecash had already been spent elsewhere'
          : 'the Lightning payment failed; nothing was spent',
      },
      'paying',
    )
  })
  ctx.balanceChanged()
  ctx.historyChanged(op.id)
}
