// Several relays at once (NIP-01) with AUTH on demand (NIP-42): publish to all with a result per
// relay, read with de-duplication by id, reconnect with exponential backoff, and a health record
// per relay. The wire protocol is nostr-tools' AbstractRelay over the `ws` WebSocket; this file
// adds what a box that runs unattended needs on top: it never gives up on a relay, it re-opens
// subscriptions after a reconnect or an authentication, and it says what went wrong.
// https://github.com/nostr-protocol/nips/blob/master/01.md, …/42.md
import { explainRelayReason } from '../../shared/api/relay-reasons'
import WebSocket from 'ws'
import { AbstractRelay, type Subscription } from 'nostr-tools/abstract-relay'
import { verifyEvent, type Event, type EventTemplate, type VerifiedEvent } from 'nostr-tools/pure'
import type { Filter } from 'nostr-tools/filter'
import { normalizeURL } from 'nostr-tools/utils'
import type { Logger } from '../log'
import type { AuthState, RelayDelivery, RelayHealth } from '../../shared/api/nostr'

export type AuthSigner = (template: EventTemplate) => Promise<VerifiedEvent>

export interface RelayPoolOptions {
  readonly log: Logger
  /** Signs NIP-42 AUTH events; returns null while the key is locked. */
  readonly authSigner: () => AuthSigner | null
  readonly onHealth?: (health: RelayHealth) => void
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number }
  readonly connectTimeoutMs?: number
  readonly publishTimeoutMs?: number
  readonly queryTimeoutMs?: number
}

type EventHandler = (event: Event, relay: string) => void

interface PersistentSub {
  readonly key: string
  readonly filters: Filter[]
  readonly onevent: EventHandler
  /** Relays it runs on; undefined means every relay in the pool. */
  readonly relays: ReadonlySet<string> | undefined
}

const CONNECTION_CLOSED = /^relay connection|^websocket closed|^connection (failed|timed out)/

/** `prefix: message` of a relay's OK/CLOSED reason. */
export function splitReason(reason: string): { prefix?: string; message: string } {
  const m = reason.match(/^([a-z-]+): ?(.*)$/s)
  return m ? { prefix: m[1]!, message: m[2]! } : { message: reason }
}

const needsAuth = (reason: string) => /^(auth-required|restricted):/.test(reason)

/**
 * `ws` turns an 'error' event nobody listens to into an uncaught exception. nostr-tools removes its
 * `onerror` before it closes a socket, and closing one that is still connecting emits "WebSocket
 * was closed before the connection was established": stopping the pool (the engine stopping, a
 * relay removed) while a relay was being reached crashed the process. A socket that always has a
 * listener of its own; nostr-tools still sees every error through `onerror` while it listens.
 */
class PoolWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args)
    this.on('error', () => undefined)
  }
}

/** AbstractRelay that also tells us when a challenge arrives (it keeps the challenge private). */
class ObservedRelay extends AbstractRelay {
  onchallenge: (() => void) | undefined
  override _onmessage(ev: MessageEvent): void {
    const data = typeof ev.data === 'string' ? ev.data : String(ev.data)
    super._onmessage({ data } as MessageEvent)
    if (data.startsWith('["AUTH"')) this.onchallenge?.()
  }
}

class RelayConnection {
  readonly relay: ObservedRelay
  connected = false
  auth: AuthState = 'none'
  latencyMs: number | undefined
  lastError: string | undefined
  lastErrorAt: string | undefined
  attempts = 0
  nextAttemptAt: number | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private stopped = false
  private readonly live = new Map<string, Subscription>()
  private challengeWaiters: (() => void)[] = []
  private connectWaiters: ((ok: boolean) => void)[] = []
  private hasChallenge = false

  constructor(
    readonly url: string,
    private readonly pool: RelayPool,
    private readonly opts: Required<Omit<RelayPoolOptions, 'onHealth'>> &
      Pick<RelayPoolOptions, 'onHealth'>,
    /** A connection for one publish/query to a relay outside the pool: no subscriptions. */
    private readonly ephemeral = false,
  ) {
    this.relay = new ObservedRelay(url, {
      verifyEvent: (e) => verifyEvent(e),
      websocketImplementation: PoolWebSocket as unknown as typeof globalThis.WebSocket,
      enablePing: true,
      enableReconnect: false,
    })
    this.relay.publishTimeout = opts.publishTimeoutMs
    this.relay.baseEoseTimeout = opts.queryTimeoutMs
    this.relay.onnotice = (msg) => opts.log.debug('relay notice', { relay: url, notice: msg })
    this.relay.onchallenge = () => {
      this.hasChallenge = true
      if (this.auth === 'none') this.setAuth('challenged')
      for (const w of this.challengeWaiters.splice(0)) w()
    }
    this.relay.onclose = () => this.onDisconnect('connection closed')
  }

