// Harness for the mint integration tests: the mint runs in its OWN process (services/mint
// src/main.ts under tsx), exactly as in a container, so tests can SIGKILL and restart it.
// Clients are @cashu/cashu-ts (independent implementation) and raw HTTP for hostile input.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Wallet, injectWebSocketImpl } from '@cashu/cashu-ts'
import WebSocket from 'ws'

injectWebSocketImpl(WebSocket as unknown as Parameters<typeof injectWebSocketImpl>[0])

const ROOT = resolve(import.meta.dirname, '../..')

export interface MintProcess {
  url: string
  port: number
  dataDir: string
  proc: ChildProcess
  output: string[]
  /** Resolves with the exit signal/code once the process is gone. */
  exited: Promise<string>
}

export interface SpawnOptions {
  dataDir?: string
  port?: number
  env?: Record<string, string>
  config?: Record<string, unknown>
}

export function tempDir(prefix = 'flashbox-mint-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export async function spawnMint(opts: SpawnOptions = {}): Promise<MintProcess> {
  const dataDir = opts.dataDir ?? tempDir()
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      // Turns on the TEST-ONLY crash hook (MINT_CRASH_AT); production builds do not contain it.
      '--import',
      pathToFileURL(join(ROOT, 'tests/integration/fault-injection-preload.mjs')).href,
      join(ROOT, 'services/mint/src/main.ts'),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        MINT_PORT: String(opts.port ?? 0),
        MINT_HOST: '127.0.0.1',
        MINT_DATA_DIR: dataDir,
        MINT_CONFIG_JSON: JSON.stringify({
          pendingCheckIntervalMs: 500,
          rateLimit: { windowMs: 10_000, perIp: 100_000, perOperation: {} },
          ...opts.config,
        }),
        FLASHBOX_LOG_LEVEL: 'warn',
        NODE_ENV: 'test',
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const output: string[] = []
  const exited = new Promise<string>((res) =>
    proc.once('exit', (code, signal) => res(signal ?? String(code))),
  )
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`mint did not start:\n${output.join('')}`)),
      60_000,
    )
    const onData = (d: Buffer) => {
      const text = d.toString()
      output.push(text)
      const m = /MINT_READY (\S+)/.exec(output.join(''))
      if (m) {
        clearTimeout(timer)
        res(m[1]!)
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', (d: Buffer) => output.push(d.toString()))
    void exited.then((how) => {
      clearTimeout(timer)
      rej(new Error(`mint exited (${how}) before it was ready:\n${output.join('')}`))
    })
  })
  return { url, port: Number(new URL(url).port), dataDir, proc, output, exited }
}

export async function stopMint(m: MintProcess | undefined, removeData = false): Promise<void> {
  if (!m) return
  if (m.proc.exitCode === null && m.proc.signalCode === null) {
    m.proc.kill('SIGTERM')
    const t = setTimeout(() => m.proc.kill('SIGKILL'), 5000)
    await m.exited
    clearTimeout(t)
  }
  if (removeData) rmSync(m.dataDir, { recursive: true, force: true })
}

export async function wallet(
  url: string,
  opts: ConstructorParameters<typeof Wallet>[1] = {},
): Promise<Wallet> {
  const w = new Wallet(url, { unit: 'sat', ...opts })
  await w.loadMint()
  return w
}

/** Mint `amount` sat of proofs through a bolt11 quote (the fake wallet pays it at once). */
export async function mintProofs(w: Wallet, amount: number) {
  const q = await w.createMintQuoteBolt11(amount)
  await w.on.onceMintPaid(q.quote, { timeoutMs: 20_000 })
  return w.mintProofsBolt11(amount, q)
}

/** cashu-ts Amount objects serialise as strings; the wire format wants JSON integers. */
function numericAmounts(this: unknown, key: string, value: unknown): unknown {
  return key === 'amount' && typeof value === 'string' && /^\d+$/.test(value)
    ? Number(value)
    : value
}

export async function post(
  url: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body, numericAmounts),
  })
  const text = await res.text()
  let json: unknown = undefined
  try {
    json = JSON.parse(text)
  } catch {
    // not JSON
  }
  return { status: res.status, json, text }
}

export const sum = (ps: { amount: unknown }[]) => ps.reduce((a, p) => a + Number(p.amount), 0)
