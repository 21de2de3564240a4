// A long-lived connection to the box's electrs for the wallet: it connects, says which protocol
// it speaks, follows the tip (blockchain.headers.subscribe), and keeps every script hash the
// wallet watches subscribed. When the connection drops it reconnects with backoff and subscribes
// everything again in one batch, then hands the wallet the statuses so it can compare them with
// the ones it stored (only changed script hashes are fetched again). While electrs is still
// building its index the session says so (state `indexing`, a FlashError in plain words) and tries
// again later instead of failing the wallet.
import { z } from 'zod'
import {
  ElectrumClient,
  HistorySchema,
  batchPart,
  isLowerHex,
  type HeaderNotification,
  type HistoryEntry,
} from '../clients/electrum'
import { FlashError } from '../errors'
import type { Logger } from '../log'

export interface ElectrumEndpoint {
  readonly host: string
  readonly port: number
}

export type SessionState = 'disabled' | 'connecting' | 'indexing' | 'ready' | 'offline'

export interface ElectrumSessionOptions {
  /** Where electrs listens now; null when it is not part of the stack. Asked before each connect. */
  readonly endpoint: () => ElectrumEndpoint | null | Promise<ElectrumEndpoint | null>
  readonly timeoutMs?: number
  /** Backoff between reconnects: starts at `min`, doubles up to `max`. */
  readonly retryMs?: { readonly min: number; readonly max: number }
  readonly log?: Logger
  /** Script hashes per subscription batch (one line each). */
  readonly batchSize?: number
}

/** A script hash whose status electrs announced, with that status (null: no history). */
export type StatusMap = Map<string, string | null>

export interface SessionHandlers {
  /** After every (re)connect: the tip and the statuses of every watched script hash. */
  onReady?(tip: HeaderNotification, statuses: StatusMap): void
  /** A watched script hash changed (electrs pushed a new status). */
  onStatus?(scriptHash: string, status: string | null): void
  /** A new tip. */
  onHeader?(tip: HeaderNotification): void
  onState?(state: SessionState, problem?: FlashError): void
}

// A script hash that cannot exist (sha256 of nothing is not zero): asks for the index, not a wallet.
const PROBE_SCRIPT_HASH = '0'.repeat(64)

export class ElectrumSession {
  private current: ElectrumClient | null = null
  private readonly watched = new Set<string>()
  /** The last status electrs gave for each subscribed script hash on this connection. */
  private readonly known = new Map<string, string | null>()
  /** Subscriptions sent ahead (prefetch()) whose statuses have not arrived yet. */
  private readonly inflight = new Map<string, Promise<unknown>>()
  private stopped = true
  private timer: NodeJS.Timeout | null = null
  private retry: number
  private _state: SessionState = 'connecting'
  private _problem: FlashError | undefined
  private _tip: HeaderNotification | undefined
  /** Round trips and requests of every client this session made (for the benchmark). */
  private pastRoundTrips = 0
  private pastRequests = 0
  private readonly pastMethods = new Map<string, number>()
  private readonly batchSize: number

  constructor(
    private readonly opts: ElectrumSessionOptions,
    private readonly handlers: SessionHandlers = {},
  ) {
    this.retry = opts.retryMs?.min ?? 500
    this.batchSize = opts.batchSize ?? 5000
  }

  get state(): SessionState {
    return this._state
  }
  get problem(): FlashError | undefined {
    return this._problem
  }
  get tip(): HeaderNotification | undefined {
    return this._tip
  }
  get roundTrips(): number {
    return this.pastRoundTrips + (this.current?.roundTrips ?? 0)
  }
  get requests(): number {
    return this.pastRequests + (this.current?.requests ?? 0)
  }
  /** Requests sent per method, over every connection of this session. */
  methodCounts(): Map<string, number> {
    const out = new Map(this.pastMethods)
    for (const [m, n] of this.current?.methodCounts ?? []) out.set(m, (out.get(m) ?? 0) + n)
    return out
  }

  /** Connects (and keeps reconnecting) until stop(). Resolves after the first attempt. */
  async start(): Promise<void> {
    if (!this.stopped) return
    this.stopped = false
    await this.connectOnce()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.dropClient()
  }

  /** The connected client; throws a plain-words FlashError when there is none. */
  client(): ElectrumClient {
    if (this.current && !this.current.closed && this._state === 'ready') return this.current
    throw (
      this._problem ??
      new FlashError(
        'electrs.disconnected',
        'The wallet is not connected to the Electrum server (electrs) right now.',
        'Flash Box reconnects on its own. Check on the dashboard that electrs is running.',
      )
    )
  }

