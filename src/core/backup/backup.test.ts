// Whole-box backup archives: round trip, and every way a bad archive or password is refused
// without changing anything (tampered byte, cut file, wrong password, newer version).
import { randomBytes } from 'node:crypto'
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { DatabaseSync } from 'node:sqlite'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BoxKey } from '../secrets/box-key'
import { writeSealedFile } from '../secrets/box-key-file'
import { ARCHIVE_FORMAT, MAGIC } from './archive-header'
import { applyRetention, createBackup, listArchives, snapshotSqlite } from './backup'
import { applyPendingRestore, pendingRestore, prepareRestore, verifyArchive } from './restore'

const PW = 'shop owner password'
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tmp(name: string) {
  const d = mkdtempSync(join(tmpdir(), `backup-${name}-`))
  dirs.push(d)
  return d
}
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: { code?: string }) => e.code,
  )

/** A small box: settings, a sealed seed, a relay database being written, a public big folder. */
async function fillBox() {
  const engineDir = tmp('engine')
  const stackDir = join(engineDir, 'stack')
  const box = new BoxKey(engineDir)
  await box.enterPassword(PW)
  writeFileSync(join(engineDir, 'settings.json'), JSON.stringify({ dataDir: stackDir }))
  writeSealedFile(box, join(engineDir, 'ecash', 'seed.json'), 'ecash.seed', 'twelve words')
  mkdirSync(join(stackDir, 'relay'), { recursive: true })
  const db = new DatabaseSync(join(stackDir, 'relay', 'relay.db'))
  db.exec('PRAGMA journal_mode=WAL; CREATE TABLE ev(id TEXT PRIMARY KEY, body BLOB)')
  const ins = db.prepare('INSERT INTO ev VALUES (?, ?)')
  for (let i = 0; i < 500; i++) ins.run(`e${i}`, randomBytes(300))
  mkdirSync(join(stackDir, 'bitcoind'), { recursive: true })
  writeFileSync(join(stackDir, 'bitcoind', 'blk00000.dat'), randomBytes(1000))
  mkdirSync(join(stackDir, 'mint'), { recursive: true })
  writeFileSync(join(stackDir, 'mint', 'big.bin'), randomBytes(300_000))
  return { engineDir, stackDir, box, db }
}

const version = '0.1.0'

