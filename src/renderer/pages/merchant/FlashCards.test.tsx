import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { FlashCardView, FlashCardsView } from '../../../shared/api/boltcard'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import FlashCards from './FlashCards'

afterEach(cleanup)

const card = (over: Partial<FlashCardView> = {}): FlashCardView => ({
  id: '0123456789abcdef',
  name: 'Alice',
  state: 'programmed',
  balanceSat: 38_000,
  perTapSat: 20_000,
  perDaySat: 30_000,
  spentTodaySat: 12_000,
  pullPaymentId: 'pp1',
  createdAt: '2026-12-05T09:00:00.000Z',
  programmedAt: '2026-12-05T09:01:00.000Z',
  lastUsedAt: '2026-12-05T10:30:00.000Z',
  ...over,
})

/** A fake engine that keeps the cards, so every answer is what the last change left. */
function setup(start: FlashCardView[], view: Partial<FlashCardsView> = {}) {
  let cards = [...start]
  const put = (c: FlashCardView) => {
    cards = cards.map((x) => (x.id === c.id ? c : x))
    return c
  }
  const of = (input: unknown) => cards.find((c) => c.id === (input as { id: string }).id)!
  const fake = new FakeTransportForTests({
    'boltcard.cards': () => ({ cards, tapUrl: 'lnurlw://shop.example/boltcard/tap', ...view }),
    'boltcard.issue': (input) => {
      const i = input as { name: string; amountSat: number; perTapSat: number; perDaySat: number }
      const c = card({
        id: 'fedcba9876543210',
        name: i.name,
        state: 'issued',
        balanceSat: i.amountSat,
        perTapSat: i.perTapSat,
        perDaySat: i.perDaySat,
        spentTodaySat: 0,
        programmedAt: undefined,
        lastUsedAt: undefined,
      })
      cards = [c, ...cards]
      return c
    },
    'boltcard.topUp': (input) => {
      const c = of(input)
      return put({ ...c, balanceSat: c.balanceSat! + (input as { amountSat: number }).amountSat })
    },
    'boltcard.setLimits': (input) => put({ ...of(input), ...(input as object) }),
    'boltcard.freeze': (input) => put({ ...of(input), state: 'frozen' }),
    'boltcard.programmingLink': (input) => {
      const { action } = input as { action: string }
      return {
        deepLink: `boltcard://${action}?url=https%3A%2F%2Fshop.example%2Fboltcard%2Fkeys%2Ftoken`,
        qr: 'data:image/png;base64,iVBORw0KGgo=',
        expiresAt: '2026-12-05T10:45:00.000Z',
      }
    },
    'boltcard.reset': (input) => put({ ...of(input), state: 'reset' }),
    'boltcard.confirmReset': (input) =>
      put({ ...of(input), state: 'reset', resetPendingSince: undefined }),
  })
  setTransport(fake)
  render(<FlashCards />)
  return fake
}

const row = (name: string) => screen.findByRole('listitem', { name: `Card ${name}` })
/** Waits until the card's row reads `text` (the row's words span several elements). */
const rowSays = (name: string, text: RegExp) =>
  waitFor(() =>
    expect(screen.getByRole('listitem', { name: `Card ${name}` }).textContent).toMatch(text),
  )

