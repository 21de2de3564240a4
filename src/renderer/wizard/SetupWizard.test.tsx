import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { DockerStatus, SettingsCheck } from '../../shared/api/stack'
import type { Settings } from '../../shared/settings'
import { setTransport } from '../api/client'
import { FakeTransportForTests } from '../test/fake-transport'
import { catalog } from '../test/fixtures'
import SetupWizard, { toggleService } from './SetupWizard'

afterEach(cleanup)

const GB = 1_000_000_000

function setup() {
  let docker: DockerStatus = {
    state: 'not-running',
    host: 'unix:///var/run/docker.sock',
    os: 'linux',
    problem: {
      code: 'docker.not_running',
      message: 'Docker is installed but not running.',
      hint: 'Start Docker, then press Check again.',
    },
  }
  let finishPull: () => void = () => {}
  const fake = new FakeTransportForTests({
    'stack.getSettings': () => null,
    'stack.detectDocker': () => docker,
    'stack.catalog': () => catalog,
    'stack.checkSettings': (input): SettingsCheck => {
      const s = input as Settings
      const needed = s.network === 'mainnet' ? (s.prune.enabled ? 15 * GB : 800 * GB) : 5 * GB
      return {
        ok: needed < 100 * GB,
        problems: [],
        disk: { neededBytes: needed, freeBytes: 100 * GB, path: s.dataDir },
      }
    },
    'stack.saveSettings': (input) => ({
      ok: true,
      problems: [],
      disk: { neededBytes: 1, freeBytes: 2, path: (input as Settings).dataDir },
    }),
    'stack.pullImages': () => new Promise<void>((ok) => (finishPull = ok)),
    'stack.start': () => undefined,
  })
  setTransport(fake)
  const onDone = vi.fn()
  render(<SetupWizard onDone={onDone} />)
  return {
    fake,
    onDone,
    dockerNow: (d: DockerStatus) => (docker = d),
    finishPull: () => finishPull(),
  }
}

const next = () => screen.getByRole('button', { name: 'Next' }) as HTMLButtonElement

describe('setup wizard', () => {
  it('a fresh install offers to restore from a backup before any setup', async () => {
    const w = setup()
    await screen.findByText('Docker is installed but not running.')
    // No Docker needed for that: the backup is decrypted and checked by the engine.
    fireEvent.click(screen.getByText('Had a Flash Box before? Restore it from a backup'))
    w.fake.on('backup.restore', () => ({
      createdAt: '2026-12-01T10:00:00.000Z',
      appVersion: '0.1.0',
      files: 12,
      skipped: [],
    }))
    fireEvent.change(screen.getByLabelText('Backup file'), {
      target: { value: '/media/owner/BACKUP/flashbox-20261201T100000Z.fbbackup' },
    })
    fireEvent.change(screen.getByLabelText('Password of the backup'), {
      target: { value: 'owner password' },
    })
    expect(screen.getByText(/their peers close them/)).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Restore' }))
    await screen.findByText(/is checked and ready/)
    expect(w.fake.callsTo('backup.restore')).toEqual([
      {
        file: '/media/owner/BACKUP/flashbox-20261201T100000Z.fbbackup',
        password: 'owner password',
      },
    ])
  })

  it('walks from Docker to a started stack', async () => {
    const w = setup()

    // 1. Docker is not running: say so, say how to fix it on Linux, and wait.
    await screen.findByText('Docker is installed but not running.')
    expect(screen.getByText('sudo systemctl start docker')).toBeTruthy()
    expect(next().disabled).toBe(true)
    w.dockerNow({
      state: 'running',
      version: '28.2.2',
      host: 'unix:///var/run/docker.sock',
      os: 'linux',
    })
    fireEvent.click(screen.getByRole('button', { name: 'Check again' }))
    await screen.findByText(/Docker 28.2.2 is running/)
    fireEvent.click(next())

    // 2. Network, with plain explanations.
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Step 2 of 6: Network')
    fireEvent.click(screen.getByRole('radio', { name: /Bitcoin \(real money\)/ }))
    fireEvent.click(next())

    // 3. Storage: the free-space check follows the network and pruning.
    fireEvent.change(screen.getByLabelText('Where should Flash Box keep its data?'), {
      target: { value: '/srv/flashbox' },
    })
    await screen.findByText(
      'Not enough free space here. Choose a bigger disk, or switch on pruning.',
      {},
      { timeout: 3000 },
    )
    expect(screen.getByText('800 GB needed, 100 GB free')).toBeTruthy()
    expect(next().disabled).toBe(true)
    fireEvent.click(screen.getByLabelText(/Save space: keep only recent blocks/))
    await screen.findByText('There is enough room.', {}, { timeout: 3000 })
    expect(next().disabled).toBe(false)
    fireEvent.click(next())

    // 4. Services: what each is for; switching one on switches on what it needs.
    await screen.findByText('eCash for your customers.')
    const lnd = screen.getByRole('checkbox', { name: /Lightning \(LND\)/ }) as HTMLInputElement
    expect(lnd.checked).toBe(true)
    fireEvent.click(lnd)
    expect(lnd.checked).toBe(false)
    expect((screen.getByRole('checkbox', { name: /Cashu mint/ }) as HTMLInputElement).checked).toBe(
      false,
    )
    fireEvent.click(screen.getByRole('checkbox', { name: /Cashu mint/ }))
    expect(lnd.checked).toBe(true)
    expect(
      (screen.getByRole('checkbox', { name: /Bitcoin Core/ }) as HTMLInputElement).disabled,
    ).toBe(true)
    fireEvent.click(next())

    // 5. Review, save, download with real progress from image-progress events.
    expect(screen.getByText('/srv/flashbox')).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Save and download' }))
    await waitFor(() => expect(w.fake.callsTo('stack.pullImages')).toHaveLength(1))
    const saved = w.fake.callsTo('stack.saveSettings')[0] as Settings
    expect(saved).toMatchObject({
      network: 'mainnet',
      dataDir: '/srv/flashbox',
      prune: { enabled: true, targetMiB: 10_000 },
      services: { lnd: true, mint: true },
    })
    act(() =>
      w.fake.emit({
        topic: 'stack',
        type: 'image-progress',
        image: 'lnd@sha256:1',
        serviceId: 'lnd',
        layers: [],
        current: 25_000_000,
        total: 50_000_000,
        done: false,
      }),
    )
    const bar = screen.getByRole('progressbar', { name: 'lnd' })
    expect(bar.getAttribute('aria-valuenow')).toBe('50')
    expect(screen.getByText('25 MB of 50 MB')).toBeTruthy()
    act(() =>
      w.fake.emit({
        topic: 'stack',
        type: 'image-progress',
        image: 'lnd@sha256:1',
        serviceId: 'lnd',
        layers: [],
        current: 50_000_000,
        total: 50_000_000,
        done: true,
      }),
    )
    act(() => w.finishPull())
    await screen.findByText('Everything is downloaded.')
    fireEvent.click(next())

    // 6. Start.
    fireEvent.click(screen.getByRole('button', { name: 'Start Flash Box' }))
    await screen.findByText(/Your stack is starting/)
    expect(w.fake.callsTo('stack.start')).toHaveLength(1)
    fireEvent.click(screen.getByRole('button', { name: 'Open the dashboard' }))
    expect(w.onDone).toHaveBeenCalled()
  })

  it('switching a service off switches off what needs it', () => {
    const base = {
      network: 'regtest',
      dataDir: '/d',
      prune: { enabled: false },
      dbcache: 'auto',
      txindex: false,
      services: { electrs: true, lnd: true, relay: true, mint: true, btcpay: true },
      ownServices: 'embedded',
    } as const satisfies Settings
    const off = toggleService(base, catalog, 'lnd', false)
    expect(off.services).toEqual({
      electrs: true,
      lnd: false,
      relay: true,
      mint: false,
      btcpay: false,
    })
  })
})

