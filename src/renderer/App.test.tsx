import { act, cleanup, render, screen, within } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { App } from './App'
import { setTransport } from './api/client'
import type { FlashboxBridge } from './api/bridge'
import { FakeTransportForTests } from './test/fake-transport'
import { catalog, service, stackStatus, syncStatus } from './test/fixtures'

// Inside Electron there is no login: a (TEST FAKE) bridge marks this as the desktop window.
const bridge: FlashboxBridge = {
  invoke: async () => ({ ok: true, value: null }),
  onEvent: () => () => {},
}

beforeEach(() => {
  window.flashbox = bridge
  location.hash = ''
})
afterEach(() => {
  cleanup()
  delete window.flashbox
})

function fake(setupComplete: boolean) {
  const f = new FakeTransportForTests({
    'stack.status': () => stackStatus([service('bitcoind', 'healthy')], { setupComplete }),
    'stack.sync': () => syncStatus,
    'stack.getSettings': () => null,
    'stack.detectDocker': () => ({ state: 'running', version: '28.2.2', host: 'x', os: 'linux' }),
    'stack.catalog': () => catalog,
  })
  setTransport(f)
  return f
}

describe('app shell', () => {
  it('opens the setup wizard until setup is complete', async () => {
    fake(false)
    render(<App />)
    await screen.findByRole('heading', { name: 'Step 1 of 6: Docker' }, { timeout: 5000 })
    expect(screen.queryByRole('button', { name: 'Log out' })).toBeNull() // desktop: no login
  })

  it('routes by hash between the registered pages, with a skip link and a not-found page', async () => {
    fake(true)
    render(<App />)
    await screen.findByRole('heading', { name: 'Dashboard' })
    expect(screen.getByRole('link', { name: 'Skip to content' })).toBeTruthy()
    expect(
      within(screen.getByRole('navigation', { name: 'Main' }))
        .getByRole('link', { name: 'Dashboard' })
        .getAttribute('aria-current'),
    ).toBe('page')
    expect(document.title).toBe('Dashboard · Flash Box')

    act(() => {
      location.hash = '#/service/bitcoind'
      window.dispatchEvent(new HashChangeEvent('hashchange'))
    })
    await screen.findByRole('heading', { name: 'Bitcoin Core' })
    // The service page belongs under Dashboard in the navigation.
    expect(
      within(screen.getByRole('navigation', { name: 'Main' }))
        .getByRole('link', { name: 'Dashboard' })
        .getAttribute('aria-current'),
    ).toBe('page')

    act(() => {
      location.hash = '#/no/such/page'
      window.dispatchEvent(new HashChangeEvent('hashchange'))
    })
    await screen.findByRole('heading', { name: 'Page not found' })
  })
})
