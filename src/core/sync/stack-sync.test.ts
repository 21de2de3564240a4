import { describe, expect, it } from 'vitest'
import { defaultSettings } from '../../shared/settings'
import type { StackSecrets } from '../stack/spec'
import { productionSyncEndpoints } from './stack-sync'

const cred = (user: string) => ({ user, password: 'ab'.repeat(32), salt: 'cd'.repeat(16) })
const secrets: StackSecrets = {
  bitcoindRpc: {
    lnd: cred('lnd'),
    electrs: cred('electrs'),
    nbxplorer: cred('nbxplorer'),
    dashboard: cred('dashboard'),
  },
  lndWalletPassword: 'ef'.repeat(32),
  lndTls: {
    certPem: '-----BEGIN CERTIFICATE-----\n',
    keyPem: 'k',
    sha256Thumbprint: '00'.repeat(32),
  },
  postgres: { superuserPassword: 'a', btcpayPassword: 'b', nbxplorerPassword: 'c' },
}

describe('productionSyncEndpoints', () => {
  it('uses the dashboard RPC user and the ports published on 127.0.0.1 for the network', () => {
    const mainnet = { ...defaultSettings('/srv/flash'), network: 'mainnet' as const }
    expect(productionSyncEndpoints(mainnet, secrets)).toEqual({
      bitcoind: { url: 'http://127.0.0.1:8332', user: 'dashboard', password: 'ab'.repeat(32) },
      electrsMetricsUrl: 'http://127.0.0.1:4224/metrics',
      lnd: {
        socket: '127.0.0.1:10009',
        cert: '-----BEGIN CERTIFICATE-----\n',
        macaroonPath: '/srv/flash/lnd/macaroons/dashboard/dashboard.macaroon',
      },
    })
    const signet = { ...defaultSettings('/d'), network: 'signet' as const }
    expect(productionSyncEndpoints(signet, secrets).bitcoind?.url).toBe('http://127.0.0.1:38332')
    expect(productionSyncEndpoints(signet, secrets).electrsMetricsUrl).toBe(
      'http://127.0.0.1:34224/metrics',
    )
  })

  it('leaves out services that are switched off', () => {
    const s = defaultSettings('/d')
    const off = { ...s, services: { ...s.services, electrs: false, lnd: false } }
    const e = productionSyncEndpoints(off, secrets)
    expect(e.electrsMetricsUrl).toBeUndefined()
    expect(e.lnd).toBeUndefined()
    expect(e.bitcoind?.url).toBe('http://127.0.0.1:18443')
  })
})
