// Renders the whole stack for every network and checks each rendered file and environment
// against the programs' documented options (fixtures/*.json, with their sources).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Settings } from '../../shared/settings'
import { rpcauthMatches } from '../secrets/rpcauth'
import { certThumbprint } from '../secrets/lnd-tls'
import { loadOrCreateStackSecrets } from '../secrets/stack-secrets'
import bitcoindDoc from './fixtures/bitcoind-options.json'
import btcpayDoc from './fixtures/btcpay-env.json'
import electrsDoc from './fixtures/electrs-options.json'
import lndDoc from './fixtures/lnd-options.json'
import nbxplorerDoc from './fixtures/nbxplorer-env.json'
import { catalogImages } from './images'
import { networkParams } from './networks'
import { renderStack } from './render'
import type { BitcoinNetwork, ContainerSpec, PinnedImage, StackPlan, StackSecrets } from './spec'

const networks: BitcoinNetwork[] = ['mainnet', 'testnet4', 'signet', 'regtest']
const machine = { memoryBytes: 8 * 1024 ** 3, cpus: 4 }
const built = (repository: string, fill: string): PinnedImage => ({
  repository,
  tag: 'test',
  digest: `sha256:${fill.repeat(64)}`,
  builtHere: true,
})
const builtImages = { relay: built('flashbox/relay', 'a'), mint: built('flashbox/mint', 'b') }

let dataDir: string
let secrets: StackSecrets
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'flashbox-render-'))
  secrets = await loadOrCreateStackSecrets(join(dataDir, 'box'))
})
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

function fullSettings(network: BitcoinNetwork, over: Partial<Settings> = {}): Settings {
  return {
    network,
    dataDir: join(dataDir, 'box'),
    prune: { enabled: false },
    dbcache: 'auto',
    txindex: true,
    services: {
      electrs: true,
      lnd: true,
      relay: true,
      mint: true,
      btcpay: networkParams[network].nbxplorer !== null,
    },
    ownServices: 'container',
    ...over,
  }
}

function render(settings: Settings): StackPlan {
  return renderStack(settings, machine, secrets, {
    images: builtImages,
    runAs: { uid: 1000, gid: 1000 },
  })
}

function svc(plan: StackPlan, id: string): ContainerSpec {
  const s = plan.services.find((x) => x.id === id)
  if (!s) throw new Error(`${id} not in plan`)
  return s
}

function file(spec: ContainerSpec, name: string): string {
  const f = spec.files.find((x) => x.hostPath.endsWith(`/${name}`))
  if (!f) throw new Error(`${spec.id} has no ${name}`)
  return f.contents
}

interface IniLine {
  section: string | null
  key: string
  value: string
}
function parseIni(text: string): IniLine[] {
  const out: IniLine[] = []
  let section: string | null = null
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#') || line.startsWith(';')) continue
    const sec = /^\[([^\]]+)\]$/.exec(line)
    if (sec) {
      section = sec[1]!
      continue
    }
    const kv = /^([^=\s]+)=(.*)$/.exec(line)
    if (!kv) throw new Error(`not key=value: ${line}`)
    out.push({ section, key: kv[1]!, value: kv[2]! })
  }
  return out
}

function parseToml(text: string): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const kv = /^([a-z0-9_]+) = (.*)$/.exec(line)
    if (!kv) throw new Error(`not TOML key = value: ${line}`)
    const v = kv[2]!
    out[kv[1]!] = v.startsWith('"')
      ? (JSON.parse(v) as string)
      : v === 'true'
        ? true
        : v === 'false'
          ? false
          : Number(v)
  }
  return out
}

const port = (s: string): number => {
  expect(s).toMatch(/^\d{1,5}$/)
  const n = Number(s)
  expect(n).toBeGreaterThan(0)
  expect(n).toBeLessThan(65536)
  return n
}
const hostPort = (s: string): { host: string; port: number } => {
  const m = /^([a-z0-9.]+):(\d+)$/.exec(s)
  expect(m, `host:port expected, got ${s}`).not.toBeNull()
  return { host: m![1]!, port: port(m![2]!) }
}

function passwords(s: StackSecrets): string[] {
  return [
    ...Object.values(s.bitcoindRpc).map((c) => c.password),
    s.lndWalletPassword,
    s.postgres.superuserPassword,
    s.postgres.btcpayPassword,
    s.postgres.nbxplorerPassword,
  ]
}

