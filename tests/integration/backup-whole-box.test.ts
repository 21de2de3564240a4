// The whole box through a backup and a restore, on the real Docker Engine with the regtest world:
//   - the stack's relay, mint and BTCPay's PostgreSQL run as containers of the production catalog's
//     specs under the engine's own supervisor (images built from this repository; PostgreSQL from
//     Debian's postgresql-15, tests/images/debian-postgres-image.ts, as no registry can give
//     btcpayserver/postgres here). The mint uses the fake Lightning backend (regtest only): the
//     world's LND is a simulator in this process, which a container cannot reach;
//   - the box's LND is a node of the world's Lightning network (tests/simulators/world), and the
//     on-chain wallet follows the world's chain through the electrs simulator;
//   - the box is filled through its own API: eCash outstanding at the mint, relay events, NIP-17
//     messages received by the box's identity, the on-chain wallet funded with BIP329 labels, an
//     open channel with its SCB, rows in BTCPay's database, settings;
//   - backed up; the disk dies (the data folder is wiped, the containers and their network are
//     removed, LND's folder is gone); a fresh engine restores onto a new disk at the same path;
//   - every part compares equal; LND comes back from its words plus the SCB, and the peer
//     force-closes the channel so the funds return on chain.
import { execFileSync, spawnSync } from 'node:child_process'
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Wallet, getEncodedToken, type Proof } from '@cashu/cashu-ts'
import Docker from 'dockerode'
import type * as Lightning from 'lightning'
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { backupModule } from '../../src/core/backup/backup-module'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { saveSettingsFile, stackModule } from '../../src/core/engine/stack-module'
import { lightningModule, lightningPaths } from '../../src/core/lightning/lightning-module'
import { silentLogger } from '../../src/core/log'
import { nostrModuleWith } from '../../src/core/nostr/nostr-module'
import { loadOrCreateStackSecrets } from '../../src/core/secrets/stack-secrets'
import { stackCatalog, type StackCatalog } from '../../src/core/stack/catalog'
import type { ContainerSpec, PinnedImage, ServiceId } from '../../src/core/stack/spec'
import { LABEL_PROJECT, LABEL_SERVICE } from '../../src/core/supervisor/labels'
import { walletModule } from '../../src/core/wallet/wallet-module'
import type { BackupStatus } from '../../src/shared/api/backup'
import type {
  ChannelView,
  LightningBalances,
  LightningStatus,
} from '../../src/shared/api/lightning'
import type { ConversationSummary, Identity, Message } from '../../src/shared/api/nostr'
import type { StackStatus } from '../../src/shared/api/stack'
import type { WalletStatus } from '../../src/shared/api/wallet'
import { defaultSettings, type Settings } from '../../src/shared/settings'
import { debianPostgresAvailable, debianPostgresImage } from '../images/debian-postgres-image'
import { cleanupProject, inspect, projectContainers } from '../images/harness'
import { testLabels } from '../images/test-catalog'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { startWorldLnd, type WorldLnd } from '../simulators/world/lnd-rpc'
import { eventually } from './eventually'
import { startWalletWorld, type WalletWorld } from './wallet-harness'
import { psql } from './psql'

const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning
const ROOT = resolve(import.meta.dirname, '../..')
const CTX = { transport: 'internal' } as const
const PW = 'whole box owner password'
const NOSTR_PASSPHRASE = 'whole box nostr passphrase'
const TAG = `wholebox-${process.pid}`
const project = `fbt-wholebox-${process.pid}`
const root = mkdtempSync(join(tmpdir(), 'flashbox-whole-box-'))
// The box's data folder: after the disk dies, a new disk is mounted at the same path.
const dir = join(root, 'box')
const stackDir = join(dir, 'stack')
const asRoot = process.getuid?.() === 0
const docker = new Docker()
const images: Partial<Record<ServiceId, PinnedImage>> = {}
const engines: Engine[] = []
const closers: (() => Promise<void> | void)[] = []
let world: WalletWorld
let net: LightningNetwork
let boxLnd: WorldLnd | undefined
let relayUrl: string | undefined