describe('whole-box backup', () => {
  it('round trip: back up, wipe, restore, every file equal; databases consistent', async () => {
    const { engineDir, stackDir, box, db } = await fillBox()
    const target = tmp('target')
    const progress: number[] = []
    const r = await createBackup({
      engineDir,
      stackDir,
      box,
      targetDir: target,
      appVersion: version,
      onProgress: (p) => progress.push(p.doneBytes),
    })
    db.close()
    expect(r.file).toMatch(/flashbox-\d{8}T\d{6}Z\.fbbackup$/)
    expect(statSync(r.file).mode & 0o777).toBe(0o600)
    expect(progress.at(-1)).toBeGreaterThan(300_000)
    const paths = r.manifest.entries.map((e) => e.path)
    expect(paths).toContain('stack/relay/relay.db')
    expect(paths).toContain('engine/secrets/box-key.json')
    expect(paths.some((p) => p.includes('bitcoind'))).toBe(false)
    expect(r.manifest.skipped.map((s) => s.what)).toContain('stack/bitcoind')
    // Nothing of the plaintext shows in the archive.
    const raw = readFileSync(r.file)
    expect(raw.includes(Buffer.from('SQLite format 3'))).toBe(false)
    expect(raw.includes(Buffer.from('settings'))).toBe(false)

    expect((await verifyArchive(r.file, { password: PW }, version)).entries.length).toBe(
      r.manifest.entries.length,
    )
    expect((await verifyArchive(r.file, { boxKey: box.exportKey() }, version)).createdAt).toBe(
      r.manifest.createdAt,
    )

    const keepSeed = readFileSync(join(engineDir, 'ecash', 'seed.json'))
    rmSync(engineDir, { recursive: true, force: true })
    mkdirSync(engineDir)
    await prepareRestore({ engineDir, archive: r.file, password: PW, appVersion: version })
    expect(pendingRestore(engineDir)).not.toBeNull()
    expect(applyPendingRestore(engineDir)).toBe(true)
    expect(readFileSync(join(engineDir, 'ecash', 'seed.json')).equals(keepSeed)).toBe(true)
    const back = new DatabaseSync(join(stackDir, 'relay', 'relay.db'))
    expect(back.prepare('SELECT count(*) AS n FROM ev').get()).toEqual({ n: 500 })
    expect(back.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
    back.close()
    const reopened = new BoxKey(engineDir)
    await reopened.enterPassword(PW)
    expect(statSync(join(engineDir, 'secrets')).mode & 0o777).toBe(0o700)
  })

  it('refuses a flipped byte, a cut file, a wrong password and a newer version; nothing changes', async () => {
    const { engineDir, stackDir, box, db } = await fillBox()
    const target = tmp('target')
    const r = await createBackup({
      engineDir,
      stackDir,
      box,
      targetDir: target,
      appVersion: version,
    })
    db.close()
    const fresh = tmp('fresh')
    writeFileSync(join(fresh, 'settings.json'), '{"mine":true}')
    const bytes = readFileSync(r.file)
    const tryRestore = (file: string, password = PW, appVersion = version) =>
      codeOf(prepareRestore({ engineDir: fresh, archive: file, password, appVersion }))
    const variant = (name: string, b: Buffer) => {
      const f = join(target, name)
      writeFileSync(f, b)
      return f
    }

    // A byte flipped in the payload, in the header, and in the last chunk.
    for (const at of [bytes.length >> 1, MAGIC.length + 30, bytes.length - 5]) {
      const b = Buffer.from(bytes)
      b[at]! ^= 0x01
      expect(['backup.archive_damaged', 'backup.wrong_password']).toContain(
        await tryRestore(variant(`flip-${at}.fbbackup`, b)),
      )
    }
    // Cut anywhere, including exactly at a chunk boundary.
    const headerLen = bytes.indexOf(Buffer.from('}'), MAGIC.length + 4) + 1 + 32
    for (const len of [bytes.length - 1, headerLen + 65_552, headerLen + 10, 20]) {
      const f = variant(`cut-${len}.fbbackup`, bytes)
      truncateSync(f, len)
      expect(await tryRestore(f)).toBe('backup.archive_damaged')
    }
    expect(await tryRestore(r.file, 'not the password')).toBe('backup.wrong_password')
    expect(await tryRestore(r.file, PW, '0.0.9')).toBe('backup.newer_version')
    const newerFormat = Buffer.from(
      bytes.toString('latin1').replace(`"format":${ARCHIVE_FORMAT}`, '"format":9'),
      'latin1',
    )
    expect(await tryRestore(variant('newer.fbbackup', newerFormat))).toBe('backup.newer_version')
    expect(await tryRestore(variant('other.fbbackup', Buffer.from('hello')))).toBe(
      'backup.archive_damaged',
    )
    expect(await tryRestore(variant('notours.fbbackup', Buffer.alloc(100, 1)))).toBe(
      'backup.not_an_archive',
    )
    // Nothing changed on the fresh box, and nothing is pending.
    expect(readdirSync(fresh)).toEqual(['settings.json'])
    expect(readFileSync(join(fresh, 'settings.json'), 'utf8')).toBe('{"mine":true}')
    expect(applyPendingRestore(fresh)).toBe(false)
  })

  it('keeps the newest archives and reports a full disk before writing', async () => {
    const { engineDir, stackDir, box, db } = await fillBox()
    db.close()
    const target = tmp('target')
    for (let i = 0; i < 3; i++)
      await createBackup({
        engineDir,
        stackDir,
        box,
        targetDir: target,
        appVersion: version,
        keep: 2,
      })
    expect(listArchives(target)).toHaveLength(2)
    expect(applyRetention(target, 1)).toHaveLength(1)
    // A leftover temporary file from an interrupted run is cleaned; never listed as a backup.
    writeFileSync(join(target, '.flashbox-20260101T000000Z.fbbackup.abcd.partial'), 'x')
    await createBackup({ engineDir, stackDir, box, targetDir: target, appVersion: version })
    expect(readdirSync(target).filter((n) => n.endsWith('.partial'))).toEqual([])
    // A folder on a full filesystem: /dev/full-like check with a huge file planned.
    writeFileSync(join(stackDir, 'mint', 'huge.bin'), '')
    truncateSync(join(stackDir, 'mint', 'huge.bin'), 2 ** 40) // sparse: 1 TiB "to copy"
    const before = readdirSync(target).sort()
    // Reported before anything is made: BTCPay's dump (an extra part) is not even started.
    let dumped = false
    expect(
      await codeOf(
        createBackup({
          engineDir,
          stackDir,
          box,
          targetDir: target,
          appVersion: version,
          extras: [
            {
              path: 'stack/btcpay/pg_dumpall.sql',
              produce: async () => {
                dumped = true
                return { skipped: 'not running' }
              },
            },
          ],
        }),
      ),
    ).toBe('backup.disk_full')
    expect(dumped).toBe(false)
    expect(readdirSync(target).sort()).toEqual(before)
  })

  it('a database written all the time is still copied: a restarted copy goes on with bigger steps', async () => {
    const dir = tmp('busy')
    const src = join(dir, 'busy.db')
    const db = new DatabaseSync(src)
    db.exec('PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)')
    const ins = db.prepare('INSERT INTO t(v) VALUES (?)')
    db.exec('BEGIN')
    for (let i = 0; i < 20_000; i++) ins.run('y'.repeat(200))
    db.exec('COMMIT')
    // Another connection writes every millisecond: SQLite restarts an online backup after every
    // such write, so with a fixed small step the copy never ends.
    const other = new DatabaseSync(src)
    const write = other.prepare('INSERT INTO t(v) VALUES (?)')
    const timer = setInterval(() => write.run('z'), 1)
    const rates = new Set<number>()
    try {
      await snapshotSqlite(src, join(dir, 'copy.db'), 10, (p) => rates.add(p.rate))
    } finally {
      clearInterval(timer)
    }
    expect(rates.size).toBeGreaterThan(1) // it did restart, and grew its step
    const copy = new DatabaseSync(join(dir, 'copy.db'))
    expect(copy.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
    expect((copy.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBeGreaterThan(
      20_000,
    )
    copy.close()
    other.close()
    db.close()
  }, 30_000)
})
