import { act, cleanup, render, screen, waitFor } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FakeTransportForTests, userError } from '../test/fake-transport'
import type { FlashboxBridge } from './bridge'
import { api, setTransport, subscribe } from './client'
import { useEvent, useMutation, useQuery } from './hooks'
import { createIpcTransport } from './ipc-transport'
import { ApiError } from './transport'
import { matchPath } from '../router'

afterEach(() => {
  cleanup()
  setTransport(new FakeTransportForTests())
})

describe('api client', () => {
  it('turns api.domain.procedure(input) into one transport call', async () => {
    const fake = new FakeTransportForTests({ 'stack.logs': (i) => [{ echo: i }] })
    setTransport(fake)
    const out = await api.stack.logs({ id: 'lnd', tail: 5 })
    expect(out).toEqual([{ echo: { id: 'lnd', tail: 5 } }])
    expect(fake.calls).toEqual([
      { domain: 'stack', procedure: 'logs', input: { id: 'lnd', tail: 5 } },
    ])
  })

  it('is not a thenable (awaiting it does not call the engine)', async () => {
    const fake = new FakeTransportForTests()
    setTransport(fake)
    expect(await Promise.resolve(api.stack)).toBe(api.stack)
    expect(await Promise.resolve(api)).toBe(api)
    expect(fake.calls).toEqual([])
  })

  it('delivers only the subscribed topics', () => {
    const fake = new FakeTransportForTests()
    setTransport(fake)
    const got: string[] = []
    const off = subscribe(['stack'], (e) => got.push(e.topic))
    fake.emit({ topic: 'stack', type: 'sync', sync: {} })
    fake.emit({ topic: 'relay', type: 'placeholder' } as never)
    off()
    fake.emit({ topic: 'stack', type: 'sync', sync: {} })
    expect(got).toEqual(['stack'])
  })

  it('over IPC, maps the bridge result to values or ApiError and shares one event listener', async () => {
    const listeners = new Set<(e: unknown) => void>()
    // TEST FAKE of the preload's bridge.
    const bridge: FlashboxBridge = {
      invoke: async (d, p) =>
        p === 'status'
          ? { ok: true, value: `${d}.${p}` }
          : {
              ok: false,
              error: {
                code: 'docker.not_running',
                message: 'Docker is not running.',
                hint: 'Start Docker.',
              },
            },
      onEvent: (fn) => {
        listeners.add(fn as never)
        return () => listeners.delete(fn as never)
      },
    }
    const t = createIpcTransport(bridge)
    await expect(t.call('stack', 'status', {})).resolves.toBe('stack.status')
    const err = await t.call('stack', 'start', {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ code: 'docker.not_running', hint: 'Start Docker.' })

    const a = vi.fn()
    const b = vi.fn()
    const offA = t.subscribe(['stack'], a)
    const offB = t.subscribe(null, b)
    expect(listeners.size).toBe(1)
    for (const l of listeners) l({ topic: 'stack', type: 'sync', sync: {} })
    expect(a).toHaveBeenCalledTimes(1)
    expect(b).toHaveBeenCalledTimes(1)
    offA()
    offB()
    expect(listeners.size).toBe(0)
  })
})

describe('hooks', () => {
  function Status() {
    const q = useQuery(() => api.stack.status({}), [])
    const start = useMutation(() => api.stack.start({}))
    const [events, setEvents] = [q.data, q.setData]
    useEvent('stack', (e) => {
      if (e.type === 'status') setEvents(e.status)
    })
    return (
      <div>
        {q.loading && <p>loading</p>}
        {q.error && (
          <p role="alert">
            {q.error.message} {q.error.hint}
          </p>
        )}
        {events && <p>desired: {events.desired}</p>}
        <button onClick={() => void start.run(undefined)}>start</button>
        {start.pending && <p>starting</p>}
        {start.error && <p role="status">{start.error.code}</p>}
      </div>
    )
  }

  it('loads, shows errors as message + hint, runs mutations, and follows events', async () => {
    let release: () => void = () => {}
    const fake = new FakeTransportForTests({
      'stack.status': () => ({ desired: 'stopped' }),
      'stack.start': () =>
        new Promise<void>((_ok, bad) => {
          release = () =>
            bad(userError('docker.not_running', 'Docker is not running.', 'Start it.'))
        }),
    })
    setTransport(fake)
    render(<Status />)
    expect(screen.getByText('loading')).toBeTruthy()
    await screen.findByText('desired: stopped')

    act(() => screen.getByText('start').click())
    await screen.findByText('starting')
    act(() => release())
    await screen.findByText('docker.not_running')

    act(() =>
      fake.emit({
        topic: 'stack',
        type: 'status',
        status: { desired: 'running' } as never,
      }),
    )
    await screen.findByText('desired: running')
  })

  it('shows a failed load as the engine said it', async () => {
    setTransport(
      new FakeTransportForTests({
        'stack.status': () => {
          throw userError('api.unavailable', 'The stack is not running in this engine.', 'Restart.')
        },
      }),
    )
    render(<Status />)
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toBe(
        'The stack is not running in this engine. Restart.',
      ),
    )
  })
})

describe('router', () => {
  it('matches paths with parameters', () => {
    expect(matchPath('/', '/')).toEqual({ params: {} })
    expect(matchPath('/service/:id', '/service/lnd')).toEqual({ params: { id: 'lnd' } })
    expect(matchPath('/service/:id', '/service/a%20b')).toEqual({ params: { id: 'a b' } })
    expect(matchPath('/service/:id', '/service')).toBeNull()
    expect(matchPath('/settings', '/relay')).toBeNull()
    expect(matchPath('/service/:id', '/service/%E0%A4%A')).toBeNull()
  })
})