  /**
   * Watches script hashes (kept across reconnects) and returns their current statuses. `probes`
   * go in the same batch but are not watched: their status only answers "is this address used?"
   * (the wallet's look-ahead). A probe watched later is not asked again; release() the others.
   */
  async subscribe(
    scriptHashes: readonly string[],
    probes: readonly string[] = [],
  ): Promise<StatusMap> {
    for (const s of scriptHashes) this.watched.add(s)
    // Sent ahead (prefetch()): its answer first, then anything else in a line of its own (two
    // lines in flight at once would let a short answer wait behind the other; see
    // ElectrumClient.flightSettled).
    const all = [...new Set([...scriptHashes, ...probes])]
    await Promise.all(new Set(all.flatMap((s) => this.inflight.get(s) ?? [])))
    // Subscribed on this connection already (a watch-only copy of an account, an earlier probe,
    // a prefetch): electrs keeps pushing its changes, so the last status it gave is current.
    const ask = all.filter((s) => !this.known.has(s))
    const out = await this.subscribeOn(this.client(), ask)
    for (const s of [...scriptHashes, ...probes])
      if (!out.has(s)) out.set(s, this.known.get(s) ?? null)
    return out
  }

  /**
   * Subscribes script hashes the wallet will watch next (a discovery's next round) and asks for
   * their histories, in one flight, without waiting: electrs works them out while the wallet is
   * busy with the current round. Send it right after an answer arrives, so it is the only line
   * in flight. subscribe() then takes the statuses as they are (waiting for them if they are
   * still on their way); the histories (those electrs gave) are what the returned promise gives.
   * Not watched until subscribe() names them; release() the ones that were not.
   */
  prefetch(scriptHashes: readonly string[]): Promise<Map<string, HistoryEntry[]>> | undefined {
    const client = this.current
    if (!client || client.closed || this._state !== 'ready') return undefined
    // Histories of all of them (an earlier probe is subscribed already, but its history was not
    // asked for); subscriptions of those not subscribed yet.
    const all = scriptHashes.filter((s) => !this.inflight.has(s))
    const ask = all.filter((s) => !this.known.has(s))
    if (all.length === 0) return undefined
    const sent = client
      .flightSettled([
        batchPart(
          'blockchain.scripthash.subscribe',
          ask.map((s) => [s]),
          StatusSchema,
        ),
        batchPart(
          'blockchain.scripthash.get_history',
          all.map((s) => [s]),
          HistorySchema,
        ),
      ])
      .then(
        ([statuses, histories]) => {
          if (this.current === client)
            ask.forEach((s, i) => {
              const st = statuses[i]!
              if (st.ok) this.known.set(s, st.value)
            })
          const out = new Map<string, HistoryEntry[]>()
          all.forEach((s, i) => {
            const h = histories[i]!
            if (h.ok) out.set(s, h.value)
          })
          return out
        },
        () => new Map<string, HistoryEntry[]>(), // lost connection: subscribe() asks again
      )
    for (const s of ask) this.inflight.set(s, sent)
    void sent.then(() => {
      for (const s of ask) if (this.inflight.get(s) === sent) this.inflight.delete(s)
    })
    return sent
  }

  /** Unsubscribes probes that were not watched after all (one batch, not awaited). */
  release(probes: readonly string[]): void {
    const ahead = new Set(probes.flatMap((s) => this.inflight.get(s) ?? []))
    if (ahead.size) {
      // A prefetch still on its way: released once its statuses are in.
      void Promise.all(ahead).then(() => this.release(probes))
      return
    }
    const drop = probes.filter((s) => !this.watched.has(s) && this.known.delete(s))
    const client = this.current
    if (drop.length === 0 || !client || client.closed) return
    client
      .batchSettled(
        'blockchain.scripthash.unsubscribe',
        drop.map((s) => [s]),
        z.boolean(),
      )
      .catch(() => undefined) // a lost connection drops them anyway
  }

  /** Script hashes to subscribe at the next connect (the wallet's stored addresses at start). */
  remember(scriptHashes: Iterable<string>): void {
    for (const s of scriptHashes) this.watched.add(s)
  }

  /** Forget script hashes (e.g. a removed account); electrs keeps them until the next connect. */
  unwatch(scriptHashes: readonly string[]): void {
    for (const s of scriptHashes) this.watched.delete(s)
  }

