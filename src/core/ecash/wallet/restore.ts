// Restore saga (NUT-13 deterministic secrets, NUT-09 restore, NUT-07 checkstate): the recovery
// words bring back every unspent proof a mint ever signed for this seed. Running it again after a
// crash is safe: known proofs are skipped and counters only move forward.
import { CheckStateEnum } from '@cashu/cashu-ts'
import type { RestoreResult } from '../../../shared/api/ecash'
import { FlashError } from '../../errors'
import { deriveWalletSeed, isValidMnemonic } from '../bip39-seed'
import { toMintFlashError } from '../mint-errors'
import { proofAmount } from '../store'
import { normalizeUrl, type WalletContext } from './context'
import { checkStates } from './outputs'

/** NUT-13: batches of 100, stop after three empty batches. */
const RESTORE_BATCH = 100
const RESTORE_GAP = 300

export function backupSeed(ctx: WalletContext): { words: string[] } {
  const { mnemonic } = ctx.seedFile.loadOrCreate()
  ctx.seedFile.markBackedUp()
  ctx.seed = { ...ctx.seed, backedUp: true }
  ctx.log.info('eCash recovery words shown to the user (backup)')
  return { words: mnemonic.split(' ') }
}

export async function restore(
  ctx: WalletContext,
  mnemonic: string,
  extraMints: readonly string[] = [],
): Promise<RestoreResult> {
  if (!isValidMnemonic(mnemonic)) {
    throw new FlashError(
      'ecash.bad_mnemonic',
      'These recovery words are not valid.',
      'Check each word and their order against what you wrote down; one word is probably misspelled.',
    )
  }
  const current = ctx.seedFile.loadOrCreate().mnemonic
  if (mnemonic !== current) {
    if (ctx.store.hasAnyProofsOrOperations()) {
      throw new FlashError(
        'ecash.wallet_not_empty',
        'This wallet still holds ecash, so it cannot be replaced by another one.',
        'Pay out or send the balance first (and let pending tokens be claimed), or restore on a fresh Flash Box.',
      )
    }
    ctx.seedFile.replace(mnemonic, true)
    ctx.seed = deriveWalletSeed(mnemonic, true)
    ctx.store.wipeWallet()
    ctx.wallets.clear()
  }
  for (const m of extraMints) ctx.store.addMint(normalizeUrl(m))
  const results: { mintUrl: string; amount: number; error?: string }[] = []
  let total = 0
  for (const m of ctx.store.listMints()) {
    try {
      const amount = await ctx.serial(m.url, () => restoreMint(ctx, m.url))
      results.push({ mintUrl: m.url, amount })
      total += amount
    } catch (err) {
      const e = err instanceof FlashError ? err : toMintFlashError(m.url, err)
      results.push({ mintUrl: m.url, amount: 0, error: e.message })
    }
  }
  ctx.balanceChanged()
  return { restored: total, mints: results }
}

async function restoreMint(ctx: WalletContext, url: string): Promise<number> {
  const w = await ctx.walletFor(url, { allowCache: false, force: true })
  const counters = ctx.store.counterSource()
  let amount = 0
  for (const ks of w.keyChain.getKeysets()) {
    if (ks.unit !== 'sat' || !ks.hasKeys || !ks.hasHexId) continue
    let res
    try {
      res = await w.batchRestore(RESTORE_GAP, RESTORE_BATCH, 0, ks.id)
    } catch (err) {
      throw ctx.mintFailed(url, err)
    }
    if (res.lastCounterWithSignature !== undefined) {
      await counters.advanceToAtLeast(ks.id, res.lastCounterWithSignature + 1)
    }
    if (!res.proofs.length) continue
    const states = await checkStates(
      ctx,
      w,
      url,
      res.proofs.map((p) => ({ secret: p.secret, keysetId: p.id })),
    )
    const unspent = res.proofs.filter((_, i) => states[i] === CheckStateEnum.UNSPENT)
    const known = new Set(
      ctx.store.proofsBySecrets(unspent.map((p) => p.secret)).map((p) => p.secret),
    )
    const fresh = unspent.filter((p) => !known.has(p.secret))
    if (!fresh.length) continue
    ctx.store.transaction(() => {
      const op = ctx.store.createOperation({
        kind: 'restore',
        state: 'done',
        mintUrl: url,
        amount: proofAmount(fresh),
      })
      ctx.store.insertProofs(url, fresh, 'unspent', op.id)
    })
    amount += proofAmount(fresh)
  }
  return amount
}
