import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { LogLine } from '../../../shared/api/stack'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import { service, stackStatus } from '../../test/fixtures'
import ServicePage from './ServicePage'

afterEach(cleanup)

const line = (text: string, stream: LogLine['stream'] = 'stdout'): LogLine => ({
  serviceId: 'lnd',
  stream,
  time: '2026-11-28T07:00:00.000Z',
  text,
})

function setup() {
  const fake = new FakeTransportForTests({
    'stack.status': () => stackStatus([service('bitcoind', 'healthy'), service('lnd', 'healthy')]),
    'stack.logs': () => [line('Starting LND'), line('Chain backend is fully synced')],
    'stack.renderedConfig': () => ({
      serviceId: 'lnd',
      image: 'lightninglabs/lnd@sha256:abc',
      command: ['lnd', '--bitcoin.active'],
      env: { RPCPASS: '••••••', NETWORK: 'signet' },
      files: [{ path: '/data/lnd.conf', contents: 'bitcoind.rpcpass=••••••\n' }],
    }),
    'stack.restartService': () => undefined,
    'stack.stopService': () => undefined,
  })
  setTransport(fake)
  render(<ServicePage params={{ id: 'lnd' }} />)
  return fake
}

describe('service page', () => {
  it('shows live logs, follows them while open, and searches them', async () => {
    const fake = setup()
    await screen.findByText(/Chain backend is fully synced/)
    expect(fake.following.get('lnd')).toBe(1)

    act(() =>
      fake.emit({ topic: 'stack', type: 'log', line: line('unable to connect: ERROR', 'stderr') }),
    )
    act(() =>
      fake.emit({ topic: 'stack', type: 'log', line: { ...line('other'), serviceId: 'bitcoind' } }),
    )
    expect(screen.getByText(/unable to connect/)).toBeTruthy()
    expect(screen.queryByText(/other/)).toBeNull()
    expect(screen.getByText('3 lines')).toBeTruthy()

    fireEvent.change(screen.getByLabelText('Search the logs'), { target: { value: 'error' } })
    expect(screen.getByText('1 of 3 lines')).toBeTruthy()
    expect(screen.queryByText(/Starting LND/)).toBeNull()

    // Older lines, searched by the engine; the live view pauses so they stay readable.
    fake.on('stack.logs', (i) => {
      expect(i).toEqual({ id: 'lnd', tail: 10_000, search: 'error' })
      return [line('old ERROR from yesterday'), line('unable to connect: ERROR', 'stderr')]
    })
    fireEvent.click(screen.getByRole('button', { name: 'Search older lines too' }))
    await screen.findByText(/old ERROR from yesterday/)
    expect(screen.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed')).toBe('true')

    // The container restarts: the stream is attached again (once, not twice).
    act(() =>
      fake.emit({
        topic: 'stack',
        type: 'service',
        service: service('lnd', 'healthy', {
          containerId: 'c2',
          startedAt: '2026-11-28T08:00:00Z',
        }),
      }),
    )
    expect(fake.following.get('lnd')).toBe(1)
    expect(fake.followCalls).toBe(2)

    cleanup()
    expect(fake.following.get('lnd')).toBe(0)
  })

  it('restarts and stops the service, and tracks its state from events', async () => {
    const fake = setup()
    fireEvent.click(await screen.findByRole('button', { name: 'Restart' }))
    expect(fake.callsTo('stack.restartService')).toEqual([{ id: 'lnd' }])
    const stop = screen.getByRole('button', { name: 'Stop' }) as HTMLButtonElement
    await waitFor(() => expect(stop.disabled).toBe(false))
    fireEvent.click(stop)
    expect(fake.callsTo('stack.stopService')).toEqual([{ id: 'lnd' }])

    act(() => fake.emit({ topic: 'stack', type: 'service', service: service('lnd', 'stopped') }))
    expect(screen.getByTestId('service-state').dataset.state).toBe('stopped')
    expect(screen.getByRole('button', { name: 'Start' })).toBeTruthy()
  })

  it('shows the rendered configuration with secrets masked, via keyboard tabs', async () => {
    setup()
    const logsTab = await screen.findByRole('tab', { name: 'Logs' })
    fireEvent.keyDown(logsTab, { key: 'ArrowRight' })
    expect(screen.getByRole('tab', { name: 'Configuration' }).getAttribute('aria-selected')).toBe(
      'true',
    )
    await screen.findByText('lightninglabs/lnd@sha256:abc')
    expect(screen.getByText('RPCPASS')).toBeTruthy()
    expect(screen.getAllByText(/••••••/).length).toBeGreaterThanOrEqual(2)
  })

  it('says so when the service does not exist', async () => {
    setTransport(new FakeTransportForTests({ 'stack.status': () => stackStatus([]) }))
    render(<ServicePage params={{ id: 'nope' }} />)
    await screen.findByText('Unknown service')
  })
})

describe('embedded service', () => {
  it('explains that it runs inside Flash Box and links to its own page', async () => {
    const fake = new FakeTransportForTests({
      'stack.status': () =>
        stackStatus([service('relay', 'embedded', { displayName: 'Nostr relay' })]),
    })
    setTransport(fake)
    render(<ServicePage params={{ id: 'relay' }} />)
    await screen.findByText(/runs inside Flash Box itself/)
    expect(screen.getByRole('link', { name: 'Open the Relay page' }).getAttribute('href')).toBe(
      '#/relay',
    )
    expect(screen.queryByRole('tab')).toBeNull()
    expect(fake.callsTo('stack.logs')).toEqual([])
  })
})
