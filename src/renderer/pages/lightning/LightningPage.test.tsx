import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { InvoiceView, LightningStatus, PaymentView } from '../../../shared/api/lightning'
import { ApiError } from '../../api/transport'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import LightningPage from './LightningPage'
import { filterRows, historyRows } from './HistoryPanel'

afterEach(cleanup)

const macaroons: LightningStatus['macaroons'] = (
  ['btcpay', 'mint', 'dashboard', 'app'] as const
).map((consumer) => ({ consumer, present: true, permissions: ['info:read'] }))
const status = (over: Partial<LightningStatus> = {}): LightningStatus => ({
  wallet: 'ready',
  vault: true,
  seed: { stored: true, confirmed: true },
  macaroons,
  node: {
    publicKey: '02' + 'ab'.repeat(32),
    alias: 'box',
    uri: `02${'ab'.repeat(32)}@127.0.0.1:9735`,
    network: 'regtest',
    blockHeight: 120,
    syncedToChain: true,
    activeChannels: 1,
    peers: 1,
  },
  ...over,
})
const balances = {
  onchainSat: 1_000_000,
  onchainPendingSat: 0,
  channelsLocalSat: 500_000,
  channelsRemoteSat: 250_000,
  channelsPendingSat: 0,
}
const invoice = (over: Partial<InvoiceView> = {}): InvoiceView => ({
  id: 'aa'.repeat(32),
  request: 'lnbcrt21u1pexample',
  amountSat: 2100,
  receivedSat: 0,
  memo: 'coffee',
  state: 'open',
  createdAt: '2026-12-01T10:00:00.000Z',
  expiresAt: '2026-12-01T11:00:00.000Z',
  ...over,
})

function setup(handlers: Record<string, (input: unknown) => unknown> = {}) {
  const fake = new FakeTransportForTests({
    'lightning.status': () => status(),
    'lightning.balances': () => balances,
    ...handlers,
  })
  setTransport(fake)
  render(<LightningPage params={{}} />)
  return fake
}

