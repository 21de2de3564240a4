// The box as a wallet service, for the NWC and Lightning-address tests: the box's LND is a node of
// the world network with a channel from bob (who pushed it 300k sat), bob ↔ carol, the box's
// relay runs as its own child process, and the wallet-service module listens on it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type * as Lightning from 'lightning'
import { relayModule } from '../../src/core/relay/relay-module'
import { walletServiceModule } from '../../src/core/lightning/wallet-service-module'
import type { WalletServiceStatus } from '../../src/shared/api/wallet-service'
import { Chain } from '../simulators/world/chain'
import { startLightningNetwork, type LightningNetwork } from '../simulators/world/lightning-network'
import { startWorldLnd, type WorldLnd } from '../simulators/world/lnd-rpc'
import { eventually as waitUntil } from './eventually'
import { CTX, lightningBox, type LightningBox } from './lightning-harness'

export const ln = createRequire(import.meta.url)('ln-service') as typeof Lightning

/** The world's answers can fail while a node restarts: ask again for up to 20 s. */
export const eventually = <T>(fn: () => Promise<T>, what: string) =>
  waitUntil(fn, what, { ms: 20_000, retryErrors: true })

export interface WalletServiceWorld {
  readonly net: LightningNetwork
  readonly box: LightningBox
  readonly boxLnd: WorldLnd
  /** ln-service for a world node (bob, carol). */
  lndOf(name: string): Lightning.AuthenticatedLnd
  /** The box's own LND, as the app uses it. */
  appLnd(): Lightning.AuthenticatedLnd
  call<T>(procedure: string, input?: unknown): Promise<T>
  close(): Promise<void>
}

export async function walletServiceWorld(): Promise<WalletServiceWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'flashbox-wallet-service-'))
  const chain = new Chain()
  const net = await startLightningNetwork({
    chain,
    dir,
    nodes: ['bob', 'carol'],
    channels: [['bob', 'carol', 1_000_000, { pushSat: 200_000 }]],
    rest: false,
    log: () => {},
  })
  let boxLnd: WorldLnd | undefined
  const box = await lightningBox({
    extraModules: [
      relayModule({ port: 0, shouldRun: () => 'run' }),
      walletServiceModule({ loopMs: 300, backoff: { initialMs: 100, maxMs: 1000 } }),
    ],
    startLnd: async (p, passwordFile) => {
      const lnd = await startWorldLnd({
        world: net.world,
        alias: 'box',
        dir: p.lndDir,
        network: 'regtest',
        restPort: null,
        wallet: { mode: 'rpc', ...(passwordFile ? { passwordFile } : {}) },
        log: () => {},
      })
      boxLnd = lnd
      return { socket: lnd.socket, close: () => lnd.close() }
    },
  })
  const appLnd = () =>
    (
      box.engine.module('lightning') as unknown as {
        appLnd(): Lightning.AuthenticatedLnd | undefined
      }
    ).appLnd()!
  const world: WalletServiceWorld = {
    net,
    box,
    boxLnd: boxLnd!,
    lndOf: (name) => ln.authenticatedLndGrpc(net.nodes[name]!.lnServiceAuth()).lnd,
    appLnd,
    call: <T>(procedure: string, input: unknown = {}) =>
      box.engine.call('walletService', procedure, input, CTX) as Promise<T>,
    async close() {
      await box.close()
      await net.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    const bob = net.nodes.bob!.node!
    const me = boxLnd!.node!
    bob.connect(me.pubkey, me.p2pAddress)
    bob.openChannel({ peer: me.pubkey, localSat: 1_000_000n, pushSat: 300_000n, minConfs: 0 })
    net.mine(6)
    await eventually(async () => {
      const { channels } = await ln.getChannels({ lnd: appLnd() })
      return channels.some((c) => c.is_active) ? true : undefined
    }, 'box channel active')
    await eventually(async () => {
      const s = await world.call<WalletServiceStatus>('status')
      return s.relays.some((r) => r.connected) ? s : undefined
    }, 'wallet service on the box relay')
  } catch (err) {
    await world.close()
    throw err
  }
  return world
}

export interface NwcAnswer {
  result_type: string
  error: { code: string; message: string } | null
  result: Record<string, unknown> | null
}

/** The app: a separate node process speaking NIP-47 with nostr-tools. */
export class NwcApp {
  private readonly child: ChildProcessWithoutNullStreams
  private readonly waiting = new Map<number, (line: Record<string, unknown>) => void>()
  private next = 1
  /** `relay`: which of the string's relays the app uses (default: the first). */
  constructor(uri: string, relay?: string) {
    this.child = spawn(
      process.execPath,
      [join(import.meta.dirname, 'nwc-client-process.mjs'), uri, ...(relay ? [relay] : [])],
      { stdio: 'pipe' },
    )
    this.child.stderr.on('data', (d: Buffer) => process.stderr.write(`[nwc app] ${d}`))
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as { id: number }
      this.waiting.get(msg.id)?.(msg)
      this.waiting.delete(msg.id)
    })
  }
  private send(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.next++
    return new Promise((resolve) => {
      this.waiting.set(id, resolve)
      this.child.stdin.write(JSON.stringify({ id, ...cmd }) + '\n')
    })
  }
  async call(
    method: string,
    params: Record<string, unknown> = {},
    encryption: 'nip44_v2' | 'nip04' | 'nip99' = 'nip44_v2',
  ): Promise<NwcAnswer> {
    const r = await this.send({ method, params, encryption })
    if (r.error) throw new Error(String(r.error))
    return r.response as NwcAnswer
  }
  async info(): Promise<{ content: string; tags: string[][]; kind: number }> {
    const r = await this.send({ op: 'info' })
    if (r.error) throw new Error(String(r.error))
    return r.event as { content: string; tags: string[][]; kind: number }
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve()
      this.child.once('exit', () => resolve())
      this.child.stdin.end()
      setTimeout(() => this.child.kill('SIGKILL'), 3000).unref()
    })
  }
}
