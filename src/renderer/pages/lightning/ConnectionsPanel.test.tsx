// The Lightning page's Connections (NWC) and Lightning address tabs: the connection string is
// shown once and hidden for good, the list shows spent and remaining, revoking asks first; the
// Lightning address shows the address with its QR, or says why there is none.
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { LightningStatus } from '../../../shared/api/lightning'
import type { LightningAddressView, NwcConnectionView } from '../../../shared/api/wallet-service'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import LightningPage from './LightningPage'

afterEach(cleanup)

const status: LightningStatus = {
  wallet: 'ready',
  vault: true,
  seed: { stored: true, confirmed: true },
  macaroons: [],
}
const conn = (over: Partial<NwcConnectionView> = {}): NwcConnectionView => ({
  id: '0123456789abcdef',
  name: 'Damus',
  methods: ['pay_invoice', 'get_balance'],
  budgetSat: 30_000,
  budgetPeriod: 'daily',
  spentSat: 10_010,
  remainingSat: 19_990,
  renewsAt: '2026-12-06T00:00:00.000Z',
  relays: ['ws://127.0.0.1:7777'],
  servicePubkey: 'ab'.repeat(32),
  createdAt: '2026-12-05T08:00:00.000Z',
  ...over,
})
const URI = `nostr+walletconnect://${'ab'.repeat(32)}?relay=ws%3A%2F%2F127.0.0.1%3A7777&secret=${'cd'.repeat(32)}`

function open(tab: string, handlers: Record<string, (input: unknown) => unknown>) {
  const fake = new FakeTransportForTests({
    'lightning.status': () => status,
    'lightning.balances': () => ({
      onchainSat: 0,
      onchainPendingSat: 0,
      channelsLocalSat: 0,
      channelsRemoteSat: 0,
      channelsPendingSat: 0,
    }),
    ...handlers,
  })
  setTransport(fake)
  render(<LightningPage params={{}} />)
  return { fake, tab: async () => fireEvent.click(await screen.findByRole('tab', { name: tab })) }
}

