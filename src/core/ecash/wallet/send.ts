// Send saga (NUT-03 swap, NUT-11 P2PK, NUT-12 DLEQ carried in the token).
//   exact proofs at hand: token of them, marked 'sent' at once (no mint call, works offline);
//   otherwise: persist inputs 'pending-send' + both output sets as 'swapping' → swap → 'sent'
//   → 'claimed' once NUT-07 says the recipient spent them.
// Crash path (settleSend): a 'swapping' send was never shown to the user, so everything comes back:
// unspent inputs are released; if the mint consumed them, NUT-09 restores both output sets.
import { Amount, CheckStateEnum, getEncodedToken, type Proof, type Token } from '@cashu/cashu-ts'
import type { ReceiveResult, SendResult } from '../../../shared/api/ecash'
import { FlashError } from '../../errors'
import { tokenValueFor } from '../nut02-fees'
import { qrDataUrl } from '../qr'
import { proofAmount, toProof, type Operation } from '../store'
import { errText, insufficient, type WalletContext } from './context'
import { checkStates, outputsOf, restoreOutputs, serializeOutputs } from './outputs'
import { receive } from './receive'

export async function send(
  ctx: WalletContext,
  input: {
    amount: number
    mintUrl?: string
    p2pkPubkey?: string
    memo?: string
  },
): Promise<SendResult> {
  const url = ctx.chooseMint(input.mintUrl, input.amount)
  return ctx.serial(url, async () => {
    const w = await ctx.walletFor(url, { allowCache: true })
    const proofs = ctx.store.listProofs(url, 'unspent').map(toProof)
    const have = proofAmount(proofs)
    if (have < input.amount) throw insufficient(have, input.amount)
    const lockedTo = input.p2pkPubkey ? normalizePubkey(input.p2pkPubkey) : undefined

    // Exact proofs already at hand: no mint call, no fee (works offline).
    if (!lockedTo) {
      let exact: Proof[] = []
      try {
        // cashu-ts strips the DLEQ from what it selects; the token carries ours (NUT-12) so
        // the recipient can check it even offline.
        const picked = new Set(
          w
            .sendOffline(input.amount, proofs, { exactMatch: true, includeFees: true })
            .send.map((p) => p.secret),
        )
        exact = proofs.filter((p) => picked.has(p.secret))
      } catch {
        exact = []
      }
      if (exact.length) {
        const token = encodeToken(ctx.tokenMintUrl(url), exact, input.memo)
        const op = ctx.store.transaction(() => {
          const o = ctx.store.createOperation({
            kind: 'send',
            state: 'sent',
            mintUrl: url,
            amount: input.amount,
            token,
            data: { memo: input.memo ?? null, offline: true },
          })
          ctx.store.moveProofs(
            exact.map((p) => p.secret),
            'unspent',
            'pending-send',
            o.id,
          )
          return o
        })
        ctx.balanceChanged()
        ctx.historyChanged(op.id)
        return sendResult(op, token, 0)
      }
    }

    if (!ctx.isOnline(url)) {
      // Cached keys only: we cannot swap for exact change.
      await ctx.walletFor(url, { allowCache: false, force: true })
    }
    let preview
    try {
      // Sender pays the recipient's swap fee, exactly (see nut02-fees.ts).
      const keyset = w.getKeyset()
      const { value, split } = tokenValueFor(input.amount, keyset.fee, keyset.keys)
      preview = await w.prepareSwapToSend(
        value,
        proofs,
        { includeFees: false },
        {
          send: lockedTo
            ? { type: 'p2pk', options: { pubkey: lockedTo }, denominations: split }
            : { type: 'deterministic', counter: 0, denominations: split },
          keep: { type: 'deterministic', counter: 0 },
        },
      )
    } catch (err) {
      throw selectionFailed(err, have, input.amount)
    }
    const fee = Amount.from(preview.fees).toNumber()
    const inputs = preview.inputs.map((p) => p.secret)
    const op = ctx.store.transaction(() => {
      const o = ctx.store.createOperation({
        kind: 'send',
        state: 'swapping',
        mintUrl: url,
        amount: input.amount,
        fee,
        ...(lockedTo ? { lockedTo } : {}),
        data: {
          memo: input.memo ?? null,
          inputs,
          sendOutputs: serializeOutputs(preview.sendOutputs ?? []),
          keepOutputs: serializeOutputs(preview.keepOutputs ?? []),
        },
      })
      ctx.store.moveProofs(inputs, 'unspent', 'pending-send', o.id)
      return o
    })
    ctx.balanceChanged()
    let res
    try {
      res = await w.completeSwap(preview)
    } catch (err) {
      await settleSend(ctx, op.id).catch(() => {})
      throw ctx.mintFailed(url, err)
    }
    const token = encodeToken(ctx.tokenMintUrl(url), res.send, input.memo)
    ctx.store.transaction(() => {
      ctx.store.moveProofs(inputs, 'pending-send', 'spent', op.id)
      ctx.store.insertProofs(url, res.keep, 'unspent', op.id)
      ctx.store.insertProofs(url, res.send, 'pending-send', op.id)
      ctx.store.updateOperation(op.id, { state: 'sent', token }, 'swapping')
    })
    ctx.balanceChanged()
    ctx.historyChanged(op.id)
    return sendResult(ctx.store.getOperation(op.id)!, token, fee)
  })
}

