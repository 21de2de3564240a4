import { describe, expect, it } from 'vitest'
import { defaultGateway, resolveTrustedProxies } from './trusted-proxies'

// /proc/net/route of a container on a Docker bridge network (gateway 172.18.0.1).
const routes = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	010012AC	0003	0	0	0	00000000	0	0	0
eth0	000012AC	00000000	0001	0	0	0	0000FFFF	0	0	0
`

describe('trusted proxies', () => {
  it('reads the default gateway from the routing table', () => {
    expect(defaultGateway(routes)).toBe('172.18.0.1')
    expect(
      defaultGateway(
        routes
          .split('\n')
          .filter((l) => !l.includes('010012AC'))
          .join('\n'),
      ),
    ).toBe(undefined)
  })

  it('resolves `gateway` and plain addresses; refuses anything else', () => {
    expect(resolveTrustedProxies('gateway, 127.0.0.1', () => routes)).toEqual([
      '172.18.0.1',
      '127.0.0.1',
    ])
    expect(resolveTrustedProxies(undefined)).toEqual([])
    expect(() => resolveTrustedProxies('caddy')).toThrow(/not an IP address/)
    expect(() => resolveTrustedProxies('gateway', () => 'Iface\tDestination\n')).toThrow(
      /no default route/,
    )
  })
})
