// Receive saga (NUT-03 swap, NUT-11 P2PK, NUT-12 DLEQ) and offline receive.
//   mint answers: check the token (unit, DLEQ, lock), 'claiming' with the persisted outputs →
//     swap → 'done';
//   mint does not answer: the token is stored 'unclaimed' (DLEQ checked against cached keys) and
//     claimed by the background pass later.
// Crash path (settleReceive): a 'claiming' token whose inputs NUT-07 reports unspent goes back to
// 'unclaimed'; if they are spent, NUT-09 restores our outputs, or — none signed — someone else
// claimed it first.
import {
  Amount,
  CheckStateEnum,
  getP2PKExpectedWitnessPubkeys,
  getSecretKind,
  getTokenMetadata,
  type Proof,
  type Token,
  type Wallet,
} from '@cashu/cashu-ts'
import { hasValidDleq } from '../nut12-dleq'
import type { PendingTokenView, ReceiveResult, RedeemResult } from '../../../shared/api/ecash'
import { FlashError } from '../../errors'
import { isUnreachable, mintHost } from '../mint-errors'
import { proofAmount, toProof, type Operation } from '../store'
import { errText, type WalletContext } from './context'
import { publicReason } from './history'
import { checkStates, outputsOf, restoreOutputs, serializeOutputs } from './outputs'

export async function receive(ctx: WalletContext, rawToken: string): Promise<ReceiveResult> {
  const meta = readTokenMeta(rawToken)
  const url = ctx.localMintUrl(meta.mint)
  if (!ctx.store.getMint(url)) {
    throw new FlashError(
      'ecash.unknown_mint',
      `This token is from the mint ${mintHost(url)}, which is not in your list of mints.`,
      'If you trust that mint, add it under eCash → Mints, then receive the token again.',
    )
  }
  const already = ctx.store
    .listOperations({ kind: 'receive', mintUrl: url })
    .find((o) => o.token === rawToken && o.state !== 'failed')
  if (already) {
    throw new FlashError(
      'ecash.already_received',
      already.state === 'unclaimed'
        ? 'This token is already stored and waits to be claimed.'
        : 'This token was already received.',
      'Nothing to do: look for it in the history.',
    )
  }
  return ctx.serial(url, async () => {
    let w: Wallet
    try {
      w = await ctx.walletFor(url, { allowCache: false })
    } catch (err) {
      if (!isUnreachable(err)) throw err
      return storeOffline(ctx, url, rawToken, meta.amount, errText(err))
    }
    let token: Token
    try {
      token = decodeToken(w, rawToken)
      checkToken(ctx, w, token)
    } catch (err) {
      const code = err instanceof FlashError ? err.code : ''
      if (code !== 'ecash.unknown_keyset' && code !== 'ecash.bad_token') throw err
      // Perhaps a keyset newer than our 5-minute cache: ask the mint again, once.
      w = await ctx.walletFor(url, { allowCache: false, force: true })
      token = decodeToken(w, rawToken)
      checkToken(ctx, w, token)
    }
    const op = ctx.store.createOperation({
      kind: 'receive',
      state: 'claiming',
      mintUrl: url,
      amount: proofAmount(token.proofs),
      token: rawToken,
      data: { inputs: token.proofs.map((p) => p.secret) },
    })
    return claim(ctx, w, op, token)
  })
}

function storeOffline(
  ctx: WalletContext,
  url: string,
  token: string,
  amount: number,
  reason: string,
): ReceiveResult {
  // Verify what we can without the mint: the DLEQ proofs against the keys we cached.
  const cached = ctx.cachedWallet(url)
  let verified = false
  if (cached) {
    try {
      checkToken(ctx, cached, decodeToken(cached, token))
      verified = true
    } catch (err) {
      // Keys newer than our cache cannot be checked now; the mint checks them at claim time.
      const code = err instanceof FlashError ? err.code : ''
      if (code !== 'ecash.unknown_keyset' && code !== 'ecash.bad_token') throw err
    }
  }
  const op = ctx.store.createOperation({
    kind: 'receive',
    state: 'unclaimed',
    mintUrl: url,
    amount,
    token,
    data: { verifiedOffline: verified },
    // The reason stays internal; the user sees "not yet claimed".
  })
  ctx.store.updateOperation(op.id, { lastError: reason, attempted: true })
  ctx.balanceChanged()
  ctx.historyChanged(op.id)
  return {
    status: 'stored-offline',
    operationId: op.id,
    mintUrl: url,
    amount,
    reason: 'The mint did not answer; the token is kept and claimed automatically when it does.',
  }
}

