// A SIGKILL in the middle of a backup and in the middle of a restore, then a run again: no partial
// archive under a backup's name, nothing of a half-read archive in the data folder, and the second
// run completes with every file equal. The killed work runs in its own process (node + tsx) and is
// killed when it reports its first bytes copied.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createBackup, listArchives } from '../../src/core/backup/backup'
import {
  applyPendingRestore,
  pendingRestore,
  prepareRestore,
  restoreDir,
  verifyArchive,
} from '../../src/core/backup/restore'
import { BoxKey } from '../../src/core/secrets/box-key'

const PW = 'owner password for kill'
const root = mkdtempSync(join(tmpdir(), 'backup-kill-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const engineDir = join(root, 'engine')
const stackDir = join(engineDir, 'stack')
const target = join(root, 'target')

/** Runs `code` (ESM TypeScript) in a child and SIGKILLs it at its first "progress" line. */
async function killAtFirstProgress(code: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => {
    output += String(d)
    if (/progress [1-9]/.test(output)) child.kill('SIGKILL')
  })
  child.stderr.on('data', (d: Buffer) => (output += String(d)))
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_c, sig) => resolve(sig)),
  )
  expect(signal, `the child should have been killed mid-way; it said:\n${output}`).toBe('SIGKILL')
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name)
      if (n.isDirectory()) walk(p)
      else out[p.slice(dir.length)] = readFileSync(p).toString('base64')
    }
  }
  walk(dir)
  return out
}