  private async subscribeOn(client: ElectrumClient, list: readonly string[]): Promise<StatusMap> {
    const out: StatusMap = new Map()
    for (let i = 0; i < list.length; i += this.batchSize) {
      const chunk = list.slice(i, i + this.batchSize)
      const statuses = await client.batch(
        'blockchain.scripthash.subscribe',
        chunk.map((s) => [s]),
        StatusSchema,
      )
      chunk.forEach((s, j) => {
        out.set(s, statuses[j]!)
        this.known.set(s, statuses[j]!)
      })
    }
    return out
  }

  private setState(state: SessionState, problem?: FlashError): void {
    const changed = state !== this._state || problem?.code !== this._problem?.code
    this._state = state
    this._problem = problem
    if (changed) this.handlers.onState?.(state, problem)
  }

  private dropClient(): void {
    const c = this.current
    this.current = null
    if (c) {
      this.pastRoundTrips += c.roundTrips
      this.pastRequests += c.requests
      for (const [m, n] of c.methodCounts)
        this.pastMethods.set(m, (this.pastMethods.get(m) ?? 0) + n)
      c.close()
    }
  }

  private schedule(): void {
    if (this.stopped || this.timer) return
    const wait = this.retry
    this.retry = Math.min(this.retry * 2, this.opts.retryMs?.max ?? 15_000)
    this.timer = setTimeout(() => {
      this.timer = null
      void this.connectOnce()
    }, wait)
    this.timer.unref?.()
  }

  private async connectOnce(): Promise<void> {
    if (this.stopped) return
    let endpoint: ElectrumEndpoint | null
    try {
      endpoint = await this.opts.endpoint()
    } catch (err) {
      this.setState('offline', asFlash(err))
      this.schedule()
      return
    }
    if (!endpoint) {
      this.setState(
        'disabled',
        new FlashError(
          'wallet.electrs_disabled',
          'The wallet needs the Electrum server (electrs), which is not part of this box’s stack.',
          'Turn electrs on in Settings.',
        ),
      )
      this.schedule()
      return
    }
    if (this._state !== 'indexing') this.setState('connecting', this._problem)
    let client: ElectrumClient
    try {
      client = await ElectrumClient.connect({ ...endpoint, timeoutMs: this.opts.timeoutMs })
    } catch (err) {
      this.setState('offline', asFlash(err))
      this.schedule()
      return
    }
    if (this.stopped) {
      client.close()
      return
    }
    this.dropClient()
    this.known.clear()
    this.inflight.clear()
    this.current = client
    client.on('blockchain.scripthash.subscribe', (params) => {
      const [sh, status] = params
      if (typeof sh !== 'string' || (typeof status !== 'string' && status !== null)) return
      if (this.known.has(sh)) this.known.set(sh, status)
      if (this.watched.has(sh)) this.handlers.onStatus?.(sh, status)
    })
    try {
      await client.serverVersion('flashbox-wallet', '1.4')
      const tip = await client.subscribeHeaders((h) => {
        this._tip = h
        this.handlers.onHeader?.(h)
      })
      // Headers are served while electrs indexes; script hashes are not. Ask once to know.
      await client.getHistory(PROBE_SCRIPT_HASH)
      const statuses = await this.subscribeOn(client, [...this.watched])
      if (client.closed) throw client.closedReason ?? new Error('closed')
      this._tip = tip
      this.retry = this.opts.retryMs?.min ?? 500
      client.onClose((err) => {
        if (this.current !== client) return
        this.opts.log?.warn('electrum connection lost; reconnecting', { code: err.code })
        this.dropClient()
        this.setState('connecting', err)
        this.schedule()
      })
      this.setState('ready')
      this.handlers.onReady?.(tip, statuses)
    } catch (err) {
      const e = asFlash(err)
      this.dropClient()
      this.setState(e.code === 'electrs.indexing' ? 'indexing' : 'offline', e)
      this.schedule()
    }
  }
}

/** A script hash's status: 64 hex characters, or null (no history). */
const StatusSchema = z.custom<string | null>((v) => v === null || isLowerHex(v, 64))

function asFlash(err: unknown): FlashError {
  if (err instanceof FlashError) return err
  return new FlashError(
    'electrs.unreachable',
    'The Electrum server (electrs) could not be reached.',
    'Check on the dashboard that electrs is running.',
    { cause: err },
  )
}
