import { describe, expect, it } from 'vitest'
import lndPerms from './fixtures/lnd-permissions.json'
import {
  macaroonConsumers,
  macaroonDir,
  macaroonFor,
  macaroonPath,
  serviceMacaroonConsumers,
} from './macaroons'

const rpcPermissions = lndPerms.rpcPermissions as Record<string, string[]>
const known = new Set([...lndPerms.readPermissions, ...lndPerms.writePermissions])

describe('macaroonFor', () => {
  it.each(['btcpay', 'mint', 'app'] as const)(
    'gives %s exactly the permissions its RPCs need, per lnd’s permission table',
    (consumer) => {
      const g = macaroonFor(consumer)
      const needed = new Set<string>()
      for (const rpc of g.rpcs) {
        expect(rpcPermissions, rpc).toHaveProperty([rpc])
        for (const p of rpcPermissions[rpc]!) needed.add(p)
      }
      expect([...g.permissions].sort()).toEqual([...needed].sort())
    },
  )

  it('gives the dashboard LND’s readonly set, which covers its RPCs', () => {
    const g = macaroonFor('dashboard')
    expect([...g.permissions].sort()).toEqual([...lndPerms.readPermissions].sort())
    for (const rpc of g.rpcs) {
      for (const p of rpcPermissions[rpc]!) expect(g.permissions).toContain(p)
    }
  })

  it('never grants the services on-chain spending, peers, signing or macaroon baking', () => {
    for (const c of serviceMacaroonConsumers) {
      const g = macaroonFor(c)
      for (const p of g.permissions) expect(known, p).toContain(p)
      for (const p of [
        'onchain:write',
        'peers:write',
        'signer:generate',
        'macaroon:generate',
        'macaroon:write',
        'address:write',
        'info:write',
      ]) {
        expect(g.permissions).not.toContain(p)
      }
    }
    expect(macaroonFor('btcpay').permissions).not.toContain('offchain:write')
    expect(macaroonFor('mint').permissions).toContain('offchain:write')
  })

  it('gives the app’s own actions no signing, no macaroon baking and no daemon control', () => {
    const g = macaroonFor('app')
    for (const p of g.permissions) expect(known, p).toContain(p)
    for (const p of [
      'signer:generate',
      'signer:read',
      'macaroon:generate',
      'macaroon:write',
      'message:write',
      'info:write',
    ]) {
      expect(g.permissions).not.toContain(p)
    }
    expect(macaroonConsumers).toEqual(['btcpay', 'mint', 'dashboard', 'app'])
  })

  it('keeps each consumer’s macaroon in its own folder under the LND data folder', () => {
    expect(macaroonDir('/srv/fb', 'btcpay')).toBe('/srv/fb/lnd/macaroons/btcpay')
    expect(macaroonPath('/srv/fb', 'mint')).toBe('/srv/fb/lnd/macaroons/mint/mint.macaroon')
  })
})
