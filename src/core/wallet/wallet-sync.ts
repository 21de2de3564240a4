// The wallet's view of the chain, kept in step with electrs by subscriptions, never by polling.
//
// - Every watched address is subscribed (blockchain.scripthash.subscribe, in batches). The wallet
//   stores each address's history and the Electrum status hash it computes from that history
//   (electrum-status.ts). A status from electrs that differs from the stored one — pushed, or
//   answered after a reconnect/restart — is the only thing that makes the wallet fetch a history.
// - Every step is batched: all changed histories in one round trip, all new transactions in one,
//   all Merkle proofs in one, all missing block headers in one.
// - A transaction in a block counts as confirmed only once its Merkle proof folds to the merkle root
//   of the block header at that height (merkle-proof.ts); until then it is "confirming".
// - Reorgs: a new tip whose parent is not the header the wallet checked against, or a history that
//   moves a confirmed transaction back to the mempool, takes the confirmation away (and tells the
//   owner); a transaction that leaves every history is "replaced" (double-spent or evicted).
// - Gap limit: each chain is watched exactly `gapLimit` addresses past its last used one; while
//   every new address turns out used, single addresses further out are probed in the same batch
//   (discover()), so discovering a long-used account takes a few rounds, not one per 20 addresses,
//   and derives no more than it needs.
// Work is serialised on one queue: a notification that arrives during a round waits for it.
import * as bitcoin from 'bitcoinjs-lib'
import { HistorySchema, MerkleSchema, HeaderHexSchema, TxHexSchema } from '../clients/electrum'
import { batchPart } from '../clients/electrum'
import type {
  BatchPart,
  HeaderNotification,
  HistoryEntry,
  MerkleAnswer,
  Settled,
} from '../clients/electrum'
import { FlashError } from '../errors'
import { silentLogger, type Logger } from '../log'
import { AccountKeys, type DerivedAddress } from './account'
import { ElectrumSession, type ElectrumEndpoint, type StatusMap } from './electrum-session'
import { electrumStatus, type HistoryItem } from './electrum-status'
import { IdleDeriver } from './idle-deriver'
import { MerkleVerifier, parseHeader } from './merkle-proof'
import {
  readTransaction,
  transactionId,
  transactionOutputs,
  type RawOutpoint,
  type RawOutput,
} from './txid'
import type { Prevout, StoredAddress, StoredTx, WalletStore } from './wallet-store'
import type { WalletAccount, WalletChain } from './types'

/** An output some transaction spends; `key` is "txid:vout". */
interface Outpoint {
  readonly txid: string
  readonly vout: number
  readonly key: string
}

/** Outpoints with their "txid:vout" keys. */
const outpoints = (list: readonly RawOutpoint[]): Outpoint[] =>
  list.map(({ txid, vout }) => ({ txid, vout, key: `${txid}:${vout}` }))

/** How far back (blocks) headers are re-checked when the tip does not follow the stored chain. */
const REORG_WINDOW = 144

export interface WalletSyncEvents {
  /** A transaction appeared or changed (confirmed, verified, replaced). */
  transaction?(accountId: string, txid: string): void
  /** A confirmed transaction lost its confirmation (outcome unconfirmed) or vanished (replaced). */
  reorg?(
    accountId: string,
    txid: string,
    outcome: 'unconfirmed' | 'replaced',
    message: string,
  ): void
  /** A Merkle proof did not check out: the transaction stays unconfirmed. */
  badProof?(accountId: string, txid: string, error: FlashError): void
  /** Connection state or tip changed. */
  status?(): void
}

/** Derives an account's addresses: the account's own keys by default; a multisig vault gives its own. */
export interface AddressDeriver {
  derive(chain: WalletChain, index: number): DerivedAddress
}

export class AccountState {
  readonly keys: AddressDeriver
  readonly chains: [StoredAddress[], StoredAddress[]] = [[], []]
  readonly byScriptHash = new Map<string, StoredAddress>()
  readonly byScript = new Map<string, StoredAddress>()
  readonly txs = new Map<string, StoredTx>()
  private readonly parsed = new Map<string, bitcoin.Transaction>()
  handed: [number, number]
  /** Broadcast by this box and not yet seen in a history: not "replaced" for a while. */
  readonly broadcastAt = new Map<string, number>()

  constructor(
    public account: WalletAccount,
    store: WalletStore,
    /** Outputs of other people's transactions spent by this account's ones (shared by accounts). */
    readonly prevouts: ReadonlyMap<string, Prevout> = new Map(),
    keys: AddressDeriver = new AccountKeys(account),
  ) {
    this.keys = keys
    for (const a of store.addresses(account.id)) this.addAddress(a)
    for (const t of store.txs(account.id)) this.txs.set(t.txid, t)
    this.handed = store.cursors(account.id)
  }

  addAddress(a: StoredAddress): void {
    const { chain, index } = a.derived.derivation
    this.chains[chain][index] = a
    this.byScriptHash.set(a.derived.scriptHash, a)
    this.byScript.set(a.derived.scriptPubKey, a)
  }

  tx(txid: string): bitcoin.Transaction | undefined {
    let t = this.parsed.get(txid)
    if (!t) {
      const s = this.txs.get(txid)
      if (!s) return undefined
      t = bitcoin.Transaction.fromHex(s.hex)
      this.parsed.set(txid, t)
    }
    return t
  }

  /** The output an input spends: from the account's own transactions, else the fetched prevouts. */
  spentOutput(txid: string, vout: number): { valueSat: number; script: string } | undefined {
    const own = this.tx(txid)?.outs[vout]
    if (own) return { valueSat: Number(own.value), script: Buffer.from(own.script).toString('hex') }
    return this.prevouts.get(`${txid}:${vout}`)
  }

