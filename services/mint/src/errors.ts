// NUT-00 errors: HTTP 400 with `{ detail, code }`; codes from the spec's error_codes.md.
// https://github.com/cashubtc/nuts/blob/main/error_codes.md
export const ErrorCode = {
  ProofVerificationFailed: 10001,
  ProofsAlreadySpent: 11001,
  ProofsPending: 11002,
  OutputsAlreadySigned: 11003,
  OutputsPending: 11004,
  TransactionUnbalanced: 11005,
  AmountOutOfLimitRange: 11006,
  DuplicateInputs: 11007,
  DuplicateOutputs: 11008,
  MultipleUnits: 11009,
  InputsOutputsUnitMismatch: 11010,
  AmountlessInvoiceNotSupported: 11011,
  AmountMismatch: 11012,
  UnitNotSupported: 11013,
  MaxInputsExceeded: 11014,
  MaxOutputsExceeded: 11015,
  KeysetNotKnown: 12001,
  KeysetInactive: 12002,
  KeysetExpired: 12003,
  QuoteNotPaid: 20001,
  QuoteAlreadyIssued: 20002,
  MintingDisabled: 20003,
  LightningPaymentFailed: 20004,
  QuotePending: 20005,
  InvoiceAlreadyPaid: 20006,
  QuoteExpired: 20007,
  MintQuoteSignatureInvalid: 20008,
  MintQuotePubkeyRequired: 20009,
} as const
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode]

/** Generic code for requests that are malformed before any NUT rule applies. */
export const BAD_REQUEST = 10000

export class MintError extends Error {
  readonly code: number
  readonly status: number

  constructor(code: number, detail: string, status = 400) {
    super(detail)
    this.name = 'MintError'
    this.code = code
    this.status = status
  }

  toJSON(): { detail: string; code: number } {
    return { detail: this.message, code: this.code }
  }
}

export const mintError = (code: number, detail: string): MintError => new MintError(code, detail)
