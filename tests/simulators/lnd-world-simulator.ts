// SIMULATOR — test-only, never imported by production code. The world LND node as a process: one
// LND (configured by LND's own lnd.conf / flags) plus, optionally, simulated peer nodes in the
// same process, all following a bitcoind over JSON-RPC (the world's bitcoind simulator in the
// test images). gRPC on LND's real protos, REST gateway, TLS and macaroons as in
// tests/simulators/world/lnd-rpc.ts. Channels exist only between nodes of one process.
// Every node keeps channel.db under its lnddir (world/lnd-channel-db.ts): a process killed with
// SIGKILL and started again with the same folders comes back with its channels, in-flight HTLCs,
// invoices and payments (all of its nodes die and come back together).
//
//   node lnd-world-simulator.mjs --lnddir=/data/.lnd --configfile=/data/.lnd/lnd.conf
//
// lnd.conf / flags honoured: lnddir, configfile, alias, rpclisten (gRPC, default 0.0.0.0:10009),
// restlisten (REST, default 0.0.0.0:8080), tlscertpath, tlskeypath, tlsextradomain, tlsextraip,
// bitcoin.<network>, bitcoind.rpchost/rpcuser/rpcpass, wallet-unlock-password-file. With a config
// file the wallet behaves as LND's (NON_EXISTING until InitWallet, then unlocked from the password
// file); without one a wallet is made and unlocked at start.
// Env (all optional):
//   LND_WORLD_DIR                  lnddir when no --lnddir
//   LND_WORLD_ALIAS                node alias (default: lnd.conf alias, else "lnd")
//   LND_WORLD_HOST                 listen host (default 0.0.0.0)
//   LND_WORLD_GRPC_PORT / LND_WORLD_REST_PORT   override rpclisten / restlisten ports
//   LND_WORLD_BITCOIND_URL / _USER / _PASSWORD  override bitcoind.rpchost/rpcuser/rpcpass
//   LND_WORLD_WALLET               auto | rpc (see above)
//   LND_WORLD_PEERS                "bob:10010:8081,carol:10011:8082": simulated peer nodes in this
//                                  process (gRPC:REST ports; lnddir <lnddir>/world-peers/<name>,
//                                  wallets made at start, admin.macaroon where LND writes it)
//   LND_WORLD_CHANNELS             "bob-carol-1000000,lnd-bob-500000[-push]": opened at first start (regtest:
//                                  each opener gets a coinbase by generatetoaddress, 100 blocks
//                                  mature it, 6 bury the funding); "lnd" = this node (needs an
//                                  unlocked wallet at start)
//   LND_WORLD_FUNDING_CONFS (3), LND_WORLD_CSV_DELAY (144), LND_WORLD_POLL_MS (500),
//   LND_WORLD_FROM_HEIGHT (0: read every block), LND_WORLD_PERSIST (1: channel.db on disk; 0: in
//   memory only, for benchmarks that measure what calls LND, not its disk), LND_SIM_PROTOS_DIR
// Health: `node healthcheck.mjs lnd-rest https://127.0.0.1:8080 /data/.lnd/tls.cert`
// (GET /v1/state answers SERVER_ACTIVE, as `lncli state`).
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as bitcoin from 'bitcoinjs-lib'
import { z } from 'zod'
import { parseLndConf } from './lnd-common'
import { bitcoindChainBackend } from './world/lnd-bitcoind-backend'
import { channelDbPath } from './world/lnd-channel-db'
import { ANNOUNCEMENT_CONFS, LightningWorld } from './world/lightning-world'
import { startWorldLnd, type WorldLnd } from './world/lnd-rpc'