  lastUsed(chain: WalletChain): number {
    const list = this.chains[chain]
    for (let i = list.length - 1; i >= 0; i--) if (list[i]?.history.length) return i
    return -1
  }
}

export interface WalletSyncOptions {
  readonly store: WalletStore
  readonly endpoint: () => ElectrumEndpoint | null | Promise<ElectrumEndpoint | null>
  readonly events?: WalletSyncEvents
  readonly log?: Logger
  readonly timeoutMs?: number
  readonly retryMs?: { readonly min: number; readonly max: number }
  readonly now?: () => Date
  /** How an account's addresses are derived (default: its single-key descriptor). */
  readonly deriver?: (account: WalletAccount) => AddressDeriver
}

export class WalletSync {
  readonly session: ElectrumSession
  readonly accounts = new Map<string, AccountState>()
  private readonly headers: Map<number, string>
  private readonly prevouts: Map<string, Prevout>
  private queue: Promise<unknown> = Promise.resolve()
  private pending: StatusMap = new Map()
  private flushTimer: NodeJS.Timeout | null = null
  private readonly store: WalletStore
  /** Per transaction id, the outputs it spends (requestPrevouts asks every round). */
  private readonly spent = new Map<string, readonly Outpoint[]>()
  /**
   * What one discovery (discover()) keeps from round to round, dropped when it ends:
   * - the outputs of other people's transactions fetched, by txid: a later round whose deposits
   *   spend other outputs of the same parent (a payout to many) reads them here instead of
   *   fetching the parent again;
   * - the Merkle verifier: tree nodes a round's proofs established are not hashed again by the
   *   next round's proofs in the same blocks.
   */
  private discovery:
    | {
        parents: Map<string, RawOutput[]>
        verifier: MerkleVerifier
        /**
         * Sends the next round's subscriptions and history requests ahead (see discover()):
         * called once a round's transactions and proofs have arrived.
         */
        afterFlight?: () => void
        /** The histories sent ahead for the next round, by script hash. */
        histories?: Promise<Map<string, HistoryEntry[]>>
      }
    | undefined
  /** Transactions whose spent outputs are all known (the wallet's own or fetched prevouts). */
  private readonly parentsKnown = new WeakSet<StoredTx>()
  /** What each transaction row last written holds, so a sync round rewrites only what changed. */
  private readonly written = new WeakMap<StoredTx, Readonly<StoredTx>>()
  private readonly events: WalletSyncEvents
  private readonly log: Logger
  private readonly now: () => Date
  private readonly deriver: (account: WalletAccount) => AddressDeriver
  tipHeight: number | undefined
  syncedAt: Date | undefined
  private syncedWaiters: (() => void)[] = []
  /** Resolves when the queue is idle (tests and the benchmark wait on it). */
  private idleWaiters: (() => void)[] = []
  private busy = 0

  constructor(opts: WalletSyncOptions) {
    this.store = opts.store
    this.events = opts.events ?? {}
    this.log = opts.log ?? silentLogger
    this.now = opts.now ?? (() => new Date())
    this.deriver = opts.deriver ?? ((a) => new AccountKeys(a))
    this.headers = this.store.headers()
    this.prevouts = this.store.prevouts()
    for (const a of this.store.accounts())
      this.accounts.set(a.id, new AccountState(a, this.store, this.prevouts, this.deriver(a)))
    this.session = new ElectrumSession(
      {
        endpoint: opts.endpoint,
        timeoutMs: opts.timeoutMs,
        retryMs: opts.retryMs,
        log: this.log,
      },
      {
        onReady: (tip, statuses) => this.enqueue(() => this.onReady(tip, statuses)),
        onStatus: (sh, status) => this.noteStatus(sh, status),
        onHeader: (tip) => this.enqueue(() => this.onHeader(tip)),
        onState: () => this.events.status?.(),
      },
    )
    for (const state of this.accounts.values()) this.session.remember(state.byScriptHash.keys())
  }

  start(): Promise<void> {
    return this.session.start()
  }

  stop(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = null
    this.session.stop()
  }

