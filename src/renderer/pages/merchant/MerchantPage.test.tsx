import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type {
  MerchantInvoice,
  MerchantSales,
  MerchantStatus,
  MerchantSetupStep,
} from '../../../shared/api/merchant'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import MerchantPage from './MerchantPage'

// uPlot needs a real canvas (jsdom has none); the chart itself is driven in Chromium (tests/e2e).
vi.mock('./SalesChart', () => ({
  default: ({
    title,
    data,
    which,
  }: {
    title: string
    data: MerchantSales
    which: 'today' | 'week'
  }) => (
    <p>
      {title}: {data[which].map((b) => b.total).join(',')}
    </p>
  ),
}))

afterEach(cleanup)

const ids = ['admin', 'store', 'apiKey', 'lightning', 'onchain', 'webhook', 'pointOfSale'] as const
const steps = (done: number, running?: number): MerchantSetupStep[] =>
  ids.map((id, i) => ({
    id,
    title: `Step ${id}`,
    state: i < done ? 'done' : i === running ? 'running' : 'todo',
  }))

const status = (over: Partial<MerchantStatus> = {}): MerchantStatus => ({
  steps: steps(7),
  running: false,
  ready: true,
  btcpayUrl: 'http://127.0.0.1:23000',
  shop: { name: 'Corner Café', currency: 'EUR' },
  pos: { url: 'http://127.0.0.1:23000/apps/abc/pos', qr: 'data:image/svg+xml;base64,PHN2Zy8+' },
  rewards: { enabled: true, percent: 5, delivery: 'auto' },
  webhooks: { received: 3, refused: 1 },
  ...over,
})

const sales: MerchantSales = {
  currency: 'EUR',
  today: Array.from({ length: 24 }, (_, h) => ({
    start: new Date(2026, 11, 5, h).toISOString(),
    total: h === 9 ? 12.5 : 0,
    count: h === 9 ? 2 : 0,
  })),
  week: Array.from({ length: 7 }, (_, d) => ({
    start: new Date(2026, 11, d - 1).toISOString(),
    total: d === 6 ? 12.5 : 4,
    count: 1,
  })),
  todayTotal: 12.5,
  weekTotal: 36.5,
}

const invoice = (over: Partial<MerchantInvoice> = {}): MerchantInvoice => ({
  id: 'inv1',
  status: 'New',
  additionalStatus: 'None',
  amount: '9',
  currency: 'EUR',
  createdAt: '2026-12-05T09:00:00.000Z',
  description: 'Two coffees',
  checkoutLink: 'http://127.0.0.1:23000/i/inv1',
  ...over,
})

function setup(handlers: Record<string, (input: unknown) => unknown> = {}) {
  const fake = new FakeTransportForTests({
    'merchant.status': () => status(),
    'merchant.sales': () => sales,
    'merchant.invoices': () => [
      invoice({
        status: 'Settled',
        reward: { amount: '0.45', currency: 'EUR', state: 'issued', method: 'claim' },
      }),
      invoice({ id: 'inv2', description: 'Cake' }),
    ],
    ...handlers,
  })
  setTransport(fake)
  render(<MerchantPage params={{}} />)
  return fake
}

