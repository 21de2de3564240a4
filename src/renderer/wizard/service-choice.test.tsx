import { describe, expect, it } from 'vitest'
import type { ServiceInfo } from '../../shared/api/stack'
import { defaultSettings } from '../../shared/settings'
import { toggleService } from './service-choice'

const info = (id: string, requires: string[], extra: Partial<ServiceInfo> = {}): ServiceInfo => ({
  id,
  displayName: id,
  description: '',
  optional: id !== 'bitcoind',
  requires,
  image: id,
  ...extra,
})
// As src/core/stack/service-info.ts states it.
const catalog = [
  info('bitcoind', []),
  info('electrs', ['bitcoind']),
  info('lnd', ['bitcoind']),
  info('relay', []),
  info('mint', ['lnd'], { notRequiredOnRegtest: ['lnd'] }),
]

describe('service ticks', () => {
  it('on regtest, unticking LND keeps the mint (it runs on its fake Lightning backend)', () => {
    const s = defaultSettings('/srv/fb')
    expect(s.network).toBe('regtest')
    const off = toggleService(s, catalog, 'lnd', false)
    expect(off.services).toMatchObject({ lnd: false, mint: true })
    // …and ticking the mint does not tick LND back on.
    const mintOnly = toggleService(
      toggleService(off, catalog, 'mint', false),
      catalog,
      'mint',
      true,
    )
    expect(mintOnly.services).toMatchObject({ lnd: false, mint: true })
  })

  it('off regtest the mint needs LND: unticking LND unticks the mint, ticking the mint ticks LND', () => {
    const s = { ...defaultSettings('/srv/fb'), network: 'signet' as const }
    expect(toggleService(s, catalog, 'lnd', false).services).toMatchObject({
      lnd: false,
      mint: false,
    })
    const none = { ...s, services: { ...s.services, lnd: false, mint: false } }
    expect(toggleService(none, catalog, 'mint', true).services).toMatchObject({
      lnd: true,
      mint: true,
    })
  })
})
