// The SIMULATORS as test images run them: esbuild bundles (tests/simulators/bundle.ts) started as
// plain `node <bundle>.mjs` processes from a folder without node_modules, configured with the
// same files and flags the stack catalog renders for the real daemons (bitcoin.conf + -conf,
// electrs config.toml + --conf, lnd.conf + --lnddir/--configfile), probed with healthcheck.mjs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type * as Lightning from 'lightning'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BitcoindRpc } from '../../src/core/clients/bitcoind-rpc'
import { LndClient } from '../../src/core/clients/lnd'
import { ElectrumClient } from '../../src/core/clients/electrum'
import { bundleSimulators } from '../simulators/bundle'
import { scriptHashOf } from '../simulators/electrum/script-index'
import { TestKey } from '../simulators/world/test-keys'
import { makeRpcauth } from '../simulators/bitcoind-simulator'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const node = join(root, 'node_modules', 'node', 'bin', 'node')
let work: string
let sims: string
const children: ChildProcess[] = []

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  const port = (srv.address() as { port: number }).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

function start(bundle: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(node, [join(sims, bundle), ...args], {
    cwd: work,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()))
  children.push(child)
  return { child, output: () => out }
}

const healthy = (...args: string[]) =>
  spawnSync(node, [join(sims, 'healthcheck.mjs'), ...args], { timeout: 15_000 }).status === 0

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'flashbox-sim-proc-'))
  const bundled = bundleSimulators(join(work, 'bundle-out'))
  // Copy to a folder with no node_modules anywhere above it that could help module resolution.
  sims = join(work, 'opt-simulators')
  cpSync(bundled.outDir, sims, { recursive: true })
}, 120_000)

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null) {
      c.kill('SIGTERM')
      await new Promise((r) => c.once('exit', r))
    }
  }
  rmSync(work, { recursive: true, force: true })
})

