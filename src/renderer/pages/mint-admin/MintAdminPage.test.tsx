import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { setTransport } from '../../api/client'
import { FakeTransportForTests, userError } from '../../test/fake-transport'
import type { MintLimits, MintQuoteView, MintStatus } from '../../../shared/api/mint'
import MintAdminPage from './MintAdminPage'

afterEach(cleanup)

const limits: MintLimits = {
  mintMinAmount: 1,
  mintMaxAmount: 100_000,
  meltMinAmount: 1,
  meltMaxAmount: 100_000,
  mintingDisabled: false,
  meltingDisabled: false,
  maxInputs: 1000,
  maxOutputs: 1000,
  rateLimitPerIp: 2000,
  rateLimitWindowMs: 10_000,
}
const status = (extra: Partial<MintStatus> = {}): MintStatus => ({
  running: true,
  url: 'http://127.0.0.1:3338',
  name: 'Flash Box mint',
  unit: 'sat',
  network: 'regtest',
  backend: { name: 'fake', ok: true, detail: 'Fake Lightning wallet (regtest).' },
  keysets: [
    {
      id: '01' + 'a'.repeat(64),
      unit: 'sat',
      active: false,
      inputFeePpk: 0,
      finalExpiry: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      issued: 5000,
      redeemed: 4000,
      outstanding: 1000,
    },
    {
      id: '01' + 'b'.repeat(64),
      unit: 'sat',
      active: true,
      inputFeePpk: 100,
      finalExpiry: null,
      createdAt: '2026-01-02T00:00:00.000Z',
      issued: 2345,
      redeemed: 0,
      outstanding: 2345,
    },
  ],
  outstandingTotal: 3345,
  limits,
  pendingMelts: 0,
  ...extra,
})
const quotes: MintQuoteView[] = [
  {
    kind: 'melt',
    idPrefix: 'abcdef12',
    amount: 100,
    unit: 'sat',
    state: 'PAID',
    createdAt: '2026-01-02T10:00:00.000Z',
    expiresAt: '2026-01-02T11:00:00.000Z',
    feeReserve: 2,
    feePaid: 1,
  },
]

function setup(extra: Record<string, (i: unknown) => unknown> = {}) {
  const fake = new FakeTransportForTests({
    'mint.status': () => status(),
    'mint.quotes': () => quotes,
    'mint.rotateKeyset': (i) => ({
      ...status().keysets[1]!,
      inputFeePpk: (i as { inputFeePpk: number }).inputFeePpk,
    }),
    'mint.setLimits': (i) => ({ ...limits, ...(i as Partial<MintLimits>) }),
    ...extra,
  })
  setTransport(fake)
  render(<MintAdminPage params={{}} />)
  return fake
}

describe('mint admin page', () => {
  it('shows outstanding liabilities, keysets with fees, backend and quotes', async () => {
    setup()
    expect(await screen.findByText('3,345 sat')).toBeTruthy()
    const keysets = screen.getByRole('table', { name: 'Keysets' })
    expect(within(keysets).getByText('Retired')).toBeTruthy()
    expect(within(keysets).getByText('100 ppk')).toBeTruthy()
    expect(within(keysets).getByText('1,000 sat')).toBeTruthy()
    expect(screen.getByText(/Test wallet/)).toBeTruthy()
    const q = await screen.findByRole('table', { name: 'Recent quotes' })
    expect(within(q).getByText('abcdef12…')).toBeTruthy()
    expect(within(q).getByText('reserve 2 sat, paid 1 sat')).toBeTruthy()
  })

  it('starts a new keyset with the chosen fee and saves limits', async () => {
    const fake = setup()
    const fee = await screen.findByLabelText('Fee for the new keyset (ppk)')
    fireEvent.change(fee, { target: { value: '250' } })
    await act(async () =>
      fireEvent.click(screen.getByRole('button', { name: 'Start a new keyset' })),
    )
    expect(fake.callsTo('mint.rotateKeyset')).toEqual([{ inputFeePpk: 250 }])
    fireEvent.change(screen.getByLabelText('Largest Lightning deposit (sat)'), {
      target: { value: '5000' },
    })
    fireEvent.click(screen.getByLabelText(/Pause new deposits/))
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Save limits' })))
    const saved = fake.callsTo('mint.setLimits')[0] as Partial<MintLimits>
    expect(saved.mintMaxAmount).toBe(5000)
    expect(saved.mintingDisabled).toBe(true)
  })

  it('refuses an invalid fee before calling the engine, and shows engine errors with a hint', async () => {
    const fake = setup({
      'mint.setLimits': () => {
        throw userError(
          'mint.bad_limits',
          'A minimum amount is larger than its maximum.',
          'Make each minimum smaller.',
        )
      },
    })
    const fee = await screen.findByLabelText('Fee for the new keyset (ppk)')
    fireEvent.change(fee, { target: { value: '-3' } })
    expect(
      (screen.getByRole('button', { name: 'Start a new keyset' }) as HTMLButtonElement).disabled,
    ).toBe(true)
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Save limits' })))
    expect(await screen.findByText('Make each minimum smaller.')).toBeTruthy()
    expect(fake.callsTo('mint.rotateKeyset')).toEqual([])
  })

  it('updates live from mint events and shows a stopped mint with its problem', async () => {
    const fake = setup({
      'mint.status': () =>
        status({
          running: false,
          problem: {
            code: 'mint.port_taken',
            message: 'Port 3338 is taken.',
            hint: 'Close the other program.',
          },
          keysets: [],
          outstandingTotal: 0,
        }),
    })
    expect(await screen.findByText('Port 3338 is taken.')).toBeTruthy()
    act(() =>
      fake.emit({ topic: 'mint', type: 'status', status: status({ outstandingTotal: 42 }) }),
    )
    expect(await screen.findByText('42 sat')).toBeTruthy()
  })
})