describe('Merchant page', () => {
  it('sets BTCPay up and shows each step’s progress live', async () => {
    const fake = setup({
      'merchant.status': () =>
        status({ ready: false, steps: steps(0), shop: undefined, pos: undefined }),
      'merchant.setup': () =>
        status({
          ready: false,
          steps: steps(2),
          problem: {
            code: 'merchant.btcpay_unreachable',
            message: 'The box could not reach BTCPay while connecting Lightning to BTCPay.',
            hint: 'Turn BTCPay on in Settings → Services and start it from the Dashboard.',
          },
        }),
    })
    fireEvent.change(await screen.findByLabelText('Shop name'), {
      target: { value: 'Corner Café' },
    })
    act(() => fake.emit({ topic: 'merchant', type: 'setup', steps: steps(1, 1) }))
    const list = screen.getByRole('list', { name: 'Set-up steps' })
    expect(within(list).getByText(/Step admin/).textContent).toBe('Step admin: done')
    expect(within(list).getByText(/Step store/).textContent).toBe('Step store: working…')
    fireEvent.click(screen.getByRole('button', { name: 'Continue the set-up' }))
    expect(await screen.findByText(/could not reach BTCPay/)).toBeTruthy()
    expect(fake.callsTo('merchant.setup')).toEqual([{ shopName: 'Corner Café', currency: 'EUR' }])
  })

  it('shows today’s and the week’s sales, and a sale turns "Paid" from the webhook event', async () => {
    const fake = setup({
      'merchant.createInvoice': () => ({
        ...invoice(),
        bolt11: 'lnbcrt90u1test',
        qr: 'data:image/svg+xml;base64,PHN2Zy8+',
      }),
    })
    expect((await screen.findByTestId('sales-today')).textContent).toBe('12.50 EUR')
    expect(screen.getByTestId('sales-week').textContent).toBe('36.50 EUR')
    expect(screen.getByText(/1 refused \(bad signature\)/)).toBeTruthy()
    expect(screen.getByRole('img', { name: 'QR code of the point of sale link' })).toBeTruthy()
    fireEvent.change(screen.getByLabelText('Amount (EUR)'), { target: { value: '9' } })
    fireEvent.click(screen.getByRole('button', { name: 'Charge' }))
    expect((await screen.findByTestId('sale-status')).textContent).toBe('Waiting for payment')
    expect(screen.getByText('lnbcrt90u1test')).toBeTruthy()
    act(() =>
      fake.emit({
        topic: 'merchant',
        type: 'invoice',
        invoice: invoice({
          status: 'Settled',
          reward: {
            amount: '0.45',
            currency: 'EUR',
            state: 'issued',
            method: 'claim',
            claimLink: 'http://x/pull-payments/pp1',
          },
        }),
      }),
    )
    expect(screen.getByTestId('sale-status').textContent).toBe('Paid')
    expect(screen.getByText(/Reward for the customer: 0.45 EUR/)).toBeTruthy()
  })

  it('pays a sale with eCash only after the review is confirmed', async () => {
    const fake = setup({
      'merchant.createInvoice': () => ({ ...invoice(), bolt11: 'lnbcrt90u1test' }),
      'merchant.ecashPayReview': () => ({
        reviewId: 'q1',
        invoiceId: 'inv1',
        amountSat: 10_000,
        feeReserveSat: 20,
        totalSat: 10_020,
      }),
      'merchant.ecashPayConfirm': () => ({ invoiceId: 'inv1', state: 'paid', feeSat: 1 }),
    })
    fireEvent.change(await screen.findByLabelText('Amount (EUR)'), { target: { value: '9' } })
    fireEvent.click(screen.getByRole('button', { name: 'Charge' }))
    fireEvent.click(await screen.findByRole('button', { name: 'Pay with the box’s eCash…' }))
    expect(await screen.findByText(/Pay 10,000 sat from the box’s eCash/)).toBeTruthy()
    expect(fake.callsTo('merchant.ecashPayConfirm')).toEqual([])
    fireEvent.click(screen.getByRole('button', { name: 'Confirm eCash payment' }))
    expect(await screen.findByText('Paid with eCash (fee 1 sat).')).toBeTruthy()
    expect(fake.callsTo('merchant.ecashPayConfirm')).toEqual([{ reviewId: 'q1' }])
  })

  it('says a sale paid with the box’s own eCash stays inside the box, fee 0', async () => {
    setup({
      'merchant.createInvoice': () => ({ ...invoice(), bolt11: 'lnbcrt90u1test' }),
      'merchant.ecashPayReview': () => ({
        reviewId: 'q1',
        invoiceId: 'inv1',
        amountSat: 10_000,
        feeReserveSat: 0,
        totalSat: 10_000,
        insideBox: true,
      }),
    })
    fireEvent.change(await screen.findByLabelText('Amount (EUR)'), { target: { value: '9' } })
    fireEvent.click(screen.getByRole('button', { name: 'Charge' }))
    fireEvent.click(await screen.findByRole('button', { name: 'Pay with the box’s eCash…' }))
    const review = await screen.findByLabelText('eCash payment review')
    expect(review.textContent).toMatch(/Fee 0 sat: the payment stays inside this box/)
    expect(review.textContent).not.toMatch(/Lightning fee, unused fee/)
  })

  it('searches invoices, shows their states and makes a refund with its QR', async () => {
    const fake = setup({
      'merchant.refund': () => ({
        id: 'pp1',
        name: 'Refund',
        amount: '9',
        currency: 'EUR',
        link: 'http://x/pull-payments/pp1',
        qr: 'data:image/svg+xml;base64,PHN2Zy8+',
        archived: false,
      }),
    })
    fireEvent.click(await screen.findByRole('tab', { name: 'Invoices' }))
    expect(await screen.findByText(/paid · reward 0.45 EUR/)).toBeTruthy()
    expect(screen.getByRole('cell', { name: 'waiting for payment' })).toBeTruthy()
    fireEvent.change(screen.getByLabelText(/Search/), { target: { value: 'cake' } })
    await act(async () => {})
    expect(fake.callsTo('merchant.invoices').at(-1)).toEqual({ search: 'cake' })
    fireEvent.click(screen.getByRole('button', { name: 'Refund' }))
    expect(
      await screen.findByRole('img', { name: 'Refund ready for the customer QR code' }),
    ).toBeTruthy()
    expect(fake.callsTo('merchant.refund')).toEqual([{ invoiceId: 'inv1', variant: 'Fiat' }])
  })

  it('puts Greenfield errors in plain sentences', async () => {
    setup({
      'merchant.createInvoice': () => {
        throw {
          code: 'merchant.btcpay_no_payment_method',
          message:
            'BTCPay cannot take payments right now (making a sale): Lightning or the wallet is not connected.',
          hint: 'Check that Lightning runs on the Lightning page.',
        }
      },
    })
    fireEvent.change(await screen.findByLabelText('Amount (EUR)'), { target: { value: '9' } })
    fireEvent.click(screen.getByRole('button', { name: 'Charge' }))
    expect(await screen.findByText(/BTCPay cannot take payments right now/)).toBeTruthy()
  })

  it('names the customer’s npub on a sale and shows the eCash reward delivered', async () => {
    const npub = 'npub1sg6plzptd64u62a878hep2kev88swjh3tw00gjsfl8f237lmu63q0uf63m'
    const fake = setup({
      'merchant.createInvoice': () => ({ ...invoice(), bolt11: 'lnbcrt90u1test' }),
    })
    fireEvent.change(await screen.findByLabelText('Amount (EUR)'), { target: { value: '9' } })
    fireEvent.change(screen.getByLabelText('The reward goes to'), { target: { value: 'npub' } })
    fireEvent.change(screen.getByLabelText('Customer’s npub'), { target: { value: npub } })
    fireEvent.click(screen.getByRole('button', { name: 'Charge' }))
    await screen.findByTestId('sale-status')
    expect(fake.callsTo('merchant.createInvoice')).toEqual([{ amount: '9', rewardTo: { npub } }])
    act(() =>
      fake.emit({
        topic: 'merchant',
        type: 'invoice',
        invoice: invoice({
          status: 'Settled',
          reward: {
            amount: '0.45',
            currency: 'EUR',
            state: 'issued',
            method: 'nostr',
            to: npub,
            amountSat: 1000,
          },
        }),
      }),
    )
    expect(screen.getByRole('status', { name: 'Reward' }).textContent).toBe(
      `Reward 1,000 sat as eCash to ${npub}: delivered`,
    )
    expect(screen.queryByRole('img', { name: 'Reward QR code' })).toBeNull()
  })

  it('chooses the delivery rule, shows each reward’s status and retries a failed one onto a card', async () => {
    const fake = setup({
      'merchant.rewardLedger': () => [
        {
          invoiceId: 'inv1',
          invoiceAmount: '9',
          currency: 'EUR',
          percent: 5,
          rewardAmount: '0.45',
          rewardSat: 1000,
          state: 'failed',
          method: 'card',
          reason: 'This sale names no Flash Card for the reward. Pick the customer’s card…',
          createdAt: '2026-12-05T09:00:00.000Z',
        },
        {
          invoiceId: 'inv2',
          invoiceAmount: '4',
          currency: 'EUR',
          percent: 5,
          rewardAmount: '0.20',
          state: 'issued',
          method: 'claim',
          reference: 'pp9',
          createdAt: '2026-12-05T08:00:00.000Z',
        },
      ],
      'merchant.setRewardRule': (r) => r,
      'boltcard.cards': () => ({
        cards: [
          { id: '0123456789abcdef', name: 'Ada', state: 'programmed' },
          { id: 'fedcba9876543210', name: 'Old', state: 'frozen' },
        ],
      }),
      'merchant.retryReward': () => ({}),
    })
    fireEvent.click(await screen.findByRole('tab', { name: 'Rewards' }))
    fireEvent.change(await screen.findByLabelText('How rewards reach the customer'), {
      target: { value: 'card' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Save rule' }))
    expect(await screen.findByText('Saved.')).toBeTruthy()
    expect(fake.callsTo('merchant.setRewardRule')).toEqual([
      { enabled: true, percent: 5, delivery: 'card' },
    ])
    const failed = await screen.findByRole('listitem', { name: 'Reward for sale inv1' })
    expect(within(failed).getByTestId('reward-status').textContent).toBe('failed')
    expect(within(failed).getByRole('alert').textContent).toMatch(/names no Flash Card/)
    const done = screen.getByRole('listitem', { name: 'Reward for sale inv2' })
    expect(within(done).getByTestId('reward-status').textContent).toBe('delivered')
    expect(within(done).queryByRole('button', { name: 'Retry' })).toBeNull()
    fireEvent.change(within(failed).getByLabelText('Send it to'), { target: { value: 'card' } })
    const cardSelect = await within(failed).findByLabelText('Customer’s Flash Card')
    expect(within(cardSelect).queryByText('Old')).toBeNull()
    fireEvent.change(cardSelect, { target: { value: '0123456789abcdef' } })
    fireEvent.click(within(failed).getByRole('button', { name: 'Retry' }))
    await act(async () => {})
    expect(fake.callsTo('merchant.retryReward')).toEqual([
      { invoiceId: 'inv1', to: { card: '0123456789abcdef' } },
    ])
  })
})
