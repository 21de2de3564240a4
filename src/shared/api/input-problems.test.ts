import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { describeIssue, fieldLabel, inputProblem } from './input-problems'
import { RelayPolicySchema } from './relay'
import { explainRelayReason } from './relay-reasons'

const raw =
  /→|Invalid input|Too big|Too small|expected (number|int|string)|<=|>=|NaN|9007199254740991/

function problemOf(schema: z.ZodType, value: unknown): string {
  const r = schema.safeParse(value)
  if (r.success) throw new Error('expected a validation failure')
  return inputProblem(r.error.issues).message
}

describe('validation problems in plain words', () => {
  it('"kinds → allowed → 0: Invalid input: expected number, received NaN" names the field, the entry and the fix', () => {
    const msg = problemOf(RelayPolicySchema, { kinds: { allowed: [Number('x')] } })
    expect(msg).toBe(
      'Entry 1 of “Only these kinds of events” is not a number. Type digits only, separated by commas (for example 1, 7, 30023).',
    )
    expect(msg).not.toMatch(raw)
  })

  it('"Too big: expected int to be <=9007199254740991" becomes "far too large"', () => {
    const msg = problemOf(RelayPolicySchema, { limits: { maxFutureSeconds: 1e30 } })
    expect(msg).toBe(
      '“How far in the future an event may be dated (seconds)” is far too large a number. Enter a smaller number.',
    )
    expect(msg).not.toMatch(raw)
  })

  it('"auth-required: sign in (NIP-42) …" becomes what it means and what to do', () => {
    const msg = explainRelayReason('auth-required: sign in (NIP-42) to publish here')
    expect(msg).toMatch(/^The relay wants the app to sign in first \(NIP-42\)/)
    expect(msg).toContain('“Who may publish”')
    expect(msg).not.toMatch(/auth-required:/)
    // Split already (as relay-pool hands it over): the same sentence.
    expect(explainRelayReason('sign in (NIP-42) to publish here', 'auth-required')).toBe(msg)
    // Unknown prefixes are not guessed at.
    expect(explainRelayReason('something odd')).toBe('The relay said: something odd')
  })

  it('names bounds, lengths, choices and missing fields', () => {
    const s = z.object({
      limits: z.object({ maxTags: z.number().int().min(0).max(100) }),
      dataDir: z.string().min(1).max(5),
      network: z.enum(['regtest', 'signet']),
      amount: z.number().int().min(1),
    })
    const issues = s.safeParse({ limits: { maxTags: 500 }, dataDir: '', network: 'x' }).error!
      .issues
    const said = issues.map(describeIssue)
    expect(said).toEqual([
      '“Max tags” is too large: the most is 100.',
      '“Data folder” is empty. Fill it in and try again.',
      '“Network” must be one of “regtest”, “signet”.',
      '“Amount” is missing. Fill it in and try again.',
    ])
    for (const m of said) expect(m).not.toMatch(raw)
    expect(fieldLabel(['prune', 'targetMiB'])).toEqual({ label: 'Blocks to keep (MiB)' })
    expect(fieldLabel(['retention', 2, 'maxAgeDays'])).toEqual({
      label: 'Delete events older than (days)',
      item: 3,
    })
  })

  it('keeps a schema’s own plain message, naming the field', () => {
    const s = z.object({
      pubkey: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'),
    })
    expect(problemOf(s, { pubkey: 'zz' })).toBe('“Pubkey” must be 64 lowercase hex characters.')
  })
})
