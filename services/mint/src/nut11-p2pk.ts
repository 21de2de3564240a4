// NUT-11 P2PK and NUT-14 HTLC enforcement on inputs: SIG_INPUTS per proof, SIG_ALL over the
// whole transaction (message = secrets‖Cs‖amounts‖B_s[‖quote id]), multisig n_sigs, locktime
// with refund keys. Signature checks use @cashu/cashu-ts's verifiers; the rules the mint must
// add (tag uniqueness, sigflag values, SIG_ALL uniformity) are here.
// https://github.com/cashubtc/nuts/blob/main/11.md
import { verifyHTLCSpendingConditions } from '@cashu/cashu-ts'
import { ErrorCode, MintError } from './errors'
import type { BlindedMessage, Proof } from './nut00-models'
import { parseWellKnownSecret, type WellKnownSecret } from './nut10-secret'
import { checkHtlcSecret } from './nut14-htlc'

const UNIQUE_TAGS = new Set(['sigflag', 'pubkeys', 'n_sigs', 'locktime', 'refund', 'n_sigs_refund'])
const SIG_FLAGS = new Set(['SIG_INPUTS', 'SIG_ALL'])
export const CONDITION_KINDS = new Set(['P2PK', 'HTLC'])

function fail(detail: string): never {
  throw new MintError(ErrorCode.ProofVerificationFailed, detail)
}

function sigflagOf(s: WellKnownSecret): string {
  const seen = new Set<string>()
  for (const t of s.tags) {
    const key = t[0]!
    if (UNIQUE_TAGS.has(key)) {
      if (seen.has(key)) fail(`Spending condition is malformed: tag "${key}" appears twice.`)
      seen.add(key)
    }
  }
  const flag = s.tags.find((t) => t[0] === 'sigflag')?.[1] ?? 'SIG_INPUTS'
  if (!SIG_FLAGS.has(flag)) fail(`Spending condition is malformed: unknown sigflag "${flag}".`)
  return flag
}

/** NUT-11 SIG_ALL message: inputs (secret ‖ C), outputs (amount ‖ B_), then the melt quote id. */
export function sigAllMessage(
  inputs: readonly Pick<Proof, 'secret' | 'C'>[],
  outputs: readonly Pick<BlindedMessage, 'amount' | 'B_'>[],
  quoteId?: string,
): string {
  let msg = ''
  for (const p of inputs) msg += p.secret + p.C
  for (const o of outputs) msg += String(o.amount) + o.B_
  return quoteId ? msg + quoteId : msg
}

function verifyOne(proof: Proof, message?: string) {
  let ok = false
  try {
    const asProof = { ...proof, witness: proof.witness ?? undefined } as unknown as Parameters<
      typeof verifyHTLCSpendingConditions
    >[0]
    ok = verifyHTLCSpendingConditions(asProof, undefined, message).success
  } catch (err) {
    fail(`Spending condition not met: ${err instanceof Error ? err.message : 'malformed'}.`)
  }
  if (!ok) fail('Spending condition not met: missing or invalid witness signatures or preimage.')
}

/** Throws 10001 unless every input's NUT-10 spending condition is satisfied. */
export function verifySpendingConditions(
  inputs: readonly Proof[],
  outputs: readonly BlindedMessage[],
  quoteId?: string,
): void {
  const parsed: (WellKnownSecret | undefined)[] = inputs.map((p) => {
    try {
      const s = parseWellKnownSecret(p.secret)
      return s && CONDITION_KINDS.has(s.kind) ? s : undefined
    } catch (err) {
      fail(`Secret is malformed: ${err instanceof Error ? err.message : 'invalid'}.`)
    }
  })
  const flags = parsed.map((s) => (s ? sigflagOf(s) : undefined))
  for (const s of parsed) if (s?.kind === 'HTLC') checkHtlcSecret(s)
  if (flags.includes('SIG_ALL')) {
    const first = parsed[0]
    if (!first) fail('SIG_ALL: every input must carry the same spending condition.')
    const tags = JSON.stringify(first.tags)
    for (let i = 0; i < parsed.length; i++) {
      const s = parsed[i]
      if (
        !s ||
        flags[i] !== 'SIG_ALL' ||
        s.kind !== first.kind ||
        s.data !== first.data ||
        JSON.stringify(s.tags) !== tags
      )
        fail('SIG_ALL: every input must have the same kind, data and tags.')
    }
    verifyOne(inputs[0]!, sigAllMessage(inputs, outputs, quoteId))
    return
  }
  for (let i = 0; i < inputs.length; i++) if (parsed[i]) verifyOne(inputs[i]!)
}
