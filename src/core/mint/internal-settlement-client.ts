// Box → its own mint: settle one of the mint's own mint quotes internally (INTERNAL-SETTLEMENT
// design, "The mint's admin route"). Used when the box's eCash wallet mints at the box's own mint
// and would otherwise pay the quote's invoice from the box's own LND, which LND refuses as a
// self-payment. No sats move: the mint's reserves and the box's Lightning balance are one wallet.
//   POST {mint}/internal/v1/mint-quote/{quote_id}/settle {"payment_hash"} with the signed headers
//   → 200 {"quote","state":"PAID"|"ISSUED"} (idempotent) | 401 | 404 | 409 {"detail"}
import { signSettlementRequest } from '../../../services/shared/internal-settlement-auth'
import { FlashError } from '../errors'

/** The purpose of K, the key the box and its own mint sign internal settlement with. */
export const INTERNAL_SETTLEMENT_PURPOSE = 'mint.internal-settlement'

export interface SettledQuote {
  readonly quote: string
  readonly state: 'PAID' | 'ISSUED'
}

export async function settleOwnMintQuote(o: {
  readonly mintUrl: string
  readonly key: Uint8Array
  readonly quoteId: string
  readonly paymentHash: string
  readonly timeoutMs?: number
}): Promise<SettledQuote> {
  const url = new URL(
    `${o.mintUrl.replace(/\/$/, '')}/internal/v1/mint-quote/${encodeURIComponent(o.quoteId)}/settle`,
  )
  const body = JSON.stringify({ payment_hash: o.paymentHash })
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signSettlementRequest(o.key, 'POST', url.pathname, body),
      },
      body,
      signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
    })
  } catch (err) {
    throw new FlashError(
      'mint.unreachable',
      'The box could not reach its own mint.',
      'Check that the mint runs on the Mint page, then try again.',
      { cause: err },
    )
  }
  const answer = (await res.json().catch(() => ({}))) as {
    quote?: unknown
    state?: unknown
    detail?: unknown
  }
  if (res.ok && (answer.state === 'PAID' || answer.state === 'ISSUED'))
    return { quote: String(answer.quote ?? o.quoteId), state: answer.state }
  if (res.status === 401 || res.status === 404)
    throw new FlashError(
      'mint.internal_settlement_off',
      res.status === 401
        ? 'The box’s mint did not accept the box’s settlement key.'
        : 'The box’s mint does not know this invoice, or cannot settle it inside the box.',
      'Restart the mint from the Mint page (it gets the key when it starts), then try again.',
    )
  if (res.status === 409)
    throw new FlashError(
      'mint.quote_not_settleable',
      `The mint would not settle this invoice: ${typeof answer.detail === 'string' ? answer.detail : 'it expired or does not match'}.`,
      'Ask the mint for a new invoice, then try again.',
    )
  throw new FlashError(
    'mint.internal_settlement_failed',
    `The box’s mint could not settle the invoice (HTTP ${res.status}).`,
    'Try again in a moment; see the Mint page if it keeps failing.',
  )
}

/** What the box's eCash wallet knows of its own unpaid mint quotes (src/core/ecash/store.ts). */
export interface OwnQuoteSource {
  listOperations(filter: { kind: 'mint'; states: readonly 'unpaid'[] }): readonly {
    readonly mintUrl: string
    readonly quoteId?: string
    readonly data: Record<string, unknown>
  }[]
  getMint(url: string): { readonly own: boolean } | undefined
}

/**
 * The box's eCash wallet's unpaid mint quote at the box's OWN mint whose invoice is `bolt11`, or
 * undefined (a quote of another mint, or of someone else, is not the box's to settle).
 */
export function ownMintQuoteOf(
  wallet: OwnQuoteSource | undefined,
  bolt11: string,
): { readonly quoteId: string; readonly mintUrl: string } | undefined {
  if (!wallet) return undefined
  const want = bolt11.trim().toLowerCase()
  for (const op of wallet.listOperations({ kind: 'mint', states: ['unpaid'] })) {
    const invoice = typeof op.data.invoice === 'string' ? op.data.invoice.toLowerCase() : ''
    if (op.quoteId && invoice === want && wallet.getMint(op.mintUrl)?.own)
      return { quoteId: op.quoteId, mintUrl: op.mintUrl }
  }
  return undefined
}
