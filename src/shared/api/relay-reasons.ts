// A relay's refusal in people's words. Relays answer OK/CLOSED with a machine-readable prefix and a
// short technical text (NIP-01: "auth-required: sign in (NIP-42) to publish here"); the screens show
// what it means and what the owner can do, and keep the relay's own words as the detail.
// https://github.com/nostr-protocol/nips/blob/master/01.md#from-relay-to-client-sending-events-and-notices

const EXPLAIN: Readonly<Record<string, string>> = {
  'auth-required':
    'The relay wants the app to sign in first (NIP-42) and it had not. Apps that support sign-in do it by themselves; others cannot use this relay until “Who may read” or “Who may publish” allows anyone.',
  restricted:
    'This key or app is not allowed to do that on this relay. Add it to the relay’s allowed list, or change the relay’s rules.',
  blocked: 'This relay blocks the key, the address or this kind of event.',
  'rate-limited': 'Too much at once: the relay asked to slow down. It works again in a minute.',
  pow: 'The relay asks for more proof of work than the event carried.',
  duplicate: 'The relay already has this; nothing was lost.',
  invalid: 'The relay could not accept it as sent.',
  mute: 'The relay accepted it but will not pass it on.',
  error: 'The relay had a problem of its own. Try again in a moment.',
}

/** Split "prefix: text" (NIP-01) into its parts; a reason without a known prefix is all text. */
export function splitRelayReason(reason: string): { prefix?: string; text: string } {
  const m = /^([a-z-]+):\s*(.*)$/s.exec(reason.trim())
  if (m && Object.hasOwn(EXPLAIN, m[1]!)) return { prefix: m[1]!, text: m[2]! }
  return { text: reason.trim() }
}

/**
 * The plain sentence for a relay's reason. `prefix` may be given separately (when it was already
 * split off); the relay's own words follow in parentheses so nothing is hidden.
 */
export function explainRelayReason(reason: string, prefix?: string): string {
  const split = prefix ? { prefix, text: reason } : splitRelayReason(reason)
  const plain = split.prefix ? EXPLAIN[split.prefix] : undefined
  if (!plain) return split.text ? `The relay said: ${split.text}` : 'The relay gave no reason.'
  return split.text ? `${plain} (The relay said: “${split.text}”.)` : plain
}