function build(name: 'relay' | 'mint'): PinnedImage {
  execFileSync('bash', [join(ROOT, `docker/${name}/build.sh`), TAG], {
    cwd: ROOT,
    stdio: 'pipe',
    timeout: 300_000,
  })
  const id = execFileSync('docker', [
    'image',
    'inspect',
    '--format',
    '{{.Id}}',
    `flashbox/${name}:${TAG}`,
  ])
    .toString()
    .trim() as `sha256:${string}`
  return { repository: `flashbox/${name}`, tag: TAG, digest: id, builtHere: true }
}

const settings: Settings = {
  ...defaultSettings(stackDir),
  network: 'regtest',
  ownServices: 'container',
  services: { electrs: true, lnd: true, relay: true, mint: true, btcpay: true },
}

// The production catalog, run for the parts that can run here: relay, mint and BTCPay's
// PostgreSQL. No host ports (a shared engine; the test reaches containers on their network).
const production = stackCatalog({ project, machine: { memoryBytes: 8 * 1024 ** 3, cpus: 2 } })
const catalog: StackCatalog = {
  info: production.info,
  check: production.check,
  render: async (s) => {
    const plan = await production.render(
      { ...s, services: { electrs: false, lnd: false, relay: true, mint: true, btcpay: false } },
      images,
    )
    const postgres = (
      await production.render(
        { ...s, services: { electrs: true, lnd: true, relay: false, mint: false, btcpay: true } },
        images,
      )
    ).services.find((x) => x.id === 'postgres')!
    const noHostPorts = (x: ContainerSpec): ContainerSpec => ({
      ...x,
      ports: x.ports.map((p) => ({
        container: p.container,
        protocol: p.protocol,
        purpose: p.purpose,
      })),
    })
    // Debian's server refuses to run as root: under a root test it runs as the image's postgres
    // user, and its first-start role script (written 0600 by the supervisor as root) is left to
    // the test, which makes BTCPay's role itself.
    const pg: ContainerSpec = asRoot
      ? {
          ...postgres,
          image: images.postgres!,
          user: '999:999',
          mounts: postgres.mounts.filter((m) => m.target !== '/docker-entrypoint-initdb.d'),
          files: [],
        }
      : { ...postgres, image: images.postgres! }
    const own = plan.services.filter((x) => x.id === 'relay' || x.id === 'mint')
    return { ...plan, services: [...own.map(noHostPorts), pg] }
  },
}

async function startEngine(): Promise<Engine> {
  const e = await createEngine({
    dataDir: dir,
    log: silentLogger,
    modules: [
      stackModule({
        catalog,
        supervisor: { extraLabels: testLabels, collectStats: false },
        sync: async () => ({}),
      }),
      lightningModule({
        endpoint: () => {
          if (!boxLnd) throw new Error('LND is not running')
          return { socket: boxLnd.socket, cert: boxLnd.cert }
        },
        pollMs: 100,
        readyPollMs: 300,
      }),
      nostrModuleWith({
        boxRelayUrl: () => relayUrl,
        pool: {
          backoff: { initialMs: 200, maxMs: 1000 },
          connectTimeoutMs: 5000,
          publishTimeoutMs: 8000,
          queryTimeoutMs: 5000,
        },
      }),
      walletModule({
        endpoint: () => ({ host: '127.0.0.1', port: world.electrs.electrumPort }),
        retryMs: { min: 50, max: 200 },
      }),
      backupModule({ scheduleCheckMs: 500 }),
    ],
  })
  engines.push(e)
  return e
}

async function stopEngine(e: Engine): Promise<void> {
  await e.stop()
  engines.splice(engines.indexOf(e), 1)
}