describe('setup wizard: the folder step', () => {
  async function toStorage() {
    const w = setup()
    w.dockerNow({ state: 'running', version: '28.2.2', host: 'unix:///x', os: 'linux' })
    fireEvent.click(await screen.findByRole('button', { name: 'Check again' }))
    await screen.findByText(/Docker 28.2.2 is running/)
    fireEvent.click(next())
    fireEvent.click(next()) // regtest, the default
    return w
  }

  it('says why Next is off, and never calls a relative path roomy', async () => {
    const w = await toStorage()
    const input = screen.getByLabelText('Where should Flash Box keep its data?')
    fireEvent.change(input, { target: { value: '' } })
    expect(next().disabled).toBe(true)
    expect(screen.getByTestId('next-disabled-reason').textContent).toContain(
      'Choose a folder first.',
    )
    expect(next().getAttribute('aria-describedby')).toBe(
      screen.getByTestId('next-disabled-reason').id,
    )

    fireEvent.change(input, { target: { value: 'flashbox-data' } })
    await new Promise((r) => setTimeout(r, 500))
    expect(next().disabled).toBe(true)
    expect(screen.getByTestId('next-disabled-reason').textContent).toContain(
      '“flashbox-data” is not a full path',
    )
    // One message, not "is not a full path" next to "There is enough room".
    expect(screen.queryByText('There is enough room.')).toBeNull()
    expect(
      w.fake
        .callsTo('stack.checkSettings')
        .some((s) => (s as Settings).dataDir === 'flashbox-data'),
    ).toBe(false)

    fireEvent.change(input, { target: { value: '/srv/flashbox' } })
    await screen.findByText('There is enough room.', {}, { timeout: 3000 })
    expect(next().disabled).toBe(false)
    expect(screen.queryByTestId('next-disabled-reason')).toBeNull()
  })

  it('picks the folder in a folder browser (web mode)', async () => {
    const w = await toStorage()
    w.fake.on('system.listFolders', (i) => {
      const path = (i as { path?: string }).path ?? '/home/owner'
      return {
        path,
        parent: '/',
        folders: path === '/srv/flashbox' ? [{ name: 'data', path: '/srv/flashbox/data' }] : [],
        truncated: false,
        writable: true,
        home: '/home/owner',
      }
    })
    fireEvent.change(screen.getByLabelText('Where should Flash Box keep its data?'), {
      target: { value: '/srv/flashbox' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Choose…' }))
    const browser = await screen.findByRole('group', {
      name: 'Choose where Flash Box keeps its data',
    })
    fireEvent.click(await screen.findByRole('button', { name: 'data' }))
    await screen.findByText('/srv/flashbox/data')
    fireEvent.click(screen.getByRole('button', { name: 'Use this folder' }))
    expect(browser.isConnected).toBe(false)
    expect(
      (screen.getByLabelText('Where should Flash Box keep its data?') as HTMLInputElement).value,
    ).toBe('/srv/flashbox/data')
    await screen.findByText('There is enough room.', {}, { timeout: 3000 })
  })
})