  health(): RelayHealth {
    return {
      url: this.url,
      connected: this.connected,
      auth: this.auth,
      attempts: this.attempts,
      ...(this.latencyMs !== undefined ? { latencyMs: this.latencyMs } : {}),
      ...(this.lastError ? { lastError: this.lastError, lastErrorAt: this.lastErrorAt } : {}),
      ...(!this.connected && this.nextAttemptAt
        ? { nextAttemptAt: new Date(this.nextAttemptAt).toISOString() }
        : {}),
    }
  }

  private emit() {
    if (!this.ephemeral) this.opts.onHealth?.(this.health())
  }

  private setAuth(state: AuthState) {
    this.auth = state
    this.emit()
  }

  private fail(message: string) {
    this.lastError = message
    this.lastErrorAt = new Date().toISOString()
  }

  start() {
    void this.connect()
  }

  private async connect() {
    if (this.stopped || this.connected) return
    this.timer = undefined
    this.nextAttemptAt = undefined
    const began = Date.now()
    // A relay may send its challenge the moment the socket opens, before connect() resolves.
    this.hasChallenge = false
    this.auth = 'none'
    try {
      await this.relay.connect({ timeout: this.opts.connectTimeoutMs })
    } catch (err) {
      this.fail(`Could not connect: ${String(err instanceof Error ? err.message : err)}`)
      this.schedule()
      return
    }
    if (this.stopped) {
      this.relay.close()
      return
    }
    this.connected = true
    this.attempts = 0
    this.latencyMs = Date.now() - began
    this.opts.log.info('relay connected', { relay: this.url })
    for (const w of this.connectWaiters.splice(0)) w(true)
    this.emit()
    if (!this.ephemeral) for (const sub of this.pool.subscriptionsFor(this.url)) this.open(sub)
  }

  private onDisconnect(reason: string) {
    const was = this.connected
    this.connected = false
    this.live.clear()
    if (this.auth !== 'none') this.auth = 'none'
    if (this.stopped) return
    if (was) {
      this.fail(`Disconnected: ${reason}`)
      this.opts.log.warn('relay disconnected', { relay: this.url })
    }
    this.schedule()
  }

