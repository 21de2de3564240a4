// Where the public can reach the box, for the Lightning address (LUD-16) and the NWC relay.
// Until the box has an address of its own (the reachability work, src/core/reach), this is the
// headless server's own URL and the box relay's own URL; an operator behind a proxy may name the
// public ones with FLASHBOX_PUBLIC_URL and FLASHBOX_PUBLIC_RELAY_URL. Everything that needs the
// box's public address asks these two functions, so one place changes when that work lands.

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

/** `name@host[:port]` for a base URL. */
export function lightningAddressOf(name: string, baseUrl: string): string {
  return `${name}@${new URL(baseUrl).host}`
}