describe('Connections (Nostr Wallet Connect)', () => {
  it('creates a connection with methods and a budget, shows the string once, then never again', async () => {
    let list: NwcConnectionView[] = []
    const { fake, tab } = open('Connections', {
      'walletService.connections': () => list,
      'walletService.createConnection': () => {
        list = [conn({ spentSat: 0, remainingSat: 5000, budgetSat: 5000, budgetPeriod: 'weekly' })]
        return { connection: list[0], uri: URI, qr: 'data:image/svg+xml;base64,AA==' }
      },
    })
    await tab()
    await screen.findByText('No app is connected yet.')
    fireEvent.change(screen.getByLabelText('App name'), { target: { value: 'Damus' } })
    fireEvent.click(screen.getByLabelText('Create invoices'))
    fireEvent.click(screen.getByLabelText('List its invoices and payments'))
    fireEvent.change(screen.getByLabelText('Budget (sat, empty for none)'), {
      target: { value: '5000' },
    })
    fireEvent.change(screen.getByLabelText('Budget renews'), { target: { value: 'weekly' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create connection' }))
    expect((await screen.findByTestId('nwc-uri')).textContent).toContain(URI)
    expect(screen.getByAltText('QR code of the connection string')).toBeTruthy()
    expect(screen.getByText(/Shown once/)).toBeTruthy()
    expect(fake.callsTo('walletService.createConnection')).toEqual([
      {
        name: 'Damus',
        methods: ['pay_invoice', 'get_balance', 'get_info', 'lookup_invoice', 'make_invoice'],
        budgetSat: 5000,
        budgetPeriod: 'weekly',
        relays: [],
      },
    ])
    fireEvent.click(screen.getByRole('button', { name: 'Done, hide it' }))
    expect(screen.queryByTestId('nwc-uri')).toBeNull()
    expect(document.body.textContent).not.toContain('cd'.repeat(32))
  })

  it('lists spent and remaining, and revokes only after confirmation', async () => {
    const { fake, tab } = open('Connections', {
      'walletService.connections': () => [conn()],
      'walletService.revokeConnection': () => [conn({ revokedAt: '2026-12-05T09:00:00.000Z' })],
    })
    await tab()
    const row = await screen.findByRole('listitem', { name: 'Damus' })
    expect(within(row).getByTestId('nwc-spent-0123456789abcdef').textContent).toMatch(
      /10,010 sat.*19,990 sat left/,
    )
    fireEvent.click(within(row).getByRole('button', { name: 'Revoke' }))
    expect(fake.callsTo('walletService.revokeConnection')).toEqual([])
    fireEvent.click(within(row).getByRole('button', { name: 'Yes, revoke' }))
    expect(await within(row).findByText('Revoked')).toBeTruthy()
    expect(fake.callsTo('walletService.revokeConnection')).toEqual([{ id: '0123456789abcdef' }])
  })
})

describe('a connection given an old address of the box’s relay', () => {
  it('says where the relay is now and what to do; a current one says nothing', async () => {
    const { tab } = open('Connections', {
      'walletService.connections': () => [
        conn({ relays: ['wss://shop.example.com'], boxRelayNow: 'wss://new.example.org' }),
        conn({ id: 'fedcba9876543210', name: 'Till', relays: ['wss://new.example.org'] }),
      ],
    })
    await tab()
    const moved = await screen.findByRole('listitem', { name: 'Damus' })
    expect(within(moved).getByRole('note').textContent).toMatch(
      /moved to wss:\/\/new\.example\.org.*Damus was given the old address.*make a new connection for it above.*revoke this one/,
    )
    const current = screen.getByRole('listitem', { name: 'Till' })
    expect(within(current).queryByRole('note')).toBeNull()
  })
})

describe('Lightning address', () => {
  const view = (over: Partial<LightningAddressView> = {}): LightningAddressView => ({
    enabled: true,
    name: 'shop',
    address: 'shop@box.example:8080',
    url: 'http://box.example:8080/.well-known/lnurlp/shop',
    qr: 'data:image/svg+xml;base64,AA==',
    minSendableSat: 1,
    maxSendableSat: 1_000_000,
    commentAllowed: 255,
    zapperPubkey: 'ef'.repeat(32),
    ...over,
  })

  it('shows the address with its QR and saves a new name and range', async () => {
    const { fake, tab } = open('Lightning address', {
      'walletService.lightningAddress': () => view(),
      'walletService.setLightningAddress': (i) => {
        const n = i as { name: string }
        return view({
          ...(i as Partial<LightningAddressView>),
          address: `${n.name}@box.example:8080`,
        })
      },
    })
    await tab()
    expect((await screen.findByTestId('ln-address')).textContent).toContain('shop@box.example:8080')
    expect(screen.getByAltText('QR code of the Lightning address')).toBeTruthy()
    fireEvent.change(screen.getByLabelText('Name (before the @)'), { target: { value: 'Tips' } })
    fireEvent.change(screen.getByLabelText('Largest payment (sat)'), { target: { value: '0' } })
    expect((screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement).disabled).toBe(true)
    fireEvent.change(screen.getByLabelText('Largest payment (sat)'), { target: { value: '5000' } })
    fireEvent.click(screen.getByRole('button', { name: 'Save' }))
    await waitFor(() =>
      expect(fake.callsTo('walletService.setLightningAddress')).toEqual([
        { enabled: true, name: 'tips', minSendableSat: 1, maxSendableSat: 5000 },
      ]),
    )
    await waitFor(() =>
      expect(screen.getByTestId('ln-address').textContent).toBe('tips@box.example:8080'),
    )
  })

  it('says plainly why there is no address when no web server serves it', async () => {
    const { tab } = open('Lightning address', {
      'walletService.lightningAddress': () => ({
        ...view({ enabled: false }),
        address: undefined,
        qr: undefined,
        url: undefined,
        problem: {
          code: 'walletService.no_public_address',
          message: 'The Lightning address is served by the headless server.',
          hint: 'Run Flash Box headless (npm run serve) to serve it.',
        },
      }),
    })
    await tab()
    expect(await screen.findByText(/served by the headless server/)).toBeTruthy()
    expect(screen.queryByTestId('ln-address')).toBeNull()
  })
})
