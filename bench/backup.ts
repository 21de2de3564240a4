// `npm run bench:backup` — a whole-box backup (SQLite online backup of each database, SHA-256 of
// every file, ChaCha20-Poly1305 STREAM encryption, fsync and rename) against `tar | gzip` of the
// same files, in the same run, then the restore (decrypt, verify, stage, apply).
// The box: BENCH_BACKUP_MB (default 1024) of data, mostly the relay's events database and the
// mint's database (both SQLite, rows shaped like theirs: hex ids, pubkeys, signatures, JSON),
// plus the box's small files. Last line: `backup vs tar+gzip: 1.12x time` (target ≤ 1.5×).
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBackup } from '../src/core/backup/backup'
import { applyPendingRestore, prepareRestore } from '../src/core/backup/restore'
import { BoxKey } from '../src/core/secrets/box-key'
import { writeSealedFile } from '../src/core/secrets/box-key-file'

const MB = Number(process.env.BENCH_BACKUP_MB ?? 1024)
const PASSWORD = 'bench owner password'
const root = mkdtempSync(join(tmpdir(), 'bench-backup-'))
const engineDir = join(root, 'engine')
const stackDir = join(engineDir, 'stack')

function fillRelay(path: string, bytes: number) {
  const db = new DatabaseSync(path)
  db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
    CREATE TABLE events (id TEXT PRIMARY KEY, pubkey TEXT, created_at INTEGER, kind INTEGER,
      tags TEXT, content TEXT, sig TEXT)`)
  const ins = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)')
  const authors = Array.from({ length: 500 }, () => randomBytes(32).toString('hex'))
  const words =
    'the of and a to in is you that it he was for on are as with his they at be this have'.split(
      ' ',
    )
  let written = 0
  let i = 0
  db.exec('BEGIN')
  while (written < bytes) {
    const content = Array.from(
      { length: 40 + (i % 60) },
      (_, k) => words[(i * 7 + k) % words.length],
    ).join(' ')
    const tags = JSON.stringify([
      ['p', authors[i % 500]],
      ['e', randomBytes(32).toString('hex')],
    ])
    const row = [
      randomBytes(32).toString('hex'),
      authors[i % 500]!,
      1_700_000_000 + i,
      1,
      tags,
      content,
      randomBytes(64).toString('hex'),
    ] as const
    ins.run(...row)
    written += 64 + 64 + tags.length + content.length + 128 + 40
    if (++i % 20_000 === 0) {
      db.exec('COMMIT')
      db.exec('BEGIN')
    }
  }
  db.exec('COMMIT')
  db.close()
}

function fillMint(path: string, bytes: number) {
  const db = new DatabaseSync(path)
  db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
    CREATE TABLE proofs (y TEXT PRIMARY KEY, keyset_id TEXT, amount INTEGER, secret TEXT, c TEXT,
      witness TEXT, state TEXT, created_at INTEGER)`)
  const ins = db.prepare('INSERT INTO proofs VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  let written = 0
  let i = 0
  db.exec('BEGIN')
  while (written < bytes) {
    ins.run(
      '02' + randomBytes(32).toString('hex'),
      '00ad268c4d1f5826',
      2 ** (i % 12),
      randomBytes(32).toString('hex'),
      '03' + randomBytes(32).toString('hex'),
      null,
      'SPENT',
      1_700_000_000 + i,
    )
    written += 66 + 16 + 64 + 66 + 5 + 8 + 20
    if (++i % 20_000 === 0) {
      db.exec('COMMIT')
      db.exec('BEGIN')
    }
  }
  db.exec('COMMIT')
  db.close()
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9

async function main() {
  mkdirSync(join(stackDir, 'relay'), { recursive: true })
  mkdirSync(join(stackDir, 'mint'), { recursive: true })
  const box = new BoxKey(engineDir)
  await box.enterPassword(PASSWORD)
  writeFileSync(join(engineDir, 'settings.json'), JSON.stringify({ dataDir: stackDir }))
  writeSealedFile(box, join(engineDir, 'ecash', 'seed.json'), 'ecash.seed', 'words')
  const total = MB * 1024 * 1024
  fillRelay(join(stackDir, 'relay', 'relay.db'), total * 0.6)
  fillMint(join(stackDir, 'mint', 'mint.sqlite'), total * 0.4)
  const dataBytes = ['relay/relay.db', 'mint/mint.sqlite']
    .map((p) => statSync(join(stackDir, p)).size)
    .reduce((a, b) => a + b, 0)
  console.log(`box: ${(dataBytes / 1e6).toFixed(1)} MB in the relay and mint databases`)

  const target = join(root, 'target')
  let t0 = process.hrtime.bigint()
  const r = await createBackup({ engineDir, stackDir, box, targetDir: target, appVersion: '0.1.0' })
  const backupS = seconds(t0)
  console.log(
    `backup: ${backupS.toFixed(2)} s, ${(r.bytes / 1e6).toFixed(1)} MB archive (${(dataBytes / 1e6 / backupS).toFixed(0)} MB/s)`,
  )

  // The same files with tar | gzip (default level), written and fsync'd the same way.
  const tgz = join(root, 'box.tar.gz')
  t0 = process.hrtime.bigint()
  execFileSync('sh', ['-c', `tar -C "${root}" -cf - engine | gzip -c > "${tgz}" && sync "${tgz}"`])
  const tarS = seconds(t0)
  console.log(`tar | gzip: ${tarS.toFixed(2)} s, ${(statSync(tgz).size / 1e6).toFixed(1)} MB`)

  const fresh = join(root, 'fresh')
  mkdirSync(fresh)
  t0 = process.hrtime.bigint()
  await prepareRestore({
    engineDir: fresh,
    archive: r.file,
    password: PASSWORD,
    appVersion: '0.1.0',
  })
  applyPendingRestore(fresh)
  const restoreS = seconds(t0)
  console.log(`restore (decrypt, verify, stage, apply): ${restoreS.toFixed(2)} s`)
  console.log(`backup vs tar+gzip: ${(backupS / tarS).toFixed(2)}x time`)
}

main()
  .catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => rmSync(root, { recursive: true, force: true }))
