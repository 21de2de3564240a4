// A backup never blocks the mint or the relay: while a whole-box backup copies a mint database of
// ~40 MB, another process keeps writing to it the way the mint does (WAL mode), but with
// busy_timeout = 0 — so a write that had to wait for a lock would fail at once with SQLITE_BUSY
// instead of waiting. No write may fail, writes must land while the copy runs, the copy must be
// made in several steps and finish while the writes go on, and the archived database must be a
// consistent snapshot. (Timings are printed, not asserted: this machine is shared; the benchmark
// measures them.)
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { pipeline } from 'node:stream/promises'
import { createWriteStream } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { createBackup, snapshotSqlite } from '../../src/core/backup/backup'
import { readArchive } from '../../src/core/backup/restore'
import { BoxKey } from '../../src/core/secrets/box-key'

const PW = 'owner password for writes'
const root = mkdtempSync(join(tmpdir(), 'backup-writes-'))
const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  rmSync(root, { recursive: true, force: true })
})

const engineDir = join(root, 'engine')
const stackDir = join(engineDir, 'stack')
const mintDb = join(stackDir, 'mint', 'mint.db')

interface WriterReport {
  writes: number
  busy: number
  maxMs: number
  timeline: number[]
}

/** A separate process writing one row every 2 ms, as the mint's store does (WAL, one connection). */
function startWriter(): { ready: Promise<void>; stop: () => Promise<WriterReport> } {
  const code = `
    import { DatabaseSync } from 'node:sqlite'
    const db = new DatabaseSync(process.env.DB)
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 0')
    const ins = db.prepare('INSERT INTO proofs (y, amount) VALUES (?, ?)')
    const r = { writes: 0, busy: 0, maxMs: 0, timeline: [] }
    let i = 0
    const t = setInterval(() => {
      const s = performance.now()
      try { ins.run('w' + process.pid + '-' + i++, 8); r.writes++; r.timeline.push(Date.now()) }
      catch (e) { if (String(e.message).includes('locked') || e.errcode === 5) r.busy++; else throw e }
      r.maxMs = Math.max(r.maxMs, performance.now() - s)
    }, 2)
    process.stdout.write('ready\\n')
    process.on('message', () => { clearInterval(t); process.send(r, () => process.exit(0)) })
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, DB: mintDb },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  children.push(child)
  const ready = new Promise<void>((resolve) =>
    child.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve()),
  )
  return {
    ready,
    stop: () =>
      new Promise<WriterReport>((resolve) => {
        child.once('message', (m) => resolve(m as WriterReport))
        child.send('stop')
      }),
  }
}

describe('a backup does not block the mint’s writes', () => {
  it('every write during the backup succeeds without waiting for a lock; the copy is stepwise and consistent', async () => {
    mkdirSync(join(stackDir, 'mint'), { recursive: true })
    writeFileSync(join(engineDir, 'settings.json'), JSON.stringify({ dataDir: stackDir }))
    const db = new DatabaseSync(mintDb)
    db.exec(
      'PRAGMA journal_mode = WAL; CREATE TABLE proofs (id INTEGER PRIMARY KEY, y TEXT UNIQUE, amount INTEGER)',
    )
    const ins = db.prepare('INSERT INTO proofs (y, amount) VALUES (?, ?)')
    db.exec('BEGIN')
    for (let i = 0; i < 100_000; i++) ins.run(`seed-${i}-${'x'.repeat(200)}`, 1)
    db.exec('COMMIT')
    db.close()
    const box = new BoxKey(engineDir)
    await box.enterPassword(PW)

    // Stepwise: the online backup of this database takes many steps of 64 pages.
    let steps = 0
    await snapshotSqlite(mintDb, join(root, 'probe.sqlite'), 64, () => steps++)
    expect(steps).toBeGreaterThan(10)

    const writer = startWriter()
    await writer.ready
    await new Promise((r) => setTimeout(r, 200))
    const started = Date.now()
    const r = await createBackup({
      engineDir,
      stackDir,
      box,
      targetDir: join(root, 'target'),
      appVersion: '0.1.0',
      sqlitePagesPerStep: 64,
    })
    const finished = Date.now()
    const report = await writer.stop()
    const during = report.timeline.filter((t) => t >= started && t <= finished).length
    console.log(
      `backup ${finished - started} ms; writes during it: ${during}; slowest write ${report.maxMs.toFixed(1)} ms; SQLITE_BUSY: ${report.busy}`,
    )
    expect(report.busy).toBe(0)
    expect(during).toBeGreaterThan(5)

    // The archived mint database is a consistent snapshot: it passes SQLite's integrity check and
    // holds every seeded row plus some prefix of the writer's rows, no more than were written.
    const out = join(root, 'restored-mint.sqlite')
    await readArchive(r.file, { password: PW }, '0.1.0', async (path, content) => {
      if (path === 'stack/mint/mint.db') await pipeline(content, createWriteStream(out))
      else content.resume()
    })
    const copy = new DatabaseSync(out)
    expect(copy.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
    const seeded = copy.prepare("SELECT count(*) AS n FROM proofs WHERE y LIKE 'seed-%'").get()
    const written = copy.prepare("SELECT count(*) AS n FROM proofs WHERE y LIKE 'w%'").get() as {
      n: number
    }
    copy.close()
    expect(seeded).toEqual({ n: 100_000 })
    expect(written.n).toBeLessThanOrEqual(report.writes)
  }, 120_000)
})
