import { cleanup, fireEvent, render, screen } from '@testing-library/react'
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
