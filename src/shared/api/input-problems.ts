// Validation problems in people's words. zod's issues ("kinds → allowed → 0: Invalid input: expected
// number, received NaN") are for programmers; what reaches the screen names the field as the form
// labels it and says how to fix the value. Used at the API edge (the engine's call validation) and by
// forms that validate before they send (the Relay page's rules).
import type { UserError } from '../errors'

/** The subset of a zod 4 issue this module reads (kept structural: no zod import needed). */
export interface InputIssue {
  readonly code: string
  readonly path: readonly PropertyKey[]
  readonly message: string
  readonly expected?: string
  readonly received?: string
  readonly origin?: string
  readonly maximum?: number | bigint
  readonly minimum?: number | bigint
  readonly values?: readonly unknown[]
  readonly format?: string
  readonly keys?: readonly string[]
}

/**
 * Field names as the screens label them, by the path of the field without list positions
 * (`kinds.allowed`, `prune.targetMiB`). Fields not listed are named from their key
 * (`maxTags` → "Max tags").
 */
const FIELD_LABELS: Readonly<Record<string, string>> = {
  // Relay rules (Relay page)
  'kinds.allowed': 'Only these kinds of events',
  'kinds.blocked': 'Blocked kinds of events',
  minPowDifficulty: 'Proof of work required',
  'limits.maxContentBytes': 'Largest post (bytes)',
  'limits.maxEventBytes': 'Largest event (bytes)',
  'limits.maxMessageBytes': 'Largest message (bytes)',
  'limits.maxFutureSeconds': 'How far in the future an event may be dated (seconds)',
  'limits.maxPastSeconds': 'How old an event may be (seconds)',
  'retention.maxAgeDays': 'Delete events older than (days)',
  'retention.kinds': 'Kinds to delete when old',
  writes: 'Who may publish',
  reads: 'Who may read',
  // Stack settings (wizard, Settings)
  dataDir: 'Data folder',
  network: 'Network',
  'prune.targetMiB': 'Blocks to keep (MiB)',
  dbcache: 'Database cache (MiB)',
  nbxplorerStartHeight: 'BTCPay scan start height',
  // eCash, mint, messages
  amount: 'Amount',
  amountSats: 'Amount (sats)',
  mintUrl: 'Mint address',
  url: 'Address',
  invoice: 'Lightning invoice',
  token: 'eCash token',
  memo: 'Note',
  text: 'Message',
  content: 'Message',
  to: 'To',
  subject: 'Subject',
  passphrase: 'Passphrase',
  secret: 'Secret key',
  name: 'Name',
  about: 'About',
  nip05: 'NIP-05 address',
  path: 'File',
  id: 'Item',
  limit: 'How many',
}

const DEFAULT_MESSAGE = /^(Invalid|Too big|Too small|Unrecognized key|Expected)/

function words(key: string): string {
  const spaced = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase()
    .trim()
  return spaced.charAt(0).toUpperCase() + spaced.slice(1)
}

/** The field's name as people read it, and which item of a list when the path has a position. */
export function fieldLabel(path: readonly PropertyKey[]): { label: string; item?: number } {
  const names = path.filter((p): p is string => typeof p === 'string')
  const position = [...path].reverse().find((p): p is number => typeof p === 'number')
  const joined = names.join('.')
  const last = names[names.length - 1]
  const label =
    FIELD_LABELS[joined] ??
    (last !== undefined ? (FIELD_LABELS[last] ?? words(last)) : 'The request')
  return position === undefined ? { label } : { label, item: position + 1 }
}

const isSafeLimit = (n: number | bigint | undefined) =>
  n !== undefined && (Number(n) >= Number.MAX_SAFE_INTEGER || Number(n) <= Number.MIN_SAFE_INTEGER)

const num = (n: number | bigint) => Number(n).toLocaleString('en-US')

const quote = (v: unknown) => (typeof v === 'string' ? `“${v}”` : String(v))

