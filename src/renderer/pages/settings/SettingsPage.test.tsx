import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { Settings } from '../../../shared/settings'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import { catalog } from '../../test/fixtures'
import SettingsPage from './SettingsPage'

afterEach(cleanup)

const saved: Settings = {
  network: 'signet',
  dataDir: '/srv/flashbox',
  prune: { enabled: false },
  dbcache: 'auto',
  txindex: false,
  services: { electrs: true, lnd: true, relay: true, mint: false, btcpay: false },
  ownServices: 'embedded',
}

describe('settings page', () => {
  it('shows the stack settings and saves a change of services, or says why not', async () => {
    let accept = false
    const fake = new FakeTransportForTests({
      'stack.getSettings': () => saved,
      'stack.catalog': () => catalog,
      'stack.saveSettings': (s) =>
        accept
          ? { ok: true, problems: [], disk: { neededBytes: 1, freeBytes: 2, path: '/srv' } }
          : {
              ok: false,
              problems: [
                {
                  code: 'stack.btcpay_needs_postgres',
                  message: 'BTCPay needs more memory than this machine has.',
                  hint: 'Leave BTCPay off here.',
                },
              ],
              disk: { neededBytes: 1, freeBytes: 2, path: (s as Settings).dataDir },
            },
    })
    setTransport(fake)
    render(<SettingsPage params={{}} />)
    await screen.findByText('/srv/flashbox')
    expect(screen.getByText('signet')).toBeTruthy()
    const save = screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement
    expect(save.disabled).toBe(true)

    fireEvent.click(screen.getByRole('checkbox', { name: /BTCPay Server/ }))
    fireEvent.click(save)
    await screen.findByText('BTCPay needs more memory than this machine has.')
    expect(fake.callsTo('stack.saveSettings')[0]).toMatchObject({
      network: 'signet',
      services: { btcpay: true, lnd: true },
    })

    accept = true
    fireEvent.click(save)
    await screen.findByText(/Saved\. Flash Box is bringing the services in line/)
  })
})

describe('settings → images and diagnostics', () => {
  const images = (state: 'present' | 'missing') => ({
    dockerReachable: true,
    planned: true,
    bundleImages: 0,
    images: [
      {
        serviceId: 'bitcoind',
        displayName: 'Bitcoin Core',
        image: 'bitcoin/bitcoin:29.0',
        pinned: 'bitcoin/bitcoin@sha256:' + 'a'.repeat(64),
        builtHere: false,
        state,
      },
    ],
  })

  it('downloads again with progress, and loads an offline bundle from a folder picked in the browser', async () => {
    let state: 'present' | 'missing' = 'missing'
    let finishPull: () => void = () => {}
    const fake = new FakeTransportForTests({
      'stack.getSettings': () => saved,
      'stack.catalog': () => catalog,
      'system.images': () => images(state),
      'system.diagnostics': () => {
        throw new Error('not needed here')
      },
      'stack.pullImages': () => new Promise<void>((r) => (finishPull = r)),
      'system.listFolders': (i) => {
        const path = (i as { path?: string }).path ?? '/home/owner'
        return {
          path,
          parent: path === '/' ? undefined : '/',
          folders:
            path === '/home/owner' ? [{ name: 'usb-bundle', path: '/home/owner/usb-bundle' }] : [],
          truncated: false,
          writable: true,
          home: '/home/owner',
        }
      },
      'system.loadImageBundle': () => [
        {
          ref: 'bitcoin/bitcoin@sha256:' + 'a'.repeat(64),
          file: 'bitcoind.tar',
          imageId: 'sha256:' + 'b'.repeat(64),
          layers: 3,
        },
      ],
    })
    setTransport(fake)
    render(<SettingsPage params={{ section: 'images' }} />)
    const table = await screen.findByRole('table', { name: 'Images' })
    expect(within(table).getByText('Not downloaded')).toBeTruthy()

    fireEvent.click(screen.getByRole('button', { name: 'Download again' }))
    await screen.findByRole('button', { name: 'Downloading…' })
    act(() =>
      fake.emit({
        topic: 'stack',
        type: 'image-progress',
        image: 'bitcoin/bitcoin:29.0',
        serviceId: 'bitcoind',
        layers: [],
        current: 50_000_000,
        total: 200_000_000,
        done: false,
      }),
    )
    const bar = await screen.findByRole('progressbar', { name: 'Download of Bitcoin Core' })
    expect(bar.getAttribute('aria-valuenow')).toBe('25')
    state = 'present'
    await act(async () => finishPull())
    await screen.findByText('Every image is here and matches its pinned digest.')
    expect(await within(table).findByText('On this computer')).toBeTruthy()

    // No desktop bridge here: "Choose…" opens the folder browser over the engine's listing.
    fireEvent.click(screen.getByRole('button', { name: 'Choose…' }))
    const browser = await screen.findByRole('group', {
      name: 'Choose the offline image bundle folder',
    })
    fireEvent.click(await within(browser).findByRole('button', { name: 'usb-bundle' }))
    await within(browser).findByText('/home/owner/usb-bundle')
    fireEvent.click(within(browser).getByRole('button', { name: 'Use this folder' }))
    expect((screen.getByLabelText('Offline bundle folder') as HTMLInputElement).value).toBe(
      '/home/owner/usb-bundle',
    )
    fireEvent.click(screen.getByRole('button', { name: 'Load the bundle' }))
    await screen.findByText('Loaded 1 image; every digest matched.')
    expect(fake.callsTo('system.loadImageBundle')).toEqual([{ dir: '/home/owner/usb-bundle' }])
  })

  it('shows versions, Docker and recent problems, and saves a support bundle', async () => {
    const fake = new FakeTransportForTests({
      'stack.getSettings': () => saved,
      'stack.catalog': () => catalog,
      'system.images': () => images('present'),
      'system.diagnostics': () => ({
        versions: { flashBox: '0.1.0', node: '24.21.0', platform: 'linux', arch: 'x64' },
        docker: {
          state: 'running',
          version: '28.2.2',
          host: 'unix:///var/run/docker.sock',
          os: 'linux',
        },
        engineDataDir: '/srv/flashbox',
        stackDataDir: '/srv/flashbox/stack',
        recentProblems: [
          {
            time: '2026-01-01T10:00:00.000Z',
            level: 'error',
            where: 'engine:mint',
            message: 'the mint stopped',
          },
        ],
        suggestedBundlePath: '/home/owner/flashbox-support.json',
      }),
      'system.saveSupportBundle': (i) => ({
        path: (i as { path: string }).path,
        bytes: 2048,
        secretsRemoved: 17,
      }),
    })
    setTransport(fake)
    render(<SettingsPage params={{ section: 'diagnostics' }} />)
    expect(await screen.findByText('24.21.0')).toBeTruthy()
    expect(screen.getByText('Running, version 28.2.2')).toBeTruthy()
    expect(
      within(screen.getByRole('list', { name: 'Recent problems' })).getByText(/the mint stopped/),
    ).toBeTruthy()
    const path = screen.getByLabelText('Save the support bundle as') as HTMLInputElement
    await waitFor(() => expect(path.value).toBe('/home/owner/flashbox-support.json'))
    fireEvent.click(screen.getByRole('button', { name: 'Save support bundle' }))
    await screen.findByText(/17\s+secret values taken out/)
    expect(fake.callsTo('system.saveSupportBundle')).toEqual([
      { path: '/home/owner/flashbox-support.json' },
    ])
  })
})