/** The box's LND in LND's folder, with the files the catalog renders there (certificate, password). */
async function startBoxLnd(): Promise<WorldLnd> {
  const paths = lightningPaths(settings)
  const secrets = await loadOrCreateStackSecrets(stackDir)
  mkdirSync(paths.lndDir, { recursive: true })
  writeFileSync(join(paths.lndDir, 'tls.cert'), secrets.lndTls.certPem)
  writeFileSync(join(paths.lndDir, 'tls.key'), secrets.lndTls.keyPem, { mode: 0o600 })
  writeFileSync(paths.passwordFile, secrets.lndWalletPassword, { mode: 0o600 })
  const lnd = await startWorldLnd({
    world: net.world,
    alias: 'box',
    dir: paths.lndDir,
    network: 'regtest',
    restPort: null,
    wallet: { mode: 'rpc', passwordFile: paths.passwordFile },
    log: () => undefined,
  })
  boxLnd = lnd
  return lnd
}

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000) =>
  eventually(fn, what, { ms, everyMs: 150, retryErrors: true })

const call = <T>(e: Engine, domain: string, procedure: string, input: unknown = {}) =>
  e.call(domain, procedure, input, CTX) as Promise<T>

/** The address of a stack container on its network (no host ports on a shared engine). */
function containerAddress(service: string): string {
  for (const id of projectContainers(project)) {
    const info = inspect<{
      State: { Running: boolean }
      Config: { Labels: Record<string, string> }
      NetworkSettings: { Networks: Record<string, { IPAddress: string }> }
    }>(id)
    if (info.Config.Labels[LABEL_SERVICE] !== service || !info.State.Running) continue
    const ip = Object.values(info.NetworkSettings.Networks).find((n) => n.IPAddress)?.IPAddress
    if (ip) return ip
  }
  throw new Error(`${service} has no running container`)
}

async function stackHealthy(e: Engine, ids: readonly string[]): Promise<void> {
  await until(
    `${ids.join(', ')} healthy`,
    async () => {
      const s = await call<StackStatus>(e, 'stack', 'status')
      return ids.every((id) => s.services.find((x) => x.id === id)?.state === 'healthy')
    },
    180_000,
  )
}

async function postgresSql(query: string, db?: string): Promise<string> {
  const id = projectContainers(project).find(
    (c) =>
      inspect<{ Config: { Labels: Record<string, string> } }>(c).Config.Labels[LABEL_SERVICE] ===
      'postgres',
  )!
  return psql(docker, id, query, db)
}

function relayRequest(url: string, msg: unknown[], until: (m: unknown[]) => boolean) {
  return new Promise<unknown[][]>((resolve, reject) => {
    const ws = new WebSocket(url)
    const got: unknown[][] = []
    const timer = setTimeout(() => {
      ws.close()
      reject(new Error(`no answer from ${url}`))
    }, 10_000)
    ws.on('open', () => ws.send(JSON.stringify(msg)))
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as unknown[]
      got.push(m)
      if (until(m)) {
        clearTimeout(timer)
        ws.close()
        resolve(got)
      }
    })
    ws.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

const noteIds = async (url: string) =>
  (await relayRequest(url, ['REQ', 'notes', { kinds: [1] }], (m) => m[0] === 'EOSE'))
    .filter((m) => m[0] === 'EVENT')
    .map((m) => (m[2] as { id: string }).id)
    .sort()

async function readMessages(e: Engine): Promise<{ from: string; texts: string[] }[]> {
  const convs = await call<readonly ConversationSummary[]>(e, 'nostr', 'conversations')
  const out: { from: string; texts: string[] }[] = []
  for (const c of convs) {
    const ms = await call<readonly Message[]>(e, 'nostr', 'messages', { conversationId: c.id })
    out.push({ from: c.id, texts: ms.map((m) => m.text).sort() })
  }
  return out.sort((a, b) => (a.from < b.from ? -1 : 1))
}

beforeAll(async () => {
  if (!debianPostgresAvailable()) return
  images.relay = build('relay')
  images.mint = build('mint')
  const pg = debianPostgresImage()
  images.postgres = {
    repository: pg.repository,
    tag: pg.version,
    digest: pg.id,
    builtHere: true,
  }
  world = await startWalletWorld({ coins: 4 })
  closers.push(() => world.close())
  net = await startLightningNetwork({
    chain: world.chain,
    dir: join(root, 'world'),
    nodes: ['bob'],
    rest: false,
    log: () => undefined,
  })
  closers.push(() => net.close())
}, 600_000)

afterAll(async () => {
  for (const e of [...engines].reverse()) await e.stop().catch(() => undefined)
  await boxLnd?.close().catch(() => undefined)
  for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined)
  cleanupProject(project)
  for (const name of ['relay', 'mint'])
    spawnSync('docker', ['rmi', '-f', `flashbox/${name}:${TAG}`], { stdio: 'pipe' })
  rmSync(root, { recursive: true, force: true })
}, 120_000)

