// Mint saga (NUT-04, NUT-17, NUT-20): Lightning in, ecash out.
//   unpaid → (quote paid) persist the outputs as 'minting' → ask for signatures → done
// Crash path: an operation left in 'minting' asks the mint whether the quote was ISSUED; if so
// NUT-09 restore hands back the signatures on the outputs persisted before the call.
import type { MintQuoteBolt11Response, Proof } from '@cashu/cashu-ts'
import type { MintQuoteView } from '../../../shared/api/ecash'
import { FlashError } from '../../errors'
import { isUnreachable, mintErrorCode } from '../mint-errors'
import { qrDataUrl } from '../qr'
import { proofAmount, toProof, type Operation } from '../store'
import { errText, type WalletContext } from './context'
import { outputsOf, restoreOutputs, serializeOutputs } from './outputs'

export async function createMintQuote(
  ctx: WalletContext,
  amount: number,
  mintUrl?: string,
): Promise<MintQuoteView> {
  const url = ctx.chooseMint(mintUrl)
  return ctx.serial(url, async () => {
    const w = await ctx.walletFor(url, { allowCache: false })
    const locked = w.getMintInfo().isSupported(20).supported
    let q: MintQuoteBolt11Response
    try {
      q = locked
        ? await w.createLockedMintQuote(amount, ctx.seed.p2pkPubkey)
        : await w.createMintQuoteBolt11(amount)
    } catch (err) {
      throw ctx.mintFailed(url, err)
    }
    const op = ctx.store.createOperation({
      kind: 'mint',
      state: 'unpaid',
      mintUrl: url,
      amount,
      quoteId: q.quote,
      data: { invoice: q.request, expiry: q.expiry ?? null, locked },
    })
    ctx.historyChanged(op.id)
    watchMintQuote(ctx, op)
    return mintQuoteView(op, 'unpaid')
  })
}

/** Looks at a mint quote now; mints the ecash if it is paid. */
export async function checkMintQuote(ctx: WalletContext, quoteId: string): Promise<MintQuoteView> {
  const op = ctx.store.findOperationByQuote('mint', quoteId)
  if (!op) {
    throw new FlashError(
      'ecash.unknown_quote',
      'This wallet did not ask for that invoice.',
      'Create a new invoice under eCash → Receive via Lightning.',
    )
  }
  const done = await ctx.serial(op.mintUrl, () => advanceMint(ctx, op.id))
  return mintQuoteView(done.op, done.state)
}

