// The front door's configuration: Caddy's native JSON (https://caddyserver.com/docs/json/), pure
// from the listeners and the upstreams. Only `publicRoutes` are forwarded; everything else gets
// 404. Limits, since Caddy's stock build (the official image and Debian's package) has no
// rate-limit handler (`caddy list-modules` lists no http.handlers.rate_limit; that is the
// third-party caddy-ratelimit plugin):
//   - request bodies bounded per route (request_body max_size), headers bounded (max_header_bytes),
//     slow headers cut off (read_header_timeout);
//   - concurrent connections to each upstream bounded (max_conns_per_host), so a flood on one
//     public route queues at the door instead of piling onto the box;
//   - per-client limits are the services' own (the relay's connection and event limits, the mint's
//     per-IP limits, the engine's public-route limit), on the real client address: Caddy replaces
//     X-Forwarded-For with the peer it saw, believing an incoming one only from `trustedProxies`
//     (the owner's own TLS proxy), and the services believe it only from the front door.
import { publicRoutes, type PublicRoute, type PublicUpstream } from './public-routes'

export type FrontDoorTls =
  | { readonly kind: 'none' }
  /** The box CA's server certificate (LAN mode). */
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string }
  /** A public certificate from Let's Encrypt for `host` (needs ports 80 and 443 reachable). */
  | { readonly kind: 'acme'; readonly host: string }

export interface FrontDoorSite {
  /** Name of this listener in Caddy's config and logs. */
  readonly name: string
  /** IP address to bind ('' for every address). */
  readonly address: string
  readonly port: number
  readonly tls: FrontDoorTls
  /** CIDR ranges whose X-Forwarded-For Caddy believes (the owner's TLS proxy); default none. */
  readonly trustedProxies?: readonly string[]
}

export interface FrontDoorConfigInput {
  readonly sites: readonly FrontDoorSite[]
  /** `host:port` Caddy dials for each upstream; a service that is off has no entry (404). */
  readonly upstreams: Partial<Record<PublicUpstream, string>>
  /** The owner's UI on the LAN (all of the engine's HTTP server, which asks for password and pairing). */
  readonly owner?: FrontDoorSite & { readonly engine: string }
  /** LAN mode's certificate install page: plain HTTP, serving only the box CA's certificate. */
  readonly caPage?: CaInstallPage
  /** Caddy's storage (certificates it obtains, locks). */
  readonly storageDir: string
  /** Concurrent connections Caddy opens to one upstream. Default 64. */
  readonly maxConnsPerUpstream?: number
  /**
   * Where Caddy takes `trusted_proxies`: on the server (Caddy ≥ 2.6.3, the production image) or
   * on each reverse_proxy handler (Caddy 2.5–2.6.2: Debian's package in the tests). Default server.
   */
  readonly trustedProxiesAt?: 'server' | 'handler'
}

export interface CaInstallPage {
  readonly name: string
  readonly address: string
  readonly port: number
  /** The CA certificate (PEM): public, and the only thing this page serves. */
  readonly caCertPem: string
  /** SHA-256 fingerprint, shown so the owner can compare it with the one in the app. */
  readonly fingerprint: string
  /** `<name>.local` and the front door's HTTPS URL, for the page's words. */
  readonly host: string
  readonly httpsUrl: string
}

type Json = Record<string, unknown>

/**
 * The front door's Go runtime settings, for its container (src/core/stack/caddy.ts) and for
 * bench:frontdoor's caddy:
 *   - GOMAXPROCS=1, one scheduler thread: the door shares a small machine with bitcoind, LND, the
 *     engine and the services behind it, and one core proxies thousands of requests a second
 *     (bench:frontdoor prints its CPU per request). With a thread per core, Go hands requests
 *     between threads (strace on the bench's /v1/keys load: 1.4 futex calls per request, 0.3
 *     with one thread) and a flood on the public routes could take every core from the box, the
 *     owner's UI included (issue 13, item 6).
 *   - GOGC=400: the door's live heap is a few MB, so Go's default collects every few hundred
 *     requests; a heap goal four times larger (some tens of MB, under the container's 256 MiB)
 *     makes about a fifth as many collections, each one competing with the box for the CPU.
 */
export const FRONT_DOOR_RUNTIME_ENV: Readonly<Record<string, string>> = {
  GOMAXPROCS: '1',
  GOGC: '400',
}

