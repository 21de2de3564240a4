// Crash safety of the eCash wallet: a wallet process is killed with SIGKILL (a power cut) after
// it marked its proofs pending and sent the request, before it could store the mint's answer —
// or before the request left. On the next start the wallet reconciles with NUT-07 checkstate
// (and NUT-09 restore of the outputs it had persisted) and the balance is exactly right.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMint, type RunningMint } from '../../services/mint/src/index'
import { encodeBolt11 } from '../../services/mint/src/nut23-bolt11'
import { EcashWallet } from '../../src/core/ecash/wallet'
import { EcashStore } from '../../src/core/ecash/store'
import { silentLogger } from '../../src/core/log'
import { eventually } from './eventually'

const WALLET_MODULE = fileURLToPath(new URL('../../src/core/ecash/wallet.ts', import.meta.url))
const LOG_MODULE = fileURLToPath(new URL('../../src/core/log.ts', import.meta.url))

let root: string
let mint: RunningMint

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ecash-crash-'))
  mint = await startMint({
    port: 0,
    dataDir: join(root, 'mint'),
    backend: { kind: 'fake', incomingPayDelayMs: 100, outgoingDelayMs: 0 },
    log: silentLogger,
  })
})

afterAll(async () => {
  await mint?.close()
  rmSync(root, { recursive: true, force: true })
})

function open(dir: string) {
  return new EcashWallet({
    dir,
    log: silentLogger,
    ownMintUrl: () => mint.url,
    backgroundIntervalMs: 0,
    requestTimeoutMs: 5_000,
  })
}

async function fundedWallet(name: string, amount: number): Promise<string> {
  const dir = join(root, name)
  const w = open(dir)
  await w.start()
  await w.createMintQuote(amount)
  await eventually(() => w.status().total === amount, 'funding')
  await w.stop()
  return dir
}

function foreignInvoice(sats: number): string {
  return encodeBolt11({
    network: 'regtest',
    amountMsat: sats * 1000,
    paymentHash: randomBytes(32).toString('hex'),
    paymentSecret: randomBytes(32).toString('hex'),
    description: 'crash test',
    expirySeconds: 600,
    nodeKey: new Uint8Array(randomBytes(32)),
  })
}

type Action =
  | { kind: 'send'; amount: number }
  | { kind: 'melt'; invoice: string }
  | { kind: 'receive'; token: string }

/**
 * Runs one wallet action in a child process that SIGKILLs itself at the chosen moment of the
 * HTTP call to `path`: 'before-request' (the mint never hears of it) or 'after-response' (the
 * mint did it; the wallet never learns the answer).
 */