describe('SIGKILL during backup and restore', () => {
  it('backup: killed mid-way leaves no archive; the next run completes and cleans up', async () => {
    const box = new BoxKey(engineDir)
    await box.enterPassword(PW)
    mkdirSync(join(stackDir, 'relay'), { recursive: true })
    // Random data so that the copy takes long enough to be interrupted.
    for (let i = 0; i < 6; i++)
      writeFileSync(join(stackDir, 'relay', `part-${i}.bin`), randomBytes(8 * 1024 * 1024))
    writeFileSync(join(engineDir, 'settings.json'), JSON.stringify({ dataDir: stackDir }))

    await killAtFirstProgress(
      `
      import { BoxKey } from './src/core/secrets/box-key.ts'
      import { createBackup } from './src/core/backup/backup.ts'
      const box = new BoxKey(process.env.ENGINE)
      await box.enterPassword(process.env.PW)
      await createBackup({ engineDir: process.env.ENGINE, stackDir: process.env.STACK, box,
        targetDir: process.env.TARGET, appVersion: '0.1.0',
        onProgress: (p) => console.log('progress ' + p.doneBytes) })
      console.log('finished without being killed')
      `,
      { ENGINE: engineDir, STACK: stackDir, TARGET: target, PW },
    )
    expect(listArchives(target)).toEqual([])
    expect(readdirSync(target).every((n) => n.endsWith('.partial'))).toBe(true)

    const r = await createBackup({
      engineDir,
      stackDir,
      box,
      targetDir: target,
      appVersion: '0.1.0',
    })
    expect(readdirSync(target)).toEqual([r.file.slice(target.length + 1)])
    expect((await verifyArchive(r.file, { password: PW }, '0.1.0')).entries.length).toBe(
      r.manifest.entries.length,
    )
  }, 60_000)

  it('restore: killed mid-way changes nothing; run again it completes; an interrupted apply finishes', async () => {
    const [archive] = listArchives(target)
    const fresh = join(root, 'fresh')
    mkdirSync(fresh)
    writeFileSync(join(fresh, 'settings.json'), '{"fresh":true}')
    const before = snapshot(fresh)

    await killAtFirstProgress(
      `
      import { prepareRestore } from './src/core/backup/restore.ts'
      await prepareRestore({ engineDir: process.env.FRESH, archive: process.env.ARCHIVE,
        password: process.env.PW, appVersion: '0.1.0',
        onProgress: (done) => console.log('progress ' + done) })
      console.log('finished without being killed')
      `,
      { FRESH: fresh, ARCHIVE: archive!.file, PW },
    )
    // The engine's start finds an unfinished prepare: it drops it, and nothing else changes.
    expect(pendingRestore(fresh)).toBeNull()
    expect(applyPendingRestore(fresh)).toBe(false)
    expect(snapshot(fresh)).toEqual(before)

    // Run again; then interrupt the apply after half of the files were moved (as a crash would).
    await prepareRestore({
      engineDir: fresh,
      archive: archive!.file,
      password: PW,
      appVersion: '0.1.0',
    })
    const plan = pendingRestore(fresh)!
    const staging = join(restoreDir(fresh), 'staging')
    const half = plan.files.slice(0, Math.ceil(plan.files.length / 2))
    for (const f of half) {
      const [rootName, ...rest] = f.path.split('/')
      const dest = join(rootName === 'engine' ? fresh : plan.stackDir, ...rest)
      mkdirSync(dirname(dest), { recursive: true })
      renameSync(join(staging, f.path), dest)
    }
    expect(applyPendingRestore(fresh)).toBe(true)
    const original = snapshot(engineDir)
    const restored = snapshot(fresh)
    for (const [p, content] of Object.entries(original)) {
      if (p.startsWith('/stack/')) continue // the stack part goes to the backed-up stack folder
      expect(restored[p], p).toBe(content)
    }
    expect(readdirSync(fresh)).not.toContain('.restore')
  }, 60_000)

  it('restore apply: SIGKILL while files are moved into place; the next start finishes it', async () => {
    // A box with many files, so that moving them into place takes a while.
    const many = join(root, 'many')
    const box = new BoxKey(many)
    await box.enterPassword(PW)
    for (let i = 0; i < 3000; i++) {
      mkdirSync(join(many, 'notes', String(i % 30)), { recursive: true })
      writeFileSync(join(many, 'notes', String(i % 30), `n-${i}.txt`), `note ${i}`)
    }
    const made = await createBackup({
      engineDir: many,
      stackDir: join(many, 'stack'),
      box,
      targetDir: join(root, 'many-target'),
      appVersion: '0.1.0',
    })
    const fresh = join(root, 'many-fresh')
    mkdirSync(fresh)
    await prepareRestore({
      engineDir: fresh,
      archive: made.file,
      password: PW,
      appVersion: '0.1.0',
    })
    const plan = pendingRestore(fresh)!
    const engineFiles = plan.files.filter((f) => f.path.startsWith('engine/'))
    const first = join(fresh, ...engineFiles[0]!.path.split('/').slice(1))

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { applyPendingRestore } from './src/core/backup/restore.ts'
         applyPendingRestore(process.env.FRESH)
         console.log('finished without being killed')`,
      ],
      {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: { ...process.env, FRESH: fresh },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += String(d)))
    child.stderr.on('data', (d: Buffer) => (output += String(d)))
    // Killed as soon as the first file is in place.
    const poll = setInterval(() => {
      if (existsSync(first)) child.kill('SIGKILL')
    }, 1)
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_c, sig) => resolve(sig)),
    )
    clearInterval(poll)
    expect(signal, `the child should have been killed mid-way; it said:\n${output}`).toBe('SIGKILL')
    const moved = engineFiles.filter((f) => existsSync(join(fresh, ...f.path.split('/').slice(1))))
    expect(moved.length).toBeGreaterThan(0)
    expect(moved.length).toBeLessThan(engineFiles.length) // really half-done

    // The next start runs the apply again: it completes, and every file is the backed-up one.
    expect(applyPendingRestore(fresh)).toBe(true)
    expect(readdirSync(fresh)).not.toContain('.restore')
    const original = snapshot(many)
    const restored = snapshot(fresh)
    for (const [p, content] of Object.entries(original)) {
      if (p.startsWith('/stack/')) continue
      expect(restored[p], p).toBe(content)
    }
  }, 120_000)
})