  /** Exponential backoff with jitter, capped; never gives up while the relay is in the list. */
  private schedule() {
    if (this.stopped || this.timer) return
    const { initialMs, maxMs } = this.opts.backoff
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempts, 20))
    const delay = Math.round(base * (0.75 + Math.random() * 0.5))
    this.attempts++
    this.nextAttemptAt = Date.now() + delay
    this.timer = setTimeout(() => void this.connect(), delay)
    this.timer.unref?.()
    for (const w of this.connectWaiters.splice(0)) w(false)
    this.emit()
  }

  /** Resolves true once connected, false when the attempt in progress fails or time runs out. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true)
    if (this.stopped) return Promise.resolve(false)
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs)
      this.connectWaiters.push((ok) => {
        // A failed attempt may be followed by a quick retry; only give up on timeout.
        if (ok) {
          clearTimeout(t)
          resolve(true)
        } else if (this.nextAttemptAt && this.nextAttemptAt - Date.now() < timeoutMs) {
          this.waitConnected(Math.max(0, timeoutMs - 1)).then((v) => {
            clearTimeout(t)
            resolve(v)
          })
        }
      })
    })
  }

  /** Answers the relay's NIP-42 challenge (waiting briefly for one). */
  async authenticate(): Promise<boolean> {
    if (this.auth === 'authenticated') return true
    const signer = this.opts.authSigner()
    if (!signer) {
      this.fail('The relay asks who you are, but your key is locked.')
      this.setAuth('failed')
      return false
    }
    if (!this.hasChallenge) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 3000)
        this.challengeWaiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
      if (!this.hasChallenge) {
        this.fail('The relay asked to authenticate but sent no challenge.')
        this.setAuth('failed')
        return false
      }
    }
    this.setAuth('authenticating')
    try {
      const began = Date.now()
      await this.relay.auth(signer)
      this.latencyMs = Date.now() - began
      this.setAuth('authenticated')
      this.opts.log.info('relay authenticated', { relay: this.url })
      // Being known may show more (gift wraps, private groups): re-ask every open question.
      if (!this.ephemeral)
        for (const sub of this.pool.subscriptionsFor(this.url)) this.open(sub, true)
      return true
    } catch (err) {
      this.fail(`Authentication refused: ${err instanceof Error ? err.message : String(err)}`)
      this.setAuth('failed')
      return false
    }
  }

  open(sub: PersistentSub, retried = false) {
    if (!this.connected) return
    this.live.get(sub.key)?.close('replaced')
    const began = Date.now()
    const s = this.relay.subscribe(sub.filters, {
      id: sub.key.slice(0, 40),
      onevent: (e) => sub.onevent(e, this.url),
      oneose: () => {
        this.latencyMs = Date.now() - began
      },
      onclose: (reason) => {
        if (this.live.get(sub.key) === s) this.live.delete(sub.key)
        if (reason === 'replaced' || reason === 'closed by caller') return
        if (CONNECTION_CLOSED.test(reason)) return // the reconnect re-opens it
        if (needsAuth(reason) && !retried) {
          // On success, authenticate() re-opens every subscription on this relay.
          void this.authenticate()
          return
        }
        this.fail(`Reading stopped. ${explainRelayReason(reason)}`)
        this.emit()
      },
    })
    this.live.set(sub.key, s)
  }

  close(key: string) {
    this.live.get(key)?.close()
    this.live.delete(key)
  }

  async publish(event: Event): Promise<RelayDelivery> {
    if (!(await this.waitConnected(this.opts.connectTimeoutMs))) {
      return {
        relay: this.url,
        status: 'failed',
        message: this.lastError ?? 'Not connected to this relay.',
      }
    }
    const attempt = async (): Promise<RelayDelivery> => {
      const began = Date.now()
      try {
        const reason = await this.relay.publish(event)
        this.latencyMs = Date.now() - began
        const { prefix, message } = splitReason(reason ?? '')
        return { relay: this.url, status: 'ok', ...(prefix ? { prefix } : {}), message }
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err)
        if (reason === 'publish timed out') {
          return { relay: this.url, status: 'timeout', message: 'The relay did not answer.' }
        }
        if (CONNECTION_CLOSED.test(reason) || reason.startsWith('SendingOnClosedConnection')) {
          return { relay: this.url, status: 'failed', message: 'The connection dropped.' }
        }
        const { prefix, message } = splitReason(reason)
        return { relay: this.url, status: 'rejected', ...(prefix ? { prefix } : {}), message }
      }
    }
    const first = await attempt()
    if (first.status === 'rejected' && first.prefix && needsAuth(`${first.prefix}:`)) {
      if (this.auth !== 'authenticated' && (await this.authenticate())) return attempt()
    }
    return first
  }

  /** One-shot read until EOSE (or timeout); re-tried once after AUTH when the relay asks. */
  async query(filters: Filter[], timeoutMs: number): Promise<Event[]> {
    if (!(await this.waitConnected(Math.min(timeoutMs, this.opts.connectTimeoutMs)))) return []
    const run = () =>
      new Promise<{ events: Event[]; reason?: string }>((resolve) => {
        const events: Event[] = []
        let done = false
        const finish = (reason?: string) => {
          if (done) return
          done = true
          resolve({ events, ...(reason ? { reason } : {}) })
        }
        const began = Date.now()
        const s = this.relay.subscribe(filters, {
          onevent: (e) => events.push(e),
          oneose: () => {
            this.latencyMs = Date.now() - began
            s.close()
            finish()
          },
          onclose: (reason) => finish(reason === 'closed by caller' ? undefined : reason),
          eoseTimeout: timeoutMs,
        })
      })
    const first = await run()
    if (first.reason && needsAuth(first.reason) && (await this.authenticate())) {
      return (await run()).events
    }
    return first.events
  }

  stop() {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    for (const w of this.connectWaiters.splice(0)) w(false)
    this.relay.close()
    this.connected = false
  }
}