/**
 * Takes back a sent token nobody has claimed yet: the wallet claims it itself (a swap), so
 * the token given out is worth nothing from then on.
 */
export async function reclaim(ctx: WalletContext, operationId: string): Promise<ReceiveResult> {
  const op = ctx.store.getOperation(operationId)
  if (!op || op.kind !== 'send') {
    throw new FlashError(
      'ecash.unknown_operation',
      'There is no sent token with that id.',
      'Refresh the history and pick the token again.',
    )
  }
  if (op.state !== 'sent' || !op.token) {
    throw new FlashError(
      'ecash.not_reclaimable',
      op.state === 'claimed'
        ? 'The recipient already claimed this token.'
        : 'This token cannot be taken back.',
      'Nothing to do: look at the history.',
    )
  }
  try {
    return await receive(ctx, op.token)
  } catch (err) {
    if (err instanceof FlashError && err.code === 'ecash.token_spent') {
      await ctx.serial(op.mintUrl, () => settleSentTokens(ctx, [op])).catch(() => {})
      throw new FlashError(
        'ecash.not_reclaimable',
        'The recipient already claimed this token.',
        'Nothing to do: the payment went through.',
        { cause: err },
      )
    }
    throw err
  }
}

/** Finishes or undoes an interrupted send (caller holds the mint's lock). */
export async function settleSend(ctx: WalletContext, opId: string): Promise<void> {
  const op = ctx.store.getOperation(opId)
  if (op?.kind !== 'send') return
  if (op.state === 'swapping') return settleSwap(ctx, op)
  if (op.state === 'sent') return settleSentTokens(ctx, [op])
}

