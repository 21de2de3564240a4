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

type Json = Record<string, unknown>

const TLS_TAG = 'flashbox-box-ca'

function listenAddress(site: FrontDoorSite): string {
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

function reverseProxy(
  dial: string,
  maxConns: number,
  rewriteHost: boolean,
  trusted: readonly string[],
): Json {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial }],
    ...(trusted.length ? { trusted_proxies: [...trusted] } : {}),
    transport: { protocol: 'http', dial_timeout: '5s', max_conns_per_host: maxConns },
    // The engine's server answers only to the host names it knows: it is reached as loopback and
    // reads the public host from X-Forwarded-Host.
    ...(rewriteHost
      ? { headers: { request: { set: { Host: ['{http.reverse_proxy.upstream.hostport}'] } } } }
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
          reverseProxy(dial, maxConns, route.upstream === 'engine', trusted),
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
            reverseProxy(input.owner.engine, 32, true, trusted),
          ],
        },
      ],
      onServer,
    )
  }

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
