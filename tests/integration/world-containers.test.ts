// The simulated world as containers on the real Docker Engine, wired by the box's PRODUCTION
// stack plan (rendered bitcoin.conf with one rpcauth per consumer, electrs config.toml with its
// own credentials, the private network and hostnames, health-gated start) and read by the box's
// own clients. bitcoind's container holds the one chain; electrs' container follows it over
// bitcoind's JSON-RPC, and so does LND's (the world LND), whose wallet the box creates over its
// pinned TLS certificate before baking the dashboard's macaroon. Coins reach a script hash only by
// being mined to it.
import { mkdtempSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { fetchElectrsIndexHeight } from '../../src/core/clients/electrs-metrics'
import { ElectrumClient } from '../../src/core/clients/electrum'
import { LndClient } from '../../src/core/clients/lnd'
import { bakeMissingMacaroons } from '../../src/core/lightning/macaroon-baking'
import { silentLogger } from '../../src/core/log'
import { stackPaths } from '../../src/core/stack/paths'
import { FlashError } from '../../src/core/errors'
import { loadOrCreateStackSecrets } from '../../src/core/secrets/stack-secrets'
import { stackCatalog } from '../../src/core/stack/catalog'
import { electrsMonitoringPort, networkParams, servicePorts } from '../../src/core/stack/networks'
import type { StackPlan, StackSecrets } from '../../src/core/stack/spec'
import type { Supervisor } from '../../src/core/supervisor/supervisor'
import { defaultSettings, type Settings } from '../../src/shared/settings'
import { cleanupProject, makeSupervisor, tempDataDir } from '../images/harness'
import { buildWorldImage, onSimulators, pinned, type PublishedPorts } from '../images/world-images'
import { scriptHashOf } from '../simulators/electrum/script-index'
import { TestKey } from '../simulators/world/test-keys'
import { eventually } from './eventually'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
const project = `fbt-world-${process.pid}`
const dataDir = tempDataDir('world')
const settings: Settings = {
  ...defaultSettings(dataDir),
  services: { electrs: true, lnd: true, relay: false, mint: false, btcpay: false },
}
let sup: Supervisor | undefined
let plan: StackPlan
let ports: PublishedPorts
let secrets: StackSecrets
const clients: ElectrumClient[] = []

const allHealthy = (ids: readonly string[]) => (ss: { id: string; state: string }[]) =>
  ids.every((id) => ss.find((s) => s.id === id)?.state === 'healthy')

beforeAll(async () => {
  const image = buildWorldImage(mkdtempSync(join(tmpdir(), 'flashbox-world-bundle-')))
  const production = await stackCatalog({
    project,
    images: { bitcoind: pinned(image), electrs: pinned(image), lnd: pinned(image) },
    machine: { memoryBytes: 8 * 2 ** 30, cpus: 2 },
  }).render(settings)
  ;({ plan, ports } = await onSimulators(production, {
    bitcoind: { env: { BITCOIND_SIM_MODE: 'world', BITCOIND_SIM_WARMUP_MS: '500' } },
    electrs: { env: { ELECTRS_SIM_POLL_MS: '200' } },
    lnd: { env: { LND_WORLD_POLL_MS: '200' } },
  }))
  secrets = await loadOrCreateStackSecrets(dataDir)
  ;({ sup } = makeSupervisor(dataDir))
  await sup.open()
  sup.setPlan(plan)
  await sup.startStack()
  await sup.waitFor(allHealthy(['bitcoind']), 120_000)
  // A fresh regtest node stays in initial block download until it has a block, and electrs
  // waits for that (as the real ones do): the box's client mines one.
  await dashboardRpc().call('generatetoaddress', [1, MINER], z.array(z.string()))
  await sup.waitFor(allHealthy(['bitcoind', 'electrs']), 120_000)
}, 300_000)

const MINER = TestKey.fromLabel('world-containers-miner').p2wpkh().address
function dashboardRpc(password?: string): BitcoindRpc {
  return new BitcoindRpc({
    url: `http://127.0.0.1:${ports.bitcoind![networkParams.regtest.rpcPort]}`,
    user: secrets.bitcoindRpc.dashboard.user,
    password: password ?? secrets.bitcoindRpc.dashboard.password,
  })
}

afterAll(async () => {
  for (const c of clients.splice(0)) c.close()
  await sup?.close()
  cleanupProject(project, dataDir)
})

describe('the world as containers on the production wiring', () => {
  it('bitcoind mines to an address and electrs, following it, tells the subscribed wallet', async () => {
    const rpc = dashboardRpc()
    // rpcauth as rendered: the dashboard's password works, a wrong one is refused.
    expect((await rpc.getBlockchainInfo()).chain).toBe('regtest')
    const wrong = dashboardRpc('not-the-password')
    const refused = await wrong.getBlockCount().catch((e: FlashError) => e)
    expect(refused).toBeInstanceOf(FlashError)
    expect((refused as FlashError).code).toBe('bitcoind.auth')

    const electrum = await ElectrumClient.connect({
      host: '127.0.0.1',
      port: ports.electrs![servicePorts.electrum]!,
    })
    clients.push(electrum)
    const metricsUrl = `http://127.0.0.1:${ports.electrs![electrsMonitoringPort.regtest]}/metrics`
    const start = await rpc.getBlockCount()
    expect(await fetchElectrsIndexHeight(metricsUrl)).toBe(start)

    const wallet = TestKey.fromLabel('world-containers').p2wpkh()
    const sh = scriptHashOf(wallet.output)
    const statuses: (string | null)[] = []
    const tips: number[] = []
    expect(await electrum.subscribeScriptHash(sh, (s) => statuses.push(s))).toBeNull()
    await electrum.subscribeHeaders((h) => tips.push(h.height))

    const hashes = await rpc.call('generatetoaddress', [2, wallet.address], z.array(z.string()))
    expect(hashes).toHaveLength(2)
    await expect.poll(() => tips.at(-1), { timeout: 20_000 }).toBe(start + 2)
    await expect.poll(() => statuses.length, { timeout: 20_000 }).toBeGreaterThan(0)
    const history = await electrum.getHistory(sh)
    expect(history.map((h) => h.height)).toEqual([start + 1, start + 2])
    const balance = await electrum.getBalance(sh)
    expect(balance.unconfirmed).toBe(0)
    expect(balance.confirmed).toBeGreaterThan(0)
    expect(await fetchElectrsIndexHeight(metricsUrl)).toBe(start + 2)
  })

  it('LND follows the same chain; the box creates its wallet, bakes a macaroon and reads it over pinned TLS', async () => {
    const grpc = `127.0.0.1:${ports.lnd![servicePorts.lndGrpc]}`
    // ln-service checks the server against the certificate it is given: the box's own (pinned).
    const cert = Buffer.from(secrets.lndTls.certPem).toString('base64')
    const unauthenticated = () => ln.unauthenticatedLndGrpc({ cert, socket: grpc }).lnd
    const seed = await eventually(
      () =>
        ln.createSeed({ lnd: unauthenticated() }).then(
          (s) => s.seed,
          () => undefined,
        ),
      'LND waiting for a wallet',
      60_000,
    )
    await ln.createWallet({ lnd: unauthenticated(), seed, password: secrets.lndWalletPassword })
    await sup!.waitFor(allHealthy(['lnd']), 60_000)

    const admin = readFileSync(
      join(dataDir, 'lnd', 'data', 'chain', 'bitcoin', 'regtest', 'admin.macaroon'),
    )
    const adminLnd = ln.authenticatedLndGrpc({
      cert,
      macaroon: admin.toString('hex'),
      socket: grpc,
    }).lnd
    expect(await bakeMissingMacaroons(adminLnd, dataDir, silentLogger)).toContain('dashboard')
    const dashboard = readFileSync(stackPaths(dataDir).macaroon('dashboard'))
    const lnd = new LndClient({ socket: grpc, cert: secrets.lndTls.certPem, macaroon: dashboard })
    try {
      const height = await dashboardRpc().getBlockCount()
      await expect
        .poll(async () => (await lnd.getInfo()).blockHeight, { timeout: 20_000 })
        .toBe(height)
      await dashboardRpc().call('generatetoaddress', [1, MINER], z.array(z.string()))
      await expect
        .poll(async () => (await lnd.getInfo()).blockHeight, { timeout: 20_000 })
        .toBe(height + 1)
      expect(await lnd.getBalances()).toEqual({ onchainSat: 0, channelsSat: 0 })
      // The dashboard's macaroon is LND's readonly set: it cannot make an address.
      const denied = await ln.createChainAddress({ lnd: lnd.lnd, format: 'p2wpkh' }).then(
        () => 'allowed',
        () => 'denied',
      )
      expect(denied).toBe('denied')
    } finally {
      lnd.close()
    }
  })
})
