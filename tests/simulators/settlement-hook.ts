// SIMULATOR — test-only. The box's internal settlement hook as the mint sees it (contract:
// services/mint/README.md "Internal settlement"): POST {base}/pay and {base}/status, signed with
// the shared key, idempotent per payment hash. Invoices the "box" knows are registered with
// `knowInvoice`; what /pay does with one is set by `nextPay` ('PAID' settles it, 'FAILED',
// 'PENDING' records a payment still being settled until `resolve`, 'hang' records it and never
// answers — the mint's call times out, 'drop' records the outcome and cuts the connection before
// answering). Every call is kept in `calls`.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { verifySettlementRequest } from '../../services/shared/internal-settlement-auth'

export type HookAnswer =
  | { state: 'PAID'; preimage: string | null }
  | { state: 'PENDING' }
  | { state: 'FAILED'; reason: string }
  | { state: 'NOT_INTERNAL' }

export interface SettlementHookSimulator {
  /** Base URL, …/internal/settlement/v1. */
  readonly url: string
  readonly calls: { op: 'pay' | 'status'; body: Record<string, unknown>; status: number }[]
  /** Hashes the box settled, with how many times /pay settled each (must never exceed 1). */
  readonly settled: Map<string, number>
  knowInvoice(paymentHash: string, amountMsat: number, preimage: string | null): void
  nextPay(mode: 'PAID' | 'FAILED' | 'PENDING' | 'hang' | 'drop'): void
  /** Finish a payment left PENDING (or hanging). */
  resolve(paymentHash: string, answer: HookAnswer): void
  outcome(paymentHash: string): HookAnswer | undefined
  close(): Promise<void>
}

const PATH = '/internal/settlement/v1'

export async function startSettlementHook(key: Uint8Array): Promise<SettlementHookSimulator> {
  const invoices = new Map<string, { amountMsat: number; preimage: string | null }>()
  const outcomes = new Map<string, HookAnswer>()
  const settled = new Map<string, number>()
  const calls: SettlementHookSimulator['calls'] = []
  let mode: 'PAID' | 'FAILED' | 'PENDING' | 'hang' | 'drop' = 'PAID'

  const settle = (hash: string, answer: HookAnswer) => {
    outcomes.set(hash, answer)
    if (answer.state === 'PAID') settled.set(hash, (settled.get(hash) ?? 0) + 1)
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const path = new URL(req.url ?? '/', 'http://hook.invalid').pathname
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      const op = path === `${PATH}/pay` ? 'pay' : path === `${PATH}/status` ? 'status' : null
      if (!op || req.method !== 'POST') return reply(404, { error: 'not found' })
      if (!verifySettlementRequest(key, 'POST', path, text, req.headers)) {
        calls.push({ op, body: {}, status: 401 })
        return reply(401, { error: 'unauthorized' })
      }
      let body: Record<string, unknown>
      try {
        body = JSON.parse(text) as Record<string, unknown>
      } catch {
        return reply(400, { error: 'bad body' })
      }
      const hash = body.payment_hash
      if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash))
        return reply(400, { error: 'bad body' })
      calls.push({ op, body, status: 200 })
      if (op === 'status') return reply(200, outcomes.get(hash) ?? { state: 'UNKNOWN' })
      const recorded = outcomes.get(hash)
      if (recorded) return reply(200, recorded)
      const inv = invoices.get(hash)
      if (!inv) return reply(200, { state: 'NOT_INTERNAL' })
      if (body.amount_msat !== inv.amountMsat) {
        settle(hash, { state: 'FAILED', reason: 'the amount does not match the invoice' })
        return reply(200, outcomes.get(hash))
      }
      const m = mode
      mode = 'PAID'
      if (m === 'FAILED') settle(hash, { state: 'FAILED', reason: 'the shop refused it' })
      else if (m === 'PENDING' || m === 'hang') outcomes.set(hash, { state: 'PENDING' })
      else settle(hash, { state: 'PAID', preimage: inv.preimage })
      if (m === 'hang') return // the mint's call times out; the connection is closed on close()
      if (m === 'drop') return req.socket.destroy()
      reply(200, outcomes.get(hash))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}${PATH}`,
    calls,
    settled,
    knowInvoice: (hash, amountMsat, preimage) => invoices.set(hash, { amountMsat, preimage }),
    nextPay: (m) => {
      mode = m
    },
    resolve: (hash, answer) => settle(hash, answer),
    outcome: (hash) => outcomes.get(hash),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
