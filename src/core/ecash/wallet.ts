// The box's Cashu wallet (cashu-ts 4 underneath). Proofs, seed and counters stay in the engine.
//
// Every operation that moves money is a small saga (see store.ts), one file each under wallet/,
// as CDK lays out its wallet: mint.ts, send.ts, receive.ts, melt.ts, restore.ts.
//   1. select proofs and build the outputs (deterministic, NUT-13),
//   2. in ONE transaction: write the operation with its serialized outputs and mark the inputs
//      pending — before anything is sent to the mint,
//   3. call the mint,
//   4. in ONE transaction: inputs spent, new proofs stored, operation finished.
// A crash between 2 and 4 is repaired by `reconcile()` on the next start: each saga's settle
// function (in its own file) asks NUT-07 checkstate whether the mint consumed the inputs; if it
// did, NUT-09 restore hands back the signatures on the outputs we had persisted; if it did not,
// the inputs are released.
import type { GetInfoResponse, KeyChainCache } from '@cashu/cashu-ts'
import { join } from 'node:path'
import type {
  EcashMintView,
  EcashStatus,
  HistoryEntry,
  MeltQuoteView,
  MeltResult,
  MintBalance,
  MintQuoteView,
  PendingTokenView,
  ReceiveResult,
  RedeemResult,
  RestoreResult,
  SendResult,
} from '../../shared/api/ecash'
import { FlashError } from '../errors'
import { isUnreachable, mintHost } from './mint-errors'
import type { EcashStore, Operation } from './store'
import { WalletContext, errText, normalizeUrl, type EcashWalletOptions } from './wallet/context'
import { toHistory } from './wallet/history'
import { createMeltQuote, melt, settleMelt } from './wallet/melt'
import { advanceMint, checkMintQuote, createMintQuote, watchMintQuote } from './wallet/mint'
import { pendingTokens, receive, redeemPending, settleReceive } from './wallet/receive'
import { backupSeed, restore } from './wallet/restore'
import { reclaim, send, settleSend, settleSentTokens } from './wallet/send'

export type { EcashWalletOptions } from './wallet/context'

export class EcashWallet {
  readonly store: EcashStore
  private readonly ctx: WalletContext
  private timer: NodeJS.Timeout | undefined
  private background: Promise<void> | undefined

  constructor(private readonly opts: EcashWalletOptions) {
    this.ctx = new WalletContext(opts)
    this.store = this.ctx.store
  }