/**
 * Which door a request to the engine came through (the engine's server reads it from loopback
 * only): 'owner-lan' asks for password and device pairing. Always set by Caddy, so a client
 * cannot send its own.
 */
export const DOOR_HEADER = 'X-Flashbox-Door'

const TLS_TAG = 'flashbox-box-ca'

function listenAddress(site: Pick<FrontDoorSite, 'address' | 'port'>): string {
  const host = site.address.includes(':') ? `[${site.address}]` : site.address
  return `${host}:${site.port}`
}

function matcher(route: PublicRoute): Json[] {
  const m = route.match
  if (m.kind === 'path') return [{ path: m.paths }]
  if (m.kind === 'regexp') return [{ path_regexp: { name: 'public', pattern: m.pattern } }]
  // Either matcher set matches (Caddy ORs the sets): a WebSocket upgrade or a NIP-11 request.
  return [
    { path: ['/'], header: { Upgrade: ['websocket', 'WebSocket'] } },
    { path: ['/'], header: { Accept: ['*application/nostr+json*'] } },
  ]
}

/** Below the 5 s keep-alive of the Node servers behind the door (see reverseProxy). */
const UPSTREAM_IDLE_TIMEOUT = '4s'

function reverseProxy(
  dial: string,
  maxConns: number,
  door: 'public' | 'owner-lan' | undefined,
  trusted: readonly string[],
): Json {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial }],
    ...(trusted.length ? { trusted_proxies: [...trusted] } : {}),
    transport: {
      protocol: 'http',
      dial_timeout: '5s',
      max_conns_per_host: maxConns,
      // Reuse upstream connections up to the cap instead of Go's default idle pool, so a busy
      // door does not open and close a TCP connection to the service per request. An idle one is
      // dropped after 4 s: the services behind the door (Node's HTTP servers) close theirs after
      // 5 s, and a connection the service closes just as Caddy reuses it fails the request — a
      // POST (a melt, a swap) is not retried, so the customer would see a 502.
      keep_alive: {
        enabled: true,
        max_idle_conns_per_host: maxConns,
        idle_timeout: UPSTREAM_IDLE_TIMEOUT,
      },
    },
    // No flush_interval: Caddy already streams, flushing every write, whatever has no declared
    // length or is text/event-stream, and WebSockets (the mint's NUT-17, the relay) are spliced
    // once upgraded. For an answer of declared length, -1 would only cost a timer, a goroutine and
    // separate writes for the headers and the body per request (bench:frontdoor).
    // The engine's server answers only to the host names it knows: it is reached as loopback and
    // reads the public host from X-Forwarded-Host, and the door from DOOR_HEADER.
    ...(door
      ? {
          headers: {
            request: {
              set: {
                Host: ['{http.reverse_proxy.upstream.hostport}'],
                'X-Forwarded-Host': ['{http.request.hostport}'],
                [DOOR_HEADER]: [door],
              },
            },
          },
        }
      : {}),
  }
}

const notFound: Json = {
  handle: [
    {
      handler: 'static_response',
      status_code: 404,
      headers: { 'Content-Type': ['application/json'] },
      body: '{"code":"frontdoor.not_public","message":"There is nothing public at this address."}',
      close: false,
    },
  ],
}

