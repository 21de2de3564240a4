// What every wallet saga shares: the ledger, the seed, one cashu-ts wallet per mint, the per-mint
// lock, and the events the UI listens to. The sagas themselves live beside this file, one each
// (mint.ts, send.ts, receive.ts, melt.ts, restore.ts), as CDK lays out its wallet.
import { Mint, Wallet, setGlobalRequestOptions } from '@cashu/cashu-ts'
import type { GetInfoResponse, KeyChainCache } from '@cashu/cashu-ts'
import type { EcashEvent, MintBalance } from '../../../shared/api/ecash'
import { FlashError } from '../../errors'
import type { Logger } from '../../log'
import type { BoxKey } from '../../secrets/box-key'
import { SeedFileStore, deriveWalletSeed, type WalletSeed } from '../bip39-seed'
import { isUnreachable, mintHost, toMintFlashError, unreachable } from '../mint-errors'
import { EcashStore } from '../store'
import { toHistory } from './history'

export interface EcashWalletOptions {
  /** Directory of this wallet (seed.json, wallet.sqlite): `<dataDir>/ecash`. */
  readonly dir: string
  readonly log: Logger
  readonly publish?: (event: EcashEvent) => void
  /** URL of the box's own mint, when it runs (added first, marked as ours). */
  readonly ownMintUrl?: () => string | undefined
  /**
   * The box's own mint as the world reaches it (the public address, src/core/reach): tokens of
   * the own mint carry this URL, and tokens naming it are redeemed at the own mint.
   */
  readonly publishedOwnMintUrl?: () => string | undefined
  /** Background pass (claim stored tokens, watch quotes and sent tokens). Default 30 s; 0 = off. */
  readonly backgroundIntervalMs?: number
  /** Per-request timeout towards mints. Default 15 s. */
  readonly requestTimeoutMs?: number
  /** The box key that seals the seed file (src/core/secrets/box-key.ts). */
  readonly box?: BoxKey
}

interface LoadedWallet {
  readonly wallet: Wallet
  readonly loadedAt: number
  readonly online: boolean
}

const WALLET_CACHE_MS = 5 * 60_000

export class WalletContext {
  readonly store: EcashStore
  readonly seedFile: SeedFileStore
  seed: WalletSeed
  readonly log: Logger
  readonly wallets = new Map<string, LoadedWallet>()
  readonly locks = new Map<string, Promise<unknown>>()
  /** NUT-17 subscriptions of unpaid mint quotes, by operation id. */
  readonly quoteWatches = new Map<string, AbortController>()
  stopped = false

  constructor(private readonly opts: EcashWalletOptions) {
    this.log = opts.log
    // cashu-ts has no per-Mint timeout; without one a hung mint would hold a payment forever.
    setGlobalRequestOptions({ requestTimeout: opts.requestTimeoutMs ?? 15_000 })
    this.store = new EcashStore(opts.dir, opts.box)
    this.seedFile = new SeedFileStore(opts.dir, opts.box)
    const s = this.seedFile.loadOrCreate()
    if (s.created) this.log.info('created a new eCash wallet seed')
    this.seed = deriveWalletSeed(s.mnemonic, s.backedUp)
  }

  /** The box's own mint comes first in the list (it may start after the wallet). */
  ensureOwnMint(): void {
    const own = this.opts.ownMintUrl?.()
    if (own && !this.store.getMint(normalizeUrl(own))?.own)
      this.store.addMint(normalizeUrl(own), true)
  }

  /** The mint URL a token of `mintUrl` carries: the published one for the box's own mint. */
  tokenMintUrl(mintUrl: string): string {
    const own = this.opts.ownMintUrl?.()
    const published = this.opts.publishedOwnMintUrl?.()
    return own && published && normalizeUrl(own) === normalizeUrl(mintUrl)
      ? normalizeUrl(published)
      : mintUrl
  }

  /** The mint a token naming `mintUrl` is redeemed at: the own mint for its published URL. */
  localMintUrl(mintUrl: string): string {
    const own = this.opts.ownMintUrl?.()
    const published = this.opts.publishedOwnMintUrl?.()
    return own && published && normalizeUrl(published) === normalizeUrl(mintUrl)
      ? normalizeUrl(own)
      : normalizeUrl(mintUrl)
  }

  /** Runs `fn` after every earlier operation on the same mint (proof selection never races). */
  serial<T>(mintUrl: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(mintUrl) ?? Promise.resolve()
    const next = prev.catch(() => {}).then(fn)
    const tail = next.catch(() => {})
    this.locks.set(mintUrl, tail)
    void tail.then(() => {
      if (this.locks.get(mintUrl) === tail) this.locks.delete(mintUrl)
    })
    return next
  }