/** One step of the saga from whatever state it is in (caller holds the mint's lock). */
export async function advanceMint(
  ctx: WalletContext,
  opId: string,
): Promise<{ op: Operation; state: 'unpaid' | 'paid' | 'issued' | 'expired' }> {
  let op = ctx.store.getOperation(opId)!
  if (op.state === 'done') return { op, state: 'issued' }
  if (op.state === 'expired' || op.state === 'failed') return { op, state: 'expired' }
  const w = await ctx.walletFor(op.mintUrl, { allowCache: false })
  let q: MintQuoteBolt11Response
  try {
    q = await w.checkMintQuoteBolt11(op.quoteId!)
  } catch (err) {
    throw ctx.mintFailed(op.mintUrl, err)
  }
  if (op.state === 'minting') {
    // We asked for signatures before and did not hear back (crash, network).
    if (q.state === 'ISSUED') {
      const proofs = await restoreOutputs(ctx, w, op.mintUrl, outputsOf(op, 'outputs'))
      finishMint(ctx, op, proofs)
      return { op: ctx.store.getOperation(opId)!, state: 'issued' }
    }
    ctx.store.updateOperation(op.id, { state: 'unpaid' }, 'minting')
    op = ctx.store.getOperation(opId)!
  }
  if (q.state === 'UNPAID') {
    const expiry = typeof op.data.expiry === 'number' ? op.data.expiry : undefined
    if (expiry && expiry < Date.now() / 1000) {
      ctx.store.updateOperation(op.id, { state: 'expired' }, 'unpaid')
      ctx.historyChanged(op.id)
      return { op: ctx.store.getOperation(opId)!, state: 'expired' }
    }
    return { op, state: 'unpaid' }
  }
  if (q.state === 'ISSUED') {
    // Issued, but not to a request of ours we know of: nothing to recover.
    ctx.store.updateOperation(op.id, { state: 'failed', lastError: 'issued elsewhere' }, 'unpaid')
    ctx.historyChanged(op.id)
    return { op: ctx.store.getOperation(opId)!, state: 'issued' }
  }
  ctx.publish({
    topic: 'ecash',
    type: 'quote-paid',
    quoteId: q.quote,
    mintUrl: op.mintUrl,
    amount: op.amount,
  })
  const preview = await w.prepareMint(
    'bolt11',
    op.amount,
    q,
    {
      ...(op.data.locked ? { privkey: ctx.seed.p2pkPrivkey } : {}),
      proofsWeHave: ctx.store.listProofs(op.mintUrl, 'unspent').map(toProof),
    },
    { type: 'deterministic', counter: 0 },
  )
  const persisted = ctx.store.updateOperation(
    op.id,
    {
      state: 'minting',
      data: { ...op.data, outputs: serializeOutputs(preview.outputData) },
      attempted: true,
    },
    'unpaid',
  )
  if (!persisted) return { op: ctx.store.getOperation(opId)!, state: 'paid' }
  let proofs: Proof[]
  try {
    proofs = await w.completeMint(preview)
  } catch (err) {
    const code = mintErrorCode(err)
    if (code === 20002) {
      // Issued: possibly to exactly this request (an earlier answer we never read).
      const recovered = await restoreOutputs(
        ctx,
        w,
        op.mintUrl,
        serializeOutputs(preview.outputData),
      )
      finishMint(ctx, ctx.store.getOperation(opId)!, recovered)
      return { op: ctx.store.getOperation(opId)!, state: 'issued' }
    }
    if (!isUnreachable(err))
      ctx.store.updateOperation(op.id, { state: 'unpaid', lastError: errText(err) }, 'minting')
    throw ctx.mintFailed(op.mintUrl, err)
  }
  finishMint(ctx, ctx.store.getOperation(opId)!, proofs)
  return { op: ctx.store.getOperation(opId)!, state: 'issued' }
}

function finishMint(ctx: WalletContext, op: Operation, proofs: Proof[]): void {
  ctx.store.transaction(() => {
    ctx.store.insertProofs(op.mintUrl, proofs, 'unspent', op.id)
    const got = proofAmount(proofs)
    ctx.store.updateOperation(
      op.id,
      {
        state: got > 0 ? 'done' : 'failed',
        ...(got > 0
          ? { lastError: null }
          : { lastError: 'the mint returned nothing for this invoice' }),
      },
      ['minting', 'unpaid'],
    )
  })
  ctx.balanceChanged()
  ctx.historyChanged(op.id)
}

/** NUT-17: mint as soon as the mint says the invoice is paid (falls back to the background pass). */
export function watchMintQuote(ctx: WalletContext, op: Operation): void {
  if (ctx.stopped || ctx.quoteWatches.has(op.id)) return
  const ac = new AbortController()
  ctx.quoteWatches.set(op.id, ac)
  void (async () => {
    try {
      const w = await ctx.walletFor(op.mintUrl, { allowCache: false })
      if (!Array.isArray(w.getMintInfo().nuts['17']?.supported)) return
      const expiry = typeof op.data.expiry === 'number' ? op.data.expiry * 1000 - Date.now() : 0
      await w.on.onceMintPaid(op.quoteId!, {
        signal: ac.signal,
        timeoutMs: Math.max(60_000, Math.min(expiry || 3_600_000, 24 * 3_600_000)),
      })
      if (ctx.stopped) return
      await ctx.serial(op.mintUrl, () => advanceMint(ctx, op.id))
    } catch (err) {
      if (!ac.signal.aborted) ctx.log.debug('mint quote watch ended', { error: errText(err) })
    } finally {
      ctx.quoteWatches.delete(op.id)
    }
  })()
}

async function mintQuoteView(op: Operation, state: MintQuoteView['state']): Promise<MintQuoteView> {
  const invoice = String(op.data.invoice ?? '')
  return {
    quoteId: op.quoteId!,
    mintUrl: op.mintUrl,
    amount: op.amount,
    invoice,
    qr: (await qrDataUrl(invoice, { uppercase: true })) ?? '',
    state,
    ...(typeof op.data.expiry === 'number' ? { expiry: op.data.expiry } : {}),
    locked: op.data.locked === true,
  }
}
