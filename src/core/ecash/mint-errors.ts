// What a mint's answer (or silence) means for the user. NUT error codes:
// https://github.com/cashubtc/nuts/blob/main/error_codes.md
import {
  HttpResponseError,
  MintOperationError,
  NetworkError,
  isMintOperationError,
} from '@cashu/cashu-ts'
import { FlashError } from '../errors'

export function mintHost(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

/** The mint could not be reached at all (refused, timed out, DNS, TLS). */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof FlashError) return err.code === 'ecash.mint_unreachable'
  if (err instanceof NetworkError) return true
  if (err instanceof HttpResponseError && !(err instanceof MintOperationError)) {
    // 5xx without a NUT error body: a proxy in front of a stopped mint, or the mint crashing.
    return err.status >= 500 || err.status === 0
  }
  if (err instanceof TypeError && /fetch failed|network/i.test(err.message)) return true
  const code = (err as { cause?: { code?: string } })?.cause?.code
  return (
    typeof code === 'string' && /ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EAI_AGAIN/.test(code)
  )
}

export function mintErrorCode(err: unknown): number | undefined {
  return isMintOperationError(err) ? err.code : undefined
}

export function unreachable(mintUrl: string, cause?: unknown): FlashError {
  return new FlashError(
    'ecash.mint_unreachable',
    `The mint ${mintHost(mintUrl)} did not answer.`,
    'Check that the mint is running and that this box is online, then try again. Tokens you receive meanwhile are kept and claimed automatically when the mint answers.',
    { cause },
  )
}

/** Turns anything a mint call threw into a FlashError the user can act on. */
export function toMintFlashError(mintUrl: string, err: unknown): FlashError {
  if (err instanceof FlashError) return err
  if (isUnreachable(err)) return unreachable(mintUrl, err)
  const host = mintHost(mintUrl)
  switch (mintErrorCode(err)) {
    case 11001:
      return new FlashError(
        'ecash.token_spent',
        'This ecash has already been spent.',
        'The token was claimed before — by you or by someone else who had it. Ask the sender for a new token.',
        { cause: err },
      )
    case 11002:
    case 20005:
      return new FlashError(
        'ecash.pending_at_mint',
        'The mint is still working on an earlier payment with this ecash.',
        'Wait a minute and look at the history again; the wallet finishes it by itself.',
        { cause: err },
      )
    case 11006:
      return new FlashError(
        'ecash.amount_out_of_range',
        `The mint ${host} does not accept this amount.`,
        'Try a smaller or larger amount; the mint sets its own limits.',
        { cause: err },
      )
    case 12001:
    case 12002:
    case 12003:
      return new FlashError(
        'ecash.keyset_retired',
        `The mint ${host} no longer accepts this ecash’s keys.`,
        'Ask the mint operator; ecash from an expired keyset may not be redeemable.',
        { cause: err },
      )
    case 20001:
      return new FlashError(
        'ecash.quote_unpaid',
        'The invoice has not been paid yet.',
        'Pay the Lightning invoice first; the ecash is minted as soon as the payment arrives.',
        { cause: err },
      )
    case 20002:
      return new FlashError(
        'ecash.quote_issued',
        'The ecash for this invoice has already been minted.',
        'Nothing to do: look for it in the history.',
        { cause: err },
      )
    case 20004:
      return new FlashError(
        'ecash.lightning_failed',
        'The mint could not pay the Lightning invoice.',
        'Your ecash was not spent. Try again later, or ask for a new invoice; the recipient may be unreachable.',
        { cause: err },
      )
    case 20006:
      return new FlashError(
        'ecash.invoice_paid',
        'This invoice has already been paid.',
        'Ask the recipient for a new invoice if they still expect a payment.',
        { cause: err },
      )
    case 20007:
      return new FlashError(
        'ecash.quote_expired',
        'The quote has expired.',
        'Start again to get a fresh invoice or quote.',
        { cause: err },
      )
    case 20003:
      return new FlashError(
        'ecash.minting_disabled',
        `The mint ${host} is not issuing new ecash right now.`,
        'Try again later or use another mint.',
        { cause: err },
      )
  }
  const detail = isMintOperationError(err) ? ` (${err.message})` : ''
  return new FlashError(
    'ecash.mint_refused',
    `The mint ${host} refused the request${detail}.`,
    'Try again; if it keeps happening, check the mint’s status or contact its operator.',
    { cause: err },
  )
}
