// The nostr domain of the API: the box's Nostr client (keys, relays, NIP-17 private messages,
// NIP-29 groups, the business profile). Implemented by src/core/nostr/nostr-module.ts.
// The renderer never sees a secret key: every signature is made in the engine; the only way a
// key leaves the engine is `exportKey`, which demands the passphrase and a spoken confirmation.
import { z } from 'zod'
import { mutation, query } from './procedure'

/** The sentence the user must confirm before `exportKey` returns the nsec. */
export const EXPORT_KEY_CONFIRMATION =
  'I understand that anyone with this key can read my messages and act as me' as const
/** The sentence the user must confirm before a new key replaces the current one. */
export const REPLACE_KEY_CONFIRMATION = 'Replace my Nostr key' as const

export type IdentityState = 'none' | 'locked' | 'unlocked'

export interface Identity {
  readonly state: IdentityState
  /** Hex public key (absent when there is no key yet). */
  readonly pubkey?: string
  readonly npub?: string
  /**
   * NIP-49 key security byte: 'secure' (never left the engine unencrypted), 'insecure' (shown
   * or exported in plain text at some point), 'unknown' (imported).
   */
  readonly keySecurity?: 'insecure' | 'secure' | 'unknown'
  readonly createdAt?: string
}

export type AuthState = 'none' | 'challenged' | 'authenticating' | 'authenticated' | 'failed'

export interface RelayHealth {
  readonly url: string
  readonly connected: boolean
  /** Round trip of the last request the relay answered, in milliseconds. */
  readonly latencyMs?: number
  readonly lastError?: string
  readonly lastErrorAt?: string
  readonly auth: AuthState
  /** When disconnected: when the next connection attempt happens. */
  readonly nextAttemptAt?: string
  readonly attempts: number
}

export interface RelayInfo {
  readonly url: string
  /** 'box': this box's own relay (always used); 'user': added by the user. */
  readonly role: 'box' | 'user'
  /**
   * Listed in the inbox relay list (kind 10050) that other relays receive. False for addresses
   * only this machine or network can reach (loopback, LAN): those are used, never announced.
   */
  readonly announced: boolean
  readonly health: RelayHealth
}

/** The result of publishing one event to one relay. */
export interface RelayDelivery {
  readonly relay: string
  readonly status: 'pending' | 'ok' | 'rejected' | 'timeout' | 'failed'
  /** The relay's machine-readable prefix when rejected (`blocked`, `auth-required`, …). */
  readonly prefix?: string
  readonly message?: string
}

export interface PersonRef {
  readonly pubkey: string
  readonly npub: string
  /** From their kind 0 profile, when known. */
  readonly name?: string
}

export interface ConversationSummary {
  readonly id: string
  readonly kind: 'dm' | 'group'
  readonly title: string
  /** DMs: the other people in the conversation. */
  readonly peers: readonly PersonRef[]
  /** Groups: where the group lives. */
  readonly group?: { readonly relay: string; readonly id: string; readonly reference: string }
  readonly lastMessage?: { readonly text: string; readonly at: string; readonly fromMe: boolean }
  readonly unread: number
}

export interface Message {
  readonly id: string
  readonly conversationId: string
  readonly author: PersonRef
  readonly fromMe: boolean
  readonly text: string
  readonly createdAt: string
  /** 14 (NIP-17), 4 (legacy NIP-04), 9 (NIP-29 group chat). */
  readonly kind: number
  /** Legacy NIP-04: readable, but its metadata is public; never sent by this app. */
  readonly legacy: boolean
  readonly delivery: readonly RelayDelivery[]
}

export interface Profile {
  readonly name?: string
  readonly display_name?: string
  readonly about?: string
  readonly picture?: string
  readonly website?: string
  readonly nip05?: string
  readonly lud16?: string
}

export interface SendResult {
  readonly conversationId: string
  readonly messageId: string
  readonly delivery: readonly RelayDelivery[]
}