export class RelayPool {
  private readonly conns = new Map<string, RelayConnection>()
  private readonly subs = new Map<string, PersistentSub>()
  private readonly opts: Required<Omit<RelayPoolOptions, 'onHealth'>> &
    Pick<RelayPoolOptions, 'onHealth'>

  constructor(opts: RelayPoolOptions) {
    this.opts = {
      backoff: { initialMs: 1000, maxMs: 60_000 },
      connectTimeoutMs: 8000,
      publishTimeoutMs: 8000,
      queryTimeoutMs: 8000,
      ...opts,
    }
  }

  static normalize(url: string): string {
    return normalizeURL(url)
  }

  /** Makes the pool hold exactly these relays: connects new ones, closes removed ones. */
  setRelays(urls: readonly string[]) {
    const want = new Set(urls.map((u) => normalizeURL(u)))
    for (const [url, conn] of this.conns) {
      if (!want.has(url)) {
        conn.stop()
        this.conns.delete(url)
      }
    }
    for (const url of want) {
      if (this.conns.has(url)) continue
      const conn = new RelayConnection(url, this, this.opts)
      this.conns.set(url, conn)
      conn.start()
    }
  }

  urls(): string[] {
    return [...this.conns.keys()]
  }

  health(): RelayHealth[] {
    return [...this.conns.values()].map((c) => c.health())
  }

  /** Persistent subscription, re-opened after reconnects; each event id is delivered once. */
  subscribe(key: string, filters: Filter[], onevent: EventHandler, relays?: readonly string[]) {
    this.unsubscribe(key)
    const seen = new Set<string>()
    const sub: PersistentSub = {
      key,
      filters,
      relays: relays ? new Set(relays.map((u) => normalizeURL(u))) : undefined,
      onevent: (e, relay) => {
        if (seen.has(e.id)) return
        seen.add(e.id)
        if (seen.size > 50_000) seen.delete(seen.values().next().value!)
        onevent(e, relay)
      },
    }
    this.subs.set(key, sub)
    for (const conn of this.conns.values()) if (this.runsOn(sub, conn.url)) conn.open(sub)
  }

  unsubscribe(key: string) {
    if (!this.subs.delete(key)) return
    for (const conn of this.conns.values()) conn.close(key)
  }

  hasSubscription(key: string): boolean {
    return this.subs.has(key)
  }

  subscriptionsFor(url: string): PersistentSub[] {
    return [...this.subs.values()].filter((s) => this.runsOn(s, url))
  }

  private runsOn(sub: PersistentSub, url: string) {
    return !sub.relays || sub.relays.has(url)
  }

  /** Publishes to the given relays (default: all), one result per relay. */
  async publish(event: Event, relays?: readonly string[]): Promise<RelayDelivery[]> {
    const targets = [...new Set((relays ?? this.urls()).map((u) => normalizeURL(u)))]
    return Promise.all(
      targets.map(async (url) => {
        const conn = this.conns.get(url)
        if (conn) return conn.publish(event)
        // A relay outside the pool (a recipient's inbox): connect for this publish only.
        const temp = new RelayConnection(url, this, this.opts, true)
        temp.start()
        try {
          return await temp.publish(event)
        } finally {
          temp.stop()
        }
      }),
    )
  }

  /** Reads until every relay sent EOSE (or timed out); events de-duplicated by id. */
  async query(
    filters: Filter[],
    relays?: readonly string[],
    timeoutMs = this.opts.queryTimeoutMs,
  ): Promise<Event[]> {
    const targets = [...new Set((relays ?? this.urls()).map((u) => normalizeURL(u)))]
    const results = await Promise.all(
      targets.map(async (url) => {
        const conn = this.conns.get(url)
        if (conn) return conn.query(filters, timeoutMs)
        const temp = new RelayConnection(url, this, this.opts, true)
        temp.start()
        try {
          return await temp.query(filters, timeoutMs)
        } finally {
          temp.stop()
        }
      }),
    )
    const byId = new Map<string, Event>()
    for (const list of results) for (const e of list) byId.set(e.id, e)
    return [...byId.values()]
  }

  close() {
    for (const conn of this.conns.values()) conn.stop()
    this.conns.clear()
    this.subs.clear()
  }
}
