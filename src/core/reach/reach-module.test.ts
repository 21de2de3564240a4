// The reach module over a real engine folder: saving Settings.reach, the published URLs and the
// pairing codes that follow from it, onion addresses read from the box's keys, and plain errors.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultSettings } from '../../shared/settings'
import { saveSettingsFile } from '../engine/stack-module'
import { EventBus } from '../events'
import { silentLogger } from '../log'
import { loadOrCreateOnionKeys } from './onion-store'
import { publicBaseUrl, publishedUrls } from './public-address'
import { createReachModule } from './reach-module'
import type { FlashError } from '../errors'

const CTX = { transport: 'internal' } as const
let dir = ''
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reach-module-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const module = () =>
  createReachModule({ dataDir: dir, log: silentLogger, events: new EventBus(), modules: new Map() })

describe('reach module', () => {
  it('refuses to save before setup', async () => {
    await expect(
      module().handlers.save({ frontDoorPort: 8480, enginePort: 8347 }, CTX),
    ).rejects.toMatchObject({
      code: 'reach.no_setup',
    })
  })

  it('saves a public address; every published URL and the pairing codes follow it', async () => {
    saveSettingsFile(dir, defaultSettings(join(dir, 'stack')))
    const m = module()
    const before = await m.handlers.status({}, CTX)
    expect(before.published).toBeUndefined()
    expect(before.pairing.find((p) => p.id === 'mint')?.unavailable).toBeTruthy()

    const after = await m.handlers.save(
      {
        frontDoorPort: 8480,
        enginePort: 8347,
        publicAddress: {
          baseUrl: 'https://shop.example.com',
          tlsBeforeBox: true,
          proxyAddresses: [],
        },
      },
      CTX,
    )
    expect(publicBaseUrl(dir)).toBe('https://shop.example.com')
    expect(publishedUrls(dir).relay).toBe('wss://shop.example.com')
    const mint = after.pairing.find((p) => p.id === 'mint')!
    expect(mint).toMatchObject({ text: 'https://shop.example.com', sameWifi: false })
    expect(mint.qr).toMatch(/^data:image\/svg\+xml;base64,/)
    expect(after.pairing.find((p) => p.id === 'relay')?.text).toBe('wss://shop.example.com')
    // Nothing to check against yet: neither the mint nor the relay runs here.
    const check = await m.handlers.checkAddress({}, CTX)
    expect(check.ok ? '' : check.problem.code).toBe('reach.nothing_to_check')
  })

  it('shows the onion addresses made for Tor, and says plainly when an interface is gone', async () => {
    const stack = join(dir, 'stack')
    saveSettingsFile(dir, {
      ...defaultSettings(stack),
      reach: { frontDoorPort: 8480, enginePort: 8347, tor: { lndP2p: false, lndRest: false } },
    })
    const keys = loadOrCreateOnionKeys(stack, ['mint', 'relay', 'frontdoor'])
    const m = module()
    const s = await m.handlers.status({}, CTX)
    expect(s.onions.find((o) => o.name === 'mint')?.hostname).toBe(keys.mint.hostname)
    const mint = s.pairing.find((p) => p.id === 'mint')!
    expect(mint.text).toBe(`http://${keys.mint.hostname}`)
    expect(mint.path).toMatch(/^Tor/)
    await expect(
      m.handlers.save(
        {
          frontDoorPort: 8480,
          enginePort: 8347,
          lan: { interface: 'no-such-if0', name: 'shop', port: 443, ownerPort: 8443, caPort: 8090 },
        },
        CTX,
      ),
    ).rejects.toMatchObject({ code: 'reach.interface_gone' })
  })

  it('says plainly which two LAN ports are the same, before looking at the interface', async () => {
    saveSettingsFile(dir, defaultSettings(join(dir, 'stack')))
    const m = module()
    const lan = {
      interface: 'no-such-if0',
      name: 'shop',
      port: 8443,
      ownerPort: 8443,
      caPort: 8090,
    }
    const err = await m.handlers.save({ frontDoorPort: 8480, enginePort: 8347, lan }, CTX).then(
      () => undefined,
      (e: unknown) => e as FlashError,
    )
    expect(err?.code).toBe('reach.lan_ports_clash')
    expect(err?.message).toBe(
      'The shop port and the owner’s pages port are both 8443, but the shop page, the owner’s pages and the certificate page each need a port of their own.',
    )
    expect(err?.hint).toBe('Choose three different ports under Settings → Reachability.')
    await expect(
      m.handlers.save(
        { frontDoorPort: 8480, enginePort: 8347, lan: { ...lan, port: 443, caPort: 8443 } },
        CTX,
      ),
    ).rejects.toMatchObject({
      code: 'reach.lan_ports_clash',
      message: expect.stringMatching(
        /^The owner’s pages port and the certificate page port are both 8443,/,
      ),
    })
    // Nothing was saved.
    expect((await m.handlers.status({}, CTX)).settings?.lan).toBeUndefined()
  })

  it('says plainly when nothing answers where the owner’s pages on the LAN lead', async () => {
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/api/health' ? 200 : 404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: req.url === '/api/health' }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    try {
      const lan = {
        interface: 'no-such-if0',
        name: 'shop',
        port: 443,
        ownerPort: 8443,
        caPort: 8090,
      }
      saveSettingsFile(dir, {
        ...defaultSettings(join(dir, 'stack')),
        reach: { frontDoorPort: 8480, enginePort: port, lan },
      })
      const m = module()
      expect((await m.handlers.status({}, CTX)).lan?.ownerDoorProblem).toBeUndefined()
      await new Promise<void>((r) => server.close(() => r()))
      const p = (await m.handlers.status({}, CTX)).lan?.ownerDoorProblem
      expect(p?.code).toBe('reach.owner_pages_not_served')
      expect(p?.message).toBe(
        `The owner’s pages on the shop’s network lead to port ${port} on this computer, but Flash Box does not answer there, so your devices cannot open them.`,
      )
    } finally {
      server.close()
    }
  })
})
