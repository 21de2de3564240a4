// Every URL the box publishes follows from one setting (Settings.reach): the public base URL the
// owner set, else the LAN name (LAN mode), else none (the services are only on this computer, and
// what the box publishes stays loopback). NIP-11/AUTH relay URL, the kind 10050
// inbox list, NIP-05, the mint URL inside tokens, the Lightning address domain, BTCPay's external
// URL and the Boltcard LNURL base all come from `publishedUrls`.
import type { ReachSettings } from '../../shared/reach'
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
  /** Host part of NIP-05 identifiers and Lightning addresses (`name@<domain>`). */
  readonly nip05Domain: string
  readonly lightningAddressDomain: string
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
  return {
    base: b.base,
    source: b.source,
    mint: b.base,
    relay: ws,
    nip05Domain: u.host,
    lightningAddressDomain: u.host,
    btcpay: b.base + BTCPAY_ROOT,
    lnurlCallbackBase: b.base + LNURL_CALLBACK_ROOT,
    boltcardLnurlBase: b.base + BOLTCARD_ROOT,
  }
}
