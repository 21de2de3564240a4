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
    })
    const on443 = ReachSettingsSchema.parse({ lan: { interface: 'eth0', name: 'shop' } })
    expect(publishedUrlsFor(on443)).toMatchObject({
      relay: 'wss://shop.local',
      nip05Domain: 'shop.local',
      lightningAddressDomain: 'shop.local',
    })
    expect(publishedUrlsFor(on443)?.namesProblem).toBeUndefined()
    const both = ReachSettingsSchema.parse({
      lan: { interface: 'eth0', name: 'shop' },
      publicAddress: { baseUrl: 'https://shop.example.com', tlsBeforeBox: true },
    })
    expect(publishedUrlsFor(both)?.source).toBe('public')
  })

  it('no name@domain on a port other than 443: NIP-05 and Lightning address clients ask 443 only', () => {
    const lan = publishedUrlsFor(
      ReachSettingsSchema.parse({ lan: { interface: 'eth0', name: 'shop', port: 8443 } }),
    )
    expect(lan?.nip05Domain).toBeUndefined()
    expect(lan?.lightningAddressDomain).toBeUndefined()
    expect(lan?.namesProblem?.code).toBe('reach.names_need_standard_port')
    expect(lan?.namesProblem?.message).toMatch(
      /^Nostr addresses \(NIP-05\) and the Lightning address look like name@shop\.local, .* on port 443 only, while this box is reached on port 8443\./,
    )
    expect(lan?.namesProblem?.hint).toBe(
      'To offer them on the shop’s Wi-Fi, set the shop port to 443 under Settings → Reachability.',
    )
    const publicOnPort = publishedUrlsFor(
      ReachSettingsSchema.parse({
        publicAddress: { baseUrl: 'https://shop.example.com:8443', tlsBeforeBox: true },
      }),
    )
    expect(publicOnPort).toMatchObject({ mint: 'https://shop.example.com:8443' })
    expect(publicOnPort?.nip05Domain).toBeUndefined()
    expect(publicOnPort?.namesProblem?.hint).toContain('(without “:8443”)')
    // An explicit :443 is the standard port: names are offered.
    const explicit443 = publishedUrlsFor(
      ReachSettingsSchema.parse({
        publicAddress: { baseUrl: 'https://shop.example.com:443', tlsBeforeBox: true },
      }),
    )
    expect(explicit443?.nip05Domain).toBe('shop.example.com')
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