const EnvSchema = z.object({
  LND_WORLD_DIR: z.string().min(1).optional(),
  LND_WORLD_ALIAS: z.string().min(1).max(32).optional(),
  LND_WORLD_HOST: z.string().default('0.0.0.0'),
  LND_WORLD_GRPC_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  LND_WORLD_REST_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  LND_WORLD_BITCOIND_URL: z.string().url().optional(),
  LND_WORLD_BITCOIND_USER: z.string().optional(),
  LND_WORLD_BITCOIND_PASSWORD: z.string().optional(),
  LND_WORLD_WALLET: z.enum(['auto', 'rpc']).optional(),
  LND_WORLD_PEERS: z
    .string()
    .regex(/^([a-z0-9_-]+:\d+:\d+)?(,[a-z0-9_-]+:\d+:\d+)*$/i)
    .default(''),
  LND_WORLD_CHANNELS: z
    .string()
    .regex(/^([a-z0-9_]+-[a-z0-9_]+-\d+(-\d+)?)?(,[a-z0-9_]+-[a-z0-9_]+-\d+(-\d+)?)*$/i)
    .default(''),
  LND_WORLD_FUNDING_CONFS: z.coerce.number().int().min(1).max(100).default(3),
  LND_WORLD_CSV_DELAY: z.coerce.number().int().min(1).max(2016).default(144),
  LND_WORLD_POLL_MS: z.coerce.number().int().min(50).default(500),
  LND_WORLD_FROM_HEIGHT: z.coerce.number().int().min(0).default(0),
  LND_WORLD_PERSIST: z.enum(['0', '1']).default('1'),
})

const NETWORKS = {
  regtest: bitcoin.networks.regtest,
  signet: bitcoin.networks.testnet,
  testnet4: bitcoin.networks.testnet,
  mainnet: bitcoin.networks.bitcoin,
} as const

const DEFAULT_RPC_PORT = { regtest: 18443, signet: 38332, testnet4: 48332, mainnet: 8332 }

export interface WorldLndProcess {
  readonly nodes: Readonly<Record<string, WorldLnd>>
  close(): Promise<void>
}