/** Swaps the token's proofs for fresh ones of ours. `op` is in state 'claiming'. */
async function claim(
  ctx: WalletContext,
  w: Wallet,
  op: Operation,
  token: Token,
): Promise<ReceiveResult> {
  const privkey = privkeyFor(ctx, token.proofs)
  let preview
  try {
    preview = await w.prepareSwapToReceive(
      token,
      {
        ...(privkey ? { privkey } : {}),
        proofsWeHave: ctx.store.listProofs(op.mintUrl, 'unspent').map(toProof),
      },
      { type: 'deterministic', counter: 0 },
    )
  } catch (err) {
    ctx.store.updateOperation(op.id, { state: 'failed', lastError: errText(err) }, ['claiming'])
    throw ctx.mintFailed(op.mintUrl, err)
  }
  ctx.store.updateOperation(op.id, {
    data: { ...op.data, outputs: serializeOutputs(preview.keepOutputs ?? []) },
    fee: Amount.from(preview.fees).toNumber(),
    attempted: true,
  })
  let res
  try {
    // NUT-11: inputs locked to our key are signed here, over the final outputs.
    res = await w.completeSwap(preview, privkey)
  } catch (err) {
    if (isUnreachable(err)) {
      // Did the mint get it? The reconciler finds out; until then the token stays ours to claim.
      ctx.store.updateOperation(op.id, { lastError: errText(err) })
      await settleReceive(ctx, op.id).catch(() => {})
      const now = ctx.store.getOperation(op.id)!
      if (now.state === 'unclaimed' || now.state === 'claiming') {
        ctx.balanceChanged()
        return {
          status: 'stored-offline',
          operationId: op.id,
          mintUrl: op.mintUrl,
          amount: op.amount,
          reason:
            'The mint stopped answering; the token is kept and claimed automatically when it does.',
        }
      }
      if (now.state === 'done') return claimed(now)
    }
    await settleReceive(ctx, op.id).catch(() => {})
    const now = ctx.store.getOperation(op.id)!
    if (now.state === 'done') return claimed(now)
    if (now.state !== 'unclaimed') {
      ctx.store.updateOperation(op.id, { state: 'failed', lastError: errText(err) }, [
        'claiming',
        'unclaimed',
      ])
    }
    ctx.historyChanged(op.id)
    throw ctx.mintFailed(op.mintUrl, err)
  }
  finishReceive(ctx, op.id, res.keep)
  return claimed(ctx.store.getOperation(op.id)!)
}

function finishReceive(ctx: WalletContext, opId: string, proofs: Proof[]): void {
  const op = ctx.store.getOperation(opId)!
  const inputs = (op.data.inputs as string[] | undefined) ?? []
  // Our own sent token coming back (reclaim): those proofs are spent now.
  const ours = ctx.store.proofsBySecrets(inputs).filter((p) => p.state === 'pending-send')
  const sendOps = [...new Set(ours.map((p) => p.opId).filter((x): x is string => !!x))]
  ctx.store.transaction(() => {
    ctx.store.insertProofs(op.mintUrl, proofs, 'unspent', op.id)
    for (const p of ours) ctx.store.moveProofs([p.secret], 'pending-send', 'spent')
    for (const sendOp of sendOps) {
      ctx.store.updateOperation(
        sendOp,
        { state: 'failed', lastError: 'taken back: this wallet claimed the token itself' },
        'sent',
      )
    }
    ctx.store.updateOperation(
      op.id,
      { state: 'done', lastError: null, data: { ...op.data, received: proofAmount(proofs) } },
      ['claiming', 'unclaimed'],
    )
  })
  ctx.balanceChanged()
  for (const id of sendOps) ctx.historyChanged(id)
  ctx.historyChanged(op.id)
  ctx.publish({
    topic: 'ecash',
    type: 'token-claimed',
    operationId: op.id,
    mintUrl: op.mintUrl,
    amount: proofAmount(proofs),
  })
}

