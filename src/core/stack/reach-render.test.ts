// The front door and Tor in the rendered stack: only when the owner chose a way in; on the host
// network; Caddy's config carries only the public routes; Tor's keys are written where it reads
// them (0700/0600), the same on every render.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultSettings, type Settings } from '../../shared/settings'
import { ensureLanCertificate, lanCertificateFiles } from '../reach/box-ca'
import { BoxKey } from '../secrets/box-key'
import { stackCatalog } from './catalog'

let dir = ''
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'reach-render-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const machine = { memoryBytes: 8 * 2 ** 30, cpus: 4 }
const withReach = (reach: Settings['reach']): Settings => ({
  ...defaultSettings(dir),
  services: { electrs: false, lnd: true, relay: true, mint: true, btcpay: true },
  ...(reach ? { reach } : {}),
})

describe('front door and Tor in the stack', () => {
  it('are not rendered until the owner chooses a way in', async () => {
    const plan = await stackCatalog({ machine }).render(withReach(undefined))
    expect(plan.services.map((s) => s.id)).not.toContain('caddy')
    expect(plan.services.map((s) => s.id)).not.toContain('tor')
  })

  it('renders Caddy with the public routes only, and BTCPay under /btcpay with its external URL', async () => {
    const plan = await stackCatalog({ machine }).render(
      withReach({
        frontDoorPort: 8480,
        enginePort: 8347,
        publicAddress: {
          baseUrl: 'https://shop.example.com',
          tlsBeforeBox: true,
          proxyAddresses: ['192.168.1.2'],
        },
      }),
    )
    const caddy = plan.services.find((s) => s.id === 'caddy')!
    expect(caddy.networkMode).toBe('host')
    // One Go scheduler thread (the door cannot take every core from the box), fewer collections.
    expect(caddy.env).toMatchObject({ GOMAXPROCS: '1', GOGC: '400' })
    expect(caddy.image.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    const config = caddy.files[0]!.contents
    expect(config).toContain('127.0.0.1:3338')
    expect(config).toContain('127.0.0.1:7777')
    expect(config).toContain('192.168.1.2')
    expect(config).not.toMatch(/10009|:8080"|18443|8332/)
    // Caddy lets an idle upstream connection go before the Node servers behind it close theirs
    // (Node's default keep-alive, which the relay, the mint and the engine's server keep), so it
    // never sends a request down a connection the service is closing.
    const nodeKeepAliveMs = createServer().keepAliveTimeout
    const idle: number[] = []
    JSON.parse(config, (k, v: unknown) => {
      if (k === 'keep_alive')
        idle.push(Number(/^(\d+)s$/.exec((v as { idle_timeout: string }).idle_timeout)?.[1]) * 1000)
      return v
    })
    expect(idle.length).toBeGreaterThan(0)
    for (const ms of idle) expect(ms).toBeLessThan(nodeKeepAliveMs)
    const btcpay = plan.services.find((s) => s.id === 'btcpay')!
    expect(btcpay.env.BTCPAY_ROOTPATH).toBe('/btcpay')
    expect(btcpay.env.BTCPAY_EXTERNALURL).toBe('https://shop.example.com/btcpay')
  })

  it('renders Tor and writes the box’s onion keys, the same on every render', async () => {
    const settings = withReach({
      frontDoorPort: 8480,
      enginePort: 8347,
      tor: { lndP2p: true, lndRest: false },
    })
    const plan = await stackCatalog({ machine }).render(settings)
    const tor = plan.services.find((s) => s.id === 'tor')!
    expect(tor.networkMode).toBe('host')
    const torrc = tor.files[0]!.contents
    for (const name of ['mint', 'relay', 'frontdoor', 'lnd-p2p'])
      expect(torrc).toContain(`HiddenServiceDir /data/hs/${name}`)
    expect(torrc).not.toContain('lnd-rest')
    const key = join(dir, 'tor', 'hs', 'mint', 'hs_ed25519_secret_key')
    expect(statSync(key).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'tor', 'hs', 'mint')).mode & 0o777).toBe(0o700)
    // tor's data folder holds its control socket: private before tor starts (tor checks it).
    expect(statSync(join(dir, 'tor', 'state')).mode & 0o777).toBe(0o700)
    expect(torrc).toContain('ControlPort unix:/data/state/control')
    const first = readFileSync(join(dir, 'tor', 'hs', 'mint', 'hostname'), 'utf8')
    await stackCatalog({ machine }).render(settings)
    expect(readFileSync(join(dir, 'tor', 'hs', 'mint', 'hostname'), 'utf8')).toBe(first)
  })

  it('LAN mode: Caddy on the picked address with the box CA’s certificate, the owner’s door and the CA page', async () => {
    const engineDir = mkdtempSync(join(tmpdir(), 'reach-render-engine-'))
    try {
      const box = new BoxKey(engineDir)
      await box.enterPassword('correct horse battery')
      const settings = withReach({
        frontDoorPort: 8480,
        enginePort: 8347,
        lan: { interface: 'eth7', name: 'shop', port: 443, ownerPort: 8443, caPort: 8090 },
      })
      const lanAddressOf = (iface: string) => {
        if (iface !== 'eth7') throw new Error('unexpected interface')
        return '192.0.2.10'
      }
      // Without the certificate (the box key was locked): a plain error, nothing half-started.
      await expect(stackCatalog({ machine, lanAddressOf }).render(settings)).rejects.toMatchObject({
        code: 'reach.lan_not_ready',
      })
      // A gone interface is named.
      await expect(
        stackCatalog({ machine }).render({
          ...settings,
          reach: { ...settings.reach!, lan: { ...settings.reach!.lan!, interface: 'gone9' } },
        }),
      ).rejects.toMatchObject({ code: 'reach.interface_gone' })

      const plan = await stackCatalog({
        machine,
        lanAddressOf,
        lanCertificate: async (s, address) => {
          await ensureLanCertificate(box, engineDir, s.dataDir, { name: 'shop', address })
        },
      }).render(settings)
      const caddy = plan.services.find((s) => s.id === 'caddy')!
      const config = JSON.parse(caddy.files[0]!.contents) as {
        apps: { http: { servers: Record<string, { listen: string[]; routes: unknown[] }> } }
      }
      const servers = config.apps.http.servers
      expect(servers.lan!.listen).toEqual(['192.0.2.10:443'])
      expect(servers['owner-lan']!.listen).toEqual(['192.0.2.10:8443'])
      expect(servers['lan-ca']!.listen).toEqual(['192.0.2.10:8090'])
      expect(servers.loopback!.listen).toEqual(['127.0.0.1:8480'])
      // Every address Caddy binds is one the supervisor checks is free before it starts, so a
      // port another program holds is named to the owner (src/core/supervisor/ports.ts).
      expect(caddy.hostListens?.map((l) => `${l.address}:${l.port}`).sort()).toEqual(
        Object.values(servers)
          .flatMap((x) => x.listen)
          .sort(),
      )
      expect(caddy.hostListens).toContainEqual({
        address: '192.0.2.10',
        port: 443,
        purpose: 'the shop’s devices on the LAN',
      })
      const text = caddy.files[0]!.contents
      expect(text).toContain('/data/lan/cert.pem')
      expect(text).toContain('owner-lan') // the door header the engine's server checks
      expect(text).toContain(readFileSync(lanCertificateFiles(dir).caCert, 'utf8').split('\n')[1])
      expect(text).not.toMatch(/10009|18443|8332/)
      // Port 443 needs the one capability the front door may keep.
      expect(caddy.confinement!.capAdd).toEqual(['NET_BIND_SERVICE'])
    } finally {
      rmSync(engineDir, { recursive: true, force: true })
    }
  })

  it('relay and mint containers believe the forwarded client from their gateway only with a front door', async () => {
    const container = (reach: Settings['reach']): Settings => ({
      ...withReach(reach),
      ownServices: 'container',
    })
    const images = {
      relay: { repository: 'flashbox/relay', tag: 't', digest: `sha256:${'1'.repeat(64)}` },
      mint: { repository: 'flashbox/mint', tag: 't', digest: `sha256:${'2'.repeat(64)}` },
    } as never
    const without = await stackCatalog({ machine, images }).render(container(undefined))
    for (const id of ['relay', 'mint']) {
      const env = without.services.find((s) => s.id === id)!.env
      expect(env.RELAY_TRUSTED_PROXIES ?? env.MINT_TRUSTED_PROXIES, id).toBeUndefined()
    }
    const behind = await stackCatalog({ machine, images }).render(
      container({ frontDoorPort: 8480, enginePort: 8347, tor: { lndP2p: false, lndRest: false } }),
    )
    expect(behind.services.find((s) => s.id === 'relay')!.env.RELAY_TRUSTED_PROXIES).toBe('gateway')
    expect(behind.services.find((s) => s.id === 'mint')!.env.MINT_TRUSTED_PROXIES).toBe('gateway')
  })
})