describe('Lightning page', () => {
  it('asks for the owner’s password once when the wallet waits for it', async () => {
    const fake = setup({
      'lightning.status': () =>
        status({
          wallet: 'waiting_for_owner',
          vault: false,
          seed: { stored: false, confirmed: false },
        }),
      'lightning.protectSeed': () => status({ seed: { stored: true, confirmed: true } }),
    })
    await screen.findByRole('heading', { name: 'Create your Lightning wallet' })
    expect(screen.queryByRole('tab', { name: 'Pay' })).toBeNull()
    fireEvent.change(screen.getByLabelText('Your password'), {
      target: { value: 'hunter2hunter2' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Create the wallet' }))
    await screen.findByRole('tab', { name: 'Pay' })
    expect(fake.callsTo('lightning.protectSeed')).toEqual([{ password: 'hunter2hunter2' }])
  })

  it('explains a locked wallet and unlocks it', async () => {
    const fake = setup({
      'lightning.status': () =>
        status({
          wallet: 'locked',
          problem: {
            code: 'lightning.locked',
            message: 'The Lightning wallet is locked.',
            hint: 'Press “Unlock”.',
          },
        }),
      'lightning.unlock': () => status(),
    })
    await screen.findByRole('heading', { name: 'The wallet is locked' })
    fireEvent.click(screen.getByRole('button', { name: 'Unlock' }))
    await screen.findByRole('tab', { name: 'Receive' })
    expect(fake.callsTo('lightning.unlock')).toHaveLength(1)
  })

  it('shows the recovery words after the password, then checks three of them', async () => {
    const words = Array.from({ length: 24 }, (_, i) => `w${i + 1}`)
    const fake = setup({
      'lightning.status': () => status({ seed: { stored: true, confirmed: false } }),
      'lightning.revealSeed': () => ({ words, check: [2, 7, 19] }),
      'lightning.confirmSeed': () => status(),
    })
    await screen.findByRole('heading', { name: 'Write down your recovery words' })
    fireEvent.change(screen.getByLabelText('Type your password again'), {
      target: { value: 'pw-pw-pw-pw' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Show the recovery words' }))
    const list = await screen.findByRole('list', { name: 'Recovery words' })
    expect(within(list).getAllByRole('listitem')).toHaveLength(24)
    fireEvent.click(screen.getByRole('button', { name: 'I wrote them down' }))
    expect(screen.queryByRole('list', { name: 'Recovery words' })).toBeNull()
    for (const n of [2, 7, 19]) {
      fireEvent.change(screen.getByLabelText(`Word ${n}`), { target: { value: `w${n}` } })
    }
    fireEvent.click(screen.getByRole('button', { name: 'Check' }))
    await screen.findByRole('tab', { name: 'Receive' })
    expect(fake.callsTo('lightning.confirmSeed')).toEqual([
      {
        answers: [
          { position: 2, word: 'w2' },
          { position: 7, word: 'w7' },
          { position: 19, word: 'w19' },
        ],
      },
    ])
    expect(screen.queryByText('w7')).toBeNull()
  })

  it('receive: invoice as QR and text, “Paid” from the event stream', async () => {
    const fake = setup({
      'lightning.createInvoice': () => ({ ...invoice(), qr: 'data:image/svg+xml;base64,AAAA' }),
    })
    await screen.findByText('500,000 sat')
    fireEvent.change(screen.getByLabelText('Amount (sat)'), { target: { value: '2100' } })
    fireEvent.change(screen.getByLabelText('Memo (the payer sees it)'), {
      target: { value: 'coffee' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Create invoice' }))
    expect(await screen.findByAltText('QR code of the invoice')).toBeTruthy()
    expect(screen.getByTestId('ln-invoice-text').textContent).toBe('lnbcrt21u1pexample')
    expect(fake.callsTo('lightning.createInvoice')).toEqual([
      { amountSat: 2100, memo: 'coffee', expirySeconds: 3600 },
    ])
    act(() =>
      fake.emit({
        topic: 'lightning',
        type: 'invoice',
        invoice: invoice({ state: 'paid', receivedSat: 2100, paidAt: '2026-12-01T10:01:00.000Z' }),
      }),
    )
    expect(screen.getByText('Paid: 2,100 sat received.')).toBeTruthy()
  })

  it('pay: reviews first, owner sets the fee limit, failure in plain words', async () => {
    const failed: PaymentView = {
      id: 'bb'.repeat(32),
      amountSat: 3000,
      feeLimitSat: 5,
      state: 'failed',
      failure: 'no_route',
      failureText: 'No route to the recipient was found.',
      destination: '03' + 'cd'.repeat(32),
      description: 'book',
      createdAt: '2026-12-01T10:00:00.000Z',
      updatedAt: '2026-12-01T10:00:01.000Z',
    }
    const fake = setup({
      'lightning.decodeInvoice': () => ({
        id: 'bb'.repeat(32),
        amountSat: 3000,
        payee: '03' + 'cd'.repeat(32),
        description: 'book',
        expiresAt: '2099-01-01T00:00:00.000Z',
        expired: false,
        suggestedFeeLimitSat: 30,
      }),
      'lightning.pay': () => failed,
    })
    await screen.findByText('500,000 sat')
    fireEvent.click(screen.getByRole('tab', { name: 'Pay' }))
    fireEvent.change(screen.getByLabelText('Invoice'), { target: { value: 'lnbcrt30u1pexample' } })
    fireEvent.click(screen.getByRole('button', { name: 'Review' }))
    await screen.findByRole('heading', { name: 'Review the payment' })
    expect(screen.getByText('3,000 sat')).toBeTruthy()
    expect(screen.getByText('book')).toBeTruthy()
    expect(fake.callsTo('lightning.pay')).toHaveLength(0)
    const fee = screen.getByLabelText('Most you will pay in routing fees (sat)') as HTMLInputElement
    expect(fee.value).toBe('30')
    fireEvent.change(fee, { target: { value: '5' } })
    fireEvent.click(screen.getByRole('button', { name: 'Pay' }))
    expect(await screen.findByText('Not paid: No route to the recipient was found.')).toBeTruthy()
    expect(fake.callsTo('lightning.pay')).toEqual([
      { request: 'lnbcrt30u1pexample', feeLimitSat: 5 },
    ])
  })

  it('pay: a refused invoice shows the engine’s sentence and nothing is paid', async () => {
    const fake = setup({
      'lightning.decodeInvoice': () => {
        throw new ApiError({
          code: 'lightning.wrong_network',
          message: 'This invoice is for Bitcoin mainnet, but your box runs on regtest.',
          hint: 'Ask for an invoice on the same network as your box.',
        })
      },
    })
    await screen.findByText('500,000 sat')
    fireEvent.click(screen.getByRole('tab', { name: 'Pay' }))
    fireEvent.change(screen.getByLabelText('Invoice'), { target: { value: 'lnbc1xyz' } })
    fireEvent.click(screen.getByRole('button', { name: 'Review' }))
    expect(
      await screen.findByText('This invoice is for Bitcoin mainnet, but your box runs on regtest.'),
    ).toBeTruthy()
    expect(fake.callsTo('lightning.pay')).toHaveLength(0)
  })
})

describe('history rows', () => {
  it('merges, sorts newest first, and filters by text, state and date', () => {
    const rows = historyRows(
      [
        invoice({ id: '11', state: 'paid', receivedSat: 2100, paidAt: '2026-12-02T09:00:00.000Z' }),
        invoice({ id: '22', memo: 'tea', createdAt: '2026-11-20T09:00:00.000Z' }),
      ],
      [
        {
          id: '33',
          amountSat: 500,
          feeSat: 1,
          feeLimitSat: 5,
          state: 'succeeded',
          destination: '02',
          description: 'book',
          createdAt: '2026-12-03T09:00:00.000Z',
          updatedAt: '2026-12-03T09:00:00.000Z',
        },
      ],
    )
    expect(rows.map((r) => r.id)).toEqual(['33', '11', '22'])
    expect(
      filterRows(rows, { search: 'tea', state: 'all', from: '', to: '' }).map((r) => r.id),
    ).toEqual(['22'])
    expect(
      filterRows(rows, { search: '', state: 'paid', from: '', to: '' }).map((r) => r.id),
    ).toEqual(['11'])
    expect(
      filterRows(rows, { search: '', state: 'all', from: '2026-12-01', to: '2026-12-02' }).map(
        (r) => r.id,
      ),
    ).toEqual(['11'])
  })
})
