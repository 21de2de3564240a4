// The relay's policy schema: what an operator composes (who may write and read, limits, rate
// buckets, groups); src/policies turns it into hook lists. Zod only, so the engine's API contract
// (src/shared/api/relay.ts) and the Relay page validate the very same object the relay does.
import { z } from 'zod'

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