async function runAndKill(
  dir: string,
  action: Action,
  path: string,
  when: 'before-request' | 'after-response',
) {
  const code = `
    const { EcashWallet } = await import(${JSON.stringify(WALLET_MODULE)})
    const { silentLogger } = await import(${JSON.stringify(LOG_MODULE)})
    const action = JSON.parse(process.env.ACTION)
    const w = new EcashWallet({ dir: process.env.DIR, log: silentLogger, backgroundIntervalMs: 0 })
    await w.start()
    let quoteId
    if (action.kind === 'melt') quoteId = (await w.createMeltQuote(action.invoice)).quoteId
    const realFetch = globalThis.fetch
    globalThis.fetch = async (input, init) => {
      const url = typeof input === 'string' ? input : input.url ?? String(input)
      if (!new URL(url).pathname.endsWith(process.env.CRASH_PATH)) return realFetch(input, init)
      if (process.env.CRASH_WHEN === 'before-request') process.kill(process.pid, 'SIGKILL')
      const res = await realFetch(input, init)
      await res.clone().arrayBuffer()
      process.kill(process.pid, 'SIGKILL')
      return res
    }
    if (action.kind === 'send') await w.send({ amount: action.amount })
    if (action.kind === 'melt') await w.melt(quoteId)
    if (action.kind === 'receive') await w.receive(action.token)
    console.log('finished without being killed')
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      DIR: dir,
      ACTION: JSON.stringify(action),
      CRASH_PATH: path,
      CRASH_WHEN: when,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += String(d)))
  child.stderr.on('data', (d) => (output += String(d)))
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, sig) => resolve(sig)),
  )
  expect(signal, `the wallet process should have been killed; it said:\n${output}`).toBe('SIGKILL')
}

/** What is on disk right after the kill: proofs pending, operation in flight. */
function onDisk(dir: string) {
  const store = new EcashStore(dir)
  try {
    const b = store.balances()[0]!
    const ops = store.listOperations()
    return {
      spendable: b.spendable,
      pending: b.pending,
      ops: ops.map((o) => `${o.kind}:${o.state}`),
    }
  } finally {
    store.close()
  }
}

describe('eCash wallet killed mid-operation', () => {
  it('send: killed after the mint swapped — restart recovers every sat', async () => {
    const dir = await fundedWallet('send-after', 100)
    await runAndKill(dir, { kind: 'send', amount: 10 }, '/v1/swap', 'after-response')
    const crashed = onDisk(dir)
    expect(crashed.ops).toContain('send:swapping')
    expect(crashed.pending).toBeGreaterThan(0)
    expect(crashed.spendable + crashed.pending).toBe(100)

    const w = open(dir)
    await w.start() // reconciles: inputs SPENT → outputs restored (NUT-09)
    expect(w.status().total).toBe(100)
    expect(w.balances()[0]!.pending).toBe(0)
    expect(w.history({ limit: 5 })[0]).toMatchObject({ kind: 'sent', state: 'failed' })
    // And the money is really spendable.
    const t = await w.send({ amount: 10 })
    expect(t.token).toMatch(/^cashuB/)
    await w.stop()
  })

  it('send: killed before the request left — restart releases the proofs', async () => {
    const dir = await fundedWallet('send-before', 100)
    await runAndKill(dir, { kind: 'send', amount: 10 }, '/v1/swap', 'before-request')
    expect(onDisk(dir).ops).toContain('send:swapping')
    const w = open(dir)
    await w.start() // inputs UNSPENT → released
    expect(w.status().total).toBe(100)
    expect(w.balances()[0]!.pending).toBe(0)
    await w.stop()
  })

  it('melt: killed after the mint paid the invoice — restart books the payment and the change', async () => {
    const dir = await fundedWallet('melt-after', 200)
    await runAndKill(
      dir,
      { kind: 'melt', invoice: foreignInvoice(50) },
      '/v1/melt/bolt11',
      'after-response',
    )
    const crashed = onDisk(dir)
    expect(crashed.ops).toContain('melt:paying')
    expect(crashed.pending).toBeGreaterThan(0)

    const w = open(dir)
    await w.start() // quote PAID → inputs spent, NUT-08 change recovered
    const h = w.history({ limit: 5 }).find((x) => x.kind === 'melted')!
    expect(h).toMatchObject({ state: 'done', amount: 50 })
    expect(w.balances()[0]!.pending).toBe(0)
    expect(w.status().total).toBe(200 - 50 - h.fee)
    expect(h.fee).toBeLessThan(50)
    await w.stop()
  })

  it('receive: killed after the mint swapped the token — restart stores the new proofs', async () => {
    const senderDir = await fundedWallet('sender', 30)
    const sender = open(senderDir)
    await sender.start()
    const { token } = await sender.send({ amount: 12 })
    await sender.stop()

    const dir = join(root, 'receiver')
    const first = open(dir)
    await first.start()
    await first.stop()
    await runAndKill(dir, { kind: 'receive', token }, '/v1/swap', 'after-response')
    expect(onDisk(dir).ops).toContain('receive:claiming')

    const w = open(dir)
    await w.start()
    expect(w.status().total).toBe(12)
    expect(w.history({ limit: 5 })[0]).toMatchObject({ kind: 'received', state: 'done' })
    await w.stop()
  })
})
