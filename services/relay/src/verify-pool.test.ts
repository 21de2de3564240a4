import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pbkdf2Sync } from 'node:crypto'
import WebSocket from 'ws'
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure'
import type { NostrEvent } from './nip01'
import { loadVerifier } from './verify'
import { startVerifyPool, type VerifyPool } from './verify-pool'
import { startRelay, type RunningRelay } from './index'

const sk = generateSecretKey()
const signed = (i: number) =>
  finalizeEvent(
    { kind: 1, created_at: 1_700_000_000 + i, tags: [], content: `n${i}` },
    sk,
  ) as NostrEvent

/** OS threads of this process (Linux): a worker thread that was not ended still shows here. */
const osThreads = () => readdirSync('/proc/self/task').length

let pool: VerifyPool | undefined
let relay: RunningRelay | undefined
let dir: string | undefined
afterEach(async () => {
  await pool?.close()
  await relay?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
  pool = relay = dir = undefined
})

describe('signature verification pool (worker threads)', () => {
  it('answers every event of a batch, in order, and refuses tampered ones', async () => {
    pool = await startVerifyPool(2, await loadVerifier())
    expect(pool.threads).toBe(2)
    expect(pool.engine).toBe('wasm')
    const events = Array.from({ length: 200 }, (_, i) => {
      const ev = signed(i)
      if (i % 7 === 3) return { ...ev, content: 'tampered' }
      if (i % 11 === 5)
        return { ...ev, sig: ev.sig.slice(0, -2) + (ev.sig.endsWith('00') ? '01' : '00') }
      return ev
    })
    const answers = await Promise.all(events.map((ev) => pool!.verify(ev)))
    expect(answers).toEqual(events.map((_, i) => !(i % 7 === 3 || i % 11 === 5)))
    // A bad signature is also refused on its own (a batch of one).
    expect(await pool.verify({ ...signed(1), sig: 'a'.repeat(128) })).toBe(false)
    expect(await pool.verify(signed(2))).toBe(true)
  })

  it('ends its threads on close, and answers in-process afterwards', async () => {
    pbkdf2Sync('warm', 'up', 1, 32, 'sha256') // let libuv's own threads exist before counting
    const before = osThreads()
    pool = await startVerifyPool(3, await loadVerifier())
    expect(osThreads()).toBeGreaterThanOrEqual(before + 3)
    const owed = pool.verify(signed(3))
    await pool.close()
    expect(await owed).toBe(true)
    expect(pool.threads).toBe(0)
    expect(osThreads()).toBe(before)
    expect(pool.verify({ ...signed(4), content: 'x' })).toBe(false)
  })

  it('verifies in-process, synchronously, with 0 threads', async () => {
    pool = await startVerifyPool(0, await loadVerifier())
    expect(pool.threads).toBe(0)
    expect(pool.verify(signed(5))).toBe(true)
    expect(pool.verify({ ...signed(5), content: 'x' })).toBe(false)
  })
})

describe('relay with signature threads', () => {
  it('keeps each connection’s OKs in the order its EVENTs came, refusing bad signatures', async () => {
    dir = mkdtempSync(join(tmpdir(), 'flashbox-verify-pool-'))
    relay = await startRelay({
      port: 0,
      dbPath: join(dir, 'relay.db'),
      verifyThreads: 2,
      policies: {
        rateLimits: {
          eventsPerConnection: null,
          eventsPerPubkey: null,
          eventsPerIp: null,
          queriesPerConnection: null,
          queriesPerIp: null,
        },
      },
    })
    expect(relay.relay.verifyThreads).toBe(2)
    const ws = new WebSocket(relay.url)
    await new Promise((r) => ws.once('open', r))
    const oks: [string, boolean, string][] = []
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as unknown[]
      if (m[0] === 'OK') oks.push([m[1] as string, m[2] as boolean, m[3] as string])
    })
    // Valid, forged, then a malformed one that is answered without any signature check, then a
    // duplicate of the first: every answer must come back in this order.
    const sent: { ev: NostrEvent; ok: boolean; prefix: string }[] = []
    for (let i = 0; i < 60; i++) {
      const ev = signed(100 + i)
      if (i % 4 === 1) sent.push({ ev: { ...ev, content: 'forged' }, ok: false, prefix: 'invalid' })
      else if (i % 4 === 2) sent.push({ ev: { ...ev, kind: -1 }, ok: false, prefix: 'invalid' })
      else sent.push({ ev, ok: true, prefix: '' })
    }
    sent.push({ ev: sent[0]!.ev, ok: true, prefix: 'duplicate' })
    for (const s of sent) ws.send(JSON.stringify(['EVENT', s.ev]))
    const end = Date.now() + 10_000
    while (oks.length < sent.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    ws.close()
    // Every EVENT gets its own answer. Accepted ones are answered after their group commit, so
    // they can come after a later refusal; among themselves, and among the refusals, the order
    // is the order sent.
    expect(oks).toHaveLength(sent.length)
    const byId = new Map(oks.map((o) => [o[0], o]))
    for (const s of sent.slice(0, -1)) {
      const o = byId.get(s.ev.id)!
      expect(o[1]).toBe(s.ok)
      expect(o[2].startsWith(s.prefix)).toBe(true)
    }
    const inOrder = (ok: boolean) =>
      expect(oks.filter((o) => o[1] === ok).map((o) => o[0])).toEqual(
        sent.filter((s) => s.ok === ok).map((s) => s.ev.id),
      )
    inOrder(true)
    inOrder(false)
    expect(oks.filter((o) => o[0] === sent[0]!.ev.id).map((o) => o[2])).toEqual([
      '',
      'duplicate: already have this event',
    ])
    expect(relay.relay.store.get(sent[1]!.ev.id)).toBeUndefined()
  })
})

describe('signature verification pool, process lifetime', () => {
  it('keeps the process alive while it owes answers, and lets it exit after', async () => {
    // A process with nothing else to wait for: it must print the answer, then exit by itself.
    dir = mkdtempSync(join(tmpdir(), 'flashbox-verify-pool-'))
    const here = import.meta.dirname
    const script = join(dir, 'owe.mts')
    writeFileSync(
      script,
      [
        `import { loadVerifier } from ${JSON.stringify(join(here, 'verify.ts'))}`,
        `import { startVerifyPool } from ${JSON.stringify(join(here, 'verify-pool.ts'))}`,
        'const pool = await startVerifyPool(1, await loadVerifier())',
        `const answer = pool.verify(${JSON.stringify(signed(9))})`,
        "if (typeof answer === 'boolean') throw new Error('not on a thread')",
        "answer.then((ok) => console.log('answer', ok, pool.threads))",
      ].join('\n'),
    )
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', script],
        { cwd: join(here, '../../..'), timeout: 20_000 },
        (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)),
      ),
    )
    expect(out.trim()).toBe('answer true 1')
  })
})
