// The one settings object the whole stack is rendered from (catalog: settings → container specs).
// Validated at every edge with this schema; cross-field rules (pruning vs electrs, …) live in
// src/core/stack/validate.ts and come back as UserErrors before anything starts.
import { z } from 'zod'
import { ReachSettingsSchema } from './reach'

export const bitcoinNetworks = ['mainnet', 'testnet4', 'signet', 'regtest'] as const
export const BitcoinNetworkSchema = z.enum(bitcoinNetworks)
export type BitcoinNetworkName = z.infer<typeof BitcoinNetworkSchema>

/** Services the user can switch on or off. bitcoind is always on: everything else needs it. */
export const optionalServiceIds = ['electrs', 'lnd', 'relay', 'mint', 'btcpay'] as const
export const OptionalServiceIdSchema = z.enum(optionalServiceIds)
export type OptionalServiceId = z.infer<typeof OptionalServiceIdSchema>

export const PruneSchema = z.discriminatedUnion('enabled', [
  z.object({ enabled: z.literal(false) }),
  z.object({
    enabled: z.literal(true),
    /** bitcoind's minimum is 550 MiB. */
    targetMiB: z.number().int().min(550).max(10_000_000),
  }),
])

export const SettingsSchema = z.object({
  network: BitcoinNetworkSchema,
  /** Absolute path; everything the box owns lives under it. */
  dataDir: z.string().min(1).max(4096),
  prune: PruneSchema,
  /** bitcoind -dbcache in MiB; 'auto' sizes it from the machine's memory. */
  dbcache: z.union([z.literal('auto'), z.number().int().min(4).max(65_536)]),
  txindex: z.boolean(),
  services: z.object({
    electrs: z.boolean(),
    lnd: z.boolean(),
    relay: z.boolean(),
    mint: z.boolean(),
    btcpay: z.boolean(),
  }),
  /** Where NBXplorer starts scanning; required under BTCPay when the node is pruned. */
  nbxplorerStartHeight: z.number().int().min(0).optional(),
  /** Where the relay and the mint run: inside the engine (default) or as containers. */
  ownServices: z.enum(['embedded', 'container']),
  /** How phones reach the box: public address, LAN front door, Tor (absent: loopback only). */
  reach: ReachSettingsSchema.optional(),
})
export type Settings = z.infer<typeof SettingsSchema>

export function defaultSettings(dataDir: string): Settings {
  return {
    network: 'regtest',
    dataDir,
    prune: { enabled: false },
    dbcache: 'auto',
    txindex: false,
    services: { electrs: true, lnd: true, relay: true, mint: true, btcpay: false },
    ownServices: 'embedded',
  }
}