/** A send swap was interrupted: the user never saw the token, so everything comes back to us. */
async function settleSwap(ctx: WalletContext, op: Operation): Promise<void> {
  const w = await ctx.walletFor(op.mintUrl, { allowCache: false })
  const inputs = (op.data.inputs as string[]) ?? []
  const stored = ctx.store.proofsBySecrets(inputs).filter((p) => p.state === 'pending-send')
  const states = await checkStates(ctx, w, op.mintUrl, stored)
  if (states.some((s) => s === CheckStateEnum.PENDING)) return
  if (states.every((s) => s === CheckStateEnum.UNSPENT)) {
    ctx.store.transaction(() => {
      ctx.store.moveProofs(
        stored.map((p) => p.secret),
        'pending-send',
        'unspent',
        null,
      )
      ctx.store.updateOperation(
        op.id,
        { state: 'failed', lastError: 'interrupted before the mint answered; nothing was spent' },
        'swapping',
      )
    })
  } else {
    const outputs = [...outputsOf(op, 'keepOutputs'), ...outputsOf(op, 'sendOutputs')]
    const proofs = await restoreOutputs(ctx, w, op.mintUrl, outputs)
    ctx.store.transaction(() => {
      const spent = stored.filter((_, i) => states[i] === CheckStateEnum.SPENT)
      const unspent = stored.filter((_, i) => states[i] === CheckStateEnum.UNSPENT)
      ctx.store.moveProofs(
        spent.map((p) => p.secret),
        'pending-send',
        'spent',
        null,
      )
      ctx.store.moveProofs(
        unspent.map((p) => p.secret),
        'pending-send',
        'unspent',
        null,
      )
      ctx.store.insertProofs(op.mintUrl, proofs, 'unspent', op.id)
      ctx.store.updateOperation(
        op.id,
        {
          state: 'failed',
          lastError: 'interrupted after the mint answered; the ecash was recovered',
        },
        'swapping',
      )
    })
  }
  ctx.balanceChanged()
  ctx.historyChanged(op.id)
}

/** Sent tokens of one mint (caller holds its lock): one checkstate for all their proofs. */
export async function settleSentTokens(
  ctx: WalletContext,
  ops: readonly Operation[],
): Promise<void> {
  const live = ops
    .map((o) => ctx.store.getOperation(o.id)!)
    .filter((o) => o.state === 'sent')
    .map((o) => ({ op: o, proofs: ctx.store.proofsByOp(o.id, 'pending-send') }))
  if (!live.length) return
  const all = live.flatMap((x) => x.proofs)
  const states = all.length
    ? await checkStates(
        ctx,
        await ctx.walletFor(live[0]!.op.mintUrl, { allowCache: false }),
        live[0]!.op.mintUrl,
        all,
      )
    : []
  const stateOf = new Map(all.map((p, i) => [p.secret, states[i]]))
  let changed = false
  for (const { op, proofs } of live) {
    if (!proofs.every((p) => stateOf.get(p.secret) === CheckStateEnum.SPENT)) continue
    ctx.store.transaction(() => {
      ctx.store.moveProofs(
        proofs.map((p) => p.secret),
        'pending-send',
        'spent',
      )
      ctx.store.updateOperation(op.id, { state: 'claimed' }, 'sent')
    })
    ctx.historyChanged(op.id)
    changed = true
  }
  if (changed) ctx.balanceChanged()
}

async function sendResult(op: Operation, token: string, fee: number): Promise<SendResult> {
  const qr = await qrDataUrl(token)
  return {
    operationId: op.id,
    mintUrl: op.mintUrl,
    amount: op.amount,
    fee,
    token,
    ...(qr ? { qr } : {}),
    ...(op.lockedTo ? { lockedTo: op.lockedTo } : {}),
  }
}

function encodeToken(mintUrl: string, proofs: Proof[], memo?: string): string {
  const token: Token = { mint: mintUrl, proofs, unit: 'sat', ...(memo ? { memo } : {}) }
  return getEncodedToken(token)
}

function normalizePubkey(k: string): string {
  const v = k.toLowerCase()
  return v.length === 64 ? `02${v}` : v
}

function selectionFailed(err: unknown, have: number, amount: number): FlashError {
  if (err instanceof FlashError) return err
  if (/insufficient|not enough|funds/i.test(errText(err))) {
    return new FlashError(
      'ecash.fee_too_high',
      `You have ${have} sat here, enough for ${amount} sat but not for the mint’s fee on top.`,
      'Send a slightly smaller amount, or receive a little more ecash first.',
      { cause: err },
    )
  }
  return new FlashError(
    'ecash.send_failed',
    'The wallet could not put this amount together.',
    'Try a different amount; if it keeps happening, share the logs with support.',
    { cause: err },
  )
}
