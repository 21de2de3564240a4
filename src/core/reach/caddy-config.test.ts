import { describe, expect, it } from 'vitest'
import { frontDoorConfig } from './caddy-config'
import { publicRoutes } from './public-routes'

const upstreams = {
  mint: '127.0.0.1:3338',
  relay: '127.0.0.1:7777',
  engine: '127.0.0.1:8347',
  btcpay: '127.0.0.1:23000',
}

type Server = {
  listen: string[]
  routes: Array<Record<string, unknown>>
  trusted_proxies?: unknown
}
const servers = (c: Record<string, unknown>) =>
  (c.apps as { http: { servers: Record<string, Server> } }).http.servers

describe('front door config', () => {
  const config = frontDoorConfig({
    sites: [{ name: 'loopback', address: '127.0.0.1', port: 8480, tls: { kind: 'none' } }],
    upstreams,
    storageDir: '/data/storage',
  })
  const text = JSON.stringify(config)

  it('forwards only the public routes, ending in a 404', () => {
    const routes = servers(config).loopback!.routes
    expect(routes).toHaveLength(publicRoutes.length + 1)
    expect(JSON.stringify(routes.at(-1))).toContain('frontdoor.not_public')
    // Never the owner's API, LND or bitcoind.
    expect(text).not.toMatch(/\/api\b|10009|8080|18443|8332|:9735/)
    expect(config.admin).toEqual({ disabled: true })
  })

  it('never forwards /internal/* (the box↔mint settlement routes)', () => {
    // Caddy path matchers: `*` matches any run of characters; path_regexp as written.
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    const matches = (m: Record<string, unknown>, path: string): boolean => {
      if (Array.isArray(m.path))
        return (m.path as string[]).some((glob) =>
          new RegExp(`^${glob.split('*').map(escape).join('.*')}$`).test(path),
        )
      const re = m.path_regexp as { pattern: string } | undefined
      return re ? new RegExp(re.pattern).test(path) : false
    }
    const routes = servers(config).loopback!.routes
    const forwarding = routes.filter((r) => !JSON.stringify(r).includes('frontdoor.not_public'))
    expect(forwarding.length).toBeGreaterThan(0)
    for (const path of [
      '/internal/v1/mint-quote/abc/settle',
      '/internal/settlement/v1/pay',
      '/internal/settlement/v1/status',
    ]) {
      const hit = forwarding.filter((r) =>
        ((r.match as Record<string, unknown>[] | undefined) ?? []).some((m) => matches(m, path)),
      )
      expect(hit, path).toEqual([])
    }
    // The check itself can see a match: the mint's public API is forwarded.
    expect(
      forwarding.some((r) =>
        ((r.match as Record<string, unknown>[] | undefined) ?? []).some((m) =>
          matches(m, '/v1/melt/bolt11'),
        ),
      ),
    ).toBe(true)
  })

  it('skips services that are off', () => {
    const c = frontDoorConfig({
      sites: [{ name: 'loopback', address: '127.0.0.1', port: 8480, tls: { kind: 'none' } }],
      upstreams: { relay: upstreams.relay },
      storageDir: '/s',
    })
    expect(servers(c).loopback!.routes).toHaveLength(2)
  })

  it('trusts forwarded addresses only from the named proxies', () => {
    expect(text).not.toContain('trusted_proxies')
    const c = frontDoorConfig({
      sites: [
        {
          name: 'public',
          address: '',
          port: 8480,
          tls: { kind: 'none' },
          trustedProxies: ['192.168.1.2/32'],
        },
      ],
      upstreams,
      storageDir: '/s',
    })
    expect(servers(c).public!.trusted_proxies).toEqual({
      source: 'static',
      ranges: ['192.168.1.2/32'],
    })
  })

  it('serves the box CA’s certificate on a LAN site and ACME for a public host', () => {
    const c = frontDoorConfig({
      sites: [
        {
          name: 'lan',
          address: '192.168.1.20',
          port: 443,
          tls: { kind: 'files', certFile: '/data/tls/cert.pem', keyFile: '/data/tls/key.pem' },
        },
        { name: 'public', address: '', port: 443, tls: { kind: 'acme', host: 'shop.example.com' } },
      ],
      upstreams,
      storageDir: '/s',
    })
    const s = servers(c)
    expect(s.lan!.listen).toEqual(['192.168.1.20:443'])
    expect(JSON.stringify(c)).toContain('/data/tls/cert.pem')
    expect(JSON.stringify(s.public!.routes)).toContain('shop.example.com')
  })
})