/** One issue as one plain sentence: the field, what is wrong, what to enter instead. */
export function describeIssue(issue: InputIssue): string {
  const { label, item } = fieldLabel(issue.path)
  const field = item === undefined ? `“${label}”` : `Entry ${item} of “${label}”`
  const numeric = issue.origin === 'number' || issue.origin === 'int'
  // A schema's own message ("must be 64 lowercase hex characters", "The message is empty.") is
  // already written for people: keep it, naming the field when it is not a whole sentence.
  if (!DEFAULT_MESSAGE.test(issue.message)) {
    const m = issue.message.replace(/\.$/, '')
    return /^[A-Z]/.test(m) ? `${m}.` : `${field} ${m}.`
  }
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.received === 'undefined' || /received undefined$/.test(issue.message))
        return `${field} is missing. Fill it in and try again.`
      if (issue.expected === 'number' || issue.expected === 'int')
        return `${field} is not a number. Type digits only${item !== undefined ? ', separated by commas (for example 1, 7, 30023)' : ''}.`
      if (issue.expected === 'boolean') return `${field} must be switched on or off.`
      if (issue.expected === 'array') return `${field} must be a list.`
      return `${field} has the wrong kind of value. Enter it again.`
    }
    case 'too_big': {
      if (isSafeLimit(issue.maximum))
        return `${field} is far too large a number. Enter a smaller number.`
      if (issue.maximum === undefined) return `${field} is too large. Enter a smaller value.`
      if (numeric) return `${field} is too large: the most is ${num(issue.maximum)}.`
      if (issue.origin === 'string')
        return `${field} is too long: at most ${num(issue.maximum)} characters.`
      if (issue.origin === 'array' || issue.origin === 'set')
        return `${field} has too many entries: at most ${num(issue.maximum)}.`
      return `${field} is too large: at most ${num(issue.maximum)}.`
    }
    case 'too_small': {
      if (issue.minimum === undefined) return `${field} is too small. Enter a larger value.`
      if (numeric) {
        if (Number(issue.minimum) === 0) return `${field} cannot be negative. Enter 0 or more.`
        return `${field} is too small: the least is ${num(issue.minimum)}.`
      }
      if (issue.origin === 'string')
        return Number(issue.minimum) <= 1
          ? `${field} is empty. Fill it in and try again.`
          : `${field} is too short: at least ${num(issue.minimum)} characters.`
      if (issue.origin === 'array' || issue.origin === 'set')
        return `${field} needs at least ${num(issue.minimum)} ${Number(issue.minimum) === 1 ? 'entry' : 'entries'}.`
      return `${field} is too small: at least ${num(issue.minimum)}.`
    }
    case 'not_multiple_of':
      return `${field} must be a whole number.`
    case 'invalid_value':
      return issue.values && issue.values.length > 0 && issue.values.length <= 6
        ? `${field} must be one of ${issue.values.map(quote).join(', ')}.`
        : `${field} is not one of the choices. Pick one from the list.`
    case 'invalid_format':
      if (issue.format === 'url') return `${field} is not a web address (like https://…).`
      return `${field} is not written the way it should be. Check it for typing mistakes.`
    case 'unrecognized_keys':
      return `The request had fields Flash Box does not know (${(issue.keys ?? []).join(', ')}). Reload the page: the screen and the engine may be different versions.`
    default:
      return `${field} is not valid. Check it and try again.`
  }
}

/** The whole failed validation as a UserError: every problem named, first ones first. */
export function inputProblem(issues: readonly InputIssue[], code = 'api.bad_input'): UserError {
  const sentences = [...new Set(issues.map(describeIssue))]
  const shown = sentences.slice(0, 3)
  const more = sentences.length - shown.length
  return {
    code,
    message: shown.join(' ') + (more > 0 ? ` (And ${more} more.)` : ''),
    hint: 'Correct the value named above, then try again.',
  }
}