  static dirFor(dataDir: string): string {
    return join(dataDir, 'ecash')
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async start(): Promise<void> {
    this.ctx.ensureOwnMint()
    await this.reconcile()
    for (const op of this.store.listOperations({ kind: 'mint', states: ['unpaid'] })) {
      watchMintQuote(this.ctx, op)
    }
    const every = this.opts.backgroundIntervalMs ?? 30_000
    if (every > 0) {
      this.timer = setInterval(() => void this.runBackgroundPass(), every)
      this.timer.unref()
    }
  }

  async stop(): Promise<void> {
    const ctx = this.ctx
    ctx.stopped = true
    if (this.timer) clearInterval(this.timer)
    for (const ac of ctx.quoteWatches.values()) ac.abort()
    ctx.quoteWatches.clear()
    await this.background?.catch(() => {})
    await Promise.allSettled([...ctx.locks.values()])
    for (const { wallet } of ctx.wallets.values()) {
      try {
        wallet.mint.disconnectWebSocket()
      } catch {
        // not connected
      }
    }
    ctx.wallets.clear()
    this.store.close()
  }

  /** One pass of the background work: finish pending operations, claim stored tokens. */
  runBackgroundPass(): Promise<void> {
    if (this.background || this.ctx.stopped) return this.background ?? Promise.resolve()
    this.background = (async () => {
      try {
        await this.reconcile()
        if (
          this.store.listOperations({ kind: 'receive', states: ['unclaimed'], limit: 1 }).length
        ) {
          await this.redeemPending()
        }
      } catch (err) {
        this.ctx.log.warn('eCash background pass failed', { error: errText(err) })
      } finally {
        this.background = undefined
      }
    })()
    return this.background
  }

  // ---- status, mints --------------------------------------------------------------------------

  status(): EcashStatus {
    this.ctx.ensureOwnMint()
    const balances = this.balances()
    const own = this.store.listMints().find((m) => m.own)
    return {
      ready: true,
      total: balances.reduce((s, b) => s + b.spendable, 0),
      balances,
      unclaimedTokens: this.store.listOperations({
        kind: 'receive',
        states: ['unclaimed', 'claiming'],
      }).length,
      ...(own ? { ownMintUrl: own.url } : {}),
      receivePubkey: this.ctx.seed.p2pkPubkey,
      seedBackedUp: this.ctx.seed.backedUp,
    }
  }

  balances(): MintBalance[] {
    return this.ctx.balances()
  }

  mints(): EcashMintView[] {
    this.ctx.ensureOwnMint()
    const balances = new Map(this.balances().map((b) => [b.mintUrl, b]))
    return this.store.listMints().map((m) => {
      const info = m.info as GetInfoResponse | undefined
      const cache = m.keychain as KeyChainCache | undefined
      const nuts = (info?.nuts ?? {}) as Record<string, { supported?: unknown } | undefined>
      const yes = (n: string) => nuts[n]?.supported === true || Array.isArray(nuts[n]?.supported)
      return {
        url: m.url,
        ...(info?.name ? { name: info.name } : {}),
        ...(info?.description ? { description: info.description } : {}),
        ...(info?.version ? { version: info.version } : {}),
        own: m.own,
        online: m.online,
        ...(m.lastError ? { lastError: m.lastError } : {}),
        keysets: (cache?.keysets ?? [])
          .filter((k) => k.unit === 'sat')
          .map((k) => ({
            id: k.id,
            unit: k.unit,
            active: k.active,
            inputFeePpk: k.input_fee_ppk ?? 0,
          })),
        supports: {
          websocket: Array.isArray((nuts['17'] as { supported?: unknown })?.supported),
          lockedQuotes: yes('20'),
          restore: yes('9'),
          checkState: yes('7'),
          p2pk: yes('11'),
          dleq: yes('12'),
        },
        balance: balances.get(m.url) ?? { mintUrl: m.url, spendable: 0, pending: 0, unclaimed: 0 },
      }
    })
  }

  async addMint(rawUrl: string): Promise<EcashMintView> {
    const url = normalizeUrl(rawUrl)
    await this.ctx.walletFor(url, { allowCache: false, force: true })
    this.store.addMint(url)
    this.ctx.wallets.delete(url)
    await this.ctx.walletFor(url, { allowCache: false, force: true })
    return this.mints().find((m) => m.url === url)!
  }

  removeMint(rawUrl: string): void {
    const url = normalizeUrl(rawUrl)
    const m = this.store.getMint(url)
    if (!m) return
    const b = this.balances().find((x) => x.mintUrl === url)
    const busy = this.store.listOperations({
      mintUrl: url,
      states: ['minting', 'swapping', 'sent', 'unclaimed', 'claiming', 'paying'],
    }).length
    if ((b && (b.spendable || b.pending || b.unclaimed)) || busy) {
      throw new FlashError(
        'ecash.mint_not_empty',
        `You still have ecash at ${mintHost(url)}.`,
        'Pay it out (Pay invoice) or send it first; a mint is removed only when nothing of yours is left there.',
      )
    }
    this.store.removeMint(url)
    this.ctx.wallets.delete(url)
  }

  // ---- the sagas, one file each under wallet/ --------------------------------------------------

  createMintQuote(amount: number, mintUrl?: string): Promise<MintQuoteView> {
    return createMintQuote(this.ctx, amount, mintUrl)
  }

  checkMintQuote(quoteId: string): Promise<MintQuoteView> {
    return checkMintQuote(this.ctx, quoteId)
  }

  send(input: {
    amount: number
    mintUrl?: string
    p2pkPubkey?: string
    memo?: string
  }): Promise<SendResult> {
    return send(this.ctx, input)
  }

  reclaim(operationId: string): Promise<ReceiveResult> {
    return reclaim(this.ctx, operationId)
  }

  receive(rawToken: string): Promise<ReceiveResult> {
    return receive(this.ctx, rawToken)
  }

  pendingTokens(): PendingTokenView[] {
    return pendingTokens(this.ctx)
  }

  redeemPending(operationId?: string): Promise<RedeemResult> {
    return redeemPending(this.ctx, operationId)
  }

  createMeltQuote(invoice: string, mintUrl?: string): Promise<MeltQuoteView> {
    return createMeltQuote(this.ctx, invoice, mintUrl)
  }

  melt(quoteId: string): Promise<MeltResult> {
    return melt(this.ctx, quoteId)
  }

  backupSeed(): { words: string[] } {
    return backupSeed(this.ctx)
  }

  restore(mnemonic: string, extraMints: readonly string[] = []): Promise<RestoreResult> {
    return restore(this.ctx, mnemonic, extraMints)
  }

  history(filter: { mintUrl?: string; limit: number }): HistoryEntry[] {
    return this.store
      .listOperations({
        ...(filter.mintUrl ? { mintUrl: normalizeUrl(filter.mintUrl) } : {}),
        limit: filter.limit * 2,
      })
      .filter((o) => !(o.kind === 'melt' && o.state === 'quoted'))
      .slice(0, filter.limit)
      .map(toHistory)
  }

  // ---- reconcile: finish or undo whatever a crash interrupted ---------------------------------

  /** Settles every interrupted operation it can reach; unreachable mints are retried later. */
  async reconcile(): Promise<void> {
    const ctx = this.ctx
    const ops = this.store.listOperations({
      states: ['minting', 'swapping', 'claiming', 'paying'],
    })
    const unpaid = this.store.listOperations({ kind: 'mint', states: ['unpaid'] })
    const sent = this.store.listOperations({ kind: 'send', states: ['sent'] })
    const down = new Set<string>()
    const attempt = async (mintUrl: string, what: string, fn: () => Promise<unknown>) => {
      if (ctx.stopped || down.has(mintUrl)) return
      try {
        await ctx.serial(mintUrl, fn)
      } catch (err) {
        // One unreachable mint costs one timeout per pass, not one per operation.
        if (isUnreachable(err)) down.add(mintUrl)
        ctx.log.debug('eCash operation not settled yet', { what, error: errText(err) })
      }
    }
    for (const op of [...ops, ...unpaid]) {
      await attempt(op.mintUrl, `${op.kind} ${op.id}`, () => this.settle(op))
    }
    // Sent tokens: one NUT-07 check per mint for all of them.
    for (const mintUrl of new Set(sent.map((o) => o.mintUrl))) {
      await attempt(mintUrl, 'sent tokens', () =>
        settleSentTokens(
          ctx,
          sent.filter((o) => o.mintUrl === mintUrl),
        ),
      )
    }
  }

  /** The crash path of the operation's own saga (caller holds the mint's lock). */
  private settle(op: Operation): Promise<unknown> {
    switch (op.kind) {
      case 'mint':
        return advanceMint(this.ctx, op.id)
      case 'send':
        return settleSend(this.ctx, op.id)
      case 'receive':
        return settleReceive(this.ctx, op.id)
      case 'melt':
        return settleMelt(this.ctx, op.id)
      default:
        return Promise.resolve()
    }
  }
}
