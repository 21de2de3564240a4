// The regtest world for wallet tests: one simulated chain (real signatures and policy) served by
// the bitcoind simulator, and the electrs simulator following it over JSON-RPC, as on the box.
// A funded test key pays the wallet's addresses; blocks are mined and reorged on the chain itself.
import { connect, createServer, type Server, type Socket } from 'node:net'
import * as bitcoin from 'bitcoinjs-lib'
import {
  makeRpcauth,
  startBitcoindSimulator,
  type BitcoindSimulator,
} from '../simulators/bitcoind-simulator'
import { startElectrsSimulator, type ElectrsSimulator } from '../simulators/electrs-simulator'
import type { Chain } from '../simulators/world/chain'
import { BURN_SCRIPT, TestKey, type SpendableCoin } from '../simulators/world/test-keys'

export const WALLET_RPC_USER = 'wallet'
const USER = WALLET_RPC_USER
export const WALLET_RPC_PASSWORD = 'wallet-test-password-1'
const PASSWORD = WALLET_RPC_PASSWORD
const quiet = () => {}

export interface WalletWorld {
  readonly bitcoind: BitcoindSimulator
  readonly electrs: ElectrsSimulator
  readonly chain: Chain
  readonly payer: TestKey
  /** Pays `sat` to `address` from the payer (RBF-signalling), returns the transaction (not mined). */
  pay(address: string, sat: number, feeRate?: number): bitcoin.Transaction
  /** Pays many addresses in one transaction. */
  payMany(
    outputs: readonly { address: string; sat: number }[],
    feeRate?: number,
  ): bitcoin.Transaction
  mine(n?: number): string[]
  close(): Promise<void>
}

export async function startWalletWorld(opts: { coins?: number } = {}): Promise<WalletWorld> {
  const bitcoind = await startBitcoindSimulator({
    rpcauth: [makeRpcauth(USER, PASSWORD, '77a11e7577a11e7577a11e7577a11e75')],
    chain: true,
    log: quiet,
  })
  const chain = bitcoind.world!
  const payer = TestKey.fromLabel('wallet-payer')
  // Coinbases to the payer, matured, so each payment can use its own coin.
  const coins: SpendableCoin[] = []
  const script = payer.p2wpkh().output
  for (const hash of chain.mine(opts.coins ?? 10, script)) {
    const cb = chain.blockAt(hash)!.block.transactions![0]!
    coins.push({ txid: cb.getId(), vout: 0, value: cb.outs[0]!.value, script })
  }
  chain.mine(100, BURN_SCRIPT)
  const electrs = await startElectrsSimulator({
    bitcoind: { url: bitcoind.url, user: USER, password: PASSWORD },
    pollMs: 50,
    log: quiet,
  })
  const payMany = (outputs: readonly { address: string; sat: number }[], feeRate = 2) => {
    const coin = coins.shift()
    if (!coin) throw new Error('the payer ran out of coins')
    const tx = payer.spend(
      [coin],
      outputs.map((o) => ({
        script: bitcoin.address.toOutputScript(o.address, bitcoin.networks.regtest),
        value: BigInt(o.sat),
      })),
      feeRate,
    )
    chain.submit(tx)
    // The change goes back to the payer as its next coin.
    const vout = tx.outs.length - 1
    if (Buffer.from(tx.outs[vout]!.script).equals(Buffer.from(script)))
      coins.push({ txid: tx.getId(), vout, value: tx.outs[vout]!.value, script })
    return tx
  }
  return {
    bitcoind,
    electrs,
    chain,
    payer,
    pay: (address, sat, feeRate) => payMany([{ address, sat }], feeRate),
    payMany,
    mine: (n = 1) => chain.mine(n, BURN_SCRIPT),
    async close() {
      await electrs.close()
      await bitcoind.close()
    },
  }
}

/**
 * A TCP proxy between the wallet and electrs that can rewrite answers: the tampering a wallet
 * must catch (a Merkle branch that does not lead to the block's root).
 */
export async function startTamperingProxy(
  target: { host: string; port: number },
  rewrite: (answer: Record<string, unknown>) => Record<string, unknown>,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(target)
    sockets.add(client).add(upstream)
    client.pipe(upstream)
    let buffer = ''
    upstream.setEncoding('utf8')
    upstream.on('data', (chunk: string) => {
      buffer += chunk
      let nl: number
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        const msg = JSON.parse(line) as Record<string, unknown> | Record<string, unknown>[]
        const out = Array.isArray(msg) ? msg.map(rewrite) : rewrite(msg)
        client.write(JSON.stringify(out) + '\n')
      }
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}
