// The relay domain of the API: the box's own Nostr relay (services/relay), run embedded by
// src/core/relay/relay-module.ts. The operator's policy schema lives here so the engine, the
// relay (embedded or in its container) and the Relay page validate the same object.
import { z } from 'zod'
import { mutation, query } from './procedure'
import type { UserError } from '../errors'

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters')
const Kind = z.number().int().min(0).max(65535)

/** A token bucket: refills `perMinute` tokens a minute, holds at most `burst`. */
export const BucketSchema = z.object({
  perMinute: z.number().int().min(1).max(1_000_000),
  burst: z.number().int().min(1).max(1_000_000),
})
export type Bucket = z.infer<typeof BucketSchema>

/** What an operator composes; the relay turns it into lists of policy functions. */
export const RelayPolicySchema = z.object({
  /** Who may publish: anyone, or only pubkeys on the allow-list (plus the box's admins). */
  writes: z.enum(['open', 'allow-list']).default('open'),
  /** Who may read: anyone, any signed-in (NIP-42) user, or only allow-listed pubkeys. */
  reads: z.enum(['open', 'authenticated', 'allow-list']).default('open'),
  /** NIP-42 sign-in required before publishing anything. */
  authForWrites: z.boolean().default(false),
  limits: z
    .object({
      maxMessageBytes: z
        .number()
        .int()
        .min(1024)
        .max(16 * 1024 * 1024)
        .default(256 * 1024),
      maxEventBytes: z
        .number()
        .int()
        .min(512)
        .max(16 * 1024 * 1024)
        .default(128 * 1024),
      maxContentBytes: z
        .number()
        .int()
        .min(0)
        .max(16 * 1024 * 1024)
        .default(64 * 1024),
      maxTags: z.number().int().min(0).max(100_000).default(2000),
      maxFilters: z.number().int().min(1).max(100).default(10),
      maxFilterValues: z.number().int().min(1).max(10_000).default(1000),
      maxLimit: z.number().int().min(1).max(100_000).default(500),
      maxSubscriptions: z.number().int().min(1).max(1000).default(50),
      /** Open WebSocket connections from one address. */
      maxConnectionsPerIp: z.number().int().min(1).max(10_000).default(100),
      /** NIP-01 allows subscription ids up to 64 characters. */
      maxSubIdLength: z.number().int().min(1).max(64).default(64),
      /** Refuse events dated further than this in the future (seconds). */
      maxFutureSeconds: z
        .number()
        .int()
        .min(0)
        .default(15 * 60),
      /** Refuse events older than this (seconds); 0 = any age. */
      maxPastSeconds: z.number().int().min(0).default(0),
    })
    .prefault({}),
  rateLimits: z
    .object({
      eventsPerConnection: BucketSchema.nullable().default({ perMinute: 600, burst: 100 }),
      eventsPerPubkey: BucketSchema.nullable().default({ perMinute: 600, burst: 100 }),
      eventsPerIp: BucketSchema.nullable().default({ perMinute: 1200, burst: 200 }),
      queriesPerConnection: BucketSchema.nullable().default({ perMinute: 1200, burst: 200 }),
      queriesPerIp: BucketSchema.nullable().default({ perMinute: 2400, burst: 400 }),
    })
    .prefault({}),
  kinds: z
    .object({
      /** Empty = every kind allowed (unless blocked). */
      allowed: z.array(Kind).max(1000).default([]),
      blocked: z.array(Kind).max(1000).default([]),
    })
    .prefault({}),
  /** Delete events of these kinds (every kind when `kinds` is absent) older than maxAgeDays. */
  retention: z
    .array(
      z.object({
        kinds: z.array(Kind).max(1000).optional(),
        maxAgeDays: z.number().min(0.001).max(36500),
      }),
    )
    .max(100)
    .default([]),
  /** NIP-13: minimum proof of work (leading zero bits of the event id); 0 = off. */
  minPowDifficulty: z.number().int().min(0).max(64).default(0),
  groups: z
    .object({
      /** NIP-29 relay-based groups (e.g. the shop's staff room). */
      enabled: z.boolean().default(true),
      /** Who may create a group: only the box's admins, or anyone. */
      whoCanCreate: z.enum(['admins', 'anyone']).default('admins'),
    })
    .prefault({}),
})
export type RelayPolicy = z.infer<typeof RelayPolicySchema>
export type RelayPolicyInput = z.input<typeof RelayPolicySchema>

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