function server(site: FrontDoorSite, routes: Json[], trustedOnServer: boolean): Json {
  return {
    listen: [listenAddress(site)],
    read_header_timeout: '10s',
    idle_timeout: '2m',
    max_header_bytes: 16 * 1024,
    ...(site.tls.kind === 'files'
      ? { tls_connection_policies: [{ certificate_selection: { any_tag: [TLS_TAG] } }] }
      : {}),
    ...(site.tls.kind === 'acme' ? {} : { automatic_https: { disable: true } }),
    ...(trustedOnServer && site.trustedProxies?.length
      ? { trusted_proxies: { source: 'static', ranges: [...site.trustedProxies] } }
      : {}),
    routes:
      site.tls.kind === 'acme'
        ? [{ match: [{ host: [site.tls.host] }], handle: [{ handler: 'subroute', routes }] }]
        : routes,
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The CA certificate install page: `/` explains, `/flashbox-ca.crt` is the certificate. */
function caPageServer(page: CaInstallPage): Json {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Install the ${escapeHtml(page.host)} certificate</title></head><body style="font-family:system-ui,sans-serif;max-width:36em;margin:2em auto;padding:0 1em;line-height:1.5">
<h1>Trust ${escapeHtml(page.host)} on this device</h1>
<p>Flash Box serves the shop over HTTPS with a certificate from its own authority. Install that authority once and this device will open <b>${escapeHtml(page.httpsUrl)}</b> without warnings.</p>
<p><a href="/flashbox-ca.crt" style="font-size:1.2em">Download the certificate</a></p>
<p>Before trusting it, check that its SHA-256 fingerprint is the one shown in Flash Box under Settings → Reachability:</p>
<p><code style="word-break:break-all">${escapeHtml(page.fingerprint)}</code></p>
<ul><li>iPhone, iPad: open the download; then, in the phone’s own Settings app, install it under General, VPN &amp; Device Management, and turn it on under General, About, Certificate Trust Settings.</li>
<li>Android: in the phone’s own Settings app, open Security, Encryption &amp; credentials, Install a certificate, CA certificate.</li>
<li>Windows, macOS: open the file and add it to the trusted root authorities (keychain: “Always Trust”).</li></ul>
<p>This page is plain HTTP on purpose: the device cannot check HTTPS before the certificate is installed. It serves nothing but this certificate.</p>
</body></html>
`
  const respond = (type: string, body: string, extra: Record<string, string[]> = {}): Json[] => [
    {
      handler: 'static_response',
      status_code: 200,
      headers: { 'Content-Type': [type], 'Cache-Control': ['no-store'], ...extra },
      body,
    },
  ]
  return {
    listen: [listenAddress(page)],
    read_header_timeout: '10s',
    idle_timeout: '30s',
    max_header_bytes: 8 * 1024,
    automatic_https: { disable: true },
    routes: [
      {
        match: [{ path: ['/flashbox-ca.crt'], method: ['GET', 'HEAD'] }],
        handle: respond('application/x-x509-ca-cert', page.caCertPem, {
          'Content-Disposition': ['attachment; filename="flashbox-ca.crt"'],
        }),
        terminal: true,
      },
      {
        match: [{ path: ['/'], method: ['GET', 'HEAD'] }],
        handle: respond('text/html; charset=utf-8', html),
        terminal: true,
      },
      notFound,
    ],
  }
}

/** Caddy's JSON config for the front door (and the owner's LAN door, when given). */
export function frontDoorConfig(input: FrontDoorConfigInput): Json {
  const maxConns = input.maxConnsPerUpstream ?? 64
  const onServer = (input.trustedProxiesAt ?? 'server') === 'server'
  const routesFor = (site: FrontDoorSite): Json[] => {
    const trusted = onServer ? [] : (site.trustedProxies ?? [])
    const routes: Json[] = []
    for (const route of publicRoutes) {
      const dial = input.upstreams[route.upstream]
      if (!dial) continue
      routes.push({
        match: matcher(route),
        handle: [
          ...(route.maxBodyBytes > 0
            ? [{ handler: 'request_body', max_size: route.maxBodyBytes }]
            : []),
          reverseProxy(dial, maxConns, route.upstream === 'engine' ? 'public' : undefined, trusted),
        ],
        terminal: true,
      })
    }
    routes.push(notFound)
    return routes
  }

  const servers: Record<string, Json> = {}
  for (const site of input.sites) servers[site.name] = server(site, routesFor(site), onServer)
  if (input.owner) {
    const trusted = onServer ? [] : (input.owner.trustedProxies ?? [])
    servers[input.owner.name] = server(
      input.owner,
      [
        {
          handle: [
            { handler: 'request_body', max_size: 1024 * 1024 },
            reverseProxy(input.owner.engine, 32, 'owner-lan', trusted),
          ],
        },
      ],
      onServer,
    )
  }

  if (input.caPage) servers[input.caPage.name] = caPageServer(input.caPage)

  const files = [...input.sites, ...(input.owner ? [input.owner] : [])].flatMap((s) =>
    s.tls.kind === 'files' ? [s.tls] : [],
  )
  const uniqueFiles = [...new Map(files.map((f) => [f.certFile + '\0' + f.keyFile, f])).values()]
  return {
    admin: { disabled: true },
    logging: { logs: { default: { level: 'WARN' } } },
    storage: { module: 'file_system', root: input.storageDir },
    apps: {
      http: { servers },
      ...(uniqueFiles.length
        ? {
            tls: {
              certificates: {
                load_files: uniqueFiles.map((f) => ({
                  certificate: f.certFile,
                  key: f.keyFile,
                  tags: [TLS_TAG],
                })),
              },
            },
          }
        : {}),
    },
  }
}
