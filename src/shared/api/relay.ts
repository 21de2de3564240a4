// The relay domain of the API: the box's own Nostr relay (services/relay), run embedded by
// src/core/relay/relay-module.ts. The operator's policy schema is the relay's own
// (services/relay/src/policy-schema.ts, zod only), so the engine, the relay (in its own process
// or container) and the Relay page validate the same object.
import { z } from 'zod'
import { mutation, query } from './procedure'
import type { UserError } from '../errors'
import type { ServiceProcessView } from './service-process'

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters')
const Kind = z.number().int().min(0).max(65535)

export {
  BucketSchema,
  RelayPolicySchema,
  type Bucket,
  type RelayPolicy,
  type RelayPolicyInput,
} from '../../../services/relay/src/policy-schema'
import { RelayPolicySchema, type RelayPolicy } from '../../../services/relay/src/policy-schema'

export interface RelayStatus {
  readonly running: boolean
  /** ws:// URL on this machine, when running. */
  readonly url?: string
  /** Why it is not running, in plain words. */
  readonly problem?: UserError
  readonly connections: number
  readonly subscriptions: number
  readonly eventsStored: number
  /** Database + write-ahead log on disk. */
  readonly storageBytes: number
  readonly policies: RelayPolicy
  /** Keys that may manage the relay (NIP-86) and create groups. */
  readonly adminPubkeys: readonly string[]
  /** The relay's own key (NIP-11 `self`, signs group metadata). */
  readonly relayPubkey?: string
  /** 'wasm' normally; 'js' if WebAssembly could not start (slower). */
  readonly verifier?: 'wasm' | 'js'
  readonly supportedNips: readonly number[]
  /** The relay's own process (it never runs inside the engine): pid, restarts, last exit. */
  readonly process?: ServiceProcessView
}

export interface RelayListEntry {
  readonly value: string
  readonly reason: string
  readonly addedAt: string
}

export interface RelayLists {
  readonly allowedPubkeys: readonly RelayListEntry[]
  readonly bannedPubkeys: readonly RelayListEntry[]
  readonly bannedEvents: readonly RelayListEntry[]
  readonly blockedIps: readonly RelayListEntry[]
  readonly allowedKinds: readonly number[]
  readonly disallowedKinds: readonly number[]
}

export interface RelayRejection {
  readonly at: string
  /** What was refused. */
  readonly what: 'event' | 'req' | 'count' | 'auth' | 'message' | 'connection'
  /** The relay's answer, with its machine-readable prefix (e.g. "rate-limited: slow down"). */
  readonly reason: string
  readonly ip: string
  readonly eventId?: string
  readonly pubkey?: string
  readonly kind?: number
}

export interface RelayBackup {
  readonly path: string
  readonly bytes: number
  readonly events: number
}

export const RelayListEditSchema = z.discriminatedUnion('list', [
  z.object({
    list: z.enum(['allowed-pubkey', 'banned-pubkey']),
    action: z.enum(['add', 'remove']),
    value: Hex64,
    reason: z.string().max(500).default(''),
  }),
  z.object({
    list: z.literal('banned-event'),
    action: z.enum(['add', 'remove']),
    value: Hex64,
    reason: z.string().max(500).default(''),
  }),
  z.object({
    list: z.literal('blocked-ip'),
    action: z.enum(['add', 'remove']),
    value: z
      .string()
      .min(2)
      .max(64)
      .regex(/^[0-9a-fA-F:.]+$/, 'must be an IP address'),
    reason: z.string().max(500).default(''),
  }),
  z.object({
    list: z.enum(['allowed-kind', 'disallowed-kind']),
    action: z.enum(['add', 'remove']),
    value: Kind,
    reason: z.string().max(500).default(''),
  }),
])

export const relayApi = {
  status: query<RelayStatus>()(z.object({})),
  /** Replace the relay's policies (validated; saved; applied to the next message). */
  setPolicies: mutation<RelayPolicy>()(z.object({ policies: RelayPolicySchema })),
  /** Keys that manage the relay (NIP-86) and create groups; the box's own admin key. */
  setAdmins: mutation<readonly string[]>()(z.object({ pubkeys: z.array(Hex64).max(100) })),
  lists: query<RelayLists>()(z.object({})),
  /** Allow/ban a pubkey, ban an event, block an IP, allow/disallow a kind — or undo it. */
  editList: mutation<RelayLists>()(RelayListEditSchema),
  /** The most recent refusals with their reasons, newest first. */
  rejections: query<readonly RelayRejection[]>()(
    z.object({ limit: z.number().int().min(1).max(200).default(50) }),
  ),
  /** An online, consistent copy of the relay database to an absolute path (must not exist). */
  backup: mutation<RelayBackup>()(
    z.object({
      path: z
        .string()
        .min(2)
        .max(4096)
        .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path'),
    }),
  ),
}

export type RelayEvent =
  | { topic: 'relay'; type: 'status'; status: RelayStatus }
  | { topic: 'relay'; type: 'rejection'; rejection: RelayRejection }
