// The relay core: WebSocket + HTTP on one port, NIP-01 message handling, group commit to the
// store, live fan-out. It knows no operator rules: those arrive as hook lists (src/policies) and
// extensions (NIP-29 groups). NIP-11 and NIP-86 are served on the same URL over plain HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { dirname, join } from 'node:path'
import { WebSocketServer, WebSocket, type RawData } from 'ws'
import { parsePolicy, type RelayPolicy, type RelayPolicyInput } from './config'
import {
  eventShapeProblem,
  kindClass,
  matchFilter,
  parseFilter,
  reason,
  type Filter,
  type NostrEvent,
} from './nip01'
import { applyDeletion, DELETION_KIND } from './nip09'
import { clientAddress, trustedProxySet } from '../../shared/client-address'
import { relayInformation, wantsRelayInfo } from './nip11'
import { isExpired } from './nip40'
import { AUTH_KIND, authProblem, newChallenge, normaliseRelayUrl } from './nip42'
import { countResponse } from './nip45'
import { asksForGiftWraps, giftWrapVisible } from './nip59'
import { applyVanish, VANISH_KIND, vanishTargetsThisRelay } from './nip62'
import { protectedProblem, repostProblem } from './nip70'
import { composePolicies, type ListName, type Lists, type Policies } from './policies'
import { firstReason, type ConnectionView } from './policies/types'
import { retentionSweeps } from './policies/retention'
import { loadOrCreateRelayKey, type RelayKey } from './relay-key'
import { EventStore } from './store'
import type { RelayManagement } from './nip86'
import { loadVerifier, type Verifier } from './verify'
import { defaultVerifyThreads, startVerifyPool, type VerifyPool } from './verify-pool'

export const RELAY_VERSION = '0.1.0'