function claimed(op: Operation): ReceiveResult {
  const got = typeof op.data.received === 'number' ? op.data.received : op.amount - op.fee
  return { status: 'claimed', operationId: op.id, mintUrl: op.mintUrl, amount: got, fee: op.fee }
}

export function pendingTokens(ctx: WalletContext): PendingTokenView[] {
  return ctx.store
    .listOperations({ kind: 'receive', states: ['unclaimed', 'claiming'] })
    .map((o) => ({
      operationId: o.id,
      mintUrl: o.mintUrl,
      amount: o.amount,
      addedAt: o.createdAt,
      ...(o.lastAttemptAt ? { lastAttemptAt: o.lastAttemptAt } : {}),
      ...(o.lastError ? { lastError: publicReason(o.lastError) } : {}),
    }))
}

/** Claims stored ("not yet claimed") tokens whose mint answers now. */
export async function redeemPending(
  ctx: WalletContext,
  operationId?: string,
): Promise<RedeemResult> {
  const ops = ctx.store
    .listOperations({ kind: 'receive', states: ['unclaimed', 'claiming'] })
    .filter((o) => !operationId || o.id === operationId)
  if (operationId && !ops.length) {
    const op = ctx.store.getOperation(operationId)
    if (!op || op.kind !== 'receive') {
      throw new FlashError(
        'ecash.unknown_token',
        'There is no stored token with that id.',
        'Refresh the list of pending tokens.',
      )
    }
  }
  let claimedCount = 0
  let claimedAmount = 0
  const failed: { operationId: string; reason: string }[] = []
  for (const op of ops.reverse()) {
    try {
      const r = await ctx.serial(op.mintUrl, async () => {
        let w: Wallet
        try {
          w = await ctx.walletFor(op.mintUrl, { allowCache: false })
        } catch (err) {
          ctx.store.updateOperation(op.id, { lastError: errText(err), attempted: true })
          throw err
        }
        // An earlier claim was cut off: find out whether the mint took it first (NUT-07).
        if (ctx.store.getOperation(op.id)!.state === 'claiming')
          await settleClaim(ctx, ctx.store.getOperation(op.id)!)
        const cur = ctx.store.getOperation(op.id)!
        if (cur.state === 'done') return claimed(cur)
        if (cur.state !== 'unclaimed') return undefined
        const token = decodeToken(w, cur.token!)
        try {
          checkToken(ctx, w, token)
        } catch (err) {
          ctx.store.updateOperation(
            op.id,
            { state: 'failed', lastError: errText(err) },
            'unclaimed',
          )
          throw err
        }
        if (!ctx.store.updateOperation(op.id, { state: 'claiming' }, 'unclaimed')) return undefined
        return claim(ctx, w, ctx.store.getOperation(op.id)!, token)
      })
      if (r?.status === 'claimed') {
        claimedCount++
        claimedAmount += r.amount
      }
    } catch (err) {
      if (!isUnreachable(err)) {
        failed.push({
          operationId: op.id,
          reason: err instanceof FlashError ? err.message : 'could not be claimed',
        })
      }
    }
  }
  const stillPending = ctx.store.listOperations({
    kind: 'receive',
    states: ['unclaimed', 'claiming'],
  }).length
  return { claimed: claimedCount, claimedAmount, stillPending, failed }
}

/** Finishes or undoes an interrupted claim (caller holds the mint's lock). */
export async function settleReceive(ctx: WalletContext, opId: string): Promise<void> {
  const op = ctx.store.getOperation(opId)
  if (op?.kind === 'receive' && op.state === 'claiming') return settleClaim(ctx, op)
}

