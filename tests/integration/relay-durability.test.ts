// No `OK true` before the event is durable: the relay runs in a child process, a client
// publishes a stream of events, and the process is SIGKILLed while writes are in flight.
// Every event acknowledged before the kill must be in the database afterwards.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { newKey, RawClient, sign, tempRelay } from './relay-harness'

const root = resolve(__dirname, '../..')
const dir = mkdtempSync(join(tmpdir(), 'flashbox-relay-kill-'))
const dbPath = join(dir, 'relay.db')
let child: ChildProcess | undefined

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child!.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }
  rmSync(dir, { recursive: true, force: true })
})

function startChild(): Promise<{ proc: ChildProcess; url: string }> {
  // The relay must be this process's own child: the tsx CLI would run it in a grandchild, and a
  // SIGKILL of the CLI (which cannot forward it) would leave the relay running, orphaned.
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'services/relay/src/main.ts')],
    {
      cwd: root,
      env: { ...process.env, RELAY_PORT: '0', RELAY_HOST: '127.0.0.1', RELAY_DB: dbPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  return new Promise((res, rej) => {
    let out = ''
    const t = setTimeout(() => rej(new Error(`relay did not start: ${out}`)), 60_000)
    proc.stdout!.on('data', (d) => {
      out += String(d)
      const m = /"url":"(ws:\/\/[^"]+)"/.exec(out)
      if (m) {
        clearTimeout(t)
        res({ proc, url: m[1]! })
      }
    })
    proc.stderr!.on('data', (d) => (out += String(d)))
    proc.on('exit', (code) => rej(new Error(`relay exited with ${code}: ${out}`)))
  })
}

describe('durability', () => {
  it('never says OK true when the write cannot be committed (disk full), and recovers', async () => {
    const r = await tempRelay()
    const c = await RawClient.open(r.url)
    const k = newKey()
    expect((await c.publish(sign(k, { kind: 1, content: 'fits' })))[0]).toBe(true)
    // Simulate a full disk: the database may not grow by a single page.
    const db = r.relay.store.db
    const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count
    db.exec(`PRAGMA max_page_count = ${pages}`)
    const big = Array.from({ length: 20 }, (_, i) =>
      sign(k, { kind: 1, content: `${i} ${'x'.repeat(20_000)}` }),
    )
    const answers = await Promise.all(big.map((e) => c.publish(e)))
    const refused = answers.filter(([ok]) => !ok)
    expect(refused.length).toBeGreaterThan(0)
    for (const [, msg] of refused) expect(msg).toMatch(/^error: /)
    for (const [i, [ok]] of answers.entries()) expect(r.relay.store.has(big[i]!.id)).toBe(ok)
    // Space again: the relay carries on.
    db.exec('PRAGMA max_page_count = 1073741823')
    const after = sign(k, { kind: 1, content: `after ${'y'.repeat(20_000)}` })
    expect(await c.publish(after)).toEqual([true, ''])
    c.close()
    await r.stop()
  })

  it('keeps every acknowledged event after a SIGKILL mid-stream', async () => {
    const { proc, url } = await startChild()
    child = proc
    // Rate limits would refuse part of the stream; refusals are fine (never acknowledged as saved).
    const key = newKey()
    const events = Array.from({ length: 400 }, (_, i) =>
      sign(key, { kind: 1, content: `sale #${i}` }),
    )
    const acked = new Set<string>()
    const ws = new WebSocket(url)
    await new Promise((r) => ws.once('open', r))
    const killedAfter = await new Promise<number>((res) => {
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as unknown[]
        if (m[0] !== 'OK' || m[2] !== true) return
        acked.add(m[1] as string)
        // Kill while the rest of the stream is still being written.
        if (acked.size === 60) {
          proc.kill('SIGKILL')
          res(acked.size)
        }
      })
      for (const e of events) ws.send(JSON.stringify(['EVENT', e]))
    })
    await new Promise((r) => proc.once('exit', r))
    ws.terminate()
    expect(killedAfter).toBe(60)

    const db = new DatabaseSync(dbPath)
    const stored = new Set(
      (db.prepare('SELECT id FROM events').all() as { id: string }[]).map((r) => r.id),
    )
    db.close()
    for (const id of acked) expect(stored.has(id)).toBe(true)
    expect(stored.size).toBeGreaterThanOrEqual(acked.size)

    // And the relay comes back on the same database and serves them.
    const again = await startChild()
    child = again.proc
    const ws2 = new WebSocket(again.url)
    const served = new Set<string>()
    await new Promise<void>((res) => {
      ws2.on('open', () =>
        ws2.send(JSON.stringify(['REQ', 's', { authors: [key.pk], limit: 500 }])),
      )
      ws2.on('message', (d) => {
        const m = JSON.parse(String(d)) as unknown[]
        if (m[0] === 'EVENT') served.add((m[2] as { id: string }).id)
        if (m[0] === 'EOSE') res()
      })
    })
    ws2.close()
    for (const id of acked) expect(served.has(id)).toBe(true)
    again.proc.kill('SIGTERM')
    await new Promise((r) => again.proc.once('exit', r))
  })
})
