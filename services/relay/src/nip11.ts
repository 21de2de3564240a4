// NIP-11 relay information document, served on HTTP GET with Accept: application/nostr+json.
// https://github.com/nostr-protocol/nips/blob/master/11.md
import type { RelayPolicy } from './config'

export const SUPPORTED_NIPS = [1, 9, 11, 13, 29, 40, 42, 45, 59, 62, 70, 86, 98]

export interface RelayInfoInput {
  readonly name: string
  readonly description: string
  readonly icon?: string
  readonly adminPubkey?: string
  readonly selfPubkey: string
  readonly policy: RelayPolicy
  readonly version: string
}

export function relayInformation(i: RelayInfoInput): Record<string, unknown> {
  const l = i.policy.limits
  return {
    name: i.name,
    description: i.description,
    ...(i.icon ? { icon: i.icon } : {}),
    ...(i.adminPubkey ? { pubkey: i.adminPubkey } : {}),
    self: i.selfPubkey,
    supported_nips: SUPPORTED_NIPS,
    software: 'flash-box relay (services/relay)',
    version: i.version,
    limitation: {
      max_message_length: l.maxMessageBytes,
      max_subscriptions: l.maxSubscriptions,
      max_limit: l.maxLimit,
      default_limit: l.maxLimit,
      max_subid_length: l.maxSubIdLength,
      max_event_tags: l.maxTags,
      max_content_length: l.maxContentBytes,
      min_pow_difficulty: i.policy.minPowDifficulty,
      auth_required: i.policy.reads !== 'open' || i.policy.authForWrites,
      payment_required: false,
      restricted_writes: i.policy.writes !== 'open' || i.policy.kinds.allowed.length > 0,
      created_at_lower_limit: l.maxPastSeconds > 0 ? l.maxPastSeconds : 0,
      created_at_upper_limit: l.maxFutureSeconds,
    },
  }
}

export const wantsRelayInfo = (accept: string | undefined): boolean =>
  (accept ?? '').toLowerCase().includes('application/nostr+json')
