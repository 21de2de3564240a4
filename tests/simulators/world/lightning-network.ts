// SIMULATOR — test-only. One call starts N simulated LND nodes on a chain and opens channels
// between them the way a regtest operator would: each opener's wallet is funded by a mined
// coinbase (matured under 100 blocks — no side doors), peers connect, funding transactions are
// broadcast and mined, and the chain is buried 6 deep so every public channel is in the gossip
// graph before the call returns.
//
//   const net = await startLightningNetwork({
//     chain, dir, nodes: ['alice', 'bob', 'carol'],
//     channels: [['alice', 'bob', 1_000_000], ['bob', 'carol', 1_000_000, { pushSat: 100_000 }]],
//   })
//   const lnd = authenticatedLndGrpc(net.nodes.alice.lnServiceAuth()).lnd   // ln-service
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import * as bitcoin from 'bitcoinjs-lib'
import { ANNOUNCEMENT_CONFS, LightningWorld } from './lightning-world'
import { worldChainBackend, type LndChainBackend, type WorldChainLike } from './lnd-chain-backend'
import type { NodeOptions } from './lnd-node'
import { startWorldLnd, type WorldLnd } from './lnd-rpc'

export interface NetworkChain extends WorldChainLike {
  mine(n: number, scriptOrAddress: Uint8Array | string): string[]
}

export interface ChannelSpec {
  readonly pushSat?: number
  readonly private?: boolean
}

export interface LightningNetworkOptions {
  readonly chain: NetworkChain
  /** Parent directory; each node gets <dir>/<name> as its lnddir. */
  readonly dir: string
  readonly nodes: readonly string[]
  readonly channels?: readonly (
    readonly [string, string, number] | readonly [string, string, number, ChannelSpec]
  )[]
  /** Node settings for every node (or per name). */
  readonly node?: Partial<Omit<NodeOptions, 'alias' | 'seed' | 'network'>>
  readonly nodeOptions?: Readonly<
    Record<string, Partial<Omit<NodeOptions, 'alias' | 'seed' | 'network'>>>
  >
  /** Also serve LND's REST gateway on each node (default true). */
  readonly rest?: boolean
  readonly log?: (line: string) => void
}

export interface LightningNetwork {
  readonly world: LightningWorld
  readonly backend: LndChainBackend
  readonly nodes: Readonly<Record<string, WorldLnd>>
  /** Mines `n` blocks to a throwaway address and lets every node catch up. */
  mine(n: number): void
  /** Stops a node's process (peers see it go offline); `start` brings it back. */
  stop(name: string): Promise<void>
  start(name: string): Promise<WorldLnd>
  close(): Promise<void>
}

const BURN = bitcoin.payments.p2wpkh({
  hash: Buffer.alloc(20, 0x5a),
  network: bitcoin.networks.regtest,
}).address!

export async function startLightningNetwork(o: LightningNetworkOptions): Promise<LightningNetwork> {
  const backend = worldChainBackend(o.chain, bitcoin.networks.regtest)
  const world = new LightningWorld(backend)
  const nodes: Record<string, WorldLnd> = {}
  const start = async (name: string) => {
    const dir = join(o.dir, name)
    mkdirSync(dir, { recursive: true })
    const lnd = await startWorldLnd({
      world,
      alias: name,
      dir,
      network: 'regtest',
      restPort: o.rest === false ? null : 0,
      node: { ...o.node, ...o.nodeOptions?.[name] },
      ...(o.log ? { log: (l: string) => o.log!(`[${name}] ${l}`) } : {}),
    })
    nodes[name] = lnd
    return lnd
  }
  for (const name of o.nodes) await start(name)
  const mine = (n: number) => {
    o.chain.mine(n, BURN)
    world.onChainChange()
  }
  const node = (name: string) => {
    const n = nodes[name]?.node
    if (!n) throw new Error(`unknown node ${name}`)
    return n
  }

  const openers = [...new Set((o.channels ?? []).map((c) => c[0]))]
  if (openers.length) {
    // One coinbase per opener, then maturity (COINBASE_MATURITY = 100).
    for (const name of openers) {
      o.chain.mine(1, node(name).wallet.newAddress('p2wkh').address)
    }
    mine(100)
    for (const spec of o.channels ?? []) {
      const [a, b, sat] = spec
      const extra: ChannelSpec = spec[3] ?? {}
      const na = node(a)
      const nb = node(b)
      if (!na.peers.has(nb.pubkey)) na.connect(nb.pubkey, nb.p2pAddress)
      na.openChannel({
        peer: nb.pubkey,
        localSat: BigInt(sat),
        ...(extra.pushSat ? { pushSat: BigInt(extra.pushSat) } : {}),
        ...(extra.private ? { private: true } : {}),
        // Unconfirmed change may fund the next channel, as LND allows with spend_unconfirmed.
        minConfs: 0,
      })
    }
    mine(ANNOUNCEMENT_CONFS)
    const pending = world.channels().filter((c) => c.state !== 'open')
    if (pending.length) throw new Error(`channels not open after ${ANNOUNCEMENT_CONFS} blocks`)
  }

  return {
    world,
    backend,
    nodes,
    mine,
    stop: async (name) => {
      await nodes[name]!.close()
    },
    start: async (name) => start(name),
    close: async () => {
      for (const lnd of Object.values(nodes)) await lnd.close()
      world.close()
    },
  }
}
