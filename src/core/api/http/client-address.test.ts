import { describe, expect, it } from 'vitest'
import { clientAddress, parseTrustedProxies } from './client-address'

const proxies = new Set(parseTrustedProxies('127.0.0.1, 10.0.0.2 ,not-an-ip'))

describe('clientAddress', () => {
  it('is the socket peer when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientAddress('203.0.113.9', '198.51.100.1', proxies)).toBe('203.0.113.9')
    expect(clientAddress('::ffff:203.0.113.9', undefined, proxies)).toBe('203.0.113.9')
    expect(clientAddress('127.0.0.1', '198.51.100.1', new Set())).toBe('127.0.0.1')
  })

  it('behind a trusted proxy, is the rightmost address that is not a trusted proxy', () => {
    expect(clientAddress('::ffff:127.0.0.1', '198.51.100.1', proxies)).toBe('198.51.100.1')
    // The client may put anything on the left; the proxies append the real hops on the right.
    expect(clientAddress('127.0.0.1', '1.1.1.1, 198.51.100.1, 10.0.0.2', proxies)).toBe(
      '198.51.100.1',
    )
    expect(clientAddress('127.0.0.1', ['1.1.1.1', '198.51.100.7'], proxies)).toBe('198.51.100.7')
  })

  it('falls back to the proxy itself when the chain is empty, all proxies, or not addresses', () => {
    expect(clientAddress('127.0.0.1', '10.0.0.2', proxies)).toBe('127.0.0.1')
    expect(clientAddress('127.0.0.1', 'evil, 198.51.100.1, <script>', proxies)).toBe('127.0.0.1')
    expect(parseTrustedProxies('127.0.0.1, 10.0.0.2 ,not-an-ip')).toEqual(['127.0.0.1', '10.0.0.2'])
  })
})
