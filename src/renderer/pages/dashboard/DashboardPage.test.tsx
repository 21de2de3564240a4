import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import { service, stackStatus, syncStatus } from '../../test/fixtures'
import DashboardPage from './DashboardPage'

afterEach(cleanup)

function setup(overrides: Record<string, () => unknown> = {}) {
  const fake = new FakeTransportForTests({
    'stack.status': () =>
      stackStatus([
        service('bitcoind', 'healthy'),
        service('electrs', 'starting'),
        service('lnd', 'healthy'),
      ]),
    'stack.sync': () => syncStatus,
    'stack.dismissAlert': () => undefined,
    'stack.stop': () => undefined,
    ...overrides,
  })
  setTransport(fake)
  render(<DashboardPage params={{}} />)
  return fake
}

describe('dashboard', () => {
  it('shows every service with its state, and the sync in blocks, progress and time left', async () => {
    setup()
    const services = await screen.findByRole('region', { name: 'Services' })
    const links = within(services).getAllByRole('link')
    expect(links.map((l) => l.getAttribute('aria-label'))).toEqual([
      'Bitcoin Core: Healthy',
      'Electrum server: Starting',
      'Lightning (LND): Healthy',
    ])
    expect(links[0]!.getAttribute('href')).toBe('#/service/bitcoind')
    expect(screen.getByRole('status', { name: '' }).textContent).toContain('2 of 3 services')

    await screen.findByText('150,000 of 200,000')
    const verified = screen.getByRole('progressbar', { name: 'Verified' })
    expect(verified.getAttribute('aria-valuenow')).toBe('75')
    expect(screen.getByText('about 1 h 30 min')).toBeTruthy()
    expect(screen.getByText('100,000 of 150,000 blocks')).toBeTruthy()
    expect(screen.getByText('Learning the network')).toBeTruthy()
  })

  it('updates live from events and shows crash alerts with what to do', async () => {
    const fake = setup()
    await screen.findByRole('region', { name: 'Services' })
    act(() =>
      fake.emit({
        topic: 'stack',
        type: 'service',
        service: service('lnd', 'crash-loop', { restarts: 5 }),
      }),
    )
    expect(screen.getByRole('link', { name: 'Lightning (LND): Keeps crashing' })).toBeTruthy()
    expect(screen.getByText('Restarted 5 times')).toBeTruthy()

    act(() =>
      fake.emit({
        topic: 'stack',
        type: 'alert',
        alert: {
          id: 'a1',
          severity: 'critical',
          serviceId: 'lnd',
          title: 'Lightning keeps crashing',
          message: 'LND stopped 5 times in 10 minutes.',
          hint: 'Open its logs to see why, then restart it.',
          at: new Date().toISOString(),
        },
      }),
    )
    const alert = screen.getByRole('alert')
    expect(alert.textContent).toContain('LND stopped 5 times in 10 minutes.')
    expect(alert.textContent).toContain('Open its logs to see why, then restart it.')
    expect(screen.getByText('1 problem needs your attention.')).toBeTruthy()

    fireEvent.click(within(alert).getByRole('button', { name: /Dismiss/ }))
    expect(fake.callsTo('stack.dismissAlert')).toEqual([{ id: 'a1' }])

    act(() =>
      fake.emit({
        topic: 'stack',
        type: 'sync',
        sync: { ...syncStatus, bitcoind: { ...syncStatus.bitcoind!, blocks: 199_000 } },
      }),
    )
    expect(screen.getByText('199,000 of 200,000')).toBeTruthy()
  })

  it('lists another module’s notice (Tor offline) and drops it when its cause clears', async () => {
    const fake = setup()
    await screen.findByRole('region', { name: 'Services' })
    act(() =>
      fake.emit({
        topic: 'stack',
        type: 'alert',
        alert: {
          id: 'reach:tor',
          severity: 'warning',
          title: 'Tor is not connected',
          message: 'Tor cannot reach the Tor network (stuck at 5% after 3 minutes).',
          hint: 'Check that this computer is online.',
          at: new Date().toISOString(),
        },
      }),
    )
    const list = screen.getByRole('region', { name: 'Needs attention' })
    expect(list.textContent).toContain('Tor cannot reach the Tor network (stuck at 5%')
    act(() => fake.emit({ topic: 'stack', type: 'alert-cleared', id: 'reach:tor' }))
    expect(screen.queryByRole('region', { name: 'Needs attention' })).toBeNull()
  })

  it('says a fresh regtest chain is ready with no blocks yet, not catching up', async () => {
    setup({
      'stack.sync': () => ({
        bitcoind: {
          chain: 'regtest',
          blocks: 0,
          headers: 0,
          verificationProgress: 0.000002,
          initialBlockDownload: true,
          state: 'no-blocks-yet',
          etaSeconds: 0,
        },
      }),
    })
    await screen.findByText(/Ready — no blocks yet/)
    expect(screen.queryByText('Catching up with the network')).toBeNull()
    expect(screen.queryByText('Time left')).toBeNull()
  })

  it('stops everything on request', async () => {
    const fake = setup()
    fireEvent.click(await screen.findByRole('button', { name: 'Stop everything' }))
    expect(fake.callsTo('stack.stop')).toEqual([{}])
  })

  it('never says everything is stopped while the relay and the mint run inside the app', async () => {
    setup({
      'stack.status': () =>
        stackStatus(
          [
            service('bitcoind', 'stopped'),
            service('relay', 'embedded', { displayName: 'Nostr relay' }),
            service('mint', 'embedded', { displayName: 'Cashu mint' }),
          ],
          { desired: 'stopped' },
        ),
    })
    const summary = await screen.findByText(/containers are stopped/)
    expect(summary.textContent).toBe(
      'The containers are stopped; Nostr relay and Cashu mint run inside the app.',
    )
    expect(screen.queryByText(/stack is stopped|Everything is stopped/)).toBeNull()
  })

  it('names what a waiting service waits for', async () => {
    setup({
      'stack.status': () =>
        stackStatus([
          service('bitcoind', 'starting'),
          service('lnd', 'waiting', { waitingFor: ['Bitcoin Core'] }),
        ]),
    })
    expect(await screen.findByText('Waiting for Bitcoin Core')).toBeTruthy()
    expect(screen.queryByText('Waiting for others')).toBeNull()
    expect(
      screen.getByRole('link', { name: 'Lightning (LND): Waiting for Bitcoin Core' }),
    ).toBeTruthy()
  })
})
