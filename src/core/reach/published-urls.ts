// Every URL the box publishes follows from one setting (Settings.reach): the public base URL the
// owner set, else the LAN name (LAN mode), else none (the services are only on this computer, and
// what the box publishes stays loopback). NIP-11/AUTH relay URL, the kind 10050
// inbox list, NIP-05, the mint URL inside tokens, the Lightning address domain, BTCPay's external
// URL and the Boltcard LNURL base all come from `publishedUrls`.
//
// NIP-05 identifiers and Lightning addresses (LUD-16) are `name@domain`: clients fetch
// `https://<domain>/.well-known/…` and most of them do not accept a port after the domain. So the
// box publishes names only on a base URL on the scheme's own port (443 for https): a public
// address on 443, or LAN mode on port 443. Anywhere else `namesProblem` says why, in words for the
// owner, and no `name@domain` is made.
import type { ReachSettings } from '../../shared/reach'
import { FlashError } from '../errors'
import { BOLTCARD_ROOT, BTCPAY_ROOT, LNURL_CALLBACK_ROOT } from './public-routes'

export interface PublishedUrls {
  /** e.g. `https://shop.example.com` (no trailing slash). */
  readonly base: string
  /** How it was chosen. */
  readonly source: 'public' | 'lan'
  /** Cashu mint URL (wallets call `<mint>/v1/…`). */
  readonly mint: string
  /** Nostr relay URL (wss:// for https). */
  readonly relay: string
  /**
   * Host part of NIP-05 identifiers and Lightning addresses (`name@<domain>`), only when the base
   * URL is on its scheme's own port; else `namesProblem` says why there is none.
   */
  readonly nip05Domain?: string
  readonly lightningAddressDomain?: string
  readonly namesProblem?: FlashError
  /** BTCPay's external URL (BTCPAY_ROOTPATH is /btcpay). */
  readonly btcpay: string
  /** Base of the LNURL callbacks (LUD-06) and of the Boltcard LNURL-withdraw routes. */
  readonly lnurlCallbackBase: string
  readonly boltcardLnurlBase: string
}

/** The base URL the box publishes for these reach settings, without a trailing slash. */
export function baseUrlFor(
  reach: ReachSettings | undefined,
): { base: string; source: 'public' | 'lan' } | undefined {
  if (reach?.publicAddress) {
    const u = new URL(reach.publicAddress.baseUrl)
    return { base: u.origin, source: 'public' }
  }
  // LAN mode: `https://<name>.local`, served with the box's own CA.
  if (reach?.lan) {
    const port = reach.lan.port === 443 ? '' : `:${reach.lan.port}`
    return { base: `https://${reach.lan.name}.local${port}`, source: 'lan' }
  }
  return undefined
}

export function publishedUrlsFor(reach: ReachSettings | undefined): PublishedUrls | undefined {
  const b = baseUrlFor(reach)
  if (!b) return undefined
  const u = new URL(b.base)
  const ws = `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}`
  // URL drops the scheme's own port (https://x:443 → port ''), so a port here is another one.
  const names = u.port === '' ? { nip05Domain: u.hostname, lightningAddressDomain: u.hostname } : {}
  return {
    base: b.base,
    source: b.source,
    mint: b.base,
    relay: ws,
    ...names,
    ...(u.port === '' ? {} : { namesProblem: namesNeedStandardPort(b.source, u) }),
    btcpay: b.base + BTCPAY_ROOT,
    lnurlCallbackBase: b.base + LNURL_CALLBACK_ROOT,
    boltcardLnurlBase: b.base + BOLTCARD_ROOT,
  }
}

/** Why `name@domain` is not offered on a base URL with a port, and what to change. */
function namesNeedStandardPort(source: 'public' | 'lan', u: URL): FlashError {
  const standard = u.protocol === 'https:' ? 443 : 80
  return new FlashError(
    'reach.names_need_standard_port',
    `Nostr addresses (NIP-05) and the Lightning address look like name@${u.hostname}, and wallets and Nostr apps look them up on port ${standard} only, while this box is reached on port ${u.port}. So the box offers neither there; the mint, the relay and the checkout work on port ${u.port}.`,
    source === 'lan'
      ? `To offer them on the shop’s Wi-Fi, set the shop port to ${standard} under Settings → Reachability.`
      : `To offer them, serve your public address on port ${standard} (without “:${u.port}”) and save it under Settings → Reachability.`,
  )
}
