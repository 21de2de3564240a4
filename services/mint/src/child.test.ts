// The mint as the engine's child (child.ts over Node's fork IPC): the internal settlement key
// comes in the `start` message as `internalSettlementKey` (hex) — the same channel as the seed
// passphrase, never the environment or the command line — and turns on the box's signed route.
// Nothing the child sends back (logs, ready, results) carries the key.
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { signSettlementRequest } from '../../shared/internal-settlement-auth'

let child: ChildProcess | undefined
let dir = ''
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child!.once('exit', r))
    child.kill('SIGTERM')
    await gone
  }
  child = undefined
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function startChild(options: Record<string, unknown>) {
  dir = mkdtempSync(join(tmpdir(), 'mint-child-'))
  const seen: unknown[] = []
  child = fork(join(import.meta.dirname, 'child.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start: ${output}`)), 60_000)
    child!.on('message', (m: { type: string; url?: string; error?: unknown }) => {
      seen.push(m)
      if (m.type === 'ready') {
        clearTimeout(timer)
        resolve(m.url!)
      }
      if (m.type === 'failed') {
        clearTimeout(timer)
        reject(new Error(JSON.stringify(m.error)))
      }
    })
    child!.send({
      type: 'start',
      options: {
        port: 0,
        dataDir: dir,
        backend: { kind: 'fake', incomingPayDelayMs: -1 },
        ...options,
      },
    })
  })
  return { url, seen, output: () => output }
}

describe('the mint as the engine’s child', () => {
  it('takes internalSettlementKey over IPC and serves the signed route with it', async () => {
    const key = randomBytes(32)
    const hex = key.toString('hex')
    const { url, seen, output } = await startChild({ internalSettlementKey: hex })
    const quote = (await (
      await fetch(`${url}/v1/mint/quote/bolt11`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 5, unit: 'sat' }),
      })
    ).json()) as { quote: string; request: string }
    const path = `/internal/v1/mint-quote/${quote.quote}/settle`
    const wrong = JSON.stringify({ payment_hash: '00'.repeat(32) })
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: signSettlementRequest(key, 'POST', path, wrong),
      body: wrong,
    })
    // Signed with the key the child got: accepted, and refused only for the wrong hash.
    expect(res.status).toBe(409)
    const unsigned = await fetch(`${url}${path}`, { method: 'POST', body: wrong })
    expect(unsigned.status).toBe(401)
    expect(JSON.stringify(seen)).not.toContain(hex)
    expect(output()).not.toContain(hex)
  })

  it('without the key the route does not exist', async () => {
    const { url } = await startChild({})
    const res = await fetch(`${url}/internal/v1/mint-quote/abc/settle`, { method: 'POST' })
    expect(res.status).toBe(404)
  })
})