export interface DecodedReference {
  readonly type: 'npub' | 'nprofile' | 'nevent' | 'naddr' | 'note' | 'hex' | 'nip05'
  readonly pubkey?: string
  readonly npub?: string
  readonly eventId?: string
  readonly kind?: number
  readonly identifier?: string
  readonly relays: readonly string[]
}

export interface NostrStatus {
  readonly identity: Identity
  readonly relays: readonly RelayInfo[]
  readonly unread: number
}

const Passphrase = z.string().min(8, 'Use at least 8 characters for the passphrase.').max(1024)
const RelayUrl = z
  .string()
  .trim()
  .max(2048)
  .regex(/^wss?:\/\/[^\s]+$/i, 'A relay address starts with wss:// (or ws:// on this machine).')
/** npub, nprofile, or 64 hex characters. */
const PubkeyInput = z.string().trim().min(1).max(2048)
const ConversationId = z.string().min(3).max(4096)
const Text = z.string().trim().min(1, 'The message is empty.').max(32_000)
const GroupId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9_-]+$/, 'A group id uses only a–z, 0–9, - and _.')
const HttpUrl = z
  .string()
  .trim()
  .max(2048)
  .regex(/^https?:\/\/[^\s]+$/i, 'Use a web address starting with https://.')

export const ProfileSchema = z.object({
  name: z.string().trim().max(100).optional(),
  display_name: z.string().trim().max(100).optional(),
  about: z.string().trim().max(2000).optional(),
  picture: HttpUrl.optional(),
  website: HttpUrl.optional(),
  nip05: z
    .string()
    .trim()
    .max(320)
    .regex(/^([\w.+-]+@)?[\w_-]+(\.[\w_-]+)+$/, 'Write it like name@example.com.')
    .optional(),
  lud16: z
    .string()
    .trim()
    .max(320)
    .regex(/^[\w.+-]+@[\w_-]+(\.[\w_-]+)+$/, 'Write the lightning address like name@example.com.')
    .optional(),
})

/** NIP-05 names this box answers for: local part → hex public key. */
const Nip05Names = z.record(
  z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9._-]+$/, 'NIP-05 names use only a–z, 0–9, ".", "-" and "_".'),
  z.string().regex(/^[0-9a-f]{64}$/, 'Use a hex public key.'),
)

