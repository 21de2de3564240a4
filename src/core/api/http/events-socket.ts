// GET /api/events: the engine's events over one WebSocket per window. Requires the session
// cookie and this server's own Origin (checked before the upgrade). The client picks topics and
// follows logs with small JSON messages; follows end when the socket closes.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { z } from 'zod'
import type { EngineEvent } from '../../../shared/api/events'
import { toUserError } from '../../errors'
import type { Engine } from '../../engine/engine'
import type { LogFollows } from '../log-follows'

const ClientMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('subscribe'),
    topics: z.array(z.string().min(1).max(32)).max(32).nullable(),
  }),
  z.object({
    type: z.literal('followLogs'),
    id: z.string().min(1).max(64),
    follow: z.boolean(),
  }),
])

/** Above this much unsent data, chatty events (logs, stats) are dropped for this client. */
const SOFT_BUFFER = 1024 * 1024
/** Above this, the client is too slow to keep: it is closed and will reconnect. */
const HARD_BUFFER = 8 * 1024 * 1024

interface Client {
  readonly ws: WebSocket
  readonly sessionId: string
  topics: Set<string> | null
  readonly follows: Set<string>
  alive: boolean
  /** Messages allowed right now (refilled over time): a page sends a handful, not a flood. */
  budget: number
  budgetAt: number
}

const MESSAGE_BURST = 50
const MESSAGES_PER_SECOND = 10

export class EventsSocket {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })
  private readonly clients = new Set<Client>()
  private readonly unsubscribe: () => void
  private readonly heartbeat: ReturnType<typeof setInterval>

  constructor(
    private readonly engine: Engine,
    private readonly follows: LogFollows,
    private readonly sessionAlive: (id: string) => boolean,
  ) {
    this.unsubscribe = engine.events.subscribe((e) => this.publish(e))
    this.heartbeat = setInterval(() => this.beat(), 30_000)
    this.heartbeat.unref()
  }

  /** Completes an upgrade the server has already authorised. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, sessionId: string): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = {
        ws,
        sessionId,
        topics: null,
        follows: new Set(),
        alive: true,
        budget: MESSAGE_BURST,
        budgetAt: Date.now(),
      }
      this.clients.add(client)
      ws.on('pong', () => (client.alive = true))
      ws.on('message', (data, isBinary) => void this.onMessage(client, data, isBinary))
      ws.on('close', () => this.drop(client))
      ws.on('error', () => ws.terminate())
    })
  }

  /** Close every socket of a session (logout). */
  closeSession(sessionId: string): void {
    for (const c of this.clients) if (c.sessionId === sessionId) c.ws.close(4401, 'logged out')
  }

  close(): void {
    this.unsubscribe()
    clearInterval(this.heartbeat)
    for (const c of this.clients) c.ws.terminate()
    this.wss.close()
  }

  private drop(client: Client): void {
    if (!this.clients.delete(client)) return
    for (const id of client.follows) void this.follows.unfollow(id)
    client.follows.clear()
  }

  private beat(): void {
    for (const c of this.clients) {
      if (!this.sessionAlive(c.sessionId)) {
        c.ws.close(4401, 'session ended')
        continue
      }
      if (!c.alive) {
        c.ws.terminate()
        continue
      }
      c.alive = false
      c.ws.ping()
    }
  }

  private send(client: Client, msg: unknown): void {
    client.ws.send(JSON.stringify(msg))
  }

  private publish(event: EngineEvent): void {
    let text: string | null = null
    const chatty = event.topic === 'stack' && (event.type === 'log' || event.type === 'stats')
    for (const c of this.clients) {
      if (c.topics && !c.topics.has(event.topic)) continue
      if (c.ws.readyState !== c.ws.OPEN) continue
      if (c.ws.bufferedAmount > HARD_BUFFER) {
        c.ws.close(1013, 'too slow')
        continue
      }
      if (chatty && c.ws.bufferedAmount > SOFT_BUFFER) continue
      text ??= JSON.stringify({ type: 'event', event })
      c.ws.send(text)
    }
  }

  private async onMessage(client: Client, data: unknown, isBinary: boolean): Promise<void> {
    const now = Date.now()
    client.budget = Math.min(
      MESSAGE_BURST,
      client.budget + ((now - client.budgetAt) / 1000) * MESSAGES_PER_SECOND,
    )
    client.budgetAt = now
    if (client.budget < 1) {
      client.ws.close(1008, 'too many messages')
      return
    }
    client.budget -= 1
    let parsed: unknown
    try {
      parsed = isBinary ? undefined : JSON.parse(String(data))
    } catch {
      parsed = undefined
    }
    const msg = ClientMessage.safeParse(parsed)
    if (!msg.success) {
      this.send(client, {
        type: 'error',
        error: {
          code: 'ws.bad_message',
          message: 'The event stream got a message it does not understand.',
          hint: 'Reload the page.',
        },
      })
      return
    }
    const m = msg.data
    if (m.type === 'subscribe') {
      client.topics = m.topics ? new Set(m.topics) : null
      return
    }
    try {
      if (m.follow && !client.follows.has(m.id)) {
        client.follows.add(m.id)
        await this.follows.follow(m.id)
      } else if (!m.follow && client.follows.delete(m.id)) {
        await this.follows.unfollow(m.id)
      }
    } catch (err) {
      client.follows.delete(m.id)
      this.send(client, { type: 'error', error: toUserError(err) })
    }
  }
}