describe('bundled SIMULATOR processes', () => {
  it('bitcoind, electrs and LND start from their daemons’ config files and pass their health checks', async () => {
    const [rpcPort, electrumPort, monitoringPort, grpcPort, controlPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ])
    const datadir = join(work, 'bitcoin')
    const conf = join(work, 'bitcoin.conf')
    writeFileSync(
      conf,
      [
        '# as the catalog renders it',
        'regtest=1',
        'server=1',
        `rpcauth=${makeRpcauth('electrs', 'electrs-pw-123', '11'.repeat(16))}`,
        `rpcauth=${makeRpcauth('lnd', 'lnd-pw-123', '22'.repeat(16))}`,
        '[regtest]',
        `rpcport=${rpcPort}`,
      ].join('\n'),
    )
    const bitcoind = start('bitcoind-simulator.mjs', [`-datadir=${datadir}`, `-conf=${conf}`], {
      BITCOIND_SIM_HOST: '127.0.0.1',
      BITCOIND_SIM_HEADERS: '300',
      BITCOIND_SIM_BLOCKS_PER_SECOND: '300',
      BITCOIND_SIM_WARMUP_MS: '500',
    })
    const url = `http://127.0.0.1:${rpcPort}`
    await expect
      .poll(() => healthy('bitcoind-cookie', url, join(datadir, 'regtest', '.cookie')), {
        timeout: 20_000,
      })
      .toBe(true)
    expect(healthy('bitcoind', url, 'lnd', 'lnd-pw-123')).toBe(true)
    expect(healthy('bitcoind', url, 'lnd', 'wrong')).toBe(false)
    await expect.poll(() => bitcoind.output()).toContain('SIMULATOR')

    const toml = join(work, 'electrs.toml')
    writeFileSync(
      toml,
      [
        'network = "regtest"',
        `daemon_rpc_addr = "127.0.0.1:${rpcPort}"`,
        'auth = "electrs:electrs-pw-123"',
        `electrum_rpc_addr = "127.0.0.1:${electrumPort}"`,
        `monitoring_addr = "127.0.0.1:${monitoringPort}"`,
        'server_banner = "Welcome to the Electrum server of a Flash Box."',
      ].join('\n'),
    )
    start('electrs-simulator.mjs', ['--conf', toml, '--skip-default-conf-files'])

    const lnddir = join(work, 'lnd')
    const passwordFile = join(work, 'wallet-password')
    writeFileSync(passwordFile, 'lnd-wallet-password')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(lnddir, { recursive: true })
    writeFileSync(
      join(lnddir, 'lnd.conf'),
      [
        '[Application Options]',
        `rpclisten=127.0.0.1:${grpcPort}`,
        'tlsextradomain=lnd',
        `wallet-unlock-password-file=${passwordFile}`,
        'wallet-unlock-allow-create=true',
        '[Bitcoin]',
        'bitcoin.regtest=true',
        '[Bitcoind]',
        `bitcoind.rpchost=127.0.0.1:${rpcPort}`,
        'bitcoind.rpcuser=lnd',
        'bitcoind.rpcpass=lnd-pw-123',
      ].join('\n'),
    )
    const lnd = start(
      'lnd-simulator.mjs',
      [`--lnddir=${lnddir}`, `--configfile=${join(lnddir, 'lnd.conf')}`],
      { LND_SIM_CONTROL_PORT: String(controlPort) },
    )

    await expect
      .poll(() => healthy('electrum', '127.0.0.1', String(electrumPort)), { timeout: 30_000 })
      .toBe(true)
    expect(healthy('http', `http://127.0.0.1:${monitoringPort}/metrics`)).toBe(true)
    const electrum = await ElectrumClient.connect({ host: '127.0.0.1', port: electrumPort })
    expect(await electrum.banner()).toBe('Welcome to the Electrum server of a Flash Box.')
    expect((await electrum.subscribeHeaders()).height).toBe(300)
    // Sync mode has headers and no transactions: a script hash has no history. (Coins reaching
    // a script hash through mined blocks, bundled, in containers: world-containers.test.ts.)
    const scripthash = scriptHashOf(TestKey.fromLabel('simulator-processes').p2wpkh().output)
    expect(await electrum.getBalance(scripthash)).toEqual({ confirmed: 0, unconfirmed: 0 })
    expect(await electrum.getHistory(scripthash)).toEqual([])
    electrum.close()

    // LND waits for InitWallet (wallet-unlock-allow-create): not healthy yet.
    await expect
      .poll(() => healthy('tcp', '127.0.0.1', String(grpcPort)), { timeout: 30_000 })
      .toBe(true)
    expect(healthy('lnd', `http://127.0.0.1:${controlPort}`)).toBe(false)
    const { createRequire } = await import('node:module')
    const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
    const cert = readFileSync(join(lnddir, 'tls.cert'), 'utf8')
    const unauth = ln.unauthenticatedLndGrpc({
      cert: Buffer.from(cert).toString('base64'),
      socket: `127.0.0.1:${grpcPort}`,
    }).lnd
    const { seed } = await ln.createSeed({ lnd: unauth })
    await ln.createWallet({ lnd: unauth, seed, password: 'lnd-wallet-password' })
    await expect
      .poll(() => healthy('lnd', `http://127.0.0.1:${controlPort}`), { timeout: 20_000 })
      .toBe(true)
    const client = new LndClient({
      socket: `127.0.0.1:${grpcPort}`,
      cert,
      macaroon: readFileSync(join(lnddir, 'data', 'chain', 'bitcoin', 'regtest', 'admin.macaroon')),
    })
    await expect
      .poll(async () => (await client.getInfo()).blockHeight, { timeout: 20_000 })
      .toBe(300)
    client.close()
    await expect.poll(() => lnd.output()).toContain('LND SIMULATOR')

    const rpc = new BitcoindRpc({ url, user: 'lnd', password: 'lnd-pw-123' })
    expect((await rpc.getBlockchainInfo()).initialblockdownload).toBe(false)

    // SIGTERM: clean exit, cookie removed (as bitcoind does).
    bitcoind.child.kill('SIGTERM')
    const code = await new Promise((r) => bitcoind.child.once('exit', r))
    expect(code).toBe(0)
    expect(() => readFileSync(join(datadir, 'regtest', '.cookie'))).toThrow()
  })
})
