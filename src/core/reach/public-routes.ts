// The public routes: everything the front door (Caddy) forwards, and nothing else. The owner's
// API and UI, LND's gRPC/REST and bitcoind's RPC are never here; anything not listed gets 404.
//
// One host, by path:
//   mint   — the Cashu mint's HTTP API and its WebSocket (NUT-17 `/v1/ws`): the mint URL is the
//            base URL itself (wallets call <mint URL>/v1/…)
//   relay  — the Nostr relay on `/`: WebSocket upgrades and NIP-11 (Accept: application/nostr+json),
//            so the relay URL is the base URL with ws(s)://
//   btcpay — BTCPay's invoice checkout and point of sale under /btcpay (BTCPAY_ROOTPATH): the
//            checkout pages (/i/…, /invoice…), the PoS app pages and the static files they load;
//            BTCPay's own login, stores and Greenfield API stay private
//   engine — the box's own public answers on the engine's HTTP server: NIP-05, LUD-16 Lightning
//            address, LNURL callbacks and the Boltcard LNURL-withdraw routes
export type PublicUpstream = 'mint' | 'relay' | 'btcpay' | 'engine'

export type RouteMatch =
  | { readonly kind: 'path'; readonly paths: readonly string[] }
  | { readonly kind: 'regexp'; readonly pattern: string }
  /** `/` with a WebSocket upgrade or a NIP-11 Accept header. */
  | { readonly kind: 'relay-root' }

export interface PublicRoute {
  readonly upstream: PublicUpstream
  readonly match: RouteMatch
  /** Plain words, shown on the Reachability page. */
  readonly purpose: string
  /** Largest request body accepted (Caddy request_body max_size). */
  readonly maxBodyBytes: number
}

const KiB = 1024

export const BTCPAY_ROOT = '/btcpay'
/** Where the box's LNURL callbacks live (LUD-06 pay, LUD-03 withdraw for Boltcards). */
export const LNURL_CALLBACK_ROOT = '/lnurl'
export const BOLTCARD_ROOT = '/boltcard'

export const publicRoutes: readonly PublicRoute[] = [
  {
    upstream: 'mint',
    match: { kind: 'path', paths: ['/v1/*'] },
    purpose: 'Cashu mint (HTTP and WebSocket)',
    // NUT-03 swaps of up to 1000 outputs stay well below this; the mint bounds it again.
    maxBodyBytes: 1024 * KiB,
  },
  {
    upstream: 'relay',
    match: { kind: 'relay-root' },
    purpose: 'Nostr relay (WebSocket and NIP-11)',
    maxBodyBytes: 0,
  },
  {
    upstream: 'engine',
    match: {
      kind: 'path',
      paths: [
        '/.well-known/nostr.json',
        '/.well-known/lnurlp/*',
        // The Lightning address's LUD-06 callback (src/core/lightning/wallet-service-module.ts).
        '/lnurlp/*',
        `${LNURL_CALLBACK_ROOT}/*`,
        `${BOLTCARD_ROOT}/*`,
      ],
    },
    purpose: 'Nostr names (NIP-05), Lightning address, LNURL and Boltcard',
    maxBodyBytes: 16 * KiB,
  },
  {
    upstream: 'btcpay',
    match: {
      kind: 'regexp',
      // BTCPay 2.4: checkout (/i/{id}, its status poll and WebSocket, /invoice?id=, /checkout
      // assets), PoS apps (/apps/{id}/pos and the cart posts under it) and the static bundles.
      pattern:
        '^/btcpay/(i/[A-Za-z0-9]+(/.*)?|invoice(/.*)?|apps/[A-Za-z0-9]+/pos(/.*)?|_content/.*|checkout/.*|main/.*|img/.*|locales/.*|js/.*|css/.*|favicon\\.ico)$',
    },
    purpose: 'BTCPay checkout and point of sale',
    maxBodyBytes: 64 * KiB,
  },
]
