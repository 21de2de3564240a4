import { describe, expect, it } from 'vitest'
import { clientAddress, normalizeAddress, trustedProxySet } from './client-address'

describe('client address behind the front door', () => {
  const proxies = trustedProxySet(['172.18.0.1', '::1', 'not-an-ip'])

  it('believes X-Forwarded-For only from a trusted proxy', () => {
    expect([...proxies]).toEqual(['172.18.0.1', '::1'])
    expect(clientAddress('::ffff:172.18.0.1', '203.0.113.7', proxies)).toBe('203.0.113.7')
    expect(clientAddress('198.51.100.9', '203.0.113.7', proxies)).toBe('198.51.100.9')
    expect(clientAddress('172.18.0.1', undefined, proxies)).toBe('172.18.0.1')
    expect(clientAddress(undefined, '203.0.113.7', proxies)).toBe('unknown')
  })

  it('takes the right-most hop that is not a proxy, and does not guess from garbage', () => {
    // The client claimed 10.0.0.1; the proxy appended what it saw.
    expect(clientAddress('172.18.0.1', '10.0.0.1, 203.0.113.7', proxies)).toBe('203.0.113.7')
    expect(clientAddress('172.18.0.1', ['203.0.113.7', '::1'], proxies)).toBe('203.0.113.7')
    expect(clientAddress('172.18.0.1', '203.0.113.7, nonsense', proxies)).toBe('172.18.0.1')
    expect(clientAddress('172.18.0.1', '172.18.0.1', proxies)).toBe('172.18.0.1')
    expect(normalizeAddress(' ::FFFF:1.2.3.4 ')).toBe('1.2.3.4')
  })

  it('skips every trusted proxy in a chain of them, as the engine reads FLASHBOX_TRUSTED_PROXIES', () => {
    const chain = trustedProxySet('127.0.0.1, 10.0.0.2 ,not-an-ip'.split(','))
    expect([...chain]).toEqual(['127.0.0.1', '10.0.0.2'])
    expect(clientAddress('127.0.0.1', '1.1.1.1, 198.51.100.1, 10.0.0.2', chain)).toBe(
      '198.51.100.1',
    )
    expect(clientAddress('127.0.0.1', ['1.1.1.1', '198.51.100.7'], chain)).toBe('198.51.100.7')
    expect(clientAddress('127.0.0.1', '10.0.0.2', chain)).toBe('127.0.0.1')
    expect(trustedProxySet(''.split(',')).size).toBe(0)
  })
})
