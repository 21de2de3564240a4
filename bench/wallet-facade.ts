// The Electrum façade for bench:wallet, run as its own process (as electrs is its own program on a
// box): the bitcoind simulator's world chain funded with N used addresses (2 transactions each),
// and the electrs simulator following it. Prints one JSON line {"port": …, "tip": …} on stdout once
// electrs has indexed the tip, then serves until its stdin closes (the parent exited) or SIGTERM;
// a "cpu" line on stdin is answered with the façade's CPU time so far, "change K" with {"changed"}.
// bench/wallet.ts runs it in a container (bundled with esbuild into a test image, stdin and stdout
// attached through `docker run -i`, --host 0.0.0.0 and fixed ports that Docker publishes on the
// host's 127.0.0.1, as the stack publishes electrs) and as a plain host process (tsx).
// Usage: tsx bench/wallet-facade.ts --addresses N --account JSON [--latency-ms MS]
//          [--host 127.0.0.1] [--electrum-port 0] [--proxy-port 0]
import { createServer, connect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { AccountKeys } from '../src/core/wallet/account'
import type { WalletAccount } from '../src/core/wallet/types'
import { makeRpcauth, startBitcoindSimulator } from '../tests/simulators/bitcoind-simulator'
import { startElectrsSimulator } from '../tests/simulators/electrs-simulator'
import { BURN_SCRIPT, TestKey, type SpendableCoin } from '../tests/simulators/world/test-keys'

const argv = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const N = Number(argv('addresses') ?? 1000)
const latencyMs = Number(argv('latency-ms') ?? 0)
// Where electrs and the latency proxy listen: 127.0.0.1 and ports the kernel picks as a host
// process; 0.0.0.0 and fixed ports in a container (Docker forwards published ports to the
// container's bridge address).
const host = argv('host') ?? '127.0.0.1'
const electrumPort = Number(argv('electrum-port') ?? 0)
const proxyListenPort = Number(argv('proxy-port') ?? 0)
const account = JSON.parse(argv('account') ?? '') as WalletAccount
const TXS_PER_BLOCK = 250
const quiet = () => {}
const keys = new AccountKeys(account)

const bitcoind = await startBitcoindSimulator({
  rpcauth: [makeRpcauth('bench', 'bench-password-1', 'bec4bec4bec4bec4bec4bec4bec4bec4')],
  chain: true,
  log: quiet,
})
const chain = bitcoind.world!
const payer = TestKey.fromLabel('bench-payer')
const payerScript = payer.p2wpkh().output

// Funding: coinbases split into one small coin per payment, then 2 payments per address.
const t0 = performance.now()
const coinbases: SpendableCoin[] = []
// A few spare coins for the "change K" command (new payments to K used addresses).
const SPARE = 50
const splitsNeeded = Math.ceil((2 * N + SPARE) / 1000)
for (const hash of chain.mine(splitsNeeded, payerScript)) {
  const cb = chain.blockAt(hash)!.block.transactions![0]!
  coinbases.push({ txid: cb.getId(), vout: 0, value: cb.outs[0]!.value, script: payerScript })
}
chain.mine(100, BURN_SCRIPT)
const coins: SpendableCoin[] = []
for (const cb of coinbases) {
  const outs = Array.from({ length: 1000 }, () => ({ script: payerScript, value: 100_000n }))
  const split = payer.spend([cb], outs, 1)
  chain.submit(split)
  for (let v = 0; v < 1000; v++)
    coins.push({ txid: split.getId(), vout: v, value: 100_000n, script: payerScript })
}
chain.mine(1, BURN_SCRIPT)
const scripts = Array.from({ length: N }, (_, i) =>
  Buffer.from(keys.derive(0, i).scriptPubKey, 'hex'),
)
for (let i = 0; i < 2 * N; i++) {
  const tx = payer.spend([coins[i]!], [{ script: scripts[i % N]!, value: 50_000n + BigInt(i) }], 1)
  chain.submit(tx)
  if ((i + 1) % TXS_PER_BLOCK === 0) chain.mine(1, BURN_SCRIPT)
}
chain.mine(1, BURN_SCRIPT)
const fundedMs = performance.now() - t0

const electrs = await startElectrsSimulator({
  bitcoind: { url: bitcoind.url, user: 'bench', password: 'bench-password-1' },
  host,
  electrumPort,
  pollMs: 50,
  indexBlocksPerSecond: 100_000,
  log: quiet,
})
for (let i = 0; i < 600 && electrs.indexedHeight() < chain.tip().height; i++)
  await new Promise((r) => setTimeout(r, 100))
await electrs.synced()

// A second port with a simulated network in front of electrs: a proxy (one more hop) that
// holds every chunk electrs answers for latencyMs (Node timers: at least that, in order). Only for the separate, labelled
// "with N ms network latency" figure; the headline uses electrs' own port.
const forward = (from: Socket, to: Socket, delayMs: number) =>
  from.on('data', (d: Buffer) => {
    if (delayMs === 0) to.write(d)
    else setTimeout(() => to.writable && to.write(d), delayMs)
  })
const proxy = createServer((inbound) => {
  const outbound = connect(electrs.electrumPort, '127.0.0.1')
  forward(inbound, outbound, 0)
  forward(outbound, inbound, latencyMs)
  const end = () => {
    inbound.destroy()
    outbound.destroy()
  }
  inbound.on('close', end).on('error', end)
  outbound.on('close', end).on('error', end)
})
await new Promise<void>((r) => proxy.listen(proxyListenPort, host, r))
const proxyPort = (proxy.address() as { port: number }).port

let closing = false
const close = async () => {
  if (closing) return
  closing = true
  proxy.close()
  await electrs.close()
  await bitcoind.close()
  process.exit(0)
}
// "cpu" on stdin: the façade's own CPU time so far (ms), one JSON line, so the bench can show how
// much of a sync is the server's work (the same for both clients) and how much the client's.
let pendingIn = ''
process.stdin.on('data', (d: Buffer) => {
  pendingIn += d.toString()
  let nl: number
  while ((nl = pendingIn.indexOf('\n')) >= 0) {
    const line = pendingIn.slice(0, nl).trim()
    pendingIn = pendingIn.slice(nl + 1)
    if (line === 'cpu') {
      const u = process.cpuUsage()
      process.stdout.write(`${JSON.stringify({ cpuMs: (u.user + u.system) / 1000 })}\n`)
    }
    // "change K": one more payment to each of the first K used addresses, mined; answers once
    // electrs has indexed it (K status hashes change).
    const change = /^change (\d+)$/.exec(line)
    if (change) {
      const k = Math.min(Number(change[1]), SPARE, N)
      for (let i = 0; i < k; i++) {
        const coin = coins[2 * N + i]!
        chain.submit(payer.spend([coin], [{ script: scripts[i]!, value: 40_000n }], 1))
      }
      chain.mine(1, BURN_SCRIPT)
      void (async () => {
        for (let i = 0; i < 600 && electrs.indexedHeight() < chain.tip().height; i++)
          await new Promise((r) => setTimeout(r, 20))
        await electrs.synced()
        process.stdout.write(`${JSON.stringify({ changed: k })}\n`)
      })()
    }
  }
})
process.stdin.on('end', () => void close())
process.stdin.on('close', () => void close())
process.stdin.resume()
process.on('SIGTERM', () => void close())
process.stdout.write(
  `${JSON.stringify({ port: electrs.electrumPort, proxyPort, tip: chain.tip().height, fundedMs, pid: process.pid })}\n`,
)
