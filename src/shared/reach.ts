// How customers' phones reach the box (issue 13): the public address, the LAN front door and Tor.
// Part of the one settings object (Settings.reach); the catalog renders the front door (Caddy) and
// Tor from it, and every URL the box publishes follows from it (src/core/reach/public-address.ts).
import { z } from 'zod'

const HttpBaseUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s)
      return (
        (u.protocol === 'https:' || u.protocol === 'http:') &&
        u.username === '' &&
        u.password === '' &&
        u.search === '' &&
        u.hash === '' &&
        (u.pathname === '/' || u.pathname === '')
      )
    } catch {
      return false
    }
  }, 'must be an address like https://shop.example.com (no path, no user name)')

const IpAddress = z.union([z.ipv4(), z.ipv6()])

export const PublicAddressSchema = z.object({
  /** e.g. https://shop.example.com — the address customers' phones use. */
  baseUrl: HttpBaseUrl,
  /**
   * True when the owner's own reverse proxy (or router) ends TLS before the box: the front door
   * then serves plain HTTP and believes X-Forwarded-For only from `proxyAddresses`.
   * False: the front door holds the certificate itself (ACME, which needs ports 80 and 443).
   */
  tlsBeforeBox: z.boolean(),
  /** Addresses of the owner's proxy, as the front door sees them (only with tlsBeforeBox). */
  proxyAddresses: z.array(IpAddress).max(16).default([]),
})
export type PublicAddress = z.infer<typeof PublicAddressSchema>

export const LanSchema = z.object({
  /** OS interface name (os.networkInterfaces()), e.g. `eth0`, `wlan0`. */
  interface: z.string().min(1).max(64),
  /** mDNS name without `.local` (lower case letters, digits and dashes). */
  name: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/)
    .default('flashbox'),
  /** HTTPS port of the front door on the LAN. */
  port: z.number().int().min(1).max(65535).default(443),
  /** HTTPS port of the owner's UI on the LAN (password + one-time pairing code). */
  ownerPort: z.number().int().min(1).max(65535).default(8443),
  /** Plain-HTTP port of the page that serves only the box CA's certificate (install QR). */
  caPort: z.number().int().min(1).max(65535).default(8090),
})
export type Lan = z.infer<typeof LanSchema>

export const TorSchema = z.object({
  /** Onion services for LND's P2P port (peers reach a box behind a home router). */
  lndP2p: z.boolean().default(false),
  /** Onion service for LND's REST API (the owner's phone wallet, lndconnect). */
  lndRest: z.boolean().default(false),
})
export type Tor = z.infer<typeof TorSchema>

export const ReachSettingsSchema = z.object({
  /** Port of the front door on this computer when neither LAN nor a public address is set. */
  frontDoorPort: z.number().int().min(1).max(65535).default(8480),
  /** Port of the engine's HTTP server (NIP-05, LNURL; `npm run serve -- --port`). */
  enginePort: z.number().int().min(1).max(65535).default(8347),
  publicAddress: PublicAddressSchema.optional(),
  lan: LanSchema.optional(),
  tor: TorSchema.optional(),
})
export type ReachSettings = z.infer<typeof ReachSettingsSchema>
export type ReachSettingsInput = z.input<typeof ReachSettingsSchema>
