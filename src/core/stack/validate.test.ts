import { describe, expect, it } from 'vitest'
import { defaultSettings, type Settings } from '../../shared/settings'
import { estimateDiskBytes } from './disk-estimates'
import { checkSettings, minimumMemoryBytes, type SettingsEnv } from './validate'

const GB = 1_000_000_000
const roomy: SettingsEnv = { freeBytes: 4000 * GB, writable: true, memoryBytes: 16 * 1024 ** 3 }

function settings(over: Partial<Settings> = {}): Settings {
  return { ...defaultSettings('/srv/flashbox'), ...over }
}
const services = (over: Partial<Settings['services']>): Settings['services'] => ({
  electrs: false,
  lnd: false,
  relay: false,
  mint: false,
  btcpay: false,
  ...over,
})
const codes = (s: Settings, env: SettingsEnv = roomy) => checkSettings(s, env).map((p) => p.code)

describe('checkSettings', () => {
  it('accepts the defaults and a full mainnet box on a roomy machine', () => {
    expect(checkSettings(settings(), roomy)).toEqual([])
    const full = settings({
      network: 'mainnet',
      txindex: true,
      services: services({ electrs: true, lnd: true, relay: true, mint: true, btcpay: true }),
    })
    expect(checkSettings(full, roomy)).toEqual([])
  })

  it('refuses electrs on a pruned node', () => {
    const p = checkSettings(
      settings({
        prune: { enabled: true, targetMiB: 5000 },
        services: services({ electrs: true }),
      }),
      roomy,
    )
    expect(p.map((x) => x.code)).toEqual(['settings.electrs_with_prune'])
    expect(p[0]!.message).toMatch(/Electrum server needs every block/)
    expect(p[0]!.hint).toMatch(/Turn pruning off/)
  })

  it('refuses txindex on a pruned node', () => {
    const p = checkSettings(
      settings({
        prune: { enabled: true, targetMiB: 5000 },
        txindex: true,
        services: services({}),
      }),
      roomy,
    )
    expect(p.map((x) => x.code)).toEqual(['settings.txindex_with_prune'])
    expect(p[0]!.hint).toMatch(/transaction index off/)
  })

  it('asks for a start height for BTCPay on a pruned node', () => {
    const pruned = settings({
      network: 'signet',
      prune: { enabled: true, targetMiB: 5000 },
      services: services({ btcpay: true }),
    })
    const p = checkSettings(pruned, roomy)
    expect(p.map((x) => x.code)).toEqual(['settings.btcpay_pruned_without_start_height'])
    expect(p[0]!.hint).toMatch(/block height/)
    expect(codes({ ...pruned, nbxplorerStartHeight: 190_000 })).toEqual([])
  })

  it('refuses BTCPay on testnet4, which NBXplorer and BTCPay do not support', () => {
    const p = checkSettings(
      settings({ network: 'testnet4', services: services({ btcpay: true }) }),
      roomy,
    )
    expect(p.map((x) => x.code)).toEqual(['settings.btcpay_network_unsupported'])
    expect(p[0]!.hint).toMatch(/signet/)
  })

  it('needs LND for the mint, except on regtest (fake Lightning backend)', () => {
    const p = checkSettings(
      settings({ network: 'mainnet', services: services({ mint: true }) }),
      roomy,
    )
    expect(p.map((x) => x.code)).toEqual(['settings.mint_needs_lnd'])
    expect(p[0]!.hint).toMatch(/Turn Lightning \(LND\) on/)
    expect(codes(settings({ network: 'regtest', services: services({ mint: true }) }))).toEqual([])
    expect(
      codes(settings({ network: 'mainnet', services: services({ mint: true, lnd: true }) })),
    ).toEqual([])
  })

  it('refuses a relative data folder', () => {
    const p = checkSettings(settings({ dataDir: 'flashbox-data' }), roomy)
    expect(p.map((x) => x.code)).toEqual(['settings.data_dir_not_absolute'])
  })

  it('refuses a data folder it cannot write to', () => {
    const p = checkSettings(settings(), { ...roomy, writable: false })
    expect(p.map((x) => x.code)).toEqual(['settings.data_dir_not_writable'])
    expect(p[0]!.message).toContain('/srv/flashbox')
  })

  it('says how much disk is needed and free, and suggests pruning', () => {
    const s = settings({ network: 'mainnet', services: services({ lnd: true }) })
    const needed = estimateDiskBytes(s)
    const p = checkSettings(s, { ...roomy, freeBytes: 500 * GB })
    expect(p.map((x) => x.code)).toEqual(['settings.disk_too_small'])
    expect(p[0]!.message).toContain(`${Math.ceil(needed / GB)} GB`)
    expect(p[0]!.message).toContain('500 GB')
    expect(p[0]!.hint).toMatch(/pruning on/)
    expect(p[0]!.hint).toMatch(/bigger disk/)
    // Pruned, the same machine fits.
    const pruned = { ...s, prune: { enabled: true as const, targetMiB: 10_000 } }
    expect(codes(pruned, { ...roomy, freeBytes: 500 * GB })).toEqual([])
    expect(estimateDiskBytes(pruned)).toBeLessThan(60 * GB)
  })

  it('grows the disk estimate with what is enabled', () => {
    const base = settings({ network: 'mainnet', services: services({}) })
    const withIndex = { ...base, txindex: true }
    const withElectrs = { ...base, services: services({ electrs: true }) }
    expect(estimateDiskBytes(base)).toBeGreaterThan(800 * GB)
    expect(estimateDiskBytes(withIndex)).toBeGreaterThan(estimateDiskBytes(base))
    expect(estimateDiskBytes(withElectrs)).toBeGreaterThan(estimateDiskBytes(base))
    expect(estimateDiskBytes(settings({ network: 'regtest' }))).toBeLessThan(20 * GB)
  })

  it('fits regtest: a test chain with the usual services needs a few GB, not a mainnet-sized reserve', () => {
    const regtest = defaultSettings('/srv/fb')
    expect(regtest.network).toBe('regtest')
    expect(estimateDiskBytes(regtest)).toBeLessThan(5 * GB)
    expect(estimateDiskBytes(regtest)).toBeGreaterThan(1 * GB)
    // Pruning a chain smaller than the prune target does not make it bigger.
    const pruned = { ...regtest, services: { ...regtest.services, electrs: false } }
    expect(
      estimateDiskBytes({ ...pruned, prune: { enabled: true, targetMiB: 10_000 } }),
    ).toBeLessThanOrEqual(estimateDiskBytes(pruned))
    // The real networks keep their reserves.
    expect(estimateDiskBytes({ ...regtest, network: 'signet' })).toBeGreaterThan(50 * GB)
  })

  it('warns when the machine has too little memory for the chosen services', () => {
    const s = settings({ services: services({ lnd: true, electrs: true, btcpay: true }) })
    const p = checkSettings(s, { ...roomy, memoryBytes: 2 * 1024 ** 3 })
    expect(p.map((x) => x.code)).toEqual(['settings.memory_too_small'])
    expect(p[0]!.message).toContain(`${(minimumMemoryBytes(s) / 1024 ** 3).toFixed(1)} GB`)
  })

  it('refuses a database cache bigger than half the memory', () => {
    const p = checkSettings(settings({ dbcache: 12_000 }), roomy)
    expect(p.map((x) => x.code)).toEqual(['settings.dbcache_too_big'])
  })

  it('reports every problem at once, each with a message and a hint', () => {
    const s = settings({
      network: 'testnet4',
      dataDir: 'relative',
      prune: { enabled: true, targetMiB: 1000 },
      txindex: true,
      services: services({ electrs: true, btcpay: true, mint: true }),
    })
    const p = checkSettings(s, { freeBytes: 0, writable: false, memoryBytes: 512 * 1024 ** 2 })
    expect(p.map((x) => x.code).sort()).toEqual(
      [
        'settings.btcpay_network_unsupported',
        'settings.btcpay_pruned_without_start_height',
        'settings.data_dir_not_absolute',
        'settings.data_dir_not_writable',
        'settings.electrs_with_prune',
        'settings.memory_too_small',
        'settings.mint_needs_lnd',
        'settings.txindex_with_prune',
      ].sort(),
    )
    for (const x of p) {
      expect(x.message.length).toBeGreaterThan(20)
      expect(x.hint.length).toBeGreaterThan(20)
    }
  })
})