export interface RelayLog {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

const quietLog: RelayLog = { info() {}, warn() {}, error() {} }

export interface RelayOptions {
  readonly port: number
  readonly host?: string
  /** SQLite file; the relay key lives beside it unless `keyPath` says otherwise. */
  readonly dbPath: string
  readonly keyPath?: string
  readonly policies?: RelayPolicyInput
  /** Pubkeys allowed to manage the relay (NIP-86) and create groups: the box's own admin key. */
  readonly adminPubkeys?: readonly string[]
  /** URLs clients reach this relay at (AUTH `relay` tag, NIP-62, NIP-98 `u`); loopback always counts. */
  readonly publicUrls?: readonly string[]
  /**
   * Addresses of reverse proxies (the box's front door) whose X-Forwarded-For names the client
   * for the per-IP limits; from anyone else the header is ignored.
   */
  readonly trustedProxies?: readonly string[]
  readonly name?: string
  readonly description?: string
  readonly log?: RelayLog
  /** Called with every secret the relay creates or loads, so the host can redact it from logs. */
  readonly onSecret?: (secret: string) => void
  /** How often expired events and retention rules are purged (ms). */
  readonly purgeIntervalMs?: number
  /** Test hook: the clock in seconds. */
  readonly now?: () => number
  /**
   * Threads verifying event signatures off the event loop (default: one per core less one;
   * 0 = in-process). AUTH signatures are always checked in-process (one per connection).
   */
  readonly verifyThreads?: number
}

export interface Rejection {
  readonly at: number
  /** What was refused: an event write, a subscription, a COUNT, an AUTH, a raw message, a connection. */
  readonly what: 'event' | 'req' | 'count' | 'auth' | 'message' | 'connection'
  readonly reason: string
  readonly ip: string
  readonly eventId?: string
  readonly pubkey?: string
  readonly kind?: number
}

export interface RelayStats {
  readonly connections: number
  readonly eventsStored: number
  readonly storageBytes: number
  readonly subscriptions: number
}

/** An extension the core consults (NIP-29 groups is one). */
export interface RelayExtension {
  /** Runs inside the write transaction, after the events before it in the batch were applied. */
  rejectEvent?(ev: NostrEvent, conn: ConnectionView): string | undefined
  /** After `ev` was stored, inside the transaction: relay-signed events to store and broadcast. */
  afterSave?(ev: NostrEvent): NostrEvent[]
  /** Group ids (h tags) hidden from a reader with these authenticated pubkeys. */
  hiddenGroups?(authed: ReadonlySet<string>): string[]
}

const sameEvent = (a: NostrEvent, b: NostrEvent): boolean =>
  a.pubkey === b.pubkey &&
  a.sig === b.sig &&
  a.kind === b.kind &&
  a.created_at === b.created_at &&
  a.content === b.content &&
  JSON.stringify(a.tags) === JSON.stringify(b.tags)

/** What to do with an EVENT once its signature is known: send the OK, queue the write, … */
type EventAction = () => void

class Connection implements ConnectionView {
  readonly authed = new Set<string>()
  /** EVENTs whose answer waits for a signature thread; later answers queue behind them. */
  eventsInFlight = 0
  answered: Promise<void> = Promise.resolve()
  readonly subs = new Map<string, Filter[]>()
  readonly challenge = newChallenge()
  constructor(
    readonly id: number,
    readonly ip: string,
    readonly ws: WebSocket,
    /** The URL the client dialled (from the Host header), normalised: it names this relay too. */
    readonly dialled: string | undefined,
  ) {}
  send(msg: string): void {
    // A client that stopped reading does not get to hold the relay's memory hostage.
    if (this.ws.readyState !== WebSocket.OPEN) return
    if (this.ws.bufferedAmount > 8 * 1024 * 1024) {
      this.ws.close(1013, 'too slow: messages are piling up')
      return
    }
    this.ws.send(msg)
  }
}

interface PendingWrite {
  readonly ev: NostrEvent
  readonly conn: Connection
}

export class Relay {
  readonly store: EventStore
  readonly key: RelayKey
  readonly admins: Set<string>
  private policy: RelayPolicy
  private policies: Policies
  private readonly lists: Lists
  private readonly extensions: RelayExtension[] = []
  private readonly conns = new Set<Connection>()
  private readonly perIp = new Map<string, number>()
  private nextConnId = 1
  private pending: PendingWrite[] = []
  private flushScheduled = false
  private readonly rejectionLog: Rejection[] = []
  private readonly rejectionListeners = new Set<(r: Rejection) => void>()
  private readonly thisRelay = new Set<string>()
  private server?: Server
  private wss?: WebSocketServer
  private purgeTimer?: NodeJS.Timeout
  private readonly log: RelayLog
  readonly now: () => number
  url = ''

  private closed = false

