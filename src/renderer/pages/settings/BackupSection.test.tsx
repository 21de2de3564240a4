// Settings → Backup: unlock after a restart, change the password, the keychain's trade-off (or
// that it is unavailable), back up now with progress, and a restore that says to restart.
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { BackupStatus } from '../../../shared/api/backup'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import { BackupSection } from './BackupSection'

afterEach(cleanup)

const base: BackupStatus = {
  box: 'locked',
  keychain: { available: false, enabled: false },
  target: '/media/owner/BACKUP',
  schedule: 'daily',
  keep: 7,
  running: false,
  archives: [],
}

const type = (label: string, value: string) =>
  fireEvent.change(screen.getByLabelText(label), { target: { value } })

describe('backup section', () => {
  it('unlocks a locked box and says the keychain is unavailable headless', async () => {
    const fake = new FakeTransportForTests({
      'backup.status': () => base,
      'backup.targets': () => [],
      'backup.unlock': () => ({ ...base, box: 'unlocked' }),
    })
    setTransport(fake)
    render(<BackupSection />)
    await screen.findByText(/The box is locked/)
    expect(screen.getByText(/Not available here/)).toBeTruthy()
    expect(
      (screen.getByRole('button', { name: 'Back up now' }) as HTMLButtonElement).disabled,
    ).toBe(true)
    type('Owner password', 'the password')
    fireEvent.click(screen.getByRole('button', { name: 'Unlock' }))
    await screen.findByText(/^Unlocked\./)
    expect(fake.callsTo('backup.unlock')).toEqual([{ password: 'the password' }])
  })

  it('explains the keychain trade-off, backs up with progress, and prepares a restore', async () => {
    const unlocked: BackupStatus = {
      ...base,
      box: 'unlocked',
      keychain: { available: true, enabled: false },
      channelBackupCopy: { at: '2026-12-05T09:00:00.000Z', channels: 3 },
    }
    const fake = new FakeTransportForTests({
      'backup.status': () => unlocked,
      'backup.targets': () => [
        { path: '/media/owner/STICK', label: 'STICK', removable: true, freeBytes: 8e9 },
      ],
      'backup.backupNow': () => ({
        file: '/media/owner/BACKUP/flashbox-1.fbbackup',
        bytes: 1000,
        createdAt: new Date().toISOString(),
      }),
      'backup.restore': () => ({
        createdAt: new Date().toISOString(),
        appVersion: '0.1.0',
        files: 12,
        skipped: [],
      }),
      'backup.changePassword': () => unlocked,
    })
    setTransport(fake)
    render(<BackupSection />)
    await screen.findByText(/anyone who can log in to this computer’s user account/)
    fireEvent.click(await screen.findByRole('button', { name: 'STICK' }))
    expect((screen.getByLabelText('Backup folder') as HTMLInputElement).value).toBe(
      '/media/owner/STICK',
    )

    fireEvent.click(screen.getByRole('button', { name: 'Back up now' }))
    act(() =>
      fake.emit({
        topic: 'backup',
        type: 'progress',
        progress: { phase: 'copying', doneBytes: 500, totalBytes: 1000 },
      }),
    )
    await screen.findByText(/Backing up: /)
    expect(fake.callsTo('backup.backupNow')).toHaveLength(1)

    type('Current password', 'old password 1')
    type('New password', 'new password 22')
    fireEvent.click(screen.getByRole('button', { name: 'Change password' }))
    await act(async () => {})
    expect(fake.callsTo('backup.changePassword')).toEqual([
      { oldPassword: 'old password 1', newPassword: 'new password 22' },
    ])

    type('Backup file', '/media/owner/BACKUP/flashbox-1.fbbackup')
    type('Password of the backup', 'backup password')
    fireEvent.click(screen.getByRole('button', { name: 'Restore' }))
    await screen.findByText(/Quit and start Flash Box again to finish the restore/)
    expect(screen.getByText(/their peers close them/)).toBeTruthy()
    expect(screen.getByText(/Last copied .*, 3 channels\./)).toBeTruthy()
  })

  it('locks the box key with the HSM, explaining the trade-off, and turns it off again', async () => {
    const plain: BackupStatus = {
      ...base,
      box: 'unlocked',
      hsmWrap: { configured: true, enabled: false },
    }
    const wrapped: BackupStatus = {
      ...plain,
      hsmWrap: { configured: true, enabled: true, tokenSerial: 'a1b2c3' },
    }
    const fake = new FakeTransportForTests({
      'backup.status': () => plain,
      'backup.targets': () => [],
      'backup.setHsmWrap': (i) => ((i as { enabled: boolean }).enabled ? wrapped : plain),
    })
    setTransport(fake)
    render(<BackupSection />)
    await screen.findByText(/lose the HSM and the password alone cannot open the box/)
    const lock = screen.getByRole('button', { name: 'Lock with the HSM' }) as HTMLButtonElement
    expect(lock.disabled).toBe(true)
    type('Owner password', 'the password')
    type('HSM PIN (leave empty if the box remembers it)', '123456')
    fireEvent.click(lock)
    await screen.findByText(/locked with the HSM \(serial a1b2c3\)/)
    type('Owner password', 'the password')
    fireEvent.click(screen.getByRole('button', { name: 'Stop locking with the HSM' }))
    await screen.findByRole('button', { name: 'Lock with the HSM' })
    expect(fake.callsTo('backup.setHsmWrap')).toEqual([
      { enabled: true, password: 'the password', pin: '123456' },
      { enabled: false, password: 'the password' },
    ])
  })

  it('says where to set up an HSM when none is', async () => {
    setTransport(
      new FakeTransportForTests({
        'backup.status': () => ({
          ...base,
          box: 'unlocked',
          hsmWrap: { configured: false, enabled: false },
        }),
        'backup.targets': () => [],
      }),
    )
    render(<BackupSection />)
    await screen.findByText(/No HSM is set up on this box\. Set one up in Settings → HSM/)
    expect(screen.queryByRole('button', { name: 'Lock with the HSM' })).toBeNull()
  })
})