  chooseMint(mintUrl?: string, amount?: number): string {
    this.ensureOwnMint()
    if (mintUrl) {
      const url = normalizeUrl(mintUrl)
      if (!this.store.getMint(url)) {
        throw new FlashError(
          'ecash.unknown_mint',
          `The mint ${mintHost(url)} is not in your list of mints.`,
          'Add it under eCash → Mints first.',
        )
      }
      return url
    }
    const mints = this.store.listMints()
    if (!mints.length) {
      throw new FlashError(
        'ecash.no_mint',
        'The wallet has no mint yet.',
        'Turn on the box’s own mint in Settings, or add a mint under eCash → Mints.',
      )
    }
    if (amount !== undefined) {
      const balances = this.store.balances()
      const enough = balances.find((b) => b.spendable >= amount)
      if (enough) return enough.mintUrl
    }
    return mints[0]!.url
  }

  isOnline(url: string): boolean {
    return this.wallets.get(url)?.online ?? false
  }

  private newCashuWallet(url: string): Wallet {
    const mint = new Mint(url, { logger: cashuLogger(this.log) })
    return new Wallet(mint, {
      unit: 'sat',
      bip39seed: this.seed.seed,
      counterSource: this.store.counterSource(),
      secretsPolicy: 'deterministic',
    })
  }

  cachedWallet(url: string): Wallet | undefined {
    const m = this.store.getMint(url)
    if (!m?.info || !m.keychain) return undefined
    const w = this.newCashuWallet(url)
    try {
      w.loadMintFromCache(m.info as GetInfoResponse, m.keychain as KeyChainCache)
      return w
    } catch {
      return undefined
    }
  }

  /** A cashu-ts wallet for the mint: fresh (≤ 5 min) from the mint, or from cache when allowed. */
  async walletFor(url: string, opts: { allowCache: boolean; force?: boolean }): Promise<Wallet> {
    const hit = this.wallets.get(url)
    if (!opts.force && hit?.online && Date.now() - hit.loadedAt < WALLET_CACHE_MS) return hit.wallet
    const w = this.newCashuWallet(url)
    try {
      await w.loadMint(true)
    } catch (err) {
      if (!isUnreachable(err)) throw toMintFlashError(url, err)
      if (this.store.getMint(url)) this.store.setMintOnline(url, false, errText(err))
      this.wallets.delete(url)
      const cached = opts.allowCache ? this.cachedWallet(url) : undefined
      if (cached) {
        this.wallets.set(url, { wallet: cached, loadedAt: Date.now(), online: false })
        return cached
      }
      throw unreachable(url, err)
    }
    if (this.store.getMint(url))
      this.store.saveMintCache(url, w.getMintInfo().cache, w.keyChain.cache)
    const old = this.wallets.get(url)
    if (old && old.wallet !== w) {
      try {
        old.wallet.mint.disconnectWebSocket()
      } catch {
        // not connected
      }
    }
    this.wallets.set(url, { wallet: w, loadedAt: Date.now(), online: true })
    return w
  }

  mintFailed(url: string, err: unknown): FlashError {
    if (isUnreachable(err)) {
      this.wallets.delete(url)
      if (this.store.getMint(url)) this.store.setMintOnline(url, false, errText(err))
    }
    return toMintFlashError(url, err)
  }

  publish(event: EcashEvent): void {
    this.opts.publish?.(event)
  }

  balances(): MintBalance[] {
    const unclaimed = new Map<string, number>()
    for (const op of this.store.listOperations({
      kind: 'receive',
      states: ['unclaimed', 'claiming'],
    })) {
      unclaimed.set(op.mintUrl, (unclaimed.get(op.mintUrl) ?? 0) + op.amount)
    }
    return this.store.balances().map((b) => ({ ...b, unclaimed: unclaimed.get(b.mintUrl) ?? 0 }))
  }

  balanceChanged(): void {
    const balances = this.balances()
    this.publish({
      topic: 'ecash',
      type: 'balance',
      total: balances.reduce((s, b) => s + b.spendable, 0),
      balances,
    })
  }

  historyChanged(opId: string): void {
    const op = this.store.getOperation(opId)
    if (op && !(op.kind === 'melt' && op.state === 'quoted')) {
      const entry = toHistory(op)
      // Amounts and states only: never a token, proof or key.
      this.log.info(`eCash ${entry.kind}: ${entry.state}`, {
        op: op.id,
        mint: mintHost(op.mintUrl),
        amount: op.amount,
        fee: op.fee,
        ...(entry.note ? { note: entry.note } : {}),
      })
      this.publish({ topic: 'ecash', type: 'history', entry })
    }
  }
}

export function normalizeUrl(url: string): string {
  return url.trim().replace(/\/+$/, '')
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export function insufficient(have: number, want: number): FlashError {
  return new FlashError(
    'ecash.insufficient_balance',
    `Not enough ecash: you have ${have} sat at this mint and need ${want} sat.`,
    'Receive ecash or top up from Lightning first, or choose a smaller amount.',
  )
}

function cashuLogger(log: Logger) {
  const l = log.child('cashu')
  const at =
    (fn: (m: string, f?: Record<string, unknown>) => void) =>
    (message: string, context?: Record<string, unknown>) =>
      fn(message, context)
  return {
    error: at(l.error),
    warn: at(l.warn),
    info: at(l.debug),
    debug: at(l.debug),
    trace: () => {},
    log: (level: string, message: string, context?: Record<string, unknown>) =>
      (level === 'error' ? l.error : level === 'warn' ? l.warn : l.debug)(message, context),
  }
}
