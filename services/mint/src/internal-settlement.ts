// Internal settlement with the box this mint runs in (docs: services/mint/README.md, "Internal
// settlement"). The mint and the box's shop (BTCPay) share the box's one LND, and LND cannot pay
// an invoice of its own node. For such an invoice that is not one of the mint's own quotes, the
// mint asks the box's settlement hook to settle it as bookkeeping: POST {base}/pay once, then
// POST {base}/status until the box's answer is final. Every request is signed with the key only
// the box and its mint hold (services/shared/internal-settlement-auth.ts).
import { z } from 'zod'
import { signSettlementRequest } from '../../shared/internal-settlement-auth'

export type HookState =
  | { state: 'PAID'; preimage: string | null }
  | { state: 'PENDING' }
  | { state: 'FAILED'; reason: string }
  | { state: 'NOT_INTERNAL' }
  /** /status only: the box never accepted a /pay for this hash. */
  | { state: 'UNKNOWN' }

const HEX64 = /^[0-9a-f]{64}$/i
const AnswerSchema = z.discriminatedUnion('state', [
  z.object({
    state: z.literal('PAID'),
    preimage: z.string().regex(HEX64).nullable().optional(),
  }),
  z.object({ state: z.literal('PENDING') }),
  z.object({ state: z.literal('FAILED'), reason: z.string().max(500).optional() }),
  z.object({ state: z.literal('NOT_INTERNAL') }),
  z.object({ state: z.literal('UNKNOWN') }),
])

export interface InternalSettlementOptions {
  /** Base URL of the box's hook, e.g. http://172.18.0.1:PORT/internal/settlement/v1. */
  url: string
  /** The 32-byte shared key. */
  key: Uint8Array
  /** Each call gives up after this long (the answer then counts as "not known yet"). */
  timeoutMs?: number
}

/** The hook could not be asked or gave an answer the mint cannot use: nothing is known. */
export class HookUnreachable extends Error {
  override readonly name = 'HookUnreachable'
  constructor(
    message: string,
    /** The hook's HTTP status when it answered at all. */
    readonly httpStatus: number | null = null,
  ) {
    super(message)
  }

  /** 400/401: the box refused the request itself (bad body or signature), so it did nothing. */
  get refused(): boolean {
    return this.httpStatus === 400 || this.httpStatus === 401
  }
}

export class InternalSettlementHook {
  readonly timeoutMs: number
  private readonly base: URL

  constructor(private readonly opts: InternalSettlementOptions) {
    if (opts.key.length !== 32) throw new Error('The internal settlement key must be 32 bytes.')
    this.base = new URL(opts.url.replace(/\/+$/, '') + '/')
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:')
      throw new Error('The internal settlement URL must be http or https.')
    this.timeoutMs = opts.timeoutMs ?? 10_000
  }

  pay(req: {
    paymentHash: string
    bolt11: string
    amountMsat: number
    meltQuote: string
  }): Promise<HookState> {
    return this.call('pay', {
      payment_hash: req.paymentHash,
      bolt11: req.bolt11,
      amount_msat: req.amountMsat,
      melt_quote: req.meltQuote,
    })
  }

  status(paymentHash: string): Promise<HookState> {
    return this.call('status', { payment_hash: paymentHash })
  }

  private async call(op: 'pay' | 'status', payload: unknown): Promise<HookState> {
    const url = new URL(op, this.base)
    const body = JSON.stringify(payload)
    let res: Response
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signSettlementRequest(this.opts.key, 'POST', url.pathname, body),
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (err) {
      throw new HookUnreachable(
        `the box's settlement service did not answer (${err instanceof Error ? err.name : 'error'})`,
      )
    }
    const text = await res.text().catch(() => '')
    if (res.status !== 200)
      throw new HookUnreachable(
        res.status === 401
          ? "the box's settlement service refused the mint's signature (the shared key differs)"
          : `the box's settlement service answered HTTP ${res.status}`,
        res.status,
      )
    let parsed: z.infer<typeof AnswerSchema>
    try {
      parsed = AnswerSchema.parse(JSON.parse(text))
    } catch {
      throw new HookUnreachable(`the box's settlement service gave an answer the mint cannot read`)
    }
    if (parsed.state === 'PAID') return { state: 'PAID', preimage: parsed.preimage ?? null }
    if (parsed.state === 'FAILED')
      return { state: 'FAILED', reason: parsed.reason || 'the box refused the payment' }
    if (parsed.state === 'UNKNOWN' && op === 'pay')
      throw new HookUnreachable(`the box's settlement service answered UNKNOWN to a payment`)
    return parsed
  }
}
