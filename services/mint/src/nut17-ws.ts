// NUT-17 WebSocket subscriptions (JSON-RPC 2.0 on /v1/ws): bolt11_mint_quote,
// bolt11_melt_quote and proof_state. On subscribe the mint first sends the current state of
// every filter, then every change. https://github.com/cashubtc/nuts/blob/main/17.md
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { z } from 'zod'
import type { Mint, MintEventPayload } from './mint'

const KINDS = ['bolt11_mint_quote', 'bolt11_melt_quote', 'proof_state'] as const
const MAX_SUBSCRIPTIONS = 100
const MAX_FILTERS = 1000

const RequestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.number(), z.string()]),
  method: z.string(),
  params: z.unknown(),
})
const SubscribeSchema = z.object({
  kind: z.enum(KINDS),
  subId: z.string().min(1).max(128),
  filters: z.array(z.string().min(1).max(256)).min(1).max(MAX_FILTERS),
})
const UnsubscribeSchema = z.object({ subId: z.string().min(1).max(128) })

export class MintWebSocket {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 })

  constructor(private readonly mint: Mint) {
    this.wss.on('connection', (ws) => this.onConnection(ws))
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req))
  }

  private onConnection(ws: WebSocket) {
    const subs = new Map<string, { kind: (typeof KINDS)[number]; filters: Set<string> }>()
    const send = (msg: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg))
    }
    const unsubscribe = this.mint.subscribe((e: MintEventPayload) => {
      for (const [subId, s] of subs) {
        if (s.kind === e.kind && s.filters.has(e.id))
          send({ jsonrpc: '2.0', method: 'subscribe', params: { subId, payload: e.payload } })
      }
    })
    const error = (id: unknown, code: number, message: string) =>
      send({ jsonrpc: '2.0', error: { code, message }, id: id ?? null })

    ws.on('message', (data) => {
      let raw: unknown
      try {
        raw = JSON.parse(String(data))
      } catch {
        return error(null, -32700, 'Parse error')
      }
      const req = RequestSchema.safeParse(raw)
      if (!req.success) return error((raw as { id?: unknown })?.id, -32600, 'Invalid request')
      const { id, method } = req.data
      const params =
        typeof req.data.params === 'string' ? safeJson(req.data.params) : req.data.params
      if (method === 'subscribe') {
        const p = SubscribeSchema.safeParse(params)
        if (!p.success) return error(id, -32602, 'Invalid params')
        if (!subs.has(p.data.subId) && subs.size >= MAX_SUBSCRIPTIONS)
          return error(id, -32000, `At most ${MAX_SUBSCRIPTIONS} subscriptions per connection`)
        subs.set(p.data.subId, { kind: p.data.kind, filters: new Set(p.data.filters) })
        send({ jsonrpc: '2.0', result: { status: 'OK', subId: p.data.subId }, id })
        void this.sendCurrent(p.data.kind, p.data.filters, (payload) =>
          send({ jsonrpc: '2.0', method: 'subscribe', params: { subId: p.data.subId, payload } }),
        )
        return
      }
      if (method === 'unsubscribe') {
        const p = UnsubscribeSchema.safeParse(params)
        if (!p.success) return error(id, -32602, 'Invalid params')
        subs.delete(p.data.subId)
        send({ jsonrpc: '2.0', result: { status: 'OK', subId: p.data.subId }, id })
        return
      }
      error(id, -32601, 'Method not found')
    })
    ws.on('close', unsubscribe)
    ws.on('error', () => ws.terminate())
  }

  private async sendCurrent(
    kind: (typeof KINDS)[number],
    filters: string[],
    push: (payload: unknown) => void,
  ) {
    if (kind === 'proof_state') {
      const ys = filters.filter((f) => /^0[23][0-9a-fA-F]{64}$/.test(f))
      if (ys.length) for (const s of (await this.mint.checkState(ys)).states) push(s)
      return
    }
    for (const id of filters) {
      try {
        push(
          kind === 'bolt11_mint_quote'
            ? await this.mint.getMintQuote(id)
            : await this.mint.getMeltQuote(id),
        )
      } catch {
        // unknown quote ids get no notification
      }
    }
  }

  close() {
    for (const c of this.wss.clients) c.terminate()
    this.wss.close()
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s)
  } catch {
    return undefined
  }
}