describe('the whole box: back up, the disk dies, restore on a fresh engine', () => {
  it('every part comes back equal', async (t) => {
    if (!images.postgres) {
      t.skip() // no Debian postgresql on this machine (.ci/run installs it)
      return
    }
    const began = Date.now()
    const phases: string[] = []
    let last = began
    const mark = (what: string) => {
      phases.push(`${what} ${((Date.now() - last) / 1000).toFixed(1)} s`)
      last = Date.now()
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    saveSettingsFile(dir, settings)
    if (asRoot) {
      const pgData = join(stackDir, 'postgres', 'data')
      mkdirSync(pgData, { recursive: true, mode: 0o700 })
      chownSync(pgData, 999, 999)
    }
    await startBoxLnd()
    const a = await startEngine()
    await call(a, 'backup', 'setPassword', { password: PW })
    await call(a, 'stack', 'start')
    await stackHealthy(a, ['relay', 'mint', 'postgres'])
    relayUrl = `ws://${containerAddress('relay')}:7777`
    const mintUrl = `http://${containerAddress('mint')}:3338`
    mark('stack started')

    // --- fill the box ---------------------------------------------------------------------
    // eCash outstanding at the mint (held outside the box as proofs).
    const cashu = new Wallet(mintUrl, { unit: 'sat' })
    await cashu.loadMint()
    const q = await cashu.createMintQuoteBolt11(64)
    await cashu.on.onceMintPaid(q.quote, { timeoutMs: 20_000 })
    const proofs: Proof[] = await cashu.mintProofsBolt11(64, q)
    const keysetsBefore = await (await fetch(`${mintUrl}/v1/keysets`)).json()

    // Relay events.
    const author = generateSecretKey()
    for (let i = 0; i < 3; i++) {
      const ev = finalizeEvent(
        { kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content: `note ${i}` },
        author,
      )
      const ok = await relayRequest(relayUrl, ['EVENT', ev], (m) => m[0] === 'OK')
      expect(ok.at(-1)?.[2]).toBe(true)
    }
    const eventsBefore = await noteIds(relayUrl)
    expect(eventsBefore).toHaveLength(3)

    // NIP-17 messages to the box's identity, from a friend's own engine through the box's relay.
    const identity = (
      await call<{ identity: Identity }>(a, 'nostr', 'createKey', { passphrase: NOSTR_PASSPHRASE })
    ).identity
    // The box announces its inbox (NIP-17 kind 10050) on its relay as it unlocks the key.
    await until('the box’s inbox relay list on its relay', async () =>
      (
        await relayRequest(
          relayUrl!,
          ['REQ', 'inbox', { kinds: [10050], authors: [identity.pubkey!] }],
          (m) => m[0] === 'EOSE',
        )
      ).some((m) => m[0] === 'EVENT'),
    )
    const friend = await createEngine({
      dataDir: join(root, 'friend'),
      log: silentLogger,
      modules: [
        nostrModuleWith({
          boxRelayUrl: () => relayUrl,
          pool: { backoff: { initialMs: 200, maxMs: 1000 }, connectTimeoutMs: 5000 },
        }),
      ],
    })
    engines.push(friend)
    await call(friend, 'nostr', 'createKey', { passphrase: 'friend passphrase' })
    for (const text of ['the shop opens at nine', 'two coffees, please'])
      await call(friend, 'nostr', 'sendDirectMessage', { to: identity.npub, text })
    const messagesBefore = await until('the box reads both messages', async () => {
      const m = await readMessages(a)
      return m[0]?.texts.length === 2 ? m : undefined
    })
    await stopEngine(friend)

    // The on-chain wallet, funded on the world's chain, with BIP329 labels.
    await call(a, 'wallet', 'createSeed', { password: PW, words: 12, kind: 'wpkh' })
    const recv = await call<{ address: string }>(a, 'wallet', 'receive', {
      accountId: 'wpkh-0',
      label: 'first sale',
    })
    const deposit = world.pay(recv.address, 150_000)
    world.mine(1)
    await call(a, 'wallet', 'setLabel', {
      accountId: 'wpkh-0',
      type: 'tx',
      ref: deposit.getId(),
      label: 'paid by the bakery',
    })
    const walletBefore = await until('the deposit confirmed', async () => {
      const s = await call<WalletStatus>(a, 'wallet', 'status')
      return s.accounts[0]?.balance.confirmedSat === 150_000 ? s : undefined
    })
    const labelsBefore = await call<string>(a, 'wallet', 'exportLabels', { accountId: 'wpkh-0' })
    expect(labelsBefore).toContain('paid by the bakery')
    expect(labelsBefore).toContain('first sale')

    // LND: funded, a channel to bob, its SCB written.
    await until(
      'LND ready',
      async () => (await call<LightningStatus>(a, 'lightning', 'status')).node,
    )
    const pubkey = (await call<LightningStatus>(a, 'lightning', 'status')).node!.publicKey
    const { address } = await call<{ address: string }>(a, 'lightning', 'newAddress')
    world.chain.mine(1, address)
    net.mine(100)
    await until(
      'LND funded',
      async () => (await call<LightningBalances>(a, 'lightning', 'balances')).onchainSat > 0,
    )
    const bob = net.nodes.bob!
    await call(a, 'lightning', 'connectPeer', { uri: `${bob.pubkey}@${bob.node!.p2pAddress}` })
    await call(a, 'lightning', 'openChannel', {
      peerPublicKey: bob.pubkey,
      amountSat: 500_000,
      feeRate: 2,
      private: false,
    })
    net.mine(6)
    const channel = await until('channel active', async () =>
      (await call<readonly ChannelView[]>(a, 'lightning', 'channels')).find(
        (c) => c.state === 'active',
      ),
    )
    await until(
      'the SCB names the channel',
      async () =>
        (await call<LightningStatus>(a, 'lightning', 'status')).channelBackup?.channels === 1,
    )
    const inChannel = (await call<LightningBalances>(a, 'lightning', 'balances')).channelsLocalSat
    expect(inChannel).toBeGreaterThan(490_000)

    // BTCPay's database: its role, its database, its rows.
    await postgresSql("CREATE ROLE btcpay LOGIN PASSWORD 'btcpay-secret'")
    await postgresSql('CREATE DATABASE btcpayserverregtest OWNER btcpay')
    await postgresSql(
      "CREATE TABLE invoices (id text PRIMARY KEY, amount bigint, status text); INSERT INTO invoices SELECT 'inv-' || g, g * 1000, 'settled' FROM generate_series(1, 40) g; ALTER TABLE invoices OWNER TO btcpay",
      'btcpayserverregtest',
    )
    const settingsBefore = readFileSync(join(dir, 'settings.json'), 'utf8')
    mark('box filled')

    // Another stack's PostgreSQL on the same Docker Engine (a second install, a test stack): the
    // backup must dump this box's own, never that one.
    const decoy = await docker.createContainer({
      Image: images.postgres!.digest,
      name: `${project}-other-postgres`,
      Labels: { ...testLabels, [LABEL_SERVICE]: 'postgres', [LABEL_PROJECT]: `${project}-other` },
      HostConfig: { NetworkMode: 'none' },
    })
    closers.push(() => decoy.remove({ force: true }))
    await decoy.start()

    // --- back up --------------------------------------------------------------------------
    const drive = join(root, 'drive')
    await call(a, 'backup', 'configure', { target: drive })
    const archive = await call<{ file: string }>(a, 'backup', 'backupNow')
    const checked = await call<BackupStatus>(a, 'backup', 'status')
    expect(checked.lastCheck?.ok).toBe(true)
    expect(checked.lastProblem).toBeUndefined()
    mark('backed up and checked')

    // --- the disk dies ----------------------------------------------------------------------
    await decoy.remove({ force: true })
    await stopEngine(a)
    await boxLnd?.close()
    boxLnd = undefined
    cleanupProject(project)
    expect(projectContainers(project)).toEqual([])
    rmSync(dir, { recursive: true, force: true })
    relayUrl = undefined

    // --- a fresh install restores, then starts again (the restore is applied at start) ---------
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const b = await startEngine()
    await call(b, 'backup', 'restore', { file: archive.file, password: PW })
    await stopEngine(b)
    if (asRoot) {
      const pgData = join(stackDir, 'postgres', 'data')
      mkdirSync(pgData, { recursive: true, mode: 0o700 })
      chownSync(pgData, 999, 999)
    }
    await startBoxLnd() // an empty LND folder: no wallet, no channel.db
    const c = await startEngine()
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(settingsBefore)
    await call(c, 'backup', 'unlock', { password: PW })
    await call(c, 'stack', 'start')
    await stackHealthy(c, ['relay', 'mint', 'postgres'])
    relayUrl = `ws://${containerAddress('relay')}:7777`
    const mintAfter = `http://${containerAddress('mint')}:3338`
    mark('restored and the stack started again')

    // The relay's events.
    expect(await noteIds(relayUrl)).toEqual(eventsBefore)

    // The mint: the same keysets; the token minted before is spendable exactly once.
    expect(await (await fetch(`${mintAfter}/v1/keysets`)).json()).toEqual(keysetsBefore)
    const token = getEncodedToken({ mint: mintAfter, proofs })
    const w2 = new Wallet(mintAfter, { unit: 'sat' })
    await w2.loadMint()
    const got = await w2.receive(token)
    expect(got.reduce((n, p) => n + Number(p.amount), 0)).toBe(64)
    await expect(w2.receive(token)).rejects.toMatchObject({ code: 11001 })

    // The same npub reads the same messages, decrypted by the restored box.
    expect(
      (await call<Identity>(c, 'nostr', 'unlock', { passphrase: NOSTR_PASSPHRASE })).npub,
    ).toBe(identity.npub)
    expect(await readMessages(c)).toEqual(messagesBefore)

    // The on-chain wallet: the same descriptors, labels and balance after a resync.
    const walletAfter = await until('the wallet resynced', async () => {
      const s = await call<WalletStatus>(c, 'wallet', 'status')
      return s.accounts[0]?.balance.confirmedSat === 150_000 ? s : undefined
    })
    expect(walletAfter.accounts).toEqual(walletBefore.accounts)
    expect(await call<string>(c, 'wallet', 'exportLabels', { accountId: 'wpkh-0' })).toBe(
      labelsBefore,
    )

    // BTCPay's rows are back.
    await until(
      'BTCPay’s database imported',
      async () =>
        (await postgresSql('SELECT count(*), sum(amount) FROM invoices', 'btcpayserverregtest')) ===
        `40|${(40 * 41 * 1000) / 2}`,
      60_000,
    )

    // LND: restored from its words plus the SCB; the peer closes the channel; funds on chain.
    const restored = await until('LND restored', async () => {
      const s = await call<LightningStatus>(c, 'lightning', 'status')
      return s.restore?.restoredAt && s.node ? s : undefined
    })
    expect(restored.node!.publicKey).toBe(pubkey)
    expect(restored.restore!.channels).toBe(1)
    const lnd = ln.authenticatedLndGrpc(boxLnd!.lnServiceAuth()).lnd
    await until('the channel closing', async () =>
      (await ln.getPendingChannels({ lnd })).pending_channels.find(
        (p) => p.is_closing && channel.id.length > 0,
      ),
    )
    net.mine(1)
    await until(
      'the channel’s funds back on chain',
      async () =>
        (await call<LightningBalances>(c, 'lightning', 'balances')).onchainSat >= inChannel,
    )
    mark('LND closed and recovered')
    console.log(
      `whole-box round trip: ${((Date.now() - began) / 1000).toFixed(1)} s (${phases.join(', ')})`,
    )
  }, 600_000)
})