  private constructor(
    private readonly opts: RelayOptions,
    private readonly verify: Verifier,
    private readonly verifyPool: VerifyPool,
  ) {
    this.log = opts.log ?? quietLog
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000))
    this.store = new EventStore(opts.dbPath)
    this.key = loadOrCreateRelayKey(
      opts.keyPath ?? join(dirname(opts.dbPath), 'relay.key'),
      opts.onSecret,
    )
    this.admins = new Set([...(opts.adminPubkeys ?? []), this.key.pubkey])
    const store = this.store
    this.lists = {
      has: (list: ListName, value: string) => store.listHas(list, value),
      values: (list: ListName) => store.listValues(list),
    }
    this.policy = parsePolicy(opts.policies)
    this.policies = this.compose(this.policy)
    for (const u of opts.publicUrls ?? []) {
      const n = normaliseRelayUrl(u)
      if (n) this.thisRelay.add(n)
    }
  }

  static async create(opts: RelayOptions): Promise<Relay> {
    const verify = await loadVerifier()
    const log = opts.log ?? quietLog
    const pool = await startVerifyPool(
      opts.verifyThreads ?? defaultVerifyThreads(),
      verify,
      (m, f) => log.warn(m, f),
    )
    try {
      return new Relay(opts, verify, pool)
    } catch (err) {
      await pool.close()
      throw err
    }
  }

  get verifierEngine(): 'wasm' | 'js' {
    return this.verify.engine
  }

  /** Signature threads in use (0 = verifying on the event loop). */
  get verifyThreads(): number {
    return this.verifyPool.threads
  }

  get currentPolicy(): RelayPolicy {
    return this.policy
  }

  listsView(): Lists {
    return this.lists
  }

  use(ext: RelayExtension): void {
    this.extensions.push(ext)
  }

  private compose(p: RelayPolicy): Policies {
    return composePolicies(p, { lists: this.lists, admins: this.admins, now: this.now })
  }

  /** Replaces the operator's policies (validated); applies to the next message. */
  setPolicy(input: RelayPolicyInput): RelayPolicy {
    const p = parsePolicy(input)
    this.policies = this.compose(p)
    this.policy = p
    if (this.wss) this.wss.options.maxPayload = p.limits.maxMessageBytes
    return p
  }

  /**
   * Does `url` name this relay? Configured public URLs, the URL this connection dialled (behind a
   * container's port mapping the client knows a port we don't), and loopback on our own port.
   */
  isThisRelay = (url: string, dialled?: string): boolean => {
    const n = normaliseRelayUrl(url)
    if (!n) return false
    if (this.thisRelay.has(n) || (dialled !== undefined && n === dialled)) return true
    // Loopback URLs on our port always name us (embedded use, tests, the box itself).
    const port = (this.server?.address() as { port?: number } | null)?.port
    const m = /^(127\.0\.0\.1|localhost|\[::1\]|::1):(\d+)$/.exec(n.replace(/\/.*$/, ''))
    return !!m && Number(m[2]) === port
  }

  // ---------------------------------------------------------------- lifecycle

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => this.onHttp(req, res))
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.policy.limits.maxMessageBytes,
      perMessageDeflate: false,
    })
    const trusted = trustedProxySet(this.opts.trustedProxies)
    server.on('upgrade', (req, socket, head) => {
      const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted)
      const blocked = firstReason(this.policies.connect, ip, this.perIp.get(ip) ?? 0)
      if (blocked) {
        this.recordRejection({ what: 'connection', reason: blocked, ip })
        const status = blocked.startsWith('rate-limited')
          ? '429 Too Many Requests'
          : '403 Forbidden'
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`)
        return
      }
      const host = req.headers.host
      const dialled = host ? normaliseRelayUrl(`ws://${host}${req.url ?? ''}`) : undefined
      wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, ip, dialled))
    })
    server.on('clientError', (_err, socket) => socket.destroy())
    this.server = server
    this.wss = wss
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const addr = server.address() as { port: number }
    const h = host.includes(':') ? `[${host}]` : host
    this.url = `ws://${h === '0.0.0.0' || h === '[::]' ? '127.0.0.1' : h}:${addr.port}`
    const every = this.opts.purgeIntervalMs ?? 60_000
    this.purgeTimer = setInterval(() => this.purge(), every)
    this.purgeTimer.unref()
    return this.url
  }

  async close(): Promise<void> {
    if (this.purgeTimer) clearInterval(this.purgeTimer)
    this.closed = true
    this.flush()
    for (const c of this.conns) c.ws.terminate()
    this.conns.clear()
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()))
    if (this.server) {
      this.server.closeAllConnections()
      await new Promise<void>((resolve) => this.server!.close(() => resolve()))
    }
    await this.verifyPool.close()
    this.store.close()
  }

  /** NIP-40 purge and retention rules. Returns how many events were removed. */
  purge(): number {
    try {
      const now = this.now()
      let n = this.store.purgeExpired(now)
      for (const s of retentionSweeps(this.policy.retention, now))
        n += this.store.transaction(() => this.store.deleteWhere(s.where, s.params))
      if (n > 0) this.log.info('relay purged events', { count: n })
      return n
    } catch (err) {
      this.log.error('relay purge failed', { error: (err as Error).message })
      return 0
    }
  }

  stats(): RelayStats {
    let subscriptions = 0
    for (const c of this.conns) subscriptions += c.subs.size
    return {
      connections: this.conns.size,
      eventsStored: this.store.eventCount(),
      storageBytes: this.store.storageBytes(),
      subscriptions,
    }
  }

  rejections(): readonly Rejection[] {
    return [...this.rejectionLog].reverse()
  }

  onRejection(fn: (r: Rejection) => void): () => void {
    this.rejectionListeners.add(fn)
    return () => this.rejectionListeners.delete(fn)
  }

  private recordRejection(r: Omit<Rejection, 'at'>): void {
    const full = { at: Date.now(), ...r }
    this.rejectionLog.push(full)
    if (this.rejectionLog.length > 200) this.rejectionLog.shift()
    for (const l of this.rejectionListeners) {
      try {
        l(full)
      } catch {
        // listeners never break the relay
      }
    }
  }

  // ---------------------------------------------------------------- HTTP (NIP-11, NIP-86)

  /** NIP-86 handler, installed by the management module (nip86.ts). */
  management?: (req: IncomingMessage, body: Buffer, res: ServerResponse) => Promise<void>
  /** Allow/ban list operations (installed with the NIP-86 endpoint). */
  managementOps?: RelayManagement

  relayInfo(): Record<string, unknown> {
    return relayInformation({
      name: this.store.getMeta('name') ?? this.opts.name ?? 'Flash Box relay',
      description:
        this.store.getMeta('description') ??
        this.opts.description ??
        'The Nostr relay of this Flash Box.',
      icon: this.store.getMeta('icon'),
      adminPubkey: this.opts.adminPubkeys?.[0],
      selfPubkey: this.key.pubkey,
      policy: this.policy,
      version: RELAY_VERSION,
    })
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const cors = {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Headers': 'Authorization, Accept, Content-Type',
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors).end()
      return
    }
    const ctype = (req.headers['content-type'] ?? '').toLowerCase()
    if (
      req.method === 'POST' &&
      ctype.startsWith('application/nostr+json+rpc') &&
      this.management
    ) {
      const chunks: Buffer[] = []
      let size = 0
      req.on('data', (c: Buffer) => {
        size += c.length
        if (size > 64 * 1024) {
          res.writeHead(413, cors).end()
          req.destroy()
          return
        }
        chunks.push(c)
      })
      req.on('end', () => {
        if (res.headersSent) return
        this.management!(req, Buffer.concat(chunks), res).catch((err) => {
          this.log.error('relay management request failed', { error: (err as Error).message })
          if (!res.headersSent)
            res
              .writeHead(500, { ...cors, 'Content-Type': 'application/json' })
              .end(JSON.stringify({ error: 'internal error' }))
        })
      })
      return
    }
    if (req.method === 'GET' && wantsRelayInfo(req.headers.accept)) {
      // A declared length: one piece rather than chunked, through the front door too.
      const info = JSON.stringify(this.relayInfo())
      res
        .writeHead(200, {
          ...cors,
          'Content-Type': 'application/nostr+json',
          'Content-Length': Buffer.byteLength(info),
        })
        .end(info)
      return
    }
    res
      .writeHead(200, { ...cors, 'Content-Type': 'text/plain; charset=utf-8' })
      .end('This is a Nostr relay. Connect with a Nostr client over WebSocket.\n')
  }

  // ---------------------------------------------------------------- WebSocket

  private onConnection(ws: WebSocket, ip: string, dialled: string | undefined): void {
    const conn = new Connection(this.nextConnId++, ip, ws, dialled)
    this.conns.add(conn)
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1)
    let gone = false
    const forget = () => {
      if (gone) return
      gone = true
      this.conns.delete(conn)
      const n = (this.perIp.get(ip) ?? 1) - 1
      if (n <= 0) this.perIp.delete(ip)
      else this.perIp.set(ip, n)
    }
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary))
    ws.on('close', forget)
    ws.on('error', () => {
      // Oversized frames (maxPayload) and protocol errors end up here; ws closes the socket.
      this.recordRejection({
        what: 'message',
        reason: reason('invalid', 'message too large or malformed frame'),
        ip,
      })
      forget()
    })
    conn.send(JSON.stringify(['AUTH', conn.challenge]))
  }

  private notice(conn: Connection, text: string): void {
    conn.send(JSON.stringify(['NOTICE', text]))
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    try {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
      if (isBinary) {
        this.rejectMessage(conn, reason('invalid', 'binary messages are not supported'))
        return
      }
      if (buf.length > this.policy.limits.maxMessageBytes) {
        this.rejectMessage(
          conn,
          reason('invalid', `message larger than ${this.policy.limits.maxMessageBytes} bytes`),
        )
        return
      }
      let msg: unknown
      try {
        msg = JSON.parse(buf.toString('utf8'))
      } catch {
        this.rejectMessage(conn, reason('invalid', 'message is not JSON'))
        return
      }
      if (!Array.isArray(msg) || typeof msg[0] !== 'string') {
        this.rejectMessage(
          conn,
          reason('invalid', 'message must be a JSON array starting with a type'),
        )
        return
      }
      switch (msg[0]) {
        case 'EVENT':
          return this.onEvent(conn, msg[1], buf.length)
        case 'REQ':
          return this.onReq(conn, msg)
        case 'COUNT':
          return this.onCount(conn, msg)
        case 'CLOSE':
          if (typeof msg[1] === 'string') conn.subs.delete(msg[1])
          else this.rejectMessage(conn, reason('invalid', 'CLOSE needs a subscription id'))
          return
        case 'AUTH':
          return this.onAuth(conn, msg[1])
        default:
          this.rejectMessage(
            conn,
            reason('invalid', `unknown message type ${JSON.stringify(msg[0]).slice(0, 40)}`),
          )
      }
    } catch (err) {
      // Nothing a client sends may take the relay down.
      this.log.error('relay message handler failed', { error: (err as Error).message })
      this.notice(conn, reason('error', 'could not handle that message'))
    }
  }

  private rejectMessage(conn: Connection, why: string): void {
    this.recordRejection({ what: 'message', reason: why, ip: conn.ip })
    this.notice(conn, why)
  }

  private ok(
    conn: Connection,
    id: string,
    accepted: boolean,
    message: string,
    ev?: NostrEvent,
  ): void {
    conn.send(JSON.stringify(['OK', id, accepted, message]))
    if (!accepted)
      this.recordRejection({
        what: ev?.kind === AUTH_KIND ? 'auth' : 'event',
        reason: message,
        ip: conn.ip,
        eventId: id,
        ...(ev ? { pubkey: ev.pubkey, kind: ev.kind } : {}),
      })
  }

  // ---------------------------------------------------------------- EVENT

  private onEvent(conn: Connection, raw: unknown, bytes: number): void {
    const action = this.judgeEvent(conn, raw, bytes)
    // Answers go out in the order the EVENTs came in, even when a later one needs no signature
    // check (or fails early) while an earlier one is still with a signature thread.
    if (conn.eventsInFlight === 0 && typeof action === 'function') return action()
    conn.eventsInFlight++
    conn.answered = conn.answered
      .then(() => action)
      .then((act) => {
        if (!this.closed) act()
      })
      .catch((err: unknown) => {
        this.log.error('relay event handler failed', { error: (err as Error).message })
      })
      .finally(() => {
        conn.eventsInFlight--
      })
  }

  /**
   * Everything decided when the EVENT arrives (shape, duplicates, policies, NIP-70 against what
   * the connection had proven by then), then the signature; returns what to do next.
   */
  private judgeEvent(
    conn: Connection,
    raw: unknown,
    bytes: number,
  ): EventAction | Promise<EventAction> {
    const shape = eventShapeProblem(raw)
    if (shape) {
      const id = (raw as { id?: unknown } | null)?.id
      if (typeof id === 'string' && /^[0-9a-f]{64}$/.test(id))
        return () => this.ok(conn, id, false, reason('invalid', shape))
      return () => this.rejectMessage(conn, reason('invalid', shape))
    }
    const ev = raw as NostrEvent
    if (ev.kind === AUTH_KIND)
      return () =>
        this.ok(
          conn,
          ev.id,
          false,
          reason('invalid', 'AUTH events are sent with AUTH, not EVENT'),
          ev,
        )
    const stored = this.store.get(ev.id)
    if (stored) {
      // Same id: only the very same event is a duplicate (its id and signature were verified on
      // the way in); anything else claiming that id is a forgery. No signature check needed.
      return sameEvent(stored, ev)
        ? () => this.ok(conn, ev.id, true, reason('duplicate', 'already have this event'))
        : () => this.ok(conn, ev.id, false, reason('invalid', 'bad event id or signature'), ev)
    }
    const refused = firstReason(this.policies.event, ev, conn, bytes)
    if (refused) return () => this.ok(conn, ev.id, false, refused, ev)
    const prot = protectedProblem(ev, conn.authed) ?? repostProblem(ev)
    const valid = this.verifyPool.verify(ev)
    return typeof valid === 'boolean'
      ? () => this.acceptSigned(conn, ev, valid, prot)
      : valid.then((v) => () => this.acceptSigned(conn, ev, v, prot))
  }

  private acceptSigned(
    conn: Connection,
    ev: NostrEvent,
    valid: boolean,
    prot: string | undefined,
  ): void {
    if (!valid)
      return this.ok(conn, ev.id, false, reason('invalid', 'bad event id or signature'), ev)
    const now = this.now()
    if (isExpired(ev, now))
      return this.ok(conn, ev.id, false, reason('invalid', 'this event has already expired'), ev)
    if (prot) return this.ok(conn, ev.id, false, prot, ev)
    if (
      ev.kind === VANISH_KIND &&
      !vanishTargetsThisRelay(ev, (u) => this.isThisRelay(u, conn.dialled))
    )
      return this.ok(
        conn,
        ev.id,
        false,
        reason('invalid', 'this request to vanish names another relay'),
        ev,
      )
    if (kindClass(ev.kind) === 'ephemeral') {
      // Never stored: checked against extensions now, then delivered to whoever listens.
      for (const x of this.extensions) {
        const r = x.rejectEvent?.(ev, conn)
        if (r) return this.ok(conn, ev.id, false, r, ev)
      }
      this.ok(conn, ev.id, true, '')
      this.broadcast(ev)
      return
    }
    this.pending.push({ ev, conn })
    if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
  }

  /**
   * Group commit: everything queued this turn goes into one transaction; OKs are sent only after
   * COMMIT returned (synchronous=FULL: the WAL is on disk), then the events are broadcast.
   */
  private flush(): void {
    this.flushScheduled = false
    const batch = this.pending
    this.pending = []
    if (batch.length === 0) return
    const answers: { w: PendingWrite; accepted: boolean; message: string }[] = []
    const toBroadcast: NostrEvent[] = []
    try {
      this.store.transaction(() => {
        for (const w of batch) {
          const r = this.applyOne(w)
          answers.push({ w, accepted: r.accepted, message: r.message })
          toBroadcast.push(...r.broadcast)
        }
      })
    } catch (err) {
      this.log.error('relay could not save events', { error: (err as Error).message })
      for (const w of batch)
        this.ok(
          w.conn,
          w.ev.id,
          false,
          reason('error', 'the relay could not save this event; try again'),
          w.ev,
        )
      return
    }
    for (const a of answers)
      this.ok(a.w.conn, a.w.ev.id, a.accepted, a.message, a.accepted ? undefined : a.w.ev)
    for (const ev of toBroadcast) this.broadcast(ev)
  }

  private applyOne(w: PendingWrite): {
    accepted: boolean
    message: string
    broadcast: NostrEvent[]
  } {
    const { ev, conn } = w
    const db = this.store.db
    for (const x of this.extensions) {
      const r = x.rejectEvent?.(ev, conn)
      if (r) return { accepted: false, message: r, broadcast: [] }
    }
    db.exec('SAVEPOINT one')
    try {
      const res = this.store.save(ev)
      const out: NostrEvent[] = []
      let answer: { accepted: boolean; message: string }
      switch (res.status) {
        case 'saved':
          if (ev.kind === DELETION_KIND) applyDeletion(this.store, ev)
          if (ev.kind === VANISH_KIND) applyVanish(this.store, ev)
          out.push(ev)
          for (const x of this.extensions) {
            for (const extra of x.afterSave?.(ev) ?? []) {
              if (this.store.save(extra).status === 'saved') out.push(extra)
            }
          }
          answer = { accepted: true, message: '' }
          break
        case 'duplicate':
          answer = { accepted: true, message: reason('duplicate', 'already have this event') }
          break
        case 'older':
          answer = {
            accepted: true,
            message: reason('duplicate', 'a newer version of this event is stored'),
          }
          break
        case 'deleted':
          answer = {
            accepted: false,
            message: reason('blocked', 'this event was deleted by its author'),
          }
          break
        case 'vanished':
          answer = {
            accepted: false,
            message: reason('blocked', 'the author asked this relay to forget them'),
          }
          break
      }
      db.exec('RELEASE one')
      return { ...answer, broadcast: out }
    } catch (err) {
      db.exec('ROLLBACK TO one')
      db.exec('RELEASE one')
      this.log.error('relay could not apply an event', { error: (err as Error).message })
      return {
        accepted: false,
        message: reason('error', 'the relay could not save this event'),
        broadcast: [],
      }
    }
  }

  /** Stores an event the relay itself produced (outside a client connection), then broadcasts it. */
  publishInternal(evs: readonly NostrEvent[]): void {
    const saved: NostrEvent[] = []
    this.store.transaction(() => {
      for (const ev of evs) if (this.store.save(ev).status === 'saved') saved.push(ev)
    })
    for (const ev of saved) this.broadcast(ev)
  }

  private hiddenGroups(authed: ReadonlySet<string>): string[] {
    const out: string[] = []
    for (const x of this.extensions) if (x.hiddenGroups) out.push(...x.hiddenGroups(authed))
    return out
  }

  private broadcast(ev: NostrEvent): void {
    const now = this.now()
    if (isExpired(ev, now)) return
    const h = ev.tags.find((t) => t[0] === 'h')?.[1]
    for (const c of this.conns) {
      if (c.subs.size === 0) continue
      if (!giftWrapVisible(ev, c.authed)) continue
      if (h !== undefined && this.hiddenGroups(c.authed).includes(h)) continue
      for (const [subId, filters] of c.subs) {
        if (filters.some((f) => matchFilter(f, ev))) c.send(JSON.stringify(['EVENT', subId, ev]))
      }
    }
  }

  // ---------------------------------------------------------------- REQ, COUNT, CLOSE

  /** Validates a REQ/COUNT; returns parsed filters or sends CLOSED and returns undefined. */
  private readFilters(
    conn: Connection,
    msg: unknown[],
    what: 'req' | 'count',
  ): { subId: string; filters: Filter[] } | undefined {
    const subId = msg[1]
    const closed = (id: string, why: string) => {
      this.recordRejection({ what, reason: why, ip: conn.ip })
      conn.send(JSON.stringify(['CLOSED', id, why]))
    }
    const max = this.policy.limits.maxSubIdLength
    if (typeof subId !== 'string' || subId.length === 0) {
      this.rejectMessage(conn, reason('invalid', `${msg[0]} needs a subscription id`))
      return undefined
    }
    if (subId.length > max) {
      closed(subId, reason('invalid', `subscription id longer than ${max} characters`))
      return undefined
    }
    if (msg.length < 3) {
      closed(subId, reason('invalid', `${msg[0]} needs at least one filter`))
      return undefined
    }
    const filters: Filter[] = []
    for (const raw of msg.slice(2)) {
      const f = parseFilter(raw)
      if (typeof f === 'string') {
        closed(subId, reason('invalid', f))
        return undefined
      }
      filters.push(f)
    }
    if (
      what === 'req' &&
      !conn.subs.has(subId) &&
      conn.subs.size >= this.policy.limits.maxSubscriptions
    ) {
      closed(
        subId,
        reason(
          'rate-limited',
          `more than ${this.policy.limits.maxSubscriptions} open subscriptions`,
        ),
      )
      return undefined
    }
    const refused = firstReason(this.policies.query, filters, conn)
    if (refused) {
      closed(subId, refused)
      return undefined
    }
    // NIP-42/59: asking for gift wraps means asking as their recipient.
    if (filters.some((f) => asksForGiftWraps(f.kinds))) {
      if (conn.authed.size === 0) {
        closed(subId, reason('auth-required', 'sign in (NIP-42) to read gift-wrapped messages'))
        return undefined
      }
    }
    return { subId, filters }
  }

  private onReq(conn: Connection, msg: unknown[]): void {
    const r = this.readFilters(conn, msg, 'req')
    if (!r) {
      if (typeof msg[1] === 'string') conn.subs.delete(msg[1])
      return
    }
    const { subId, filters } = r
    conn.subs.delete(subId)
    let events: NostrEvent[]
    try {
      events = this.store.query(
        filters,
        { authed: [...conn.authed], hiddenGroups: this.hiddenGroups(conn.authed) },
        this.now(),
        this.policy.limits.maxLimit,
      )
    } catch (err) {
      this.log.error('relay query failed', { error: (err as Error).message })
      conn.send(
        JSON.stringify(['CLOSED', subId, reason('error', 'the relay could not run this query')]),
      )
      return
    }
    for (const ev of events) conn.send(JSON.stringify(['EVENT', subId, ev]))
    conn.send(JSON.stringify(['EOSE', subId]))
    conn.subs.set(subId, filters)
  }

  private onCount(conn: Connection, msg: unknown[]): void {
    const r = this.readFilters(conn, msg, 'count')
    if (!r) return
    let n: number
    try {
      n = this.store.count(
        r.filters,
        { authed: [...conn.authed], hiddenGroups: this.hiddenGroups(conn.authed) },
        this.now(),
      )
    } catch (err) {
      this.log.error('relay count failed', { error: (err as Error).message })
      conn.send(JSON.stringify(['CLOSED', r.subId, reason('error', 'the relay could not count')]))
      return
    }
    conn.send(countResponse(r.subId, n))
  }

  // ---------------------------------------------------------------- AUTH

  private onAuth(conn: Connection, raw: unknown): void {
    const shape = eventShapeProblem(raw)
    if (shape) {
      this.rejectMessage(conn, reason('invalid', `AUTH: ${shape}`))
      return
    }
    const ev = raw as NostrEvent
    const problem = authProblem(
      ev,
      conn.challenge,
      (u) => this.isThisRelay(u, conn.dialled),
      this.now(),
    )
    if (problem) return this.ok(conn, ev.id, false, problem, ev)
    if (!this.verify(ev))
      return this.ok(conn, ev.id, false, reason('invalid', 'bad AUTH signature'), ev)
    conn.authed.add(ev.pubkey)
    this.ok(conn, ev.id, true, '')
  }
}
