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

  it('none without a public address (LAN mode is not served yet, so not published)', () => {
    const lan = ReachSettingsSchema.parse({ lan: { interface: 'eth0', name: 'shop', port: 8443 } })
    expect(publishedUrlsFor(lan)).toBeUndefined()
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