export async function main(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): Promise<WorldLndProcess> {
  const cfg = EnvSchema.parse(env)
  const log = (l: string) => process.stdout.write(`[lnd SIMULATOR] ${l}\n`)
  const flags = parseLndConf('', argv)
  const lnddir = flags.lnddir ?? cfg.LND_WORLD_DIR
  const configfile = flags.configfile ?? (lnddir ? join(lnddir, 'lnd.conf') : undefined)
  const hasConf = !!configfile && existsSync(configfile)
  const conf = parseLndConf(hasConf ? readFileSync(configfile, 'utf8') : '', argv)
  const dir = conf.lnddir ?? lnddir
  if (!dir) throw new Error('no lnddir: pass --lnddir=… or LND_WORLD_DIR')
  const network = conf.network ?? 'regtest'
  const port = (listen: string | undefined, fallback: number) =>
    listen ? Number(/:(\d+)$/.exec(listen)?.[1] ?? fallback) : fallback
  const rpchost = conf.rpchost ?? `127.0.0.1:${DEFAULT_RPC_PORT[network]}`
  const backend = await bitcoindChainBackend({
    rpc: {
      url:
        cfg.LND_WORLD_BITCOIND_URL ??
        `http://${rpchost.includes(':') ? rpchost : `${rpchost}:${DEFAULT_RPC_PORT[network]}`}`,
      user: cfg.LND_WORLD_BITCOIND_USER ?? conf.rpcuser ?? '',
      password: cfg.LND_WORLD_BITCOIND_PASSWORD ?? conf.rpcpass ?? '',
    },
    network: NETWORKS[network],
    fromHeight: cfg.LND_WORLD_FROM_HEIGHT,
    pollMs: cfg.LND_WORLD_POLL_MS,
    log,
  })
  const world = new LightningWorld(backend)
  const nodeOpts = { fundingConfs: cfg.LND_WORLD_FUNDING_CONFS, csvDelay: cfg.LND_WORLD_CSV_DELAY }
  const peerSpecs = cfg.LND_WORLD_PEERS.split(',').filter(Boolean)
  // A restarted process finds its nodes' channel.db files: LND_WORLD_CHANNELS were opened before.
  const restarted = [dir, ...peerSpecs.map((p) => join(dir, 'world-peers', p.split(':')[0]!))].some(
    (d) => existsSync(channelDbPath(d, network)),
  )
  const alias = cfg.LND_WORLD_ALIAS ?? conf.alias ?? 'lnd'
  const nodes: Record<string, WorldLnd> = {}
  nodes[alias] = await startWorldLnd({
    world,
    alias,
    dir,
    network,
    host: cfg.LND_WORLD_HOST,
    grpcPort: cfg.LND_WORLD_GRPC_PORT ?? port(conf.rpclisten, 10009),
    restPort: cfg.LND_WORLD_REST_PORT ?? port(conf.restlisten, 8080),
    tlsExtraDomains: conf.tlsextradomain,
    tlsExtraIps: conf.tlsextraip,
    ...(conf.tlscertpath ? { tlsCertPath: conf.tlscertpath } : {}),
    ...(conf.tlskeypath ? { tlsKeyPath: conf.tlskeypath } : {}),
    wallet: {
      mode: cfg.LND_WORLD_WALLET ?? (hasConf ? 'rpc' : 'auto'),
      ...(conf.walletUnlockPasswordFile ? { passwordFile: conf.walletUnlockPasswordFile } : {}),
    },
    node: nodeOpts,
    persist: cfg.LND_WORLD_PERSIST === '1',
    log,
  })
  for (const spec of peerSpecs) {
    const [name, grpcPort, restPort] = spec.split(':') as [string, string, string]
    const peerDir = join(dir, 'world-peers', name)
    mkdirSync(peerDir, { recursive: true })
    nodes[name] = await startWorldLnd({
      world,
      alias: name,
      dir: peerDir,
      network,
      host: cfg.LND_WORLD_HOST,
      grpcPort: Number(grpcPort),
      restPort: Number(restPort),
      tlsExtraDomains: conf.tlsextradomain,
      tlsExtraIps: conf.tlsextraip,
      node: nodeOpts,
      persist: cfg.LND_WORLD_PERSIST === '1',
      log: (l) => log(`[${name}] ${l}`),
    })
  }
  const channels = restarted ? [] : cfg.LND_WORLD_CHANNELS.split(',').filter(Boolean)
  if (channels.length) {
    if (network !== 'regtest') throw new Error('LND_WORLD_CHANNELS needs regtest (coins are mined)')
    const burn = bitcoin.payments.p2wpkh({
      hash: Buffer.alloc(20, 0x5a),
      network: NETWORKS.regtest,
    })
    const nodeOf = (n: string) => {
      const x = nodes[n === 'lnd' ? alias : n]?.node
      if (!x) throw new Error(`LND_WORLD_CHANNELS: node ${n} is unknown or its wallet is locked`)
      return x
    }
    const specs = channels.map((c) => c.split('-')) as [string, string, string, string?][]
    for (const opener of new Set(specs.map((s) => s[0])))
      await backend.mine(1, nodeOf(opener).wallet.newAddress('p2wkh').address)
    await backend.mine(100, burn.address!)
    world.onChainChange()
    for (const [a, b, sat, push] of specs) {
      const na = nodeOf(a)
      const nb = nodeOf(b)
      if (!na.peers.has(nb.pubkey)) na.connect(nb.pubkey, nb.p2pAddress)
      na.openChannel({
        peer: nb.pubkey,
        localSat: BigInt(sat),
        ...(push ? { pushSat: BigInt(push) } : {}),
        minConfs: 0,
      })
      await backend.refresh()
      world.onChainChange()
    }
    await backend.mine(ANNOUNCEMENT_CONFS, burn.address!)
    world.onChainChange()
    log(`Opened ${channels.length} channel(s): ${channels.join(', ')}`)
  }
  return {
    nodes,
    close: async () => {
      for (const n of Object.values(nodes)) await n.close()
      world.close()
      backend.close()
    },
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main()
    .then((p) => {
      const stop = () => {
        process.stdout.write('[lnd SIMULATOR] Shutdown complete\n')
        void p.close().then(() => process.exit(0))
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    })
    .catch((err: unknown) => {
      process.stderr.write(`[lnd SIMULATOR] fatal: ${String(err)}\n`)
      process.exit(1)
    })
}
