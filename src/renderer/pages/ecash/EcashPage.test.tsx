import { act, cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { EcashStatus } from '../../../shared/api/ecash'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import EcashPage from './EcashPage'

afterEach(cleanup)

const MINT = 'http://127.0.0.1:3338'
const status = (over: Partial<EcashStatus> = {}): EcashStatus => ({
  ready: true,
  total: 1200,
  balances: [{ mintUrl: MINT, spendable: 1200, pending: 0, unclaimed: 0 }],
  unclaimedTokens: 0,
  ownMintUrl: MINT,
  receivePubkey: '02' + 'ab'.repeat(32),
  seedBackedUp: false,
  ...over,
})

function setup(handlers: Record<string, (input: unknown) => unknown> = {}) {
  const fake = new FakeTransportForTests({ 'ecash.status': () => status(), ...handlers })
  setTransport(fake)
  render(<EcashPage params={{}} />)
  return fake
}

describe('eCash page', () => {
  it('shows the balance, updates it from events and asks for a backup', async () => {
    const fake = setup()
    expect((await screen.findByText('1,200 sat')).getAttribute('role')).toBe('status')
    expect(screen.getByText(/Write down the wallet’s recovery words/)).toBeTruthy()
    act(() =>
      fake.emit({
        topic: 'ecash',
        type: 'balance',
        total: 1500,
        balances: [{ mintUrl: MINT, spendable: 1500, pending: 0, unclaimed: 0 }],
      }),
    )
    expect(screen.getByText('1,500 sat')).toBeTruthy()
  })

  it('sends a token and shows it with its QR code', async () => {
    const fake = setup({
      'ecash.send': () => ({
        operationId: 'op1',
        mintUrl: MINT,
        amount: 21,
        fee: 0,
        token: 'cashuBtokentokentoken',
        qr: 'data:image/svg+xml;base64,AAAA',
      }),
    })
    await screen.findByText('1,200 sat')
    fireEvent.click(screen.getByRole('tab', { name: 'Send' }))
    fireEvent.change(screen.getByLabelText('Amount (sat)'), { target: { value: '21' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }))
    expect(await screen.findByRole('heading', { name: 'Token for 21 sat' })).toBeTruthy()
    expect((screen.getByLabelText('The token') as HTMLTextAreaElement).value).toBe(
      'cashuBtokentokentoken',
    )
    expect(screen.getByAltText('QR code of the token for 21 sat').getAttribute('src')).toMatch(
      /^data:image/,
    )
    expect(fake.callsTo('ecash.send')).toEqual([{ amount: 21 }])
  })

  it('lists tokens not yet claimed and claims them on demand', async () => {
    const fake = setup({
      'ecash.status': () =>
        status({
          unclaimedTokens: 1,
          balances: [{ mintUrl: MINT, spendable: 1200, pending: 0, unclaimed: 8 }],
        }),
      'ecash.pendingTokens': () => [
        {
          operationId: 'op9',
          mintUrl: MINT,
          amount: 8,
          addedAt: '2026-11-28T07:00:00.000Z',
          lastError: 'the mint did not answer',
        },
      ],
      'ecash.redeemPending': () => ({ claimed: 1, claimedAmount: 8, stillPending: 0, failed: [] }),
    })
    const list = await screen.findByRole('list', { name: 'Tokens not yet claimed' })
    expect(list.textContent).toContain('8 sat from 127.0.0.1:3338')
    fireEvent.click(screen.getByRole('button', { name: 'Try now' }))
    expect(await screen.findByText('Claimed 8 sat.')).toBeTruthy()
    expect(fake.callsTo('ecash.redeemPending')).toEqual([{}])
  })

  it('says a token received while its mint is down is kept and not yet claimed', async () => {
    setup({
      'ecash.receive': () => ({
        status: 'stored-offline',
        operationId: 'op2',
        mintUrl: MINT,
        amount: 8,
        reason:
          'The mint did not answer; the token is kept and claimed automatically when it does.',
      }),
    })
    await screen.findByText('1,200 sat')
    fireEvent.change(screen.getByLabelText(/Paste the token/), { target: { value: 'cashuBxyz' } })
    fireEvent.click(screen.getByRole('button', { name: 'Receive' }))
    expect((await screen.findByText(/8 sat stored, not yet claimed/)).getAttribute('role')).toBe(
      'status',
    )
  })

  it('shows the recovery words only after the warning is acknowledged', async () => {
    const fake = setup({
      'ecash.backupSeed': () => ({ words: 'a b c d e f g h i j k l'.split(' ') }),
    })
    await screen.findByText('1,200 sat')
    fireEvent.click(screen.getByRole('tab', { name: 'Backup' }))
    const show = screen.getByRole('button', {
      name: 'Show the recovery words',
    }) as HTMLButtonElement
    expect(show.disabled).toBe(true)
    fireEvent.click(screen.getByRole('checkbox'))
    fireEvent.click(show)
    const list = await screen.findByRole('list', { name: 'Recovery words' })
    expect(list.querySelectorAll('li')).toHaveLength(12)
    expect(fake.callsTo('ecash.backupSeed')).toEqual([{ confirm: true }])
  })
})