  /** Resolves once no sync work is queued or running. */
  idle(): Promise<void> {
    if (this.busy === 0 && this.pending.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** Resolves after the first complete sync round since start (connected, everything checked). */
  synced(): Promise<void> {
    if (this.syncedAt && this.session.state === 'ready') return this.idle()
    return new Promise<void>((resolve) => this.syncedWaiters.push(resolve)).then(() => this.idle())
  }

  /** Adds an account and discovers its used addresses (when connected). */
  addAccount(account: WalletAccount): Promise<AccountState> {
    return this.enqueue(async () => {
      if (this.accounts.has(account.id)) return this.accounts.get(account.id)!
      this.store.durable(() => this.store.putAccount(account))
      const state = new AccountState(account, this.store, this.prevouts, this.deriver(account))
      this.accounts.set(account.id, state)
      this.session.remember(state.byScriptHash.keys())
      if (this.session.state === 'ready') await this.discover([state])
      return state
    })
  }

  /** Changes an account's gap limit and watches the addresses it now covers. */
  updateAccount(account: WalletAccount): Promise<void> {
    return this.enqueue(async () => {
      const state = this.accounts.get(account.id)
      if (!state) return
      state.account = account
      this.store.durable(() => this.store.putAccount(account))
      if (this.session.state === 'ready') await this.discover([state])
    })
  }

  /**
   * The next address to hand out on a chain: past every used and handed-out one, within the gap
   * limit (when the gap is exhausted, the first unused address after the last used one again).
   */
  nextAddress(accountId: string, chain: WalletChain): Promise<StoredAddress> {
    return this.enqueue(async () => {
      const state = this.account(accountId)
      const lastUsed = state.lastUsed(chain)
      let index = Math.max(lastUsed, state.handed[chain]) + 1
      if (index > lastUsed + state.account.gapLimit) index = lastUsed + 1
      const list = state.chains[chain]
      const fresh: StoredAddress[] = []
      for (let i = list.length; i <= index; i++) fresh.push(this.derive(state, chain, i))
      if (fresh.length) await this.watch(fresh)
      state.handed[chain] = Math.max(state.handed[chain], index)
      this.store.durable(() => this.store.setCursor(accountId, chain, state.handed[chain]))
      return list[index]!
    })
  }

  /** A transaction this box just broadcast: shown at once, before electrs reports it. */
  noteBroadcast(accountId: string, txHex: string): Promise<void> {
    return this.enqueue(async () => {
      const state = this.account(accountId)
      const tx = bitcoin.Transaction.fromHex(txHex)
      const txid = tx.getId()
      if (!state.txs.has(txid)) {
        const stored: StoredTx = {
          account: accountId,
          txid,
          hex: txHex,
          height: 0,
          blockHash: null,
          blockTime: null,
          verified: false,
          firstSeen: this.now().toISOString(),
          state: 'live',
          everConfirmed: false,
        }
        state.txs.set(txid, stored)
        this.putTx(stored)
      }
      state.broadcastAt.set(txid, this.now().getTime())
      this.events.transaction?.(accountId, txid)
    })
  }

  account(accountId: string): AccountState {
    const s = this.accounts.get(accountId)
    if (!s) {
      throw new FlashError(
        'wallet.no_account',
        'There is no wallet account with that name on this box.',
        'Open the Wallet page and pick one of the accounts listed there.',
      )
    }
    return s
  }

  // --- the queue ------------------------------------------------------------------------------

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    this.busy++
    const run = this.queue.then(fn)
    this.queue = run
      .catch((err: unknown) => {
        this.log.warn('wallet sync step failed', {
          code: err instanceof FlashError ? err.code : 'internal',
          message: (err as Error).message,
        })
      })
      .finally(() => {
        this.busy--
        if (this.busy === 0 && this.pending.size === 0) {
          const waiters = this.idleWaiters
          this.idleWaiters = []
          for (const w of waiters) w()
        }
      })
    return run
  }

  /** Pushed statuses are gathered for a moment so a block's worth becomes one batch. */
  private noteStatus(sh: string, status: string | null): void {
    this.pending.set(sh, status)
    if (this.flushTimer) return
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null
      const work = this.pending
      this.pending = new Map()
      void this.enqueue(() => this.syncChanged(work))
    }, 25)
    this.flushTimer.unref?.()
  }

  // --- sync rounds ----------------------------------------------------------------------------

  private async onReady(tip: HeaderNotification, statuses: StatusMap): Promise<void> {
    this.tipHeight = tip.height
    await this.checkHeaders(tip)
    const changed: StatusMap = new Map()
    for (const [sh, status] of statuses) {
      if (this.findAddresses(sh).some((a) => a.status !== status)) changed.set(sh, status)
    }
    await this.syncChanged(changed)
    await this.discover([...this.accounts.values()])
    await this.reverifyUnverified()
    await this.completePrevouts([...this.accounts.values()])
    this.syncedAt = this.now()
    this.events.status?.()
    const waiters = this.syncedWaiters
    this.syncedWaiters = []
    for (const w of waiters) w()
  }

  private async onHeader(tip: HeaderNotification): Promise<void> {
    this.tipHeight = tip.height
    await this.checkHeaders(tip)
    this.events.status?.()
  }

  /** The addresses with this script hash: one per account that has it (a watch-only copy shares them). */
  private findAddresses(sh: string): StoredAddress[] {
    const out: StoredAddress[] = []
    for (const s of this.accounts.values()) {
      const a = s.byScriptHash.get(sh)
      if (a) out.push(a)
    }
    return out
  }

  private derive(
    state: AccountState,
    chain: WalletChain,
    index: number,
    derived?: DerivedAddress,
  ): StoredAddress {
    const a: StoredAddress = {
      account: state.account.id,
      derived: derived ?? state.keys.derive(chain, index),
      status: null,
      history: [],
    }
    state.addAddress(a)
    return a
  }

  /** Writes a transaction row; with onlyIfChanged, skips it when the last write holds the same. */
  private putTx(tx: StoredTx, onlyIfChanged = false): void {
    const w = this.written.get(tx)
    if (
      onlyIfChanged &&
      w &&
      w.height === tx.height &&
      w.blockHash === tx.blockHash &&
      w.blockTime === tx.blockTime &&
      w.verified === tx.verified &&
      w.state === tx.state &&
      w.everConfirmed === tx.everConfirmed
    )
      return
    this.store.putTx(tx)
    this.written.set(tx, { ...tx })
  }

  /** Stores new addresses in one SQL transaction (one fsync, not one per address). */
  private persistAddresses(list: readonly StoredAddress[]): void {
    if (list.length === 0) return
    this.store.transaction(() => {
      for (const a of list) this.store.putAddress(a)
    })
  }

  /**
   * Subscribes new addresses; those that already have history are synced. `probes` are asked in
   * the same batch and not watched (see discover()); their statuses are returned.
   */
  private async watch(
    fresh: readonly StoredAddress[],
    probes: readonly string[] = [],
    /** Called with the statuses as soon as they are in, before the histories are fetched. */
    onStatuses?: (statuses: StatusMap) => void,
  ): Promise<StatusMap> {
    if (this.session.state !== 'ready') {
      this.persistAddresses(fresh)
      // Subscribed with the others on the next connect (an address handed out while offline).
      this.session.remember(fresh.map((a) => a.derived.scriptHash))
      onStatuses?.(new Map())
      return new Map()
    }
    // The new addresses are stored with the round, in its SQL transaction, each row once with
    // its history; whatever happens to the round (a lost connection), they are stored.
    const unsaved = { list: fresh }
    try {
      const statuses = await this.session.subscribe(
        fresh.map((a) => a.derived.scriptHash),
        probes,
      )
      onStatuses?.(statuses)
      const changed: StatusMap = new Map()
      for (const a of fresh) {
        const s = statuses.get(a.derived.scriptHash) ?? null
        if (s !== a.status) changed.set(a.derived.scriptHash, s)
      }
      await this.syncChanged(changed, false, unsaved)
      return statuses
    } finally {
      this.persistAddresses(unsaved.list)
    }
  }

  /**
   * Extends every chain of the given accounts to exactly `gapLimit` addresses past its last used
   * (or handed-out) one.
   *
   * A long-used account would take one round per `gapLimit` addresses. Deriving ahead
   * speculatively (the look-ahead used to double while a round came back all used) overshoots:
   * the last doubling derived, stored and watched up to twice what was needed (24% more at 1,000
   * used addresses). Instead, while a chain's last round came back all used, a few single
   * addresses further out are probed (subscribed in the same batch, not watched): 2, 4, 8 and 16
   * gap lengths ahead, then, once one comes back unused, four points between the highest used
   * and the lowest unused probe. The next round derives the chain densely up to the highest used
   * probe plus the gap limit, reusing the probes' keys. Only addresses the account needs are
   * derived densely, stored and watched; the unused probes past the end are the only extra
   * derivations (a handful), and are unsubscribed.
   * A used probe can extend the scan past a run of unused addresses longer than the gap limit;
   * the wallet then watches coins a strict scan would miss, never fewer.
   */
  private async discover(states: readonly AccountState[]): Promise<void> {
    interface ChainScan {
      /** Derived this round (dense) [from, to), to tell whether all of it came back used. */
      from: number
      to: number
      /** Highest probe index seen used, lowest seen unused above it. */
      usedProbe: number
      unusedProbe: number
      readonly probes: Map<number, DerivedAddress>
      /** Derived ahead, while the wallet waited for electrs, for the next round (see below). */
      readonly early: Map<number, DerivedAddress>
      /** Where the next round will end, as this round's statuses tell. */
      nextTo: number
      readonly state: AccountState
      readonly chain: WalletChain
    }
    const scans = new Map<string, ChainScan>()
    const released: string[] = []
    const ahead = new IdleDeriver()
    const outermost = this.discovery === undefined
    if (outermost) this.discovery = { parents: new Map(), verifier: new MerkleVerifier() }
    const discovery = this.discovery!
    try {
      for (let round = 0; round < 10_000; round++) {
        const fresh: StoredAddress[] = []
        const asked: { scan: ChainScan; index: number; scriptHash: string }[] = []
        for (const state of states) {
          for (const chain of [0, 1] as const) {
            const key = `${state.account.id}:${chain}`
            const list = state.chains[chain]
            const gap = state.account.gapLimit
            let scan = scans.get(key)
            const target =
              Math.max(state.lastUsed(chain), state.handed[chain], scan?.usedProbe ?? -1) + 1 + gap
            if (list.length >= target) continue
            const allUsed =
              scan !== undefined &&
              scan.to > scan.from &&
              list.slice(scan.from, scan.to).every((a) => a !== undefined && a.history.length > 0)
            if (!scan) {
              scan = {
                from: 0,
                to: 0,
                usedProbe: -1,
                unusedProbe: Infinity,
                probes: new Map(),
                early: new Map(),
                nextTo: 0,
                state,
                chain,
              }
              scans.set(key, scan)
            }
            scan.from = list.length
            for (let i = list.length; i < target; i++) {
              fresh.push(this.derive(state, chain, i, scan.early.get(i) ?? scan.probes.get(i)))
              scan.early.delete(i)
            }
            scan.to = list.length
            const probeAt: number[] = []
            if (!allUsed) {
              // The chain's end is within reach: the next rounds are dense.
            } else if (scan.unusedProbe === Infinity) {
              for (let k = 1; k <= 4; k++) probeAt.push(target - 1 + gap * 2 ** k)
            } else if (scan.unusedProbe > target + gap) {
              const span = scan.unusedProbe - target
              for (let k = 1; k <= 4; k++) probeAt.push(target - 1 + Math.round((k * span) / 5))
            }
            for (const index of probeAt) {
              if (index < target || scan.probes.has(index)) continue
              const d = state.keys.derive(chain, index)
              scan.probes.set(index, d)
              asked.push({ scan, index, scriptHash: d.scriptHash })
            }
          }
        }
        if (fresh.length === 0) return
        const probed = (statuses: StatusMap) => {
          for (const { scan, index, scriptHash } of asked) {
            if ((statuses.get(scriptHash) ?? null) !== null)
              scan.usedProbe = Math.max(scan.usedProbe, index)
            else if (index > scan.usedProbe) scan.unusedProbe = Math.min(scan.unusedProbe, index)
            released.push(scriptHash)
          }
          for (const scan of scans.values())
            if (scan.unusedProbe <= scan.usedProbe) scan.unusedProbe = Infinity
        }
        // The statuses tell how far the next round reaches (a status is non-null exactly when the
        // address has a history): its addresses are derived while this round's histories,
        // transactions and proofs are on their way, in the moments the wallet waits for electrs.
        await this.watch(
          fresh,
          asked.map((p) => p.scriptHash),
          (statuses) => {
            probed(statuses)
            for (const scan of scans.values()) {
              const { state, chain } = scan
              const list = state.chains[chain]
              let lastUsed = -1
              for (let i = list.length - 1; i >= 0 && lastUsed < 0; i--) {
                const a = list[i]
                const st =
                  a &&
                  (statuses.has(a.derived.scriptHash)
                    ? statuses.get(a.derived.scriptHash)
                    : a.status)
                if (st !== null && st !== undefined) lastUsed = i
              }
              const next =
                Math.max(lastUsed, state.handed[chain], scan.usedProbe) + 1 + state.account.gapLimit
              scan.nextTo = next
              ahead.want(list.length, next, (i) => {
                if (i < list.length || scan.early.has(i) || scan.probes.has(i)) return
                scan.early.set(i, state.keys.derive(chain, i))
              })
            }
            // Once this round's transactions and proofs are in (the only line in flight then
            // answered), the next round's addresses are subscribed and their histories asked for
            // in one line: electrs works them out while this process checks and stores the
            // round, and the next round starts with its statuses and histories at hand.
            discovery.afterFlight = () => {
              discovery.afterFlight = undefined
              const hashes: string[] = []
              for (const scan of scans.values()) {
                const { state, chain } = scan
                for (let i = state.chains[chain].length; i < scan.nextTo; i++) {
                  let d = scan.early.get(i) ?? scan.probes.get(i)
                  if (!d) {
                    d = state.keys.derive(chain, i)
                    scan.early.set(i, d)
                  }
                  hashes.push(d.scriptHash)
                }
              }
              const sent = this.session.prefetch(hashes)
              if (sent) discovery.histories = sent
            }
          },
        )
      }
    } finally {
      ahead.stop()
      discovery.afterFlight = undefined
      // Derived (and perhaps subscribed) ahead for a round that did not come: not watched.
      for (const scan of scans.values())
        for (const d of scan.early.values()) released.push(d.scriptHash)
      this.session.release(released)
      if (outermost) this.discovery = undefined
    }
  }

  /** Fetches the histories whose status changed, then what they point at. */
  private async syncChanged(
    changed: StatusMap,
    discoverAfter = true,
    /** New addresses to store in this round's SQL transaction (emptied once they are). */
    fresh: { list: readonly StoredAddress[] } = { list: [] },
  ): Promise<void> {
    if (changed.size === 0 || this.session.state !== 'ready') return
    const client = this.session.client()
    const shs = [...changed.keys()].filter((sh) => this.findAddresses(sh).length > 0)
    if (shs.length === 0) return
    const histories = await this.histories(shs, changed)
    const touched = new Set<AccountState>()
    shs.forEach((sh, i) => {
      const history: HistoryItem[] = histories[i]!.map((h) => ({
        tx_hash: h.tx_hash,
        height: h.height,
      }))
      const computed = electrumStatus(history)
      const announced = changed.get(sh)
      if (announced !== undefined && announced !== computed) {
        // The history moved on between the status and our request: what we store is consistent
        // with its own hash, and the newer status electrs pushes will be fetched in turn.
        this.log.debug('electrum status changed while fetching the history', { scriptHash: sh })
      }
      for (const a of this.findAddresses(sh)) {
        a.history = history
        a.status = computed
        touched.add(this.accounts.get(a.account)!)
      }
    })
    // The new transactions, the proofs the histories call for and the headers those need: one
    // flight (one line, one answer line; see ElectrumClient.flightSettled).
    const txs = this.transactionRequest([...touched])
    const proofs = this.proofRequest(this.proofsWanted([...touched]))
    const [txAnswers, proofAnswers, headerAnswers] = await client.flightSettled([
      txs.part,
      ...proofs.parts,
    ])
    this.discovery?.afterFlight?.()
    txs.take(txAnswers)
    const early = proofs.take(proofAnswers, headerAnswers)
    // The outputs new deposits spend (for their fees), in flight while the proofs are checked.
    const parents = this.requestPrevouts([...touched])
    parents.catch(() => undefined) // awaited below, unless verification throws first
    const toVerify: { state: AccountState; tx: StoredTx }[] = []
    for (const state of touched) toVerify.push(...this.reconcile(state))
    await this.verify(toVerify, early)
    const prevouts = await parents
    this.store.transaction(() => {
      const rows = new Set(fresh.list)
      for (const sh of shs) for (const a of this.findAddresses(sh)) rows.add(a)
      for (const a of rows) this.store.putAddress(a)
      fresh.list = []
      for (const state of touched) for (const t of state.txs.values()) this.putTx(t, true)
      this.keepPrevouts(prevouts)
    })
    if (discoverAfter) await this.discover([...touched])
  }

  /**
   * The histories of `shs`: those sent ahead for this round (discover()) when they hash to the
   * status being synced (a status pushed since then means the history moved on), the rest asked
   * for in one batch.
   */
  private async histories(shs: readonly string[], changed: StatusMap): Promise<HistoryEntry[][]> {
    const ahead = this.discovery?.histories ? await this.discovery.histories : undefined
    const out: (HistoryEntry[] | undefined)[] = shs.map((sh) => {
      const h = ahead?.get(sh)
      return h && electrumStatus(h) === changed.get(sh) ? h : undefined
    })
    const ask = shs.filter((_, i) => out[i] === undefined)
    if (ask.length) {
      const asked = await this.session.client().batch(
        'blockchain.scripthash.get_history',
        ask.map((s) => [s]),
        HistorySchema,
      )
      let k = 0
      out.forEach((h, i) => {
        if (h === undefined) out[i] = asked[k++]
      })
    }
    return out as HistoryEntry[][]
  }

  /**
   * Every transaction the touched histories name that the wallet does not have: the request
   * (a flight's part) and what to do with its answers (each checked against its id, then kept).
   */
  private transactionRequest(states: readonly AccountState[]): {
    part: BatchPart<string>
    take: (answers: readonly Settled<string>[]) => void
  } {
    const want = new Map<string, { state: AccountState; height: number }[]>()
    for (const state of states) {
      for (const list of state.chains) {
        for (const a of list) {
          for (const h of a?.history ?? []) {
            if (state.txs.has(h.tx_hash)) continue
            const l = want.get(h.tx_hash) ?? []
            if (!l.some((x) => x.state === state)) l.push({ state, height: h.height })
            want.set(h.tx_hash, l)
          }
        }
      }
    }
    const txids = [...want.keys()]
    const part = batchPart(
      'blockchain.transaction.get',
      txids.map((t) => [t]),
      TxHexSchema,
    )
    const take = (answers: readonly Settled<string>[]) => {
      const firstSeen = this.now().toISOString()
      txids.forEach((txid, i) => {
        const answer = answers[i]!
        if (!answer.ok) throw answer.error
        const hex = answer.value
        let read: ReturnType<typeof readTransaction> | undefined
        try {
          read = readTransaction(Buffer.from(hex, 'hex'))
        } catch {
          read = undefined // not a transaction at all: refused below like one with another id
        }
        if (read?.txid !== txid) {
          throw new FlashError(
            'wallet.bad_transaction',
            'The Electrum server sent a transaction that does not match its id.',
            'The Electrum server (electrs) or its data may be damaged: open the electrs logs.',
          )
        }
        this.spent.set(txid, outpoints(read.spends))
        for (const { state } of want.get(txid)!) {
          state.txs.set(txid, {
            account: state.account.id,
            txid,
            hex,
            height: 0,
            blockHash: null,
            blockTime: null,
            verified: false,
            firstSeen,
            state: 'live',
            everConfirmed: false,
          })
          this.events.transaction?.(state.account.id, txid)
        }
      })
    }
    return { part, take }
  }

  /**
   * Fetches the transactions that paid into the wallet's ones (one batch, each checked against
   * its id) and returns the outputs those spend: a deposit's fee is the sum of its inputs minus
   * its outputs, and electrs' history does not say it. Coinbases have no fee; inputs that spend
   * the wallet's own transactions need nothing. A parent electrs cannot give now is asked for
   * again at the next round (the fee stays unknown until then).
   */
  private async requestPrevouts(
    states: readonly AccountState[],
  ): Promise<Map<string, Prevout & { txid: string; vout: number }>> {
    const wanted = new Map<string, Set<number>>()
    for (const state of states) {
      for (const stored of state.txs.values()) {
        if (stored.state === 'gone' || this.parentsKnown.has(stored)) continue
        let missing = false
        for (const { txid, vout, key } of this.spends(state, stored.txid)) {
          if (state.txs.has(txid) || this.prevouts.has(key)) continue
          missing = true
          const set = wanted.get(txid) ?? new Set<number>()
          set.add(vout)
          wanted.set(txid, set)
        }
        // Every output it spends is known now, and stays known (neither map loses entries).
        if (!missing) this.parentsKnown.add(stored)
      }
    }
    const out = new Map<string, Prevout & { txid: string; vout: number }>()
    const keep = (txid: string, outs: readonly (RawOutput | undefined)[]) => {
      for (const vout of wanted.get(txid)!) {
        const o = outs[vout]
        if (!o) continue
        out.set(`${txid}:${vout}`, {
          txid,
          vout,
          valueSat: o.valueSat,
          script: Buffer.from(o.script).toString('hex'),
        })
      }
    }
    for (const [txid] of wanted) {
      const known = this.discovery?.parents.get(txid)
      if (!known) continue
      keep(txid, known)
      wanted.delete(txid)
    }
    if (wanted.size === 0) return out
    const txids = [...wanted.keys()]
    const answers = await this.session.client().batchSettled(
      'blockchain.transaction.get',
      txids.map((t) => [t]),
      TxHexSchema,
    )
    txids.forEach((txid, i) => {
      const a = answers[i]!
      if (!a.ok) {
        this.log.debug('no parent transaction yet', { txid, code: a.error.code })
        return
      }
      // Only the spent outputs are needed: read from the bytes once they match the id (a parent
      // can be large, e.g. a payout to a thousand people, and a full parse of it is wasted).
      const raw = Buffer.from(a.value, 'hex')
      let outs: RawOutput[]
      try {
        if (transactionId(raw) !== txid) throw new RangeError('another id')
        // All of them while a discovery runs (its next rounds may spend others), else the wanted.
        outs = transactionOutputs(raw, this.discovery ? undefined : wanted.get(txid))
      } catch {
        this.log.warn('electrs sent a parent transaction that does not match its id', { txid })
        return
      }
      this.discovery?.parents.set(txid, outs)
      keep(txid, outs)
    })
    return out
  }

  /** The outputs a transaction spends (none for a coinbase), worked out once per transaction. */
  private spends(state: AccountState, txid: string): readonly Outpoint[] {
    let list = this.spent.get(txid)
    if (!list) {
      // Stored before this start (or noted as broadcast): read from its bytes once.
      list = outpoints(readTransaction(Buffer.from(state.txs.get(txid)!.hex, 'hex')).spends)
      this.spent.set(txid, list)
    }
    return list
  }

  /** Keeps fetched prevouts in memory and in the store (inside the caller's SQL transaction). */
  private keepPrevouts(found: ReadonlyMap<string, Prevout & { txid: string; vout: number }>): void {
    for (const [key, p] of found) {
      this.prevouts.set(key, { valueSat: p.valueSat, script: p.script })
      this.store.putPrevout(p.txid, p.vout, p)
    }
  }

  /** After a (re)connect: the prevouts an earlier round could not get (none in a steady wallet). */
  private async completePrevouts(states: readonly AccountState[]): Promise<void> {
    const found = await this.requestPrevouts(states)
    if (found.size === 0) return
    this.store.transaction(() => this.keepPrevouts(found))
    for (const state of states)
      for (const stored of state.txs.values())
        if (this.spends(state, stored.txid).some((o) => found.has(o.key)))
          this.events.transaction?.(state.account.id, stored.txid)
  }

  /** Brings each stored transaction in line with the account's histories; returns what to verify. */
  private reconcile(state: AccountState): { state: AccountState; tx: StoredTx }[] {
    const live = new Map<string, number>()
    for (const list of state.chains)
      for (const a of list)
        for (const h of a?.history ?? [])
          live.set(h.tx_hash, Math.max(live.get(h.tx_hash) ?? 0, Math.max(h.height, 0)))
    const out: { state: AccountState; tx: StoredTx }[] = []
    const id = state.account.id
    const nowMs = this.now().getTime()
    for (const tx of state.txs.values()) {
      const height = live.get(tx.txid)
      if (height === undefined) {
        if (tx.state === 'gone') continue
        const sent = state.broadcastAt.get(tx.txid)
        if (sent !== undefined && nowMs - sent < 120_000) continue
        const wasConfirmed = tx.height > 0 || tx.everConfirmed
        tx.state = 'gone'
        tx.verified = false
        tx.height = 0
        tx.blockHash = null
        if (wasConfirmed) {
          this.events.reorg?.(
            id,
            tx.txid,
            'replaced',
            `Transaction ${tx.txid.slice(0, 12)}… was in a block that is no longer part of the chain, and another transaction spent the same coins. It no longer counts.`,
          )
        }
        this.events.transaction?.(id, tx.txid)
        continue
      }
      state.broadcastAt.delete(tx.txid)
      if (tx.state === 'gone') {
        tx.state = 'live'
        this.events.transaction?.(id, tx.txid)
      }
      if (height === 0) {
        if (tx.height > 0) {
          // (checkHeaders may have told the owner already; it clears blockHash when it does.)
          if (tx.verified || tx.blockHash !== null) {
            this.events.reorg?.(
              id,
              tx.txid,
              'unconfirmed',
              `Transaction ${tx.txid.slice(0, 12)}… lost its confirmation: its block is no longer part of the chain. It is waiting to be confirmed again.`,
            )
          }
          tx.height = 0
          tx.verified = false
          tx.blockHash = null
          tx.blockTime = null
          this.events.transaction?.(id, tx.txid)
        }
      } else if (height !== tx.height || !tx.verified) {
        if (height !== tx.height) {
          tx.height = height
          tx.verified = false
          tx.blockHash = null
          this.events.transaction?.(id, tx.txid)
        }
        out.push({ state, tx })
      }
    }
    return out
  }

  /**
   * The confirmed history items whose proof a round will check: not in the wallet yet, at another
   * height than stored, or not verified yet (what reconcile() hands to verify()).
   */
  private proofsWanted(states: readonly AccountState[]): { txid: string; height: number }[] {
    const out = new Map<string, { txid: string; height: number }>()
    for (const state of states)
      for (const list of state.chains)
        for (const a of list)
          for (const h of a?.history ?? []) {
            if (h.height <= 0) continue
            const tx = state.txs.get(h.tx_hash)
            if (tx && tx.height === h.height && tx.verified) continue
            out.set(`${h.tx_hash}:${h.height}`, { txid: h.tx_hash, height: h.height })
          }
    return [...out.values()]
  }

  /**
   * Merkle proofs and the headers not held yet: the requests (two parts of one flight) and what
   * to do with their answers (headers kept; the proofs by "txid:height").
   */
  private proofRequest(items: readonly { txid: string; height: number }[]): {
    parts: readonly [BatchPart<MerkleAnswer>, BatchPart<string>]
    take: (
      proofs: readonly Settled<MerkleAnswer>[],
      headers: readonly Settled<string>[],
    ) => Map<string, Settled<MerkleAnswer>>
  } {
    const missing = [...new Set(items.map((x) => x.height))].filter((h) => !this.headers.has(h))
    return {
      parts: [
        batchPart(
          'blockchain.transaction.get_merkle',
          items.map((x) => [x.txid, x.height]),
          MerkleSchema,
        ),
        batchPart(
          'blockchain.block.header',
          missing.map((h) => [h]),
          HeaderHexSchema,
        ),
      ],
      take: (proofs, headers) => {
        missing.forEach((h, i) => {
          const answer = headers[i]!
          if (!answer.ok) throw answer.error
          this.headers.set(h, answer.value)
          this.store.putHeader(h, answer.value)
        })
        const out = new Map<string, Settled<MerkleAnswer>>()
        items.forEach((x, i) => out.set(`${x.txid}:${x.height}`, proofs[i]!))
        return out
      },
    }
  }

  /** Asks for Merkle proofs and the headers not held yet, in one flight. */
  private async requestProofs(
    items: readonly { txid: string; height: number }[],
  ): Promise<Map<string, Settled<MerkleAnswer>>> {
    if (items.length === 0) return new Map()
    const { parts, take } = this.proofRequest(items)
    const [proofs, headers] = await this.session.client().flightSettled(parts)
    return take(proofs, headers)
  }

  /**
   * Checks the Merkle proofs of confirmed transactions against their block headers (batched;
   * `early` holds proofs already asked for this round, the rest are asked for now).
   */
  private async verify(
    list: readonly { state: AccountState; tx: StoredTx }[],
    early: ReadonlyMap<string, Settled<MerkleAnswer>> = new Map(),
  ): Promise<void> {
    if (list.length === 0) return
    const key = (tx: StoredTx) => `${tx.txid}:${tx.height}`
    const late = await this.requestProofs(
      list.filter(({ tx }) => !early.has(key(tx))).map(({ tx }) => tx),
    )
    const verifier = this.discovery?.verifier ?? new MerkleVerifier()
    for (const { state, tx } of list) {
      const proof = early.get(key(tx)) ?? late.get(key(tx))!
      if (!proof.ok) {
        // Typically a reorg racing the request; the next status change brings the new height.
        this.log.debug('no merkle proof yet', { txid: tx.txid, code: proof.error.code })
        continue
      }
      try {
        if (proof.value.block_height !== tx.height)
          throw new FlashError(
            'wallet.bad_merkle_proof',
            'The Electrum server’s proof names another block than the transaction’s history.',
            'If this keeps happening, open the electrs logs.',
          )
        const header = verifier.verify({
          txid: tx.txid,
          txSize: tx.hex.length / 2,
          branch: proof.value.merkle,
          pos: proof.value.pos,
          headerHex: this.headers.get(tx.height)!,
        })
        tx.verified = true
        tx.everConfirmed = true
        tx.blockHash = header.hash
        tx.blockTime = header.time
        this.events.transaction?.(state.account.id, tx.txid)
      } catch (err) {
        tx.verified = false
        const e =
          err instanceof FlashError
            ? err
            : new FlashError('wallet.bad_merkle_proof', String(err), 'Open the electrs logs.')
        this.log.warn('merkle proof refused', { txid: tx.txid, code: e.code })
        this.events.badProof?.(state.account.id, tx.txid, e)
      }
    }
  }

  /** After a reconnect: every confirmed transaction that is not verified yet gets another try. */
  private async reverifyUnverified(): Promise<void> {
    const list: { state: AccountState; tx: StoredTx }[] = []
    for (const state of this.accounts.values())
      for (const tx of state.txs.values())
        if (tx.state === 'live' && tx.height > 0 && !tx.verified) list.push({ state, tx })
    await this.verify(list)
    this.store.transaction(() => {
      for (const { tx } of list) this.putTx(tx)
    })
  }

  /**
   * Compares the headers the wallet verified against with the chain electrs follows now. A
   * header that changed (or a height past the tip) means a reorg: the transactions verified
   * against it lose their confirmation until their proofs check out against the new block.
   */
  private async checkHeaders(tip: HeaderNotification): Promise<void> {
    const heights = [...this.headers.keys()].filter((h) => h > tip.height - REORG_WINDOW)
    if (heights.length === 0) return
    const parent = this.headers.get(tip.height - 1)
    const atTip = this.headers.get(tip.height)
    const suspicious =
      heights.some((h) => h > tip.height) ||
      (atTip !== undefined && atTip !== tip.hex) ||
      (parent !== undefined && parseHeader(parent).hash !== parseHeader(tip.hex).prevHash) ||
      this.syncedAt === undefined // first round after a (re)start: check once
    if (!suspicious) return
    const client = this.session.client()
    const current = heights.filter((h) => h <= tip.height)
    const now = await client.batchSettled(
      'blockchain.block.header',
      current.map((h) => [h]),
      HeaderHexSchema,
    )
    const stale = new Set(heights.filter((h) => h > tip.height))
    current.forEach((h, i) => {
      const r = now[i]!
      if (!r.ok || r.value !== this.headers.get(h)) stale.add(h)
    })
    if (stale.size === 0) return
    const reverify: { state: AccountState; tx: StoredTx }[] = []
    const affected: { state: AccountState; tx: StoredTx }[] = []
    this.store.transaction(() => {
      for (const h of stale) {
        this.headers.delete(h)
        this.store.deleteHeader(h)
      }
      for (const state of this.accounts.values()) {
        for (const tx of state.txs.values()) {
          if (!stale.has(tx.height) || !tx.verified) continue
          tx.verified = false
          tx.blockHash = null
          this.putTx(tx)
          this.events.transaction?.(state.account.id, tx.txid)
          affected.push({ state, tx })
          if (tx.height <= tip.height) reverify.push({ state, tx })
        }
      }
    })
    this.log.info('reorg: block headers changed', { heights: [...stale].sort((a, b) => a - b) })
    // Same height in the new chain: check the proof against the new block (the status hash,
    // which only holds heights, does not change in that case).
    await this.verify(reverify)
    this.store.transaction(() => {
      for (const { tx } of reverify) this.putTx(tx)
    })
    for (const { state, tx } of affected) {
      if (!tx.verified)
        this.events.reorg?.(
          state.account.id,
          tx.txid,
          'unconfirmed',
          `Transaction ${tx.txid.slice(0, 12)}… lost its confirmation: its block is no longer part of the chain.`,
        )
    }
  }
}
