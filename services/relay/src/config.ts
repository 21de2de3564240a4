// What an operator composes: the relay's policies, validated with zod at every edge
// (engine API, container environment, config file). The core knows none of these rules;
// src/policies turns this object into lists of plain functions.
import { z } from 'zod'

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters')

/** A token bucket: `perMinute` refill, `burst` capacity. */
export const BucketSchema = z.object({
  perMinute: z.number().int().min(1).max(1_000_000),
  burst: z.number().int().min(1).max(1_000_000),
})
export type Bucket = z.infer<typeof BucketSchema>

export const RelayPolicySchema = z.object({
  /** Who may publish: anyone, or only pubkeys on the allow-list (plus the box's admins). */
  writes: z.enum(['open', 'allow-list']).default('open'),
  /** Who may read: anyone, any authenticated user (NIP-42), or only allow-listed pubkeys. */
  reads: z.enum(['open', 'authenticated', 'allow-list']).default('open'),
  /** NIP-42 AUTH before publishing anything. */
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
      /** NIP-01 allows subscription ids up to 64 characters. */
      maxSubIdLength: z.number().int().min(1).max(64).default(64),
      /** Reject events dated further than this in the future (seconds). */
      maxFutureSeconds: z
        .number()
        .int()
        .min(0)
        .default(15 * 60),
      /** Reject events older than this (seconds); 0 = any age. */
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
      allowed: z.array(z.number().int().min(0).max(65535)).max(1000).default([]),
      blocked: z.array(z.number().int().min(0).max(65535)).max(1000).default([]),
    })
    .prefault({}),
  /** Delete events of these kinds (all kinds when `kinds` is absent) older than maxAgeDays. */
  retention: z
    .array(
      z.object({
        kinds: z.array(z.number().int().min(0).max(65535)).max(1000).optional(),
        maxAgeDays: z.number().min(0.001).max(36500),
      }),
    )
    .max(100)
    .default([]),
  /** NIP-13: minimum proof-of-work (leading zero bits of the id); 0 = off. */
  minPowDifficulty: z.number().int().min(0).max(64).default(0),
  groups: z
    .object({
      /** NIP-29 relay-based groups. */
      enabled: z.boolean().default(true),
      /** Who may create a group (kind 9007): only the box's admins, or anyone. */
      whoCanCreate: z.enum(['admins', 'anyone']).default('admins'),
    })
    .prefault({}),
})
export type RelayPolicy = z.infer<typeof RelayPolicySchema>
export type RelayPolicyInput = z.input<typeof RelayPolicySchema>

export const AdminPubkeysSchema = z.array(Hex64).max(100)

export function parsePolicy(input: unknown): RelayPolicy {
  return RelayPolicySchema.parse(input ?? {})
}
