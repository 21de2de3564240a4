// The box's Cashu wallet (cashu-ts 4 underneath). Proofs, seed and counters stay in the engine.
//
// Every operation that moves money is a small saga (see store.ts):
//   1. select proofs and build the outputs (deterministic, NUT-13),
//   2. in ONE transaction: write the operation with its serialized outputs and mark the inputs
//      pending — before anything is sent to the mint,
//   3. call the mint,
//   4. in ONE transaction: inputs spent, new proofs stored, operation finished.
// A crash between 2 and 4 is repaired by `reconcile()` on the next start: NUT-07 checkstate
// tells whether the mint consumed the inputs; if it did, NUT-09 restore hands back the
// signatures on the outputs we had persisted; if it did not, the inputs are released.
import {
  Amount,
  CheckStateEnum,
  Mint,
  OutputData,
  Wallet,
  getEncodedToken,
  getP2PKExpectedWitnessPubkeys,
  getSecretKind,
  getTokenMetadata,
  hasValidDleq,
  setGlobalRequestOptions,
  type GetInfoResponse,
  type KeyChainCache,
  type MeltQuoteBolt11Response,
  type MintQuoteBolt11Response,
  type OutputDataLike,
  type Proof,
  type SerializedOutputData,
  type Token,
} from '@cashu/cashu-ts'
import { join } from 'node:path'
import type {
  EcashEvent,
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
import type { Logger } from '../log'
import { SeedFileStore, deriveWalletSeed, isValidMnemonic, type WalletSeed } from './bip39-seed'
import { readBolt11 } from './bolt11'
import { tokenValueFor } from './nut02-fees'
import {
  isUnreachable,
  mintErrorCode,
  mintHost,
  toMintFlashError,
  unreachable,
} from './mint-errors'
import { qrDataUrl } from './qr'
import { EcashStore, proofAmount, toProof, type Operation, type StoredProof } from './store'

export interface EcashWalletOptions {
  /** Directory of this wallet (seed.json, wallet.sqlite): `<dataDir>/ecash`. */
  readonly dir: string
  readonly log: Logger
  readonly publish?: (event: EcashEvent) => void
  /** URL of the box's own mint, when it runs (added first, marked as ours). */
  readonly ownMintUrl?: () => string | undefined
  /** Background pass (claim stored tokens, watch quotes and sent tokens). Default 30 s; 0 = off. */
  readonly backgroundIntervalMs?: number
  /** Per-request timeout towards mints. Default 15 s. */
  readonly requestTimeoutMs?: number
}

interface LoadedWallet {
  readonly wallet: Wallet
  readonly loadedAt: number
  readonly online: boolean
}

const WALLET_CACHE_MS = 5 * 60_000
/** NUT-13: batches of 100, stop after three empty batches. */
const RESTORE_BATCH = 100
const RESTORE_GAP = 300

export class EcashWallet {
  readonly store: EcashStore
  private readonly seedFile: SeedFileStore
  private seed: WalletSeed
  private readonly log: Logger
  private readonly wallets = new Map<string, LoadedWallet>()
  private readonly locks = new Map<string, Promise<unknown>>()
  private readonly quoteWatches = new Map<string, AbortController>()
  private timer: NodeJS.Timeout | undefined
  private background: Promise<void> | undefined
  private stopped = false

  constructor(private readonly opts: EcashWalletOptions) {
    this.log = opts.log
    // cashu-ts has no per-Mint timeout; without one a hung mint would hold a payment forever.
    setGlobalRequestOptions({ requestTimeout: opts.requestTimeoutMs ?? 15_000 })
    this.store = new EcashStore(opts.dir)
    this.seedFile = new SeedFileStore(opts.dir)
    const s = this.seedFile.loadOrCreate()
    if (s.created) this.log.info('created a new eCash wallet seed')
    this.seed = deriveWalletSeed(s.mnemonic, s.backedUp)
  }

  static dirFor(dataDir: string): string {
    return join(dataDir, 'ecash')
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async start(): Promise<void> {
    this.ensureOwnMint()
    await this.reconcile()
    for (const op of this.store.listOperations({ kind: 'mint', states: ['unpaid'] })) {
      this.watchMintQuote(op)
    }
    const every = this.opts.backgroundIntervalMs ?? 30_000
    if (every > 0) {
      this.timer = setInterval(() => void this.runBackgroundPass(), every)
      this.timer.unref()
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    for (const ac of this.quoteWatches.values()) ac.abort()
    this.quoteWatches.clear()
    await this.background?.catch(() => {})
    await Promise.allSettled([...this.locks.values()])
    for (const { wallet } of this.wallets.values()) {
      try {
        wallet.mint.disconnectWebSocket()
      } catch {
        // not connected
      }
    }
    this.wallets.clear()
    this.store.close()
  }

  /** The box's own mint comes first in the list (it may start after the wallet). */
  private ensureOwnMint(): void {
    const own = this.opts.ownMintUrl?.()
    if (own && !this.store.getMint(normalizeUrl(own))?.own)
      this.store.addMint(normalizeUrl(own), true)
  }

  /** One pass of the background work: finish pending operations, claim stored tokens. */
  runBackgroundPass(): Promise<void> {
    if (this.background || this.stopped) return this.background ?? Promise.resolve()
    this.background = (async () => {
      try {
        await this.reconcile()
        if (
          this.store.listOperations({ kind: 'receive', states: ['unclaimed'], limit: 1 }).length
        ) {
          await this.redeemPending()
        }
      } catch (err) {
        this.log.warn('eCash background pass failed', { error: errText(err) })
      } finally {
        this.background = undefined
      }
    })()
    return this.background
  }

  // ---- status, mints --------------------------------------------------------------------------

  status(): EcashStatus {
    this.ensureOwnMint()
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
      receivePubkey: this.seed.p2pkPubkey,
      seedBackedUp: this.seed.backedUp,
    }
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

  mints(): EcashMintView[] {
    this.ensureOwnMint()
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
    await this.walletFor(url, { allowCache: false, force: true })
    this.store.addMint(url)
    this.wallets.delete(url)
    await this.walletFor(url, { allowCache: false, force: true })
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
    this.wallets.delete(url)
  }

  // ---- mint (NUT-04, NUT-17, NUT-20) ----------------------------------------------------------

  async createMintQuote(amount: number, mintUrl?: string): Promise<MintQuoteView> {
    const url = this.chooseMint(mintUrl)
    return this.serial(url, async () => {
      const w = await this.walletFor(url, { allowCache: false })
      const locked = w.getMintInfo().isSupported(20).supported
      let q: MintQuoteBolt11Response
      try {
        q = locked
          ? await w.createLockedMintQuote(amount, this.seed.p2pkPubkey)
          : await w.createMintQuoteBolt11(amount)
      } catch (err) {
        throw this.mintFailed(url, err)
      }
      const op = this.store.createOperation({
        kind: 'mint',
        state: 'unpaid',
        mintUrl: url,
        amount,
        quoteId: q.quote,
        data: { invoice: q.request, expiry: q.expiry ?? null, locked },
      })
      this.historyChanged(op.id)
      this.watchMintQuote(op)
      return this.mintQuoteView(op, 'unpaid')
    })
  }

  /** Looks at a mint quote now; mints the ecash if it is paid. */
  async checkMintQuote(quoteId: string): Promise<MintQuoteView> {
    const op = this.store.findOperationByQuote('mint', quoteId)
    if (!op) {
      throw new FlashError(
        'ecash.unknown_quote',
        'This wallet did not ask for that invoice.',
        'Create a new invoice under eCash → Receive via Lightning.',
      )
    }
    const done = await this.serial(op.mintUrl, () => this.advanceMint(op.id))
    return this.mintQuoteView(done.op, done.state)
  }

  private async advanceMint(
    opId: string,
  ): Promise<{ op: Operation; state: 'unpaid' | 'paid' | 'issued' | 'expired' }> {
    let op = this.store.getOperation(opId)!
    if (op.state === 'done') return { op, state: 'issued' }
    if (op.state === 'expired' || op.state === 'failed') return { op, state: 'expired' }
    const w = await this.walletFor(op.mintUrl, { allowCache: false })
    let q: MintQuoteBolt11Response
    try {
      q = await w.checkMintQuoteBolt11(op.quoteId!)
    } catch (err) {
      throw this.mintFailed(op.mintUrl, err)
    }
    if (op.state === 'minting') {
      // We asked for signatures before and did not hear back (crash, network).
      if (q.state === 'ISSUED') {
        const proofs = await this.restoreOutputs(w, op.mintUrl, outputsOf(op, 'outputs'))
        this.finishMint(op, proofs)
        return { op: this.store.getOperation(opId)!, state: 'issued' }
      }
      this.store.updateOperation(op.id, { state: 'unpaid' }, 'minting')
      op = this.store.getOperation(opId)!
    }
    if (q.state === 'UNPAID') {
      const expiry = typeof op.data.expiry === 'number' ? op.data.expiry : undefined
      if (expiry && expiry < Date.now() / 1000) {
        this.store.updateOperation(op.id, { state: 'expired' }, 'unpaid')
        this.historyChanged(op.id)
        return { op: this.store.getOperation(opId)!, state: 'expired' }
      }
      return { op, state: 'unpaid' }
    }
    if (q.state === 'ISSUED') {
      // Issued, but not to a request of ours we know of: nothing to recover.
      this.store.updateOperation(
        op.id,
        { state: 'failed', lastError: 'issued elsewhere' },
        'unpaid',
      )
      this.historyChanged(op.id)
      return { op: this.store.getOperation(opId)!, state: 'issued' }
    }
    this.publish({
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
        ...(op.data.locked ? { privkey: this.seed.p2pkPrivkey } : {}),
        proofsWeHave: this.store.listProofs(op.mintUrl, 'unspent').map(toProof),
      },
      { type: 'deterministic', counter: 0 },
    )
    const persisted = this.store.updateOperation(
      op.id,
      {
        state: 'minting',
        data: { ...op.data, outputs: serializeOutputs(preview.outputData) },
        attempted: true,
      },
      'unpaid',
    )
    if (!persisted) return { op: this.store.getOperation(opId)!, state: 'paid' }
    let proofs: Proof[]
    try {
      proofs = await w.completeMint(preview)
    } catch (err) {
      const code = mintErrorCode(err)
      if (code === 20002) {
        // Issued: possibly to exactly this request (an earlier answer we never read).
        const recovered = await this.restoreOutputs(
          w,
          op.mintUrl,
          serializeOutputs(preview.outputData),
        )
        this.finishMint(this.store.getOperation(opId)!, recovered)
        return { op: this.store.getOperation(opId)!, state: 'issued' }
      }
      if (!isUnreachable(err))
        this.store.updateOperation(op.id, { state: 'unpaid', lastError: errText(err) }, 'minting')
      throw this.mintFailed(op.mintUrl, err)
    }
    this.finishMint(this.store.getOperation(opId)!, proofs)
    return { op: this.store.getOperation(opId)!, state: 'issued' }
  }

  private finishMint(op: Operation, proofs: Proof[]): void {
    this.store.transaction(() => {
      this.store.insertProofs(op.mintUrl, proofs, 'unspent', op.id)
      const got = proofAmount(proofs)
      this.store.updateOperation(
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
    this.balanceChanged()
    this.historyChanged(op.id)
  }

  /** NUT-17: mint as soon as the mint says the invoice is paid (falls back to the background pass). */
  private watchMintQuote(op: Operation): void {
    if (this.stopped || this.quoteWatches.has(op.id)) return
    const ac = new AbortController()
    this.quoteWatches.set(op.id, ac)
    void (async () => {
      try {
        const w = await this.walletFor(op.mintUrl, { allowCache: false })
        if (!Array.isArray(w.getMintInfo().nuts['17']?.supported)) return
        const expiry = typeof op.data.expiry === 'number' ? op.data.expiry * 1000 - Date.now() : 0
        await w.on.onceMintPaid(op.quoteId!, {
          signal: ac.signal,
          timeoutMs: Math.max(60_000, Math.min(expiry || 3_600_000, 24 * 3_600_000)),
        })
        if (this.stopped) return
        await this.serial(op.mintUrl, () => this.advanceMint(op.id))
      } catch (err) {
        if (!ac.signal.aborted) this.log.debug('mint quote watch ended', { error: errText(err) })
      } finally {
        this.quoteWatches.delete(op.id)
      }
    })()
  }

  // ---- send (NUT-03 swap, NUT-11 P2PK) --------------------------------------------------------

  async send(input: {
    amount: number
    mintUrl?: string
    p2pkPubkey?: string
    memo?: string
  }): Promise<SendResult> {
    const url = this.chooseMint(input.mintUrl, input.amount)
    return this.serial(url, async () => {
      const w = await this.walletFor(url, { allowCache: true })
      const proofs = this.store.listProofs(url, 'unspent').map(toProof)
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
          const token = this.encodeToken(url, exact, input.memo)
          const op = this.store.transaction(() => {
            const o = this.store.createOperation({
              kind: 'send',
              state: 'sent',
              mintUrl: url,
              amount: input.amount,
              token,
              data: { memo: input.memo ?? null, offline: true },
            })
            this.store.moveProofs(
              exact.map((p) => p.secret),
              'unspent',
              'pending-send',
              o.id,
            )
            return o
          })
          this.balanceChanged()
          this.historyChanged(op.id)
          return this.sendResult(op, token, 0)
        }
      }

      if (!this.isOnline(url)) {
        // Cached keys only: we cannot swap for exact change.
        await this.walletFor(url, { allowCache: false, force: true })
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
        throw this.selectionFailed(err, have, input.amount)
      }
      const fee = Amount.from(preview.fees).toNumber()
      const inputs = preview.inputs.map((p) => p.secret)
      const op = this.store.transaction(() => {
        const o = this.store.createOperation({
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
        this.store.moveProofs(inputs, 'unspent', 'pending-send', o.id)
        return o
      })
      this.balanceChanged()
      let res
      try {
        res = await w.completeSwap(preview)
      } catch (err) {
        await this.settleInterrupted(op.id).catch(() => {})
        throw this.mintFailed(url, err)
      }
      const token = this.encodeToken(url, res.send, input.memo)
      this.store.transaction(() => {
        this.store.moveProofs(inputs, 'pending-send', 'spent', op.id)
        this.store.insertProofs(url, res.keep, 'unspent', op.id)
        this.store.insertProofs(url, res.send, 'pending-send', op.id)
        this.store.updateOperation(op.id, { state: 'sent', token }, 'swapping')
      })
      this.balanceChanged()
      this.historyChanged(op.id)
      return this.sendResult(this.store.getOperation(op.id)!, token, fee)
    })
  }

  private async sendResult(op: Operation, token: string, fee: number): Promise<SendResult> {
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

  private encodeToken(mintUrl: string, proofs: Proof[], memo?: string): string {
    const token: Token = { mint: mintUrl, proofs, unit: 'sat', ...(memo ? { memo } : {}) }
    return getEncodedToken(token)
  }

  // ---- receive (NUT-03 swap, NUT-11, NUT-12) and offline receive -------------------------------

  async receive(rawToken: string): Promise<ReceiveResult> {
    const meta = readTokenMeta(rawToken)
    const url = normalizeUrl(meta.mint)
    if (!this.store.getMint(url)) {
      throw new FlashError(
        'ecash.unknown_mint',
        `This token is from the mint ${mintHost(url)}, which is not in your list of mints.`,
        'If you trust that mint, add it under eCash → Mints, then receive the token again.',
      )
    }
    const already = this.store
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
    return this.serial(url, async () => {
      let w: Wallet
      try {
        w = await this.walletFor(url, { allowCache: false })
      } catch (err) {
        if (!isUnreachable(err)) throw err
        return this.storeOffline(url, rawToken, meta.amount, errText(err))
      }
      let token: Token
      try {
        token = this.decodeToken(w, rawToken)
        this.checkToken(w, token)
      } catch (err) {
        const code = err instanceof FlashError ? err.code : ''
        if (code !== 'ecash.unknown_keyset' && code !== 'ecash.bad_token') throw err
        // Perhaps a keyset newer than our 5-minute cache: ask the mint again, once.
        w = await this.walletFor(url, { allowCache: false, force: true })
        token = this.decodeToken(w, rawToken)
        this.checkToken(w, token)
      }
      const op = this.store.createOperation({
        kind: 'receive',
        state: 'claiming',
        mintUrl: url,
        amount: proofAmount(token.proofs),
        token: rawToken,
        data: { inputs: token.proofs.map((p) => p.secret) },
      })
      return this.claim(w, op, token)
    })
  }

  private storeOffline(url: string, token: string, amount: number, reason: string): ReceiveResult {
    // Verify what we can without the mint: the DLEQ proofs against the keys we cached.
    const cached = this.cachedWallet(url)
    let verified = false
    if (cached) {
      try {
        this.checkToken(cached, this.decodeToken(cached, token))
        verified = true
      } catch (err) {
        // Keys newer than our cache cannot be checked now; the mint checks them at claim time.
        const code = err instanceof FlashError ? err.code : ''
        if (code !== 'ecash.unknown_keyset' && code !== 'ecash.bad_token') throw err
      }
    }
    const op = this.store.createOperation({
      kind: 'receive',
      state: 'unclaimed',
      mintUrl: url,
      amount,
      token,
      data: { verifiedOffline: verified },
      // The reason stays internal; the user sees "not yet claimed".
    })
    this.store.updateOperation(op.id, { lastError: reason, attempted: true })
    this.balanceChanged()
    this.historyChanged(op.id)
    return {
      status: 'stored-offline',
      operationId: op.id,
      mintUrl: url,
      amount,
      reason: 'The mint did not answer; the token is kept and claimed automatically when it does.',
    }
  }

  /** Swaps the token's proofs for fresh ones of ours. `op` is in state 'claiming'. */
  private async claim(w: Wallet, op: Operation, token: Token): Promise<ReceiveResult> {
    const privkey = this.privkeyFor(token.proofs)
    let preview
    try {
      preview = await w.prepareSwapToReceive(
        token,
        {
          ...(privkey ? { privkey } : {}),
          proofsWeHave: this.store.listProofs(op.mintUrl, 'unspent').map(toProof),
        },
        { type: 'deterministic', counter: 0 },
      )
    } catch (err) {
      this.store.updateOperation(op.id, { state: 'failed', lastError: errText(err) }, ['claiming'])
      throw this.mintFailed(op.mintUrl, err)
    }
    this.store.updateOperation(op.id, {
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
        this.store.updateOperation(op.id, { lastError: errText(err) })
        await this.settleInterrupted(op.id).catch(() => {})
        const now = this.store.getOperation(op.id)!
        if (now.state === 'unclaimed' || now.state === 'claiming') {
          this.balanceChanged()
          return {
            status: 'stored-offline',
            operationId: op.id,
            mintUrl: op.mintUrl,
            amount: op.amount,
            reason:
              'The mint stopped answering; the token is kept and claimed automatically when it does.',
          }
        }
        if (now.state === 'done') return this.claimed(now)
      }
      await this.settleInterrupted(op.id).catch(() => {})
      const now = this.store.getOperation(op.id)!
      if (now.state === 'done') return this.claimed(now)
      if (now.state !== 'unclaimed') {
        this.store.updateOperation(op.id, { state: 'failed', lastError: errText(err) }, [
          'claiming',
          'unclaimed',
        ])
      }
      this.historyChanged(op.id)
      throw this.mintFailed(op.mintUrl, err)
    }
    this.finishReceive(op.id, res.keep)
    return this.claimed(this.store.getOperation(op.id)!)
  }

  private finishReceive(opId: string, proofs: Proof[]): void {
    const op = this.store.getOperation(opId)!
    const inputs = (op.data.inputs as string[] | undefined) ?? []
    // Our own sent token coming back (reclaim): those proofs are spent now.
    const ours = this.store.proofsBySecrets(inputs).filter((p) => p.state === 'pending-send')
    const sendOps = [...new Set(ours.map((p) => p.opId).filter((x): x is string => !!x))]
    this.store.transaction(() => {
      this.store.insertProofs(op.mintUrl, proofs, 'unspent', op.id)
      for (const p of ours) this.store.moveProofs([p.secret], 'pending-send', 'spent')
      for (const sendOp of sendOps) {
        this.store.updateOperation(
          sendOp,
          { state: 'failed', lastError: 'taken back: this wallet claimed the token itself' },
          'sent',
        )
      }
      this.store.updateOperation(
        op.id,
        { state: 'done', lastError: null, data: { ...op.data, received: proofAmount(proofs) } },
        ['claiming', 'unclaimed'],
      )
    })
    this.balanceChanged()
    for (const id of sendOps) this.historyChanged(id)
    this.historyChanged(op.id)
    this.publish({
      topic: 'ecash',
      type: 'token-claimed',
      operationId: op.id,
      mintUrl: op.mintUrl,
      amount: proofAmount(proofs),
    })
  }

  private claimed(op: Operation): ReceiveResult {
    const got = typeof op.data.received === 'number' ? op.data.received : op.amount - op.fee
    return { status: 'claimed', operationId: op.id, mintUrl: op.mintUrl, amount: got, fee: op.fee }
  }

  pendingTokens(): PendingTokenView[] {
    return this.store
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
  async redeemPending(operationId?: string): Promise<RedeemResult> {
    const ops = this.store
      .listOperations({ kind: 'receive', states: ['unclaimed', 'claiming'] })
      .filter((o) => !operationId || o.id === operationId)
    if (operationId && !ops.length) {
      const op = this.store.getOperation(operationId)
      if (!op || op.kind !== 'receive') {
        throw new FlashError(
          'ecash.unknown_token',
          'There is no stored token with that id.',
          'Refresh the list of pending tokens.',
        )
      }
    }
    let claimed = 0
    let claimedAmount = 0
    const failed: { operationId: string; reason: string }[] = []
    for (const op of ops.reverse()) {
      try {
        const r = await this.serial(op.mintUrl, async () => {
          let w: Wallet
          try {
            w = await this.walletFor(op.mintUrl, { allowCache: false })
          } catch (err) {
            this.store.updateOperation(op.id, { lastError: errText(err), attempted: true })
            throw err
          }
          // An earlier claim was cut off: find out whether the mint took it first (NUT-07).
          if (this.store.getOperation(op.id)!.state === 'claiming')
            await this.settleClaim(this.store.getOperation(op.id)!)
          const cur = this.store.getOperation(op.id)!
          if (cur.state === 'done') return this.claimed(cur)
          if (cur.state !== 'unclaimed') return undefined
          const token = this.decodeToken(w, cur.token!)
          try {
            this.checkToken(w, token)
          } catch (err) {
            this.store.updateOperation(
              op.id,
              { state: 'failed', lastError: errText(err) },
              'unclaimed',
            )
            throw err
          }
          if (!this.store.updateOperation(op.id, { state: 'claiming' }, 'unclaimed'))
            return undefined
          return this.claim(w, this.store.getOperation(op.id)!, token)
        })
        if (r?.status === 'claimed') {
          claimed++
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
    const stillPending = this.store.listOperations({
      kind: 'receive',
      states: ['unclaimed', 'claiming'],
    }).length
    return { claimed, claimedAmount, stillPending, failed }
  }

  private decodeToken(w: Wallet, raw: string): Token {
    try {
      return w.decodeToken(raw)
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
  private checkToken(w: Wallet, token: Token): void {
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
      if (keys && !keys.some((k) => samePubkey(k, this.seed.p2pkPubkey))) {
        throw new FlashError(
          'ecash.token_locked',
          'This token is locked to someone else’s key.',
          'Only the holder of that key can claim it. Give the sender your receive key (eCash → Receive) and ask for a new token.',
        )
      }
    }
  }

  private privkeyFor(proofs: Proof[]): string | undefined {
    return proofs.some((p) => lockKeys(p.secret)) ? this.seed.p2pkPrivkey : undefined
  }

  // ---- melt (NUT-05, NUT-08) ------------------------------------------------------------------

  async createMeltQuote(invoice: string, mintUrl?: string): Promise<MeltQuoteView> {
    const inv = readBolt11(invoice)
    const url = this.chooseMint(mintUrl, inv.amountSat)
    return this.serial(url, async () => {
      const w = await this.walletFor(url, { allowCache: false })
      let q: MeltQuoteBolt11Response
      try {
        q = await w.createMeltQuoteBolt11(invoice)
      } catch (err) {
        throw this.mintFailed(url, err)
      }
      const op = this.store.createOperation({
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

  async melt(quoteId: string): Promise<MeltResult> {
    const found = this.store.findOperationByQuote('melt', quoteId)
    if (!found) {
      throw new FlashError(
        'ecash.unknown_quote',
        'There is no payment prepared with that id.',
        'Paste the invoice again to get a new quote.',
      )
    }
    return this.serial(found.mintUrl, async () => {
      const op = this.store.getOperation(found.id)!
      if (op.state === 'done') return this.meltResult(op)
      if (op.state === 'paying') {
        await this.settleInterrupted(op.id)
        return this.meltResult(this.store.getOperation(op.id)!)
      }
      if (op.state !== 'quoted') {
        throw new FlashError(
          'ecash.quote_used',
          'This payment was already tried and failed.',
          'Paste the invoice again to get a new quote.',
        )
      }
      const w = await this.walletFor(op.mintUrl, { allowCache: false })
      let q: MeltQuoteBolt11Response
      try {
        q = await w.checkMeltQuoteBolt11(quoteId)
      } catch (err) {
        throw this.mintFailed(op.mintUrl, err)
      }
      if (q.state !== 'UNPAID') {
        throw new FlashError(
          'ecash.invoice_paid',
          'This invoice is already being paid or was paid.',
          'Look at the history; ask the recipient for a new invoice if needed.',
        )
      }
      const proofs = this.store.listProofs(op.mintUrl, 'unspent').map(toProof)
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
      this.store.transaction(() => {
        this.store.moveProofs(inputs, 'unspent', 'pending-melt', op.id)
        this.store.updateOperation(
          op.id,
          {
            state: 'paying',
            data: { ...op.data, inputs, outputs: serializeOutputs(preview.outputData) },
            attempted: true,
          },
          'quoted',
        )
      })
      this.balanceChanged()
      this.historyChanged(op.id)
      let res
      try {
        res = await w.completeMelt(preview)
      } catch (err) {
        await this.settleInterrupted(op.id).catch(() => {})
        const now = this.store.getOperation(op.id)!
        if (now.state === 'done') return this.meltResult(now)
        if (now.state === 'paying' && (isUnreachable(err) || mintErrorCode(err) === 20005)) {
          return this.meltResult(now)
        }
        throw this.mintFailed(op.mintUrl, err)
      }
      if (res.quote.state === 'PAID') {
        this.finishMelt(op.id, res.change, res.quote.payment_preimage ?? undefined)
      } else if (res.quote.state === 'UNPAID') {
        await this.settleInterrupted(op.id)
        throw new FlashError(
          'ecash.lightning_failed',
          'The mint could not pay the Lightning invoice.',
          'Your ecash was not spent. Try again later, or ask for a new invoice.',
        )
      }
      return this.meltResult(this.store.getOperation(op.id)!)
    })
  }

  private finishMelt(opId: string, change: Proof[], preimage?: string): void {
    const op = this.store.getOperation(opId)!
    const inputs = (op.data.inputs as string[] | undefined) ?? []
    const spent = proofAmount(this.store.proofsBySecrets(inputs).map(toProof))
    const back = proofAmount(change)
    this.store.transaction(() => {
      this.store.moveProofs(inputs, 'pending-melt', 'spent', op.id)
      this.store.insertProofs(op.mintUrl, change, 'unspent', op.id)
      this.store.updateOperation(
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
    this.balanceChanged()
    this.historyChanged(op.id)
  }

  private meltResult(op: Operation): MeltResult {
    return {
      operationId: op.id,
      state: op.state === 'done' ? 'paid' : 'pending',
      amount: op.amount,
      fee: op.state === 'done' ? op.fee : 0,
      change: typeof op.data.change === 'number' ? op.data.change : 0,
      ...(typeof op.data.preimage === 'string' ? { preimage: op.data.preimage } : {}),
    }
  }

  // ---- reconcile: finish or undo whatever a crash interrupted ---------------------------------

  /** Settles every interrupted operation it can reach; unreachable mints are retried later. */
  async reconcile(): Promise<void> {
    const ops = this.store.listOperations({
      states: ['minting', 'swapping', 'claiming', 'paying'],
    })
    const unpaid = this.store.listOperations({ kind: 'mint', states: ['unpaid'] })
    const sent = this.store.listOperations({ kind: 'send', states: ['sent'] })
    const down = new Set<string>()
    const attempt = async (mintUrl: string, what: string, fn: () => Promise<unknown>) => {
      if (this.stopped || down.has(mintUrl)) return
      try {
        await this.serial(mintUrl, fn)
      } catch (err) {
        // One unreachable mint costs one timeout per pass, not one per operation.
        if (isUnreachable(err)) down.add(mintUrl)
        this.log.debug('eCash operation not settled yet', { what, error: errText(err) })
      }
    }
    for (const op of [...ops, ...unpaid]) {
      await attempt(op.mintUrl, `${op.kind} ${op.id}`, () =>
        op.kind === 'mint' ? this.advanceMint(op.id) : this.settleInterrupted(op.id),
      )
    }
    // Sent tokens: one NUT-07 check per mint for all of them.
    for (const mintUrl of new Set(sent.map((o) => o.mintUrl))) {
      await attempt(mintUrl, 'sent tokens', () =>
        this.settleSentTokens(sent.filter((o) => o.mintUrl === mintUrl)),
      )
    }
  }

  /** Caller holds the mint's lock. */
  private async settleInterrupted(opId: string): Promise<void> {
    const op = this.store.getOperation(opId)
    if (!op) return
    if (op.kind === 'send' && op.state === 'swapping') return this.settleSwap(op)
    if (op.kind === 'send' && op.state === 'sent') return this.settleSent(op)
    if (op.kind === 'receive' && op.state === 'claiming') return this.settleClaim(op)
    if (op.kind === 'melt' && op.state === 'paying') return this.settleMelt(op)
  }

  /** A send swap was interrupted: the user never saw the token, so everything comes back to us. */
  private async settleSwap(op: Operation): Promise<void> {
    const w = await this.walletFor(op.mintUrl, { allowCache: false })
    const inputs = (op.data.inputs as string[]) ?? []
    const stored = this.store.proofsBySecrets(inputs).filter((p) => p.state === 'pending-send')
    const states = await this.checkStates(w, op.mintUrl, stored)
    if (states.some((s) => s === CheckStateEnum.PENDING)) return
    if (states.every((s) => s === CheckStateEnum.UNSPENT)) {
      this.store.transaction(() => {
        this.store.moveProofs(
          stored.map((p) => p.secret),
          'pending-send',
          'unspent',
          null,
        )
        this.store.updateOperation(
          op.id,
          { state: 'failed', lastError: 'interrupted before the mint answered; nothing was spent' },
          'swapping',
        )
      })
    } else {
      const outputs = [...outputsOf(op, 'keepOutputs'), ...outputsOf(op, 'sendOutputs')]
      const proofs = await this.restoreOutputs(w, op.mintUrl, outputs)
      this.store.transaction(() => {
        const spent = stored.filter((_, i) => states[i] === CheckStateEnum.SPENT)
        const unspent = stored.filter((_, i) => states[i] === CheckStateEnum.UNSPENT)
        this.store.moveProofs(
          spent.map((p) => p.secret),
          'pending-send',
          'spent',
          null,
        )
        this.store.moveProofs(
          unspent.map((p) => p.secret),
          'pending-send',
          'unspent',
          null,
        )
        this.store.insertProofs(op.mintUrl, proofs, 'unspent', op.id)
        this.store.updateOperation(
          op.id,
          {
            state: 'failed',
            lastError: 'interrupted after the mint answered; the ecash was recovered',
          },
          'swapping',
        )
      })
    }
    this.balanceChanged()
    this.historyChanged(op.id)
  }

  /** A sent token: claimed once the mint says its proofs are spent. */
  private async settleSent(op: Operation): Promise<void> {
    await this.settleSentTokens([op])
  }

  /** Sent tokens of one mint (caller holds its lock): one checkstate for all their proofs. */
  private async settleSentTokens(ops: readonly Operation[]): Promise<void> {
    const live = ops
      .map((o) => this.store.getOperation(o.id)!)
      .filter((o) => o.state === 'sent')
      .map((o) => ({ op: o, proofs: this.store.proofsByOp(o.id, 'pending-send') }))
    if (!live.length) return
    const all = live.flatMap((x) => x.proofs)
    const states = all.length
      ? await this.checkStates(
          await this.walletFor(live[0]!.op.mintUrl, { allowCache: false }),
          live[0]!.op.mintUrl,
          all,
        )
      : []
    const stateOf = new Map(all.map((p, i) => [p.secret, states[i]]))
    let changed = false
    for (const { op, proofs } of live) {
      if (!proofs.every((p) => stateOf.get(p.secret) === CheckStateEnum.SPENT)) continue
      this.store.transaction(() => {
        this.store.moveProofs(
          proofs.map((p) => p.secret),
          'pending-send',
          'spent',
        )
        this.store.updateOperation(op.id, { state: 'claimed' }, 'sent')
      })
      this.historyChanged(op.id)
      changed = true
    }
    if (changed) this.balanceChanged()
  }

  /**
   * Takes back a sent token nobody has claimed yet: the wallet claims it itself (a swap), so
   * the token given out is worth nothing from then on.
   */
  async reclaim(operationId: string): Promise<ReceiveResult> {
    const op = this.store.getOperation(operationId)
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
      return await this.receive(op.token)
    } catch (err) {
      if (err instanceof FlashError && err.code === 'ecash.token_spent') {
        await this.serial(op.mintUrl, () => this.settleSent(op)).catch(() => {})
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

  private async settleClaim(op: Operation): Promise<void> {
    const w = await this.walletFor(op.mintUrl, { allowCache: false })
    const token = this.decodeToken(w, op.token!)
    const states = await this.checkStates(
      w,
      op.mintUrl,
      token.proofs.map((p) => ({ secret: p.secret, keysetId: p.id })),
    )
    if (states.some((s) => s === CheckStateEnum.PENDING)) return
    if (states.every((s) => s === CheckStateEnum.UNSPENT)) {
      this.store.updateOperation(op.id, { state: 'unclaimed' }, 'claiming')
      return
    }
    const proofs = await this.restoreOutputs(w, op.mintUrl, outputsOf(op, 'outputs'))
    if (proofs.length) {
      this.finishReceive(op.id, proofs)
    } else {
      this.store.updateOperation(
        op.id,
        { state: 'failed', lastError: 'the token was spent by someone else' },
        'claiming',
      )
      this.historyChanged(op.id)
    }
  }

  private async settleMelt(op: Operation): Promise<void> {
    const w = await this.walletFor(op.mintUrl, { allowCache: false })
    let q: MeltQuoteBolt11Response
    try {
      q = await w.checkMeltQuoteBolt11(op.quoteId!)
    } catch (err) {
      throw this.mintFailed(op.mintUrl, err)
    }
    if (q.state === 'PENDING') return
    if (q.state === 'PAID') {
      const outputs = outputsOf(op, 'outputs').map((o) => OutputData.deserialize(o))
      let change: Proof[] = []
      if (q.change?.length) {
        change = w.createMeltChangeProofs(outputs, q.change)
      } else if (outputs.length) {
        change = await this.restoreOutputs(w, op.mintUrl, outputsOf(op, 'outputs'))
      }
      this.finishMelt(op.id, change, q.payment_preimage ?? undefined)
      return
    }
    // UNPAID: the mint gives the inputs back; release only what it says is unspent.
    const inputs = this.store
      .proofsBySecrets((op.data.inputs as string[]) ?? [])
      .filter((p) => p.state === 'pending-melt')
    const states = await this.checkStates(w, op.mintUrl, inputs)
    // The mint still holds them for this melt: wait.
    if (states.some((s) => s === CheckStateEnum.PENDING)) return
    // Spent although the quote is unpaid can only mean spent elsewhere: book it, never resurrect it.
    const spent = inputs.filter((_, i) => states[i] === CheckStateEnum.SPENT)
    const unspent = inputs.filter((_, i) => states[i] === CheckStateEnum.UNSPENT)
    this.store.transaction(() => {
      this.store.moveProofs(
        unspent.map((p) => p.secret),
        'pending-melt',
        'unspent',
        null,
      )
      this.store.moveProofs(
        spent.map((p) => p.secret),
        'pending-melt',
        'spent',
      )
      this.store.updateOperation(
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
    this.balanceChanged()
    this.historyChanged(op.id)
  }

  private async checkStates(
    w: Wallet,
    mintUrl: string,
    proofs: readonly Pick<StoredProof, 'secret' | 'keysetId'>[],
  ): Promise<string[]> {
    if (!proofs.length) return []
    try {
      const states = await w.checkProofsStates(
        proofs.map((p) => ({ secret: p.secret, id: p.keysetId })),
      )
      return states.map((s) => s.state)
    } catch (err) {
      throw this.mintFailed(mintUrl, err)
    }
  }

  /** NUT-09: ask the mint for its signatures on outputs we persisted, and unblind them. */
  private async restoreOutputs(
    w: Wallet,
    mintUrl: string,
    serialized: SerializedOutputData[],
  ): Promise<Proof[]> {
    if (!serialized.length) return []
    const outputs = serialized.map((s) => OutputData.deserialize(s))
    let res
    try {
      res = await w.mint.restore({ outputs: outputs.map((o) => o.blindedMessage) })
    } catch (err) {
      throw this.mintFailed(mintUrl, err)
    }
    const sigByB = new Map(res.outputs.map((o, i) => [o.B_, res.signatures[i]]))
    const proofs: Proof[] = []
    for (const o of outputs) {
      const sig = sigByB.get(o.blindedMessage.B_)
      if (!sig) continue
      proofs.push(o.toProof(sig, w.keyChain.getKeyset(sig.id)))
    }
    if (!proofs.length) return []
    const states = await w.checkProofsStates(proofs)
    return proofs.filter((_, i) => states[i]?.state === CheckStateEnum.UNSPENT)
  }

  // ---- history, backup, restore ---------------------------------------------------------------

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

  backupSeed(): { words: string[] } {
    const { mnemonic } = this.seedFile.loadOrCreate()
    this.seedFile.markBackedUp()
    this.seed = { ...this.seed, backedUp: true }
    this.log.info('eCash recovery words shown to the user (backup)')
    return { words: mnemonic.split(' ') }
  }

  async restore(mnemonic: string, extraMints: readonly string[] = []): Promise<RestoreResult> {
    if (!isValidMnemonic(mnemonic)) {
      throw new FlashError(
        'ecash.bad_mnemonic',
        'These recovery words are not valid.',
        'Check each word and their order against what you wrote down; one word is probably misspelled.',
      )
    }
    const current = this.seedFile.loadOrCreate().mnemonic
    if (mnemonic !== current) {
      if (this.store.hasAnyProofsOrOperations()) {
        throw new FlashError(
          'ecash.wallet_not_empty',
          'This wallet still holds ecash, so it cannot be replaced by another one.',
          'Pay out or send the balance first (and let pending tokens be claimed), or restore on a fresh Flash Box.',
        )
      }
      this.seedFile.replace(mnemonic, true)
      this.seed = deriveWalletSeed(mnemonic, true)
      this.store.wipeWallet()
      this.wallets.clear()
    }
    for (const m of extraMints) this.store.addMint(normalizeUrl(m))
    const results: { mintUrl: string; amount: number; error?: string }[] = []
    let total = 0
    for (const m of this.store.listMints()) {
      try {
        const amount = await this.serial(m.url, () => this.restoreMint(m.url))
        results.push({ mintUrl: m.url, amount })
        total += amount
      } catch (err) {
        const e = err instanceof FlashError ? err : toMintFlashError(m.url, err)
        results.push({ mintUrl: m.url, amount: 0, error: e.message })
      }
    }
    this.balanceChanged()
    return { restored: total, mints: results }
  }

  private async restoreMint(url: string): Promise<number> {
    const w = await this.walletFor(url, { allowCache: false, force: true })
    const counters = this.store.counterSource()
    let amount = 0
    for (const ks of w.keyChain.getKeysets()) {
      if (ks.unit !== 'sat' || !ks.hasKeys || !ks.hasHexId) continue
      let res
      try {
        res = await w.batchRestore(RESTORE_GAP, RESTORE_BATCH, 0, ks.id)
      } catch (err) {
        throw this.mintFailed(url, err)
      }
      if (res.lastCounterWithSignature !== undefined) {
        await counters.advanceToAtLeast(ks.id, res.lastCounterWithSignature + 1)
      }
      if (!res.proofs.length) continue
      const states = await this.checkStates(
        w,
        url,
        res.proofs.map((p) => ({ secret: p.secret, keysetId: p.id })),
      )
      const unspent = res.proofs.filter((_, i) => states[i] === CheckStateEnum.UNSPENT)
      const known = new Set(
        this.store.proofsBySecrets(unspent.map((p) => p.secret)).map((p) => p.secret),
      )
      const fresh = unspent.filter((p) => !known.has(p.secret))
      if (!fresh.length) continue
      this.store.transaction(() => {
        const op = this.store.createOperation({
          kind: 'restore',
          state: 'done',
          mintUrl: url,
          amount: proofAmount(fresh),
        })
        this.store.insertProofs(url, fresh, 'unspent', op.id)
      })
      amount += proofAmount(fresh)
    }
    return amount
  }

  // ---- plumbing -------------------------------------------------------------------------------

  /** Runs `fn` after every earlier operation on the same mint (proof selection never races). */
  private serial<T>(mintUrl: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(mintUrl) ?? Promise.resolve()
    const next = prev.catch(() => {}).then(fn)
    const tail = next.catch(() => {})
    this.locks.set(mintUrl, tail)
    void tail.then(() => {
      if (this.locks.get(mintUrl) === tail) this.locks.delete(mintUrl)
    })
    return next
  }

  private chooseMint(mintUrl?: string, amount?: number): string {
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

  private isOnline(url: string): boolean {
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

  private cachedWallet(url: string): Wallet | undefined {
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
  private async walletFor(
    url: string,
    opts: { allowCache: boolean; force?: boolean },
  ): Promise<Wallet> {
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

  private mintFailed(url: string, err: unknown): FlashError {
    if (isUnreachable(err)) {
      this.wallets.delete(url)
      if (this.store.getMint(url)) this.store.setMintOnline(url, false, errText(err))
    }
    return toMintFlashError(url, err)
  }

  private selectionFailed(err: unknown, have: number, amount: number): FlashError {
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

  private publish(event: EcashEvent): void {
    this.opts.publish?.(event)
  }

  private balanceChanged(): void {
    const balances = this.balances()
    this.publish({
      topic: 'ecash',
      type: 'balance',
      total: balances.reduce((s, b) => s + b.spendable, 0),
      balances,
    })
  }

  private historyChanged(opId: string): void {
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

  private async mintQuoteView(
    op: Operation,
    state: MintQuoteView['state'],
  ): Promise<MintQuoteView> {
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
}

// ---- helpers ----------------------------------------------------------------------------------

function serializeOutputs(outputs: readonly OutputDataLike[]): SerializedOutputData[] {
  return outputs.map((o) => OutputData.serialize(o))
}

function outputsOf(op: Operation, key: string): SerializedOutputData[] {
  const v = op.data[key]
  return Array.isArray(v) ? (v as SerializedOutputData[]) : []
}

function normalizeUrl(url: string): string {
  return url.trim().replace(/\/+$/, '')
}

function normalizePubkey(k: string): string {
  const v = k.toLowerCase()
  return v.length === 64 ? `02${v}` : v
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

function insufficient(have: number, want: number): FlashError {
  return new FlashError(
    'ecash.insufficient_balance',
    `Not enough ecash: you have ${have} sat at this mint and need ${want} sat.`,
    'Receive ecash or top up from Lightning first, or choose a smaller amount.',
  )
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function publicReason(reason: string): string {
  return /answer|fetch|network|ECONN|timed? ?out/i.test(reason) ? 'the mint did not answer' : reason
}

function toHistory(op: Operation): HistoryEntry {
  const kind: HistoryEntry['kind'] =
    op.kind === 'mint'
      ? 'minted'
      : op.kind === 'send'
        ? 'sent'
        : op.kind === 'receive'
          ? 'received'
          : op.kind === 'melt'
            ? 'melted'
            : 'restored'
  let state: HistoryEntry['state']
  let note: string | undefined
  switch (op.state) {
    case 'unpaid':
      state = 'pending'
      note = 'waiting for the invoice to be paid'
      break
    case 'minting':
      state = 'pending'
      note = 'invoice paid, minting'
      break
    case 'swapping':
      state = 'pending'
      note = 'preparing the token'
      break
    case 'sent':
      state = 'pending'
      note = 'waiting for the recipient to claim it'
      break
    case 'claimed':
      state = 'done'
      note = 'claimed by the recipient'
      break
    case 'unclaimed':
      state = 'unclaimed'
      note = 'not yet claimed: the mint did not answer; retried automatically'
      break
    case 'claiming':
      // Claimed the moment the mint confirms; until then it is not ours to spend.
      state = 'unclaimed'
      note = 'not yet claimed: waiting for the mint to confirm'
      break
    case 'paying':
      state = 'pending'
      note = 'paying the invoice'
      break
    case 'expired':
      state = 'failed'
      note = 'the invoice expired unpaid'
      break
    case 'failed':
      state = 'failed'
      note = op.lastError
      break
    default:
      state = 'done'
  }
  return {
    id: op.id,
    kind,
    state,
    mintUrl: op.mintUrl,
    amount: op.amount,
    fee: op.fee,
    createdAt: op.createdAt,
    updatedAt: op.updatedAt,
    ...(note ? { note } : {}),
    ...(op.lockedTo ? { lockedTo: op.lockedTo } : {}),
  }
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
