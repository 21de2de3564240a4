// Where the public can reach the box, for the Lightning address (LUD-16) and the NWC relay.
// The box's published URLs (Settings → Reachability, src/core/reach/published-urls.ts) win: the
// one setting every published URL follows (wallet-service-module.ts asks it first). Without one,
// the headless server's own URL and the box relay's own URL (this computer only), or what an
// operator behind a proxy names with FLASHBOX_PUBLIC_URL and FLASHBOX_PUBLIC_RELAY_URL.
import type { FlashError } from '../errors'
import type { PublishedUrls } from '../reach/published-urls'

/** The box's public base URL (scheme://host[:port], no trailing slash), when it is known. */
export function boxPublicBaseUrl(servedAt: string | undefined): string | undefined {
  const configured = process.env.FLASHBOX_PUBLIC_URL?.trim()
  const url = configured || servedAt
  return url ? url.replace(/\/+$/, '') : undefined
}

/** The relay URL apps are told to use for the box's relay, when it is known. */
export function boxPublicRelayUrl(localRelayUrl: string | undefined): string | undefined {
  const configured = process.env.FLASHBOX_PUBLIC_RELAY_URL?.trim()
  return configured || localRelayUrl
}

/** Where the Lightning address lives: the base of its URLs and the domain after the “@”. */
export interface LightningAddressHome {
  readonly base: string
  /** Absent when the base is on a port wallets do not look at (see `problem`). */
  readonly domain?: string
  readonly problem?: FlashError
}

export function lightningAddressHome(
  published: Partial<PublishedUrls>,
  servedAt: string | undefined,
): LightningAddressHome | undefined {
  if (published.base)
    return {
      base: published.base,
      ...(published.lightningAddressDomain ? { domain: published.lightningAddressDomain } : {}),
      ...(published.namesProblem ? { problem: published.namesProblem } : {}),
    }
  const base = boxPublicBaseUrl(servedAt)
  return base ? { base, domain: new URL(base).host } : undefined
}

/** `name@domain`. */
export function lightningAddressOf(name: string, domain: string): string {
  return `${name}@${domain}`
}