describe('Merchant → Flash Cards', () => {
  it('issues a card with its balance and limits; the list shows it not programmed yet', async () => {
    const fake = setup([])
    expect(await screen.findByText('No cards yet.')).toBeTruthy()
    const form = screen.getByRole('form', { name: 'Issue a card' })
    const issue = within(form).getByRole('button', { name: 'Issue card' }) as HTMLButtonElement
    expect(issue.disabled).toBe(true)
    fireEvent.change(screen.getByLabelText('Customer or card name'), { target: { value: ' Bob ' } })
    fireEvent.change(screen.getByLabelText('Balance (sat)'), { target: { value: '50000' } })
    fireEvent.change(screen.getByLabelText('At most per tap (sat)'), { target: { value: '5000' } })
    fireEvent.change(screen.getByLabelText('At most per day (sat)'), { target: { value: '10000' } })
    fireEvent.click(issue)
    const bob = await row('Bob')
    expect(fake.callsTo('boltcard.issue')).toEqual([
      { name: 'Bob', amountSat: 50_000, perTapSat: 5_000, perDaySat: 10_000 },
    ])
    expect(bob.textContent).toMatch(/not programmed yet · balance 50,000 sat/)
    expect(bob.textContent).toMatch(/5,000 sat per tap, 10,000 sat per day \(0 sat today\)/)
    expect(bob.textContent).toMatch(/last used never/)
    expect(within(bob).getByRole('button', { name: 'Program with the Boltcard app' })).toBeTruthy()
    expect(within(bob).queryByRole('button', { name: /^Reset/ })).toBeNull()
    expect((screen.getByLabelText('Customer or card name') as HTMLInputElement).value).toBe('')
  })

  it('lists each card with its balance, spending and last use, and a refused tap', async () => {
    setup([
      card({ lastDeclined: 'Declined: this card is frozen.' }),
      card({ id: 'aaaaaaaaaaaaaaaa', name: 'Carol', balanceSat: null, lastUsedAt: undefined }),
    ])
    const alice = await row('Alice')
    expect(alice.textContent).toMatch(/Alice · active · balance 38,000 sat/)
    expect(alice.textContent).toMatch(/20,000 sat per tap, 30,000 sat per day \(12,000 sat today\)/)
    expect(alice.textContent).toContain(
      `last used ${new Date('2026-12-05T10:30:00.000Z').toLocaleString()}`,
    )
    expect(alice.textContent).toContain('Last refused tap: Declined: this card is frozen.')
    const carol = await row('Carol')
    expect(carol.textContent).toMatch(/balance unknown \(BTCPay did not answer\)/)
    expect(carol.textContent).toMatch(/last used never/)
  })

  it('says when a tap’s payment went out but BTCPay was not told yet, with BTCPay’s reason', async () => {
    setup([
      card({
        btcpayUntold: { taps: 2, sat: 3_000, reason: 'BTCPay did not answer.' },
      }),
      card({ id: 'aaaaaaaaaaaaaaaa', name: 'Carol' }),
    ])
    const alice = await row('Alice')
    expect(within(alice).getByRole('status').textContent).toMatch(
      /^Payment sent, BTCPay not yet told: 2 taps \(3,000 sat\) went out, but BTCPay has not taken the payout as paid: BTCPay did not answer\. The box tells BTCPay again every 15 seconds and never pays these taps twice\.$/,
    )
    expect(within(await row('Carol')).queryByRole('status')).toBeNull()
  })

  it('shows a reset made with the Boltcard app as pending until the card or the owner confirms it', async () => {
    const fake = setup([card({ resetPendingSince: '2026-12-05T10:40:00.000Z' })])
    const alice = await row('Alice')
    expect(alice.textContent).toMatch(/Alice · reset pending · balance/)
    const group = within(alice).getByRole('group', { name: 'Reset pending' })
    expect(group.textContent).toContain(
      `The Boltcard app took this card’s keys to wipe it at ${new Date('2026-12-05T10:40:00.000Z').toLocaleString()}.`,
    )
    expect(group.textContent).toMatch(/it must answer with the factory keys/)
    // No second reset is offered while one waits.
    expect(within(alice).queryByRole('button', { name: 'Reset with the Boltcard app' })).toBeNull()
    fireEvent.click(
      within(group).getByRole('button', { name: 'Check on this computer’s NFC reader' }),
    )
    await rowSays('Alice', /Alice · wiped \(blank\)/)
    expect(fake.callsTo('boltcard.confirmReset')).toEqual([{ id: card().id, how: 'reader' }])
  })

  it('tops a card up and sets its limits', async () => {
    const fake = setup([card()])
    const alice = await row('Alice')
    const topUp = within(alice).getByRole('form', { name: 'Top up' })
    fireEvent.change(within(topUp).getByLabelText('Top up (sat)'), { target: { value: '2000' } })
    fireEvent.click(within(topUp).getByRole('button', { name: 'Top up' }))
    await rowSays('Alice', /balance 40,000 sat/)
    expect(fake.callsTo('boltcard.topUp')).toEqual([{ id: card().id, amountSat: 2000 }])
    const limits = within(await row('Alice')).getByRole('form', { name: 'Limits' })
    fireEvent.change(within(limits).getByLabelText('Per tap'), { target: { value: '1000' } })
    fireEvent.change(within(limits).getByLabelText('Per day'), { target: { value: '3000' } })
    fireEvent.click(within(limits).getByRole('button', { name: 'Set limits' }))
    await rowSays('Alice', /1,000 sat per tap, 3,000 sat per day/)
    expect(fake.callsTo('boltcard.setLimits')).toEqual([
      { id: card().id, perTapSat: 1000, perDaySat: 3000 },
    ])
  })

  it('freezes only after the owner confirms, and a frozen card offers no top-up', async () => {
    const fake = setup([card()])
    fireEvent.click(within(await row('Alice')).getByRole('button', { name: 'Freeze…' }))
    expect(screen.getByText(/this\s+cannot be undone/)).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Keep it' }))
    expect(fake.callsTo('boltcard.freeze')).toEqual([])
    fireEvent.click(within(await row('Alice')).getByRole('button', { name: 'Freeze…' }))
    fireEvent.click(screen.getByRole('button', { name: 'Freeze the card' }))
    await rowSays('Alice', /Alice · frozen/)
    expect(fake.callsTo('boltcard.freeze')).toEqual([{ id: card().id }])
    const alice = await row('Alice')
    expect(within(alice).queryByRole('form', { name: 'Top up' })).toBeNull()
    expect(within(alice).getByRole('button', { name: 'Reset with the Boltcard app' })).toBeTruthy()
  })

  it('shows the Boltcard app link as a QR and a deep link, once and with its expiry', async () => {
    const fake = setup([card({ state: 'issued', lastUsedAt: undefined })])
    fireEvent.click(
      within(await row('Alice')).getByRole('button', { name: 'Program with the Boltcard app' }),
    )
    const group = await screen.findByRole('group', { name: 'Boltcard app link' })
    expect(within(group).getByRole('img', { name: 'Boltcard app link QR' })).toBeTruthy()
    expect(
      within(group).getByRole('link', { name: 'Open in the Boltcard app' }).getAttribute('href'),
    ).toBe('boltcard://program?url=https%3A%2F%2Fshop.example%2Fboltcard%2Fkeys%2Ftoken')
    expect(group.textContent).toContain('(Create Bolt Card)')
    expect(group.textContent).toContain(
      `works once, until ${new Date('2026-12-05T10:45:00.000Z').toLocaleTimeString()}`,
    )
    expect(fake.callsTo('boltcard.programmingLink')).toEqual([{ id: card().id, action: 'program' }])
    // A card event (the app used the link) reloads the list: the card is active, and it can be
    // reset from here or by a reset link.
    fake.on('boltcard.cards', () => ({ cards: [card()] }))
    act(() => fake.emit({ topic: 'boltcard', type: 'changed' }))
    await rowSays('Alice', /Alice · active/)
    // The used link's QR is gone with the state it was made for.
    expect(screen.queryByRole('group', { name: 'Boltcard app link' })).toBeNull()
    fireEvent.click(
      within(await row('Alice')).getByRole('button', { name: 'Reset with the Boltcard app' }),
    )
    await screen.findByText(/\(Reset\), then tap the card/)
    expect(
      screen.getByRole('link', { name: 'Open in the Boltcard app' }).getAttribute('href'),
    ).toMatch(/^boltcard:\/\/reset\?url=/)
  })

  it('resets a card on the computer’s reader, and says why cards cannot be programmed without a public address', async () => {
    const fake = setup([card()], { tapUrl: undefined })
    expect(await screen.findByText(/Taps need the box’s public address/)).toBeTruthy()
    fireEvent.click(
      within(await row('Alice')).getByRole('button', {
        name: 'Reset on this computer’s NFC reader',
      }),
    )
    await rowSays('Alice', /Alice · wiped \(blank\)/)
    expect(fake.callsTo('boltcard.reset')).toEqual([{ id: card().id }])
  })
})
