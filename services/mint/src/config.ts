// Mint configuration: everything an operator can set, validated with zod at the edge.
import { z } from 'zod'

export const RateLimitSchema = z.object({
  /** Window length in ms for every bucket. */
  windowMs: z.number().int().positive().default(10_000),
  /** Requests per window per client IP, all operations together. */
  perIp: z.number().int().positive().default(2_000),
  /** Requests per window per client IP and operation (swap, mint, melt, …). */
  perOperation: z.record(z.string(), z.number().int().positive()).default({}),
})
export type RateLimitConfig = z.infer<typeof RateLimitSchema>

export const MintConfigSchema = z.object({
  name: z.string().max(100).default('Flash Box mint'),
  description: z.string().max(500).default('A Cashu mint run by this Flash Box.'),
  motd: z.string().max(500).optional(),
  network: z.enum(['mainnet', 'testnet', 'testnet4', 'signet', 'regtest']).default('regtest'),
  unit: z.literal('sat').default('sat'),
  /** Fee per input of newly created keysets, parts per thousand. */
  inputFeePpk: z.number().int().min(0).max(100_000).default(0),
  /** Key amounts 2^0 … 2^(maxOrder-1). */
  maxOrder: z.number().int().min(1).max(64).default(32),
  maxInputs: z.number().int().positive().max(10_000).default(1000),
  maxOutputs: z.number().int().positive().max(10_000).default(1000),
  mintMinAmount: z.number().int().min(1).default(1),
  mintMaxAmount: z.number().int().positive().default(10_000_000),
  meltMinAmount: z.number().int().min(1).default(1),
  meltMaxAmount: z.number().int().positive().default(10_000_000),
  mintingDisabled: z.boolean().default(false),
  meltingDisabled: z.boolean().default(false),
  quoteTtlSeconds: z.number().int().positive().default(3600),
  /** NUT-19 cache lifetime, seconds. */
  cacheTtlSeconds: z.number().int().positive().default(3600),
  /** How often in-flight melts are re-checked with the Lightning backend, ms. */
  pendingCheckIntervalMs: z.number().int().positive().default(5000),
  maxBodyBytes: z.number().int().positive().default(1_048_576),
  /**
   * Addresses of reverse proxies (the box's front door) whose X-Forwarded-For names the client
   * for the per-IP limits; from anyone else the header is ignored.
   */
  trustedProxies: z
    .array(z.union([z.ipv4(), z.ipv6()]))
    .max(16)
    .default([]),
  rateLimit: RateLimitSchema.default({ windowMs: 10_000, perIp: 2_000, perOperation: {} }),
})
export type MintConfig = z.infer<typeof MintConfigSchema>
export type MintConfigInput = z.input<typeof MintConfigSchema>
