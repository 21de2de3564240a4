// The backup module through the engine's API: password set / unlock / change (box key re-wrapped,
// login password and Lightning seed vault follow), back up now with the test-restore check, and a
// restore prepared here and applied by the next engine start.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { BackupStatus } from '../../shared/api/backup'
import { OwnerPassword } from '../api/http/owner-password'
import { createEngine, type Engine } from '../engine/engine'
import { silentLogger } from '../log'
import { createSeedVault, openSeedVault, readSeedVault, storeOnce } from '../lightning/seed-vault'
import { seedVaultPath } from '../lightning/lightning-module'
import { openChannelBackup, readBackupInfo, writeChannelBackup } from '../lightning/channel-backup'
import { stackDataDir } from '../stack/paths'
import { backupModule } from './backup-module'
import { CHANNEL_BACKUP_COPY } from './channel-backup-copy'

const dirs: string[] = []
const engines: Engine[] = []
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const tmp = (n: string) => {
  const d = mkdtempSync(join(tmpdir(), `backup-mod-${n}-`))
  dirs.push(d)
  return d
}
const ctx = { transport: 'internal' } as const
const start = async (dir: string) => {
  const e = await createEngine({ dataDir: dir, log: silentLogger, modules: [backupModule()] })
  engines.push(e)
  return e
}
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: { code?: string }) => e.code,
  )

describe('backup module', () => {
  it('password: set, unlock after restart, change re-wraps everything', async () => {
    const dir = tmp('pw')
    let e = await start(dir)
    expect(((await e.call('backup', 'status', {}, ctx)) as BackupStatus).box).toBe('none')
    expect(
      ((await e.call('backup', 'setPassword', { password: 'first password' }, ctx)) as BackupStatus)
        .box,
    ).toBe('unlocked')
    storeOnce(seedVaultPath(dir), await createSeedVault('first password'))
    await e.stop()
    engines.length = 0

    e = await start(dir)
    expect(((await e.call('backup', 'status', {}, ctx)) as BackupStatus).box).toBe('locked')
    expect(await codeOf(e.call('backup', 'unlock', { password: 'nope nope nope' }, ctx))).toBe(
      'box.wrong_password',
    )
    expect(
      await codeOf(
        e.call(
          'backup',
          'changePassword',
          { oldPassword: 'nope nope', newPassword: 'second password' },
          ctx,
        ),
      ),
    ).toBe('box.wrong_password')
    await e.call(
      'backup',
      'changePassword',
      { oldPassword: 'first password', newPassword: 'second password' },
      ctx,
    )
    const owner = new OwnerPassword(dir)
    expect(await owner.verify('second password')).toBe(true)
    expect(await owner.verify('first password')).toBe(false)
    await openSeedVault(readSeedVault(seedVaultPath(dir))!, 'second password')
    await e.stop()
    engines.length = 0
    e = await start(dir)
    expect(
      ((await e.call('backup', 'unlock', { password: 'second password' }, ctx)) as BackupStatus)
        .box,
    ).toBe('unlocked')
    expect(((await e.call('backup', 'status', {}, ctx)) as BackupStatus).keychain).toEqual({
      available: false,
      enabled: false,
    })
    expect(
      await codeOf(
        e.call('backup', 'setKeychain', { enabled: true, password: 'second password' }, ctx),
      ),
    ).toBe('box.keychain_unavailable')
  }, 60_000) // several scrypt runs; slow on a busy machine

  it('backs up now, checks it, and a prepared restore is applied by the next start', async () => {
    const dir = tmp('box')
    const target = tmp('target')
    const e = await start(dir)
    expect(await codeOf(e.call('backup', 'backupNow', {}, ctx))).toBe('backup.no_target')
    await e.call('backup', 'setPassword', { password: 'owner password' }, ctx)
    writeFileSync(join(dir, 'settings-note.txt'), 'before')
    await e.call('backup', 'configure', { target, keep: 3 }, ctx)
    const made = (await e.call('backup', 'backupNow', {}, ctx)) as { file: string }
    const s = (await e.call('backup', 'status', {}, ctx)) as BackupStatus
    expect(s.lastCheck).toMatchObject({ file: made.file, ok: true })
    expect(s.archives.map((a) => a.file)).toEqual([made.file])

    const fresh = tmp('fresh')
    const f = await start(fresh)
    expect(
      await codeOf(
        f.call('backup', 'restore', { file: made.file, password: 'wrong password' }, ctx),
      ),
    ).toBe('backup.wrong_password')
    const r = (await f.call(
      'backup',
      'restore',
      { file: made.file, password: 'owner password' },
      ctx,
    )) as { files: number }
    expect(r.files).toBeGreaterThan(2)
    expect(
      ((await f.call('backup', 'status', {}, ctx)) as BackupStatus).pendingRestore?.archive,
    ).toBe(made.file)
    await f.stop()
    engines.splice(engines.indexOf(f), 1)
    const g = await start(fresh)
    expect(readFileSync(join(fresh, 'settings-note.txt'), 'utf8')).toBe('before')
    const after = (await g.call('backup', 'status', {}, ctx)) as BackupStatus
    expect(after.pendingRestore).toBeUndefined()
    expect(after.box).toBe('locked')
    expect(
      ((await g.call('backup', 'unlock', { password: 'owner password' }, ctx)) as BackupStatus).box,
    ).toBe('unlocked')
  })

  it('copies LND’s channel backup into the backup folder on every change; a restore takes the newer copy', async () => {
    const dir = tmp('scb')
    const target = tmp('scb-target')
    const e = await start(dir)
    await e.call('backup', 'setPassword', { password: 'owner password' }, ctx)
    await e.call('backup', 'configure', { target }, ctx)
    const vault = await createSeedVault('owner password')
    storeOnce(seedVaultPath(dir), vault)
    const sealed = join(stackDataDir(dir, null), 'secrets', 'lnd-channel-backup.json')
    const copy = join(target, CHANNEL_BACKUP_COPY)
    const change = (hex: string, chans: string[], at: Date) => {
      const info = writeChannelBackup(sealed, vault, hex, chans, at)
      e.events.publish({ topic: 'lightning', type: 'channel-backup', ...info })
    }
    change('aa01', ['a'.repeat(64) + ':0'], new Date('2026-01-01T00:00:00Z'))
    expect(readFileSync(copy, 'utf8')).toBe(readFileSync(sealed, 'utf8'))
    const made = (await e.call('backup', 'backupNow', {}, ctx)) as { file: string }
    // A channel opened after the archive: only the copy beside it knows it.
    change('bb02', ['a'.repeat(64) + ':0', 'b'.repeat(64) + ':1'], new Date('2026-01-02T00:00:00Z'))
    expect(readFileSync(copy, 'utf8')).toBe(readFileSync(sealed, 'utf8'))
    expect(((await e.call('backup', 'status', {}, ctx)) as BackupStatus).channelBackupCopy).toEqual(
      { at: '2026-01-02T00:00:00.000Z', channels: 2 },
    )

    const fresh = tmp('scb-fresh')
    const f = await start(fresh)
    await f.call('backup', 'restore', { file: made.file, password: 'owner password' }, ctx)
    await f.stop()
    engines.splice(engines.indexOf(f), 1)
    await start(fresh)
    const restored = join(stackDataDir(fresh, null), 'secrets', 'lnd-channel-backup.json')
    expect(readBackupInfo(restored)?.channels).toBe(2)
    expect((await openChannelBackup(restored, vault, 'owner password'))?.toString('hex')).toBe(
      'bb02',
    )
  })
})
