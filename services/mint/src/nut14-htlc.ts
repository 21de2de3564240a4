// NUT-14 HTLC: the hash lock in Secret.data is SHA-256 of a 32-byte preimage, both 64 hex
// chars. Witness checks (preimage + NUT-11 signatures, refund after locktime) run through
// cashu-ts's verifyHTLCSpendingConditions in nut11-p2pk.ts.
// https://github.com/cashubtc/nuts/blob/main/14.md
import { ErrorCode, MintError } from './errors'
import type { WellKnownSecret } from './nut10-secret'

export function checkHtlcSecret(s: WellKnownSecret): void {
  if (!/^[0-9a-fA-F]{64}$/.test(s.data))
    throw new MintError(
      ErrorCode.ProofVerificationFailed,
      'HTLC secret is malformed: data must be a 32-byte SHA-256 hash in hex.',
    )
}