describe.each(networks)('renderStack on %s', (network) => {
  const net = networkParams[network]

  it('renders every enabled service in dependency order with gated starts', () => {
    const plan = render(fullSettings(network))
    const ids = plan.services.map((s) => s.id)
    const expected = ['bitcoind', 'electrs', 'lnd']
    if (net.nbxplorer) expected.push('postgres', 'nbxplorer', 'btcpay')
    expected.push('relay', 'mint')
    expect(ids).toEqual(expected)
    expect(plan.network).toBe(network)
    for (const [i, s] of plan.services.entries()) {
      for (const d of s.dependsOn) expect(ids.indexOf(d.id)).toBeGreaterThanOrEqual(0)
      for (const d of s.dependsOn) expect(ids.indexOf(d.id)).toBeLessThan(i)
    }
    for (const id of ['electrs', 'lnd', ...(net.nbxplorer ? ['nbxplorer'] : [])]) {
      expect(svc(plan, id).dependsOn).toContainEqual({ id: 'bitcoind', condition: 'healthy' })
    }
    expect(svc(plan, 'mint').dependsOn).toContainEqual({ id: 'lnd', condition: 'healthy' })
    expect(svc(plan, 'bitcoind').stopGraceSeconds).toBeGreaterThanOrEqual(600)
    expect(svc(plan, 'lnd').stopGraceSeconds).toBeGreaterThanOrEqual(300)
  })

  it('publishes ports on 127.0.0.1 only, mounts only under the data directory', () => {
    const plan = render(fullSettings(network))
    for (const s of plan.services) {
      for (const p of s.ports) {
        port(String(p.container))
        if (p.host !== undefined) port(String(p.host))
        expect(p.hostIp).toBe('127.0.0.1')
      }
      for (const m of s.mounts) {
        expect(m.kind).toBe('bind')
        if (m.kind === 'bind') expect(m.source.startsWith(plan.dataDir + '/')).toBe(true)
      }
      for (const f of s.files)
        expect(f.hostPath.startsWith(join(plan.dataDir, s.id) + '/')).toBe(true)
      expect(s.health.test[0]).toMatch(/^CMD(-SHELL)?$/)
      expect(s.user).toBe('1000:1000')
      expect(s.image.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    }
  })

  it('writes a bitcoin.conf with documented options only, in the right network section', () => {
    const conf = file(svc(render(fullSettings(network)), 'bitcoind'), 'bitcoin.conf')
    const lines = parseIni(conf)
    const documented = new Set(bitcoindDoc.options)
    for (const l of lines) expect(documented, `bitcoind -${l.key}`).toContain(l.key)
    const sections = new Set(lines.map((l) => l.section).filter((s) => s !== null))
    expect([...sections]).toEqual([net.bitcoindChain])
    expect(bitcoindDoc.chains).toContain(net.bitcoindChain)
    const top = lines.filter((l) => l.section === null)
    expect(top.find((l) => l.key === 'chain')?.value).toBe(net.bitcoindChain)
    const inSection = (k: string) =>
      lines.filter((l) => l.section === net.bitcoindChain && l.key === k)
    expect(port(inSection('rpcport')[0]!.value)).toBe(net.rpcPort)
    expect(port(inSection('port')[0]!.value)).toBe(net.p2pPort)
    for (const z of ['zmqpubrawblock', 'zmqpubrawtx']) {
      expect(inSection(z)[0]!.value).toMatch(/^tcp:\/\/0\.0\.0\.0:\d+$/)
    }
    const wb = /^([a-z,]+)@0\.0\.0\.0:(\d+)$/.exec(inSection('whitebind')[0]!.value)!
    for (const p of wb[1]!.split(',')) expect(bitcoindDoc.whitebindPermissions).toContain(p)
    expect(port(wb[2]!)).toBe(net.whitebindPort)
    // rpcauth only: no plaintext password, one user per consumer, each verifiable.
    expect(lines.some((l) => l.key === 'rpcpassword' || l.key === 'rpcuser')).toBe(false)
    for (const p of passwords(secrets)) expect(conf).not.toContain(p)
    const auth = inSection('rpcauth').map((l) => l.value)
    expect(auth).toHaveLength(4)
    for (const c of Object.values(secrets.bitcoindRpc)) {
      expect(auth.filter((a) => rpcauthMatches(a, c.user, c.password))).toHaveLength(1)
    }
    expect(top.find((l) => l.key === 'txindex')?.value).toBe('1')
    expect(top.some((l) => l.key === 'prune')).toBe(false)
    expect(Number(top.find((l) => l.key === 'dbcache')?.value)).toBe(2000) // 8 GiB / 4 = 2048, rounded down to 50
  })

  it('writes an lnd.conf with documented options, on bitcoind, for this network', () => {
    const conf = file(svc(render(fullSettings(network)), 'lnd'), 'lnd.conf')
    const lines = parseIni(conf)
    const doc = lndDoc.sections as Record<string, string[]>
    for (const l of lines) {
      expect(l.section, l.key).not.toBeNull()
      expect(doc[l.section!], `[${l.section}]`).toBeDefined()
      expect(doc[l.section!], `lnd ${l.key}`).toContain(l.key)
    }
    const get = (k: string) => lines.filter((l) => l.key === k).map((l) => l.value)
    const flags = lines.filter((l) =>
      /^bitcoin\.(mainnet|testnet|testnet4|signet|regtest|simnet)$/.test(l.key),
    )
    expect(flags).toEqual([{ section: 'Bitcoin', key: `bitcoin.${net.lnd}`, value: 'true' }])
    expect(get('bitcoin.node')).toEqual(['bitcoind'])
    expect(hostPort(get('bitcoind.rpchost')[0]!)).toEqual({ host: 'bitcoind', port: net.rpcPort })
    expect(get('bitcoind.rpcuser')).toEqual(['lnd'])
    expect(get('bitcoind.rpcpass')).toEqual([secrets.bitcoindRpc.lnd.password])
    expect(get('bitcoind.zmqpubrawblock')[0]).toMatch(/^tcp:\/\/bitcoind:\d+$/)
    expect(get('bitcoind.zmqpubrawtx')[0]).toMatch(/^tcp:\/\/bitcoind:\d+$/)
    expect(get('tlsextradomain')).toEqual(['lnd', 'localhost'])
    expect(get('wallet-unlock-password-file')).toHaveLength(1)
    for (const v of ['rpclisten', 'restlisten', 'listen']) hostPort(get(v)[0]!)
    for (const l of lines)
      if (/^(true|false)$/i.test(l.value)) expect(l.value).toMatch(/^(true|false)$/)
  })

  it('writes an electrs config.toml with documented options pointed at bitcoind', () => {
    const spec = svc(render(fullSettings(network)), 'electrs')
    const conf = parseToml(file(spec, 'config.toml'))
    const options = electrsDoc.options as Record<string, { kind: string; type: string }>
    for (const k of Object.keys(conf)) expect(options, `electrs ${k}`).toHaveProperty(k)
    expect(electrsDoc.networks).toContain(conf.network)
    expect(conf.network).toBe(network === 'mainnet' ? 'bitcoin' : network)
    expect(hostPort(conf.daemon_rpc_addr as string)).toEqual({
      host: 'bitcoind',
      port: net.rpcPort,
    })
    expect(hostPort(conf.daemon_p2p_addr as string)).toEqual({
      host: 'bitcoind',
      port: net.whitebindPort,
    })
    hostPort(conf.electrum_rpc_addr as string)
    const c = secrets.bitcoindRpc.electrs
    expect(conf.auth).toBe(`${c.user}:${c.password}`)
    expect(spec.files[0]!.secret).toBe(true)
    expect(spec.files[0]!.mode).toBe(0o600)
  })

  it('sets only documented NBXplorer and BTCPay variables (none where unsupported)', () => {
    const plan = render(fullSettings(network))
    if (net.nbxplorer === null) {
      expect(plan.services.map((x) => x.id)).not.toContain('nbxplorer')
      expect(plan.services.map((x) => x.id)).not.toContain('btcpay')
      return
    }
    const nbx = svc(plan, 'nbxplorer').env
    for (const k of Object.keys(nbx)) expect(nbxplorerDoc.env, k).toContain(k)
    expect(nbxplorerDoc.networks).toContain(nbx.NBXPLORER_NETWORK)
    expect(nbx.NBXPLORER_BTCRPCURL).toBe(`http://bitcoind:${net.rpcPort}/`)
    expect(hostPort(nbx.NBXPLORER_BTCNODEENDPOINT!)).toEqual({
      host: 'bitcoind',
      port: net.whitebindPort,
    })
    expect(nbx.NBXPLORER_BTCRPCUSER).toBe('nbxplorer')
    expect(nbx.NBXPLORER_BTCRPCPASSWORD).toBe(secrets.bitcoindRpc.nbxplorer.password)
    expect(nbx.NBXPLORER_BTCSTARTHEIGHT).toBeUndefined()

    const btcpay = svc(plan, 'btcpay')
    for (const k of Object.keys(btcpay.env)) {
      if (k !== 'HOME') expect(btcpayDoc.env, k).toContain(k)
    }
    expect(btcpayDoc.networks).toContain(btcpay.env.BTCPAY_NETWORK)
    const ln = Object.fromEntries(
      btcpay.env.BTCPAY_BTCLIGHTNING!.split(';').map((kv) => kv.split('=') as [string, string]),
    )
    for (const k of Object.keys(ln)) expect(btcpayDoc.lightningConnectionKeys).toContain(k)
    expect(ln.type).toBe('lnd-rest')
    expect(ln.server).toMatch(/^https:\/\/lnd:\d+\/$/)
    expect(ln.allowinsecure).toBeUndefined()
    expect(btcpay.env.BTCPAY_BTCLIGHTNING).not.toMatch(/allowinsecure/i)
    const cert = file(svc(plan, 'lnd'), 'tls.cert')
    expect(ln.certthumbprint).toBe(certThumbprint(cert))
    expect(
      btcpay.mounts.some((m) => m.kind === 'bind' && m.target === '/lnd-macaroon' && m.readOnly),
    ).toBe(true)
    expect(ln.macaroonfilepath).toBe('/lnd-macaroon/btcpay.macaroon')
    for (const cs of [btcpay.env.BTCPAY_POSTGRES!, nbx.NBXPLORER_POSTGRES!]) {
      expect(cs).toMatch(/(^|;)Password=[0-9a-f]{64}(;|$)/)
      expect(cs).toMatch(/(^|;)Host=postgres(;|$)/)
    }
  })

  it('keeps every secret in secret-marked places and uses no default password', () => {
    const plan = render(fullSettings(network))
    const defaults =
      /(^|[=:;\s'"])(password|postgres|bitcoin|changeme|admin|secret|12345\d*)(['";\s]|$)/i
    for (const s of plan.services) {
      for (const [k, v] of Object.entries(s.env)) {
        for (const p of passwords(secrets)) {
          if (v.includes(p)) expect(s.secretEnv ?? [], `${s.id} ${k}`).toContain(k)
        }
        if (/PASS/i.test(k)) expect(v).not.toMatch(defaults)
        for (const m of v.matchAll(/Password=([^;]*)/g)) expect(m[1]).toMatch(/^[0-9a-f]{64}$/)
        expect(v).not.toBe('trust')
      }
      for (const f of s.files) {
        for (const p of [...passwords(secrets), secrets.lndTls.keyPem]) {
          if (f.contents.includes(p)) {
            expect(f.secret, f.hostPath).toBe(true)
            expect(f.mode & 0o077, f.hostPath).toBe(0)
          }
        }
      }
    }
    expect(JSON.stringify(plan)).not.toMatch(/POSTGRES_HOST_AUTH_METHOD/)
  })
})

describe('renderStack options and refusals', () => {
  it('prunes, sizes dbcache and passes the NBXplorer start height', () => {
    const plan = render(
      fullSettings('signet', {
        prune: { enabled: true, targetMiB: 10_000 },
        txindex: false,
        services: { electrs: false, lnd: true, relay: false, mint: false, btcpay: true },
        nbxplorerStartHeight: 200_000,
        dbcache: 300,
      }),
    )
    const top = parseIni(file(svc(plan, 'bitcoind'), 'bitcoin.conf')).filter(
      (l) => l.section === null,
    )
    expect(top.find((l) => l.key === 'prune')?.value).toBe('10000')
    expect(top.some((l) => l.key === 'txindex')).toBe(false)
    expect(top.find((l) => l.key === 'dbcache')?.value).toBe('300')
    expect(svc(plan, 'nbxplorer').env.NBXPLORER_BTCSTARTHEIGHT).toBe('200000')
  })

  it('substitutes images but keeps all wiring', () => {
    const settings = fullSettings('regtest')
    const normal = render(settings)
    const local = built('localhost/bitcoind-test', 'c')
    const swapped = renderStack(settings, machine, secrets, {
      images: { ...builtImages, bitcoind: local },
      project: 'fbtest',
      runAs: { uid: 1000, gid: 1000 },
    })
    expect(svc(swapped, 'bitcoind').image).toEqual(local)
    expect({ ...svc(swapped, 'bitcoind'), image: null }).toEqual({
      ...svc(normal, 'bitcoind'),
      image: null,
    })
    expect(swapped.project).toBe('fbtest')
    expect(svc(normal, 'lnd').image.digest).toBe(catalogImages.lnd.digest)
  })

  it('runs containers as the engine’s own user by default', () => {
    const plan = renderStack(fullSettings('regtest'), machine, secrets, { images: builtImages })
    const expected = `${process.getuid?.() ?? 1000}:${process.getgid?.() ?? 1000}`
    for (const s of plan.services) expect(s.user).toBe(expected)
  })

  it('runs the relay and the mint inside the engine unless asked for containers', () => {
    const plan = renderStack(fullSettings('regtest', { ownServices: 'embedded' }), machine, secrets)
    expect(plan.services.map((s) => s.id)).not.toContain('relay')
    expect(plan.services.map((s) => s.id)).not.toContain('mint')
  })

  it('refuses to invent a digest for an image that was not built', () => {
    expect(() => renderStack(fullSettings('regtest'), machine, secrets)).toThrow(
      expect.objectContaining({ code: 'stack.image_not_built' }),
    )
  })

  it('wires the mint to LND with its own macaroon and the box’s LND certificate', () => {
    const plan = render(fullSettings('signet'))
    const mint = svc(plan, 'mint')
    expect(mint.env.MINT_BACKEND).toBe('lnd')
    expect(hostPort(mint.env.MINT_LND_SOCKET!)).toEqual({ host: 'lnd', port: 10009 })
    expect(mint.env.MINT_LND_MACAROON_PATH).toBe('/lnd-macaroon/mint.macaroon')
    const macaroons = mint.mounts.find((m) => m.target === '/lnd-macaroon')
    expect(macaroons).toMatchObject({ kind: 'bind', readOnly: true })
    expect(macaroons && macaroons.kind === 'bind' && macaroons.source).toBe(
      join(plan.dataDir, 'lnd', 'macaroons', 'mint'),
    )
    expect(mint.env.MINT_LND_CERT_PATH).toBe('/data/lnd-tls.cert')
    expect(file(mint, 'lnd-tls.cert')).toBe(file(svc(plan, 'lnd'), 'tls.cert'))
    expect(Number(mint.env.MINT_PORT)).toBe(mint.ports[0]!.container)
    const relay = svc(plan, 'relay')
    expect(Number(relay.env.RELAY_PORT)).toBe(relay.ports[0]!.container)
    expect(relay.env.RELAY_HOST).toBe('0.0.0.0')
  })

  it('uses the fake Lightning backend for the mint on regtest without LND', () => {
    const plan = render(
      fullSettings('regtest', {
        services: { electrs: false, lnd: false, relay: false, mint: true, btcpay: false },
      }),
    )
    const mint = svc(plan, 'mint')
    expect(mint.env.MINT_BACKEND).toBe('fake')
    expect(JSON.parse(mint.env.MINT_CONFIG_JSON!)).toEqual({ network: 'regtest' })
    expect(mint.dependsOn).toEqual([])
  })

  it('refuses settings that cannot work, with the check’s message', () => {
    expect(() =>
      render(fullSettings('mainnet', { prune: { enabled: true, targetMiB: 1000 } })),
    ).toThrow(expect.objectContaining({ code: 'settings.electrs_with_prune' }))
    expect(() =>
      render(
        fullSettings('testnet4', {
          services: { electrs: true, lnd: true, relay: true, mint: true, btcpay: true },
        }),
      ),
    ).toThrow(expect.objectContaining({ code: 'settings.btcpay_network_unsupported' }))
  })
})

describe('confinement', () => {
  it('confines every service: all capabilities dropped, memory and PID limits, read-only root for our own images', () => {
    for (const network of networks) {
      const plan = render(fullSettings(network))
      for (const s of plan.services) {
        expect(s.confinement, s.id).toBeDefined()
        expect(s.confinement!.capAdd, s.id).toEqual([])
        expect(s.confinement!.memoryBytes, s.id).toBeGreaterThanOrEqual(256 * 1024 ** 2)
        expect(s.confinement!.pidsLimit, s.id).toBeGreaterThan(0)
        expect(s.confinement!.readOnlyRootfs, s.id).toBe(s.id === 'relay' || s.id === 'mint')
      }
      // bitcoind's limit leaves room for its UTXO cache (dbcache) and the mempool.
      const b = svc(plan, 'bitcoind').confinement!
      const dbcache = Number(
        /^dbcache=(\d+)$/m.exec(file(svc(plan, 'bitcoind'), 'bitcoin.conf'))![1],
      )
      expect(b.memoryBytes).toBeGreaterThan((dbcache + 300) * 1024 ** 2)
    }
  })
})