async function settleClaim(ctx: WalletContext, op: Operation): Promise<void> {
  const w = await ctx.walletFor(op.mintUrl, { allowCache: false })
  const token = decodeToken(w, op.token!)
  const states = await checkStates(
    ctx,
    w,
    op.mintUrl,
    token.proofs.map((p) => ({ secret: p.secret, keysetId: p.id })),
  )
  if (states.some((s) => s === CheckStateEnum.PENDING)) return
  if (states.every((s) => s === CheckStateEnum.UNSPENT)) {
    ctx.store.updateOperation(op.id, { state: 'unclaimed' }, 'claiming')
    return
  }
  const proofs = await restoreOutputs(ctx, w, op.mintUrl, outputsOf(op, 'outputs'))
  if (proofs.length) {
    finishReceive(ctx, op.id, proofs)
  } else {
    ctx.store.updateOperation(
      op.id,
      { state: 'failed', lastError: 'the token was spent by someone else' },
      'claiming',
    )
    ctx.historyChanged(op.id)
  }
}

/**
 * The token, as a token of `w`'s mint: callers pick `w` for the token's mint, so a token naming
 * the own mint by its published URL (src/core/reach) is redeemed at the own mint on this computer.
 */
function decodeToken(w: Wallet, raw: string): Token {
  try {
    return { ...w.decodeToken(raw), mint: w.mint.mintUrl }
  } catch (err) {
    throw new FlashError(
      'ecash.bad_token',
      'This token could not be read.',
      'Copy the whole token again and paste it; it may have been cut off.',
      { cause: err },
    )
  }
}

/** DLEQ (NUT-12) where present; P2PK (NUT-11) locks must be to our key. */
function checkToken(ctx: WalletContext, w: Wallet, token: Token): void {
  if ((token.unit ?? 'sat') !== 'sat') {
    throw new FlashError(
      'ecash.unsupported_unit',
      `This token is in "${token.unit}", not sats.`,
      'Only sat tokens can be received.',
    )
  }
  for (const p of token.proofs) {
    if (!p.dleq) continue
    let keyset
    try {
      keyset = w.getKeyset(p.id)
    } catch {
      throw new FlashError(
        'ecash.unknown_keyset',
        'This token uses keys its mint does not publish.',
        'It may be from another mint than it claims, or forged. Do not accept it as payment.',
      )
    }
    if (!hasValidDleq(p, keyset)) {
      throw new FlashError(
        'ecash.bad_dleq',
        'This token’s signature proof (DLEQ) is not valid.',
        'The token may be forged or damaged. Do not accept it as payment; ask the sender for a new one.',
      )
    }
  }
  for (const p of token.proofs) {
    const keys = lockKeys(p.secret)
    if (keys && !keys.some((k) => samePubkey(k, ctx.seed.p2pkPubkey))) {
      throw new FlashError(
        'ecash.token_locked',
        'This token is locked to someone else’s key.',
        'Only the holder of that key can claim it. Give the sender your receive key (eCash → Receive) and ask for a new token.',
      )
    }
  }
}

function privkeyFor(ctx: WalletContext, proofs: Proof[]): string | undefined {
  return proofs.some((p) => lockKeys(p.secret)) ? ctx.seed.p2pkPrivkey : undefined
}

function samePubkey(a: string, b: string): boolean {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  return x === y || x.slice(-64) === y.slice(-64)
}

/** Public keys a NUT-11 secret is locked to, or undefined for a plain secret. */
function lockKeys(secret: string): string[] | undefined {
  if (!secret.startsWith('[')) return undefined
  try {
    if (getSecretKind(secret) !== 'P2PK') return undefined
    const keys = getP2PKExpectedWitnessPubkeys(secret)
    return keys.length ? keys : undefined
  } catch {
    return undefined
  }
}

function readTokenMeta(raw: string): { mint: string; amount: number; unit: string } {
  try {
    const m = getTokenMetadata(raw)
    return { mint: m.mint, amount: m.amount.toNumber(), unit: m.unit }
  } catch (err) {
    throw new FlashError(
      'ecash.bad_token',
      'This token could not be read.',
      'Copy the whole token again and paste it; it may have been cut off.',
      { cause: err },
    )
  }
}
