// bench:wallet — a full sync of a wallet with N used addresses (2 transactions each, default
// N = 1,000 → 2,000 transactions) against the Electrum façade (electrs simulator following the
// bitcoind simulator's world chain, real signatures), two ways:
//  - the box's client (src/core/wallet/wallet-sync.ts): batched subscriptions, histories,
//    transactions, Merkle proofs and headers, one round trip per step;
//  - a naive client asking one address at a time: get_history, then each new transaction, its
//    Merkle proof and its block header (cached), one request per round trip.
// Both do the same work (discover to the gap limit, fetch every transaction, verify every proof).
// Then a restart of the box's wallet on the same store: what an unchanged wallet costs.
// Both derive addresses with the same AccountKeys inside their timing, so the difference is
// the protocol. The façade (bitcoind simulator + electrs simulator) runs in its own process, as
// electrs does on a box, so each round trip is a real socket and another event loop; it is still
// loopback on one machine, so a round trip is far cheaper here than on a LAN or over Tor.
// Usage: npm run bench:wallet [-- --addresses 100]
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { mnemonicToSeedSync } from '@scure/bip39'
import * as bitcoin from 'bitcoinjs-lib'
import { ElectrumClient } from '../src/core/clients/electrum'
import { AccountKeys, seedAccount } from '../src/core/wallet/account'
import { verifyMerkleProof } from '../src/core/wallet/merkle-proof'
import { WalletStore } from '../src/core/wallet/wallet-store'
import { WalletSync } from '../src/core/wallet/wallet-sync'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const N = arg('addresses', 1000)
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`

const seed = mnemonicToSeedSync(
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
)
const account = seedAccount({
  seed,
  network: 'regtest',
  kind: 'wpkh',
  account: 0,
  id: 'bench',
  name: 'Bench',
})

// The façade runs in its own process (electrs is a separate program on a real box), so every
// round trip costs a real socket and another event loop, not a function call in this one.
console.log(`funding ${N} addresses with ${2 * N} transactions in the façade process…`)
const facade = spawn(
  process.execPath,
  [
    ...process.execArgv.filter((a) => a !== '--expose-gc'),
    join(import.meta.dirname, 'wallet-facade.ts'),
    '--addresses',
    String(N),
    '--account',
    JSON.stringify(account),
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
)
const ready = await new Promise<{ port: number; tip: number; fundedMs: number }>(
  (resolve, reject) => {
    let buf = ''
    facade.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)))
    })
    facade.once('exit', (code) => reject(new Error(`the façade process exited (${code})`)))
  },
)
console.log(`funded in ${(ready.fundedMs / 1000).toFixed(1)} s; tip ${ready.tip}`)
const endpoint = { host: '127.0.0.1', port: ready.port }

// --- the box's client -------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'flashbox-bench-wallet-'))
global.gc?.()
const heapBefore = process.memoryUsage().heapUsed
let t = performance.now()
const store = new WalletStore(join(dir, 'wallet.sqlite'))
const sync = new WalletSync({ store, endpoint: () => endpoint, timeoutMs: 120_000 })
await sync.start()
await sync.addAccount(account)
await sync.synced()
const batchedMs = performance.now() - t
const state = sync.account('bench')
const txCount = state.txs.size
const verified = [...state.txs.values()].filter((x) => x.verified).length
const batchedTrips = sync.session.roundTrips
const batchedRequests = sync.session.requests
const heapBatched = process.memoryUsage().heapUsed - heapBefore
sync.stop()
store.close()
if (txCount !== 2 * N || verified !== 2 * N) {
  throw new Error(
    `the box's client found ${txCount} transactions, ${verified} verified; expected ${2 * N}`,
  )
}

sync.stop()
facade.stdin.end()
await new Promise((r) => facade.once('exit', r))

console.log('box', batchedMs)
