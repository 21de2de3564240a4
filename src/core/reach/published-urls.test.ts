import { describe, expect, it } from 'vitest'
import { ReachSettingsSchema } from '../../shared/reach'
import { publishedUrlsFor } from './published-urls'

describe('published URLs follow the one setting', () => {
  it('from a public address', () => {
    const reach = ReachSettingsSchema.parse({
      publicAddress: { baseUrl: 'https://shop.example.com/', tlsBeforeBox: true },
    })
    expect(publishedUrlsFor(reach)).toEqual({
      base: 'https://shop.example.com',
      source: 'public',
      mint: 'https://shop.example.com',
      relay: 'wss://shop.example.com',
      nip05Domain: 'shop.example.com',
      lightningAddressDomain: 'shop.example.com',
      btcpay: 'https://shop.example.com/btcpay',
      lnurlCallbackBase: 'https://shop.example.com/lnurl',
      boltcardLnurlBase: 'https://shop.example.com/boltcard',
    })
  })

  it('from the LAN name in LAN mode; the public address wins when both are set', () => {
    const lan = ReachSettingsSchema.parse({ lan: { interface: 'eth0', name: 'shop', port: 8443 } })
    expect(publishedUrlsFor(lan)).toMatchObject({
      base: 'https://shop.local:8443',
      source: 'lan',
      mint: 'https://shop.local:8443',
      relay: 'wss://shop.local:8443',
      nip05Domain: 'shop.local:8443',
      lightningAddressDomain: 'shop.local:8443',
    })
    const on443 = ReachSettingsSchema.parse({ lan: { interface: 'eth0', name: 'shop' } })
    expect(publishedUrlsFor(on443)?.relay).toBe('wss://shop.local')
    const both = ReachSettingsSchema.parse({
      lan: { interface: 'eth0', name: 'shop' },
      publicAddress: { baseUrl: 'https://shop.example.com', tlsBeforeBox: true },
    })
    expect(publishedUrlsFor(both)?.source).toBe('public')
  })

  it('none without a public address or LAN mode', () => {
    expect(publishedUrlsFor(ReachSettingsSchema.parse({}))).toBeUndefined()
    expect(publishedUrlsFor(undefined)).toBeUndefined()
  })

  it('refuses an address with a path or a user name', () => {
    for (const baseUrl of ['https://x.example/shop', 'https://u:p@x.example', 'ftp://x.example'])
      expect(
        ReachSettingsSchema.safeParse({ publicAddress: { baseUrl, tlsBeforeBox: false } }).success,
      ).toBe(false)
  })
})