export const nostrApi = {
  status: query<NostrStatus>()(z.object({})),
  identity: query<Identity>()(z.object({})),
  /** A new key, stored NIP-49 encrypted under the passphrase. `recoveryWords` derives it from NIP-06 words returned once. */
  createKey: mutation<{ identity: Identity; recoveryWords?: string }>()(
    z.object({
      passphrase: Passphrase,
      recoveryWords: z.boolean().default(false),
      replace: z.literal(REPLACE_KEY_CONFIRMATION).optional(),
    }),
  ),
  importKey: mutation<Identity>()(
    z.object({
      passphrase: Passphrase,
      /** nsec1…, ncryptsec1… (with `secretPassphrase`), or 12/24 NIP-06 recovery words. */
      secret: z.string().trim().min(1).max(2048),
      /** The passphrase an imported ncryptsec was encrypted with, or the NIP-06 words' passphrase. */
      secretPassphrase: z.string().max(1024).optional(),
      replace: z.literal(REPLACE_KEY_CONFIRMATION).optional(),
    }),
  ),
  unlock: mutation<Identity>()(z.object({ passphrase: z.string().min(1).max(1024) })),
  lock: mutation<Identity>()(z.object({})),
  /** Returns the nsec, only with the passphrase and the confirmation sentence. Marks the key 'insecure'. */
  exportKey: mutation<{ nsec: string }>()(
    z.object({
      passphrase: z.string().min(1).max(1024),
      confirm: z.literal(EXPORT_KEY_CONFIRMATION, {
        error: `Type exactly: "${EXPORT_KEY_CONFIRMATION}".`,
      }),
    }),
  ),
  relays: query<readonly RelayInfo[]>()(z.object({})),
  relayHealth: query<readonly RelayHealth[]>()(z.object({})),
  addRelay: mutation<readonly RelayInfo[]>()(z.object({ url: RelayUrl })),
  removeRelay: mutation<readonly RelayInfo[]>()(z.object({ url: RelayUrl })),
  /** Decodes what the user typed: npub, nprofile, nevent, naddr, note, hex, or name@domain (NIP-05). */
  decode: query<DecodedReference>()(z.object({ text: z.string().trim().min(1).max(2048) })),
  conversations: query<readonly ConversationSummary[]>()(z.object({})),
  messages: query<readonly Message[]>()(
    z.object({
      conversationId: ConversationId,
      limit: z.number().int().min(1).max(1000).default(200),
      /** Only messages created before this ISO time (paging back). */
      before: z.iso.datetime().optional(),
    }),
  ),
  sendDirectMessage: mutation<SendResult>()(
    z.object({
      /** npub, nprofile or hex; or an existing DM conversation id. */
      to: PubkeyInput,
      text: Text,
      subject: z.string().trim().max(200).optional(),
    }),
  ),
  markRead: mutation<void>()(z.object({ conversationId: ConversationId })),
  createGroup: mutation<ConversationSummary>()(
    z.object({
      name: z.string().trim().min(1).max(100),
      about: z.string().trim().max(2000).optional(),
      /** Private: only members can read. Closed: joining needs an invite. */
      private: z.boolean().default(true),
      closed: z.boolean().default(true),
      /** Where to create it; the box's own relay when omitted. */
      relay: RelayUrl.optional(),
    }),
  ),
  /** With `pubkey`: adds that person (9000 put-user). Without: creates an invite code (9009). */
  inviteToGroup: mutation<{ code?: string; added?: string }>()(
    z.object({ conversationId: ConversationId, pubkey: PubkeyInput.optional() }),
  ),
  joinGroup: mutation<ConversationSummary>()(
    z.object({
      /** `host'group-id` (NIP-29 group reference) or the relay URL with `groupId`. */
      reference: z.string().trim().min(3).max(2200),
      groupId: GroupId.optional(),
      code: z.string().trim().max(200).optional(),
    }),
  ),
  postToGroup: mutation<SendResult>()(z.object({ conversationId: ConversationId, text: Text })),
  moderateGroup: mutation<{ delivery: readonly RelayDelivery[] }>()(
    z.discriminatedUnion('action', [
      z.object({
        action: z.literal('put-user'),
        conversationId: ConversationId,
        pubkey: PubkeyInput,
        role: z.string().max(64).optional(),
      }),
      z.object({
        action: z.literal('remove-user'),
        conversationId: ConversationId,
        pubkey: PubkeyInput,
      }),
      z.object({
        action: z.literal('delete-event'),
        conversationId: ConversationId,
        eventId: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    ]),
  ),
  getProfile: query<{ profile: Profile; updatedAt?: string }>()(z.object({})),
  setProfile: mutation<{ profile: Profile; delivery: readonly RelayDelivery[] }>()(ProfileSchema),
  /** Names the box answers for at /.well-known/nostr.json. */
  nip05Names: query<Record<string, string>>()(z.object({})),
  setNip05Names: mutation<Record<string, string>>()(z.object({ names: Nip05Names })),
  /** Checks someone's NIP-05 address against their public key (fetches their domain). */
  verifyNip05: query<{ valid: boolean; reason?: string }>()(
    z.object({ nip05: z.string().trim().min(3).max(320), pubkey: PubkeyInput }),
  ),
}

export type NostrEvent =
  | { topic: 'nostr'; type: 'identity'; identity: Identity }
  | { topic: 'nostr'; type: 'message'; message: Message }
  | { topic: 'nostr'; type: 'relay-health'; health: RelayHealth }
  | {
      topic: 'nostr'
      type: 'delivery'
      conversationId: string
      messageId: string
      delivery: readonly RelayDelivery[]
    }
  | { topic: 'nostr'; type: 'conversations'; conversations: readonly ConversationSummary[] }
