import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { WalletCoin, WalletTransaction } from '../../../shared/api/wallet'
import type { FeeRatesView, SendReview } from '../../../shared/api/wallet-send'
import { ApiError } from '../../api/transport'
import { PendingSends } from './PendingSends'
import { PsbtImport } from './PsbtPanel'
import { SendPanel } from './SendPanel'
import { SpeedUp } from './SpeedUp'
import { LightningMovesPanel } from './LightningMovesPanel'
import type { WalletSendClient } from './send-client'

afterEach(cleanup)

const rates: FeeRatesView = {
  presets: [
    { id: 'fastest', label: 'Fastest', satPerVb: 12, estimated: true, eta: 'about 10 minutes' },
    { id: 'normal', label: 'Normal', satPerVb: 5, estimated: true, eta: 'about 1 hour' },
    { id: 'slow', label: 'Slow', satPerVb: 2, estimated: true, eta: 'about 4 hours' },
    { id: 'economy', label: 'Economy', satPerVb: 1, estimated: false, eta: 'about a day' },
  ],
  minRelaySatPerVb: 0.1,
  confirmAboveSatPerVb: 200,
}
const review = (over: Partial<SendReview> = {}): SendReview => ({
  id: 'ab'.repeat(16),
  accountId: 'main',
  kind: 'send',
  state: 'reviewed',
  inputs: [{ outpoint: `${'11'.repeat(32)}:0`, valueSat: 1_000_000 }],
  outputs: [
    { address: 'bcrt1qrecipient', amountSat: 300_000, change: false, mine: false },
    { address: 'bcrt1qchange', amountSat: 699_718, change: true, mine: false },
  ],
  amountSat: 300_000,
  changeSat: 699_718,
  feeSat: 282,
  vsize: 141,
  feeRateSatPerVb: 2,
  eta: 'about 4 hours',
  selection: 'single-coin',
  needsFeeConfirmation: false,
  canSign: true,
  signatures: { have: 0, need: 1 },
  rbf: true,
  psbt: 'cHNidP8BAA==',
  createdAt: '2026-12-05T07:00:00.000Z',
  ...over,
})
const coin = (over: Partial<WalletCoin>): WalletCoin =>
  ({
    accountId: 'main',
    txid: '11'.repeat(32),
    vout: 0,
    outpoint: `${'11'.repeat(32)}:0`,
    valueSat: 1_000_000,
    address: 'bcrt1qcoin',
    scriptPubKey: '',
    height: 100,
    confirmations: 6,
    verified: true,
    coinbase: false,
    frozen: false,
    firstSeen: '2026-12-05T06:00:00.000Z',
    ...over,
  }) as WalletCoin

function fakeClient(over: Partial<Record<keyof WalletSendClient, (i: never) => unknown>> = {}) {
  const calls: { name: string; input: unknown }[] = []
  const base: Record<string, (i: unknown) => unknown> = {
    feeRates: () => rates,
    prepareSend: () => review(),
    confirmSend: () => review({ state: 'broadcast', txid: 'cd'.repeat(32) }),
    discardSend: () => review({ state: 'discarded' }),
    sends: () => [],
    ...(over as Record<string, (i: unknown) => unknown>),
  }
  const client = new Proxy({} as WalletSendClient, {
    get: (_t, name: string) => async (input: unknown) => {
      calls.push({ name, input })
      const h = base[name]
      if (!h) throw new Error(`no fake for ${name}`)
      return h(input)
    },
  })
  return { client, calls }
}

describe('Send panel', () => {
  it('builds a batch with a preset, shows the review (change, fee, rate), signs with the password', async () => {
    const { client, calls } = fakeClient()
    render(<SendPanel client={client} accountId="main" coins={[coin({})]} />)
    await screen.findByLabelText(/Slow: 2 sat\/vB, about 4 hours/)
    fireEvent.change(screen.getByLabelText('Address'), { target: { value: 'bcrt1qrecipient' } })
    fireEvent.change(screen.getByLabelText('Amount (sat)'), { target: { value: '300000' } })
    fireEvent.click(screen.getByRole('button', { name: 'Add another recipient' }))
    fireEvent.change(screen.getByLabelText('Address 2'), { target: { value: 'bcrt1qother' } })
    fireEvent.click(
      screen.getByLabelText('Send max (everything left after the fee)', {
        selector: '#send-max-1',
      }),
    )
    fireEvent.click(screen.getByLabelText(/Slow: 2 sat\/vB/))
    fireEvent.click(screen.getByRole('button', { name: 'Review' }))
    await screen.findByRole('heading', { name: 'Review the payment' })
    expect(calls.find((c) => c.name === 'prepareSend')!.input).toEqual({
      accountId: 'main',
      recipients: [
        { address: 'bcrt1qrecipient', amountSat: 300000 },
        { address: 'bcrt1qother', max: true },
      ],
      feeRateSatPerVb: 2,
    })
    const outputs = screen.getByRole('table', { name: 'Outputs' })
    expect(within(outputs).getByText(/change, back to this wallet/)).toBeTruthy()
    expect(screen.getByText('282 sat (2 sat/vB × 141 vB)')).toBeTruthy()
    const send = screen.getByRole('button', { name: 'Sign and send' }) as HTMLButtonElement
    expect(send.disabled).toBe(true)
    fireEvent.change(screen.getByLabelText('Your password'), { target: { value: 'pw' } })
    fireEvent.click(send)
    await screen.findByText(/Sent 300,000 sat with a fee of 282 sat/)
    expect(calls.find((c) => c.name === 'confirmSend')!.input).toEqual({
      reviewId: 'ab'.repeat(16),
      password: 'pw',
    })
  })

  it('coin control: frozen coins cannot be picked; the picked ones are sent', async () => {
    const { client, calls } = fakeClient()
    const frozen = coin({
      txid: '22'.repeat(32),
      outpoint: `${'22'.repeat(32)}:1`,
      vout: 1,
      frozen: true,
      label: 'cold',
    })
    render(
      <SendPanel client={client} accountId="main" coins={[coin({ label: 'salary' }), frozen]} />,
    )
    await screen.findByLabelText(/Normal: 5 sat\/vB/)
    fireEvent.click(screen.getByLabelText('Choose the coins to spend (coin control)'))
    expect((screen.getByLabelText('Spend 1,000,000 sat cold') as HTMLInputElement).disabled).toBe(
      true,
    )
    fireEvent.click(screen.getByLabelText('Spend 1,000,000 sat salary'))
    fireEvent.change(screen.getByLabelText('Address'), { target: { value: 'bcrt1qx' } })
    fireEvent.change(screen.getByLabelText('Amount (sat)'), { target: { value: '5000' } })
    fireEvent.click(screen.getByRole('button', { name: 'Review' }))
    await screen.findByRole('heading', { name: 'Review the payment' })
    expect(
      (calls.find((c) => c.name === 'prepareSend')!.input as { coins: string[] }).coins,
    ).toEqual([`${'11'.repeat(32)}:0`])
  })

  it('shows the refusal in words and asks for the high-fee tick', async () => {
    const { client } = fakeClient({
      prepareSend: () => {
        throw new ApiError({
          code: 'wallet.address-wrong-network',
          message:
            'The address bc1qw508d6…v8f3t4 is a mainnet address, but this box runs on regtest.',
          hint: 'Ask the recipient for a regtest address.',
        })
      },
    })
    render(<SendPanel client={client} accountId="main" coins={[]} />)
    await screen.findByLabelText(/Normal/)
    fireEvent.change(screen.getByLabelText('Address'), { target: { value: 'bc1q…' } })
    fireEvent.change(screen.getByLabelText('Amount (sat)'), { target: { value: '5000' } })
    fireEvent.click(screen.getByRole('button', { name: 'Review' }))
    expect((await screen.findByRole('alert')).textContent).toMatch(
      /is a mainnet address, but this box runs on regtest/,
    )

    cleanup()
    const high = fakeClient({
      prepareSend: () => review({ needsFeeConfirmation: true, feeRateSatPerVb: 300 }),
    })
    render(<SendPanel client={high.client} accountId="main" coins={[]} />)
    await screen.findByLabelText(/Normal/)
    fireEvent.change(screen.getByLabelText('Address'), { target: { value: 'bcrt1q' } })
    fireEvent.change(screen.getByLabelText('Amount (sat)'), { target: { value: '5000' } })
    fireEvent.click(screen.getByRole('button', { name: 'Review' }))
    await screen.findByRole('heading', { name: 'Review the payment' })
    fireEvent.change(screen.getByLabelText('Your password'), { target: { value: 'pw' } })
    const send = screen.getByRole('button', { name: 'Sign and send' }) as HTMLButtonElement
    expect(send.disabled).toBe(true)
    fireEvent.click(screen.getByLabelText('I want to pay this fee'))
    expect(send.disabled).toBe(false)
    fireEvent.click(send)
    await screen.findByText(/Sent/)
    expect(high.calls.find((c) => c.name === 'confirmSend')!.input).toMatchObject({
      confirmHighFee: true,
    })
  })
})

describe('Speed up and PSBTs', () => {
  const tx = {
    accountId: 'main',
    txid: 'ef'.repeat(32),
    status: 'unconfirmed',
    sentSat: 1_000_000,
    receivedSat: 699_000,
    feeRate: 1,
    inputs: [{ txid: '11'.repeat(32), vout: 0, mine: true }],
    outputs: [{ vout: 1, valueSat: 699_000, scriptPubKey: '', mine: true, chain: 1 }],
  } as unknown as WalletTransaction

  it('bump: the rate starts at the fastest preset, the review names what it replaces', async () => {
    const { client, calls } = fakeClient({
      prepareBump: () => review({ kind: 'bump', replaces: 'ef'.repeat(32), feeRateSatPerVb: 12 }),
    })
    render(<SpeedUp client={client} tx={tx} />)
    fireEvent.click(screen.getByRole('button', { name: 'Bump fee (RBF)' }))
    const rate = (await screen.findByLabelText('New fee rate (sat/vB), now 1')) as HTMLInputElement
    await screen.findByDisplayValue('12')
    expect(rate.value).toBe('12')
    fireEvent.click(screen.getByRole('button', { name: 'Review the fee bump' }))
    await screen.findByRole('heading', { name: 'Review the fee bump (RBF)' })
    expect(screen.getByText(/which then never confirms/)).toBeTruthy()
    expect(calls.find((c) => c.name === 'prepareBump')!.input).toEqual({
      accountId: 'main',
      txid: 'ef'.repeat(32),
      feeRateSatPerVb: 12,
    })
  })

  it('bump: a rate typed while the suggestion is still on its way is kept', async () => {
    let answer!: (r: FeeRatesView) => void
    const { client, calls } = fakeClient({
      feeRates: () => new Promise<FeeRatesView>((resolve) => (answer = resolve)),
      prepareBump: () => review({ kind: 'bump', replaces: 'ef'.repeat(32), feeRateSatPerVb: 6 }),
    })
    render(<SpeedUp client={client} tx={tx} />)
    fireEvent.click(screen.getByRole('button', { name: 'Bump fee (RBF)' }))
    const rate = (await screen.findByLabelText('New fee rate (sat/vB), now 1')) as HTMLInputElement
    fireEvent.change(rate, { target: { value: '6' } })
    await act(async () => answer(rates))
    expect(rate.value).toBe('6')
    fireEvent.click(screen.getByRole('button', { name: 'Review the fee bump' }))
    await screen.findByRole('heading', { name: 'Review the fee bump (RBF)' })
    expect(calls.find((c) => c.name === 'prepareBump')!.input).toMatchObject({
      feeRateSatPerVb: 6,
    })
  })

  it('bump: a field the owner cleared to type a new rate stays clear when the suggestion lands', async () => {
    let answer!: (r: FeeRatesView) => void
    const { client } = fakeClient({
      feeRates: () => new Promise<FeeRatesView>((resolve) => (answer = resolve)),
    })
    render(<SpeedUp client={client} tx={tx} />)
    fireEvent.click(screen.getByRole('button', { name: 'Bump fee (RBF)' }))
    const rate = (await screen.findByLabelText('New fee rate (sat/vB), now 1')) as HTMLInputElement
    // Select-all and delete, as a browser's fill() does before typing: the field is empty for a moment.
    fireEvent.change(rate, { target: { value: '6' } })
    fireEvent.change(rate, { target: { value: '' } })
    await act(async () => answer(rates))
    expect(rate.value).toBe('')
    fireEvent.change(rate, { target: { value: '6' } })
    expect(rate.value).toBe('6')
  })

  it('bump: the review stays when the history already marks the transaction replaced', async () => {
    const { client } = fakeClient({
      prepareBump: () => review({ kind: 'bump', replaces: 'ef'.repeat(32), feeRateSatPerVb: 12 }),
    })
    const view = render(<SpeedUp client={client} tx={tx} />)
    fireEvent.click(screen.getByRole('button', { name: 'Bump fee (RBF)' }))
    await screen.findByDisplayValue('12')
    fireEvent.click(screen.getByRole('button', { name: 'Review the fee bump' }))
    await screen.findByRole('heading', { name: 'Review the fee bump (RBF)' })
    view.rerender(<SpeedUp client={client} tx={{ ...tx, status: 'replaced' }} />)
    expect(screen.getByRole('heading', { name: 'Review the fee bump (RBF)' })).toBeTruthy()
  })

  it('imports a pasted PSBT into a review; a watch-only review cannot be sent unsigned', async () => {
    const { client } = fakeClient({
      importPsbt: () =>
        review({ kind: 'import', canSign: false, signatures: { have: 0, need: 1 } }),
    })
    render(<PsbtImport client={client} accountId="main" />)
    fireEvent.change(screen.getByLabelText('Or paste it (base64 or hex)'), {
      target: { value: 'cHNidP8B' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Review the PSBT' }))
    await screen.findByRole('heading', { name: 'Review the imported PSBT' })
    expect(screen.getByText(/This wallet is watch-only/)).toBeTruthy()
    expect(
      (screen.getByRole('button', { name: 'Sign and send' }) as HTMLButtonElement).disabled,
    ).toBe(true)
  })

  it('a signed, unsent send can be broadcast from the list', async () => {
    const { client, calls } = fakeClient({
      sends: () => [review({ state: 'signed', txid: 'cd'.repeat(32) })],
      broadcastSigned: () => review({ state: 'broadcast' }),
    })
    render(<PendingSends client={client} accountId="main" />)
    await screen.findByText(/signed, not sent yet/)
    fireEvent.click(screen.getByRole('button', { name: 'Broadcast' }))
    await screen.findAllByText(/signed, not sent yet/)
    expect(calls.filter((c) => c.name === 'broadcastSigned')).toHaveLength(1)
  })
})

describe('Wallet and Lightning', () => {
  it('funds a channel: review, then "Open the channel" with the password', async () => {
    const { client, calls } = fakeClient({
      prepareChannelFunding: () => review({ kind: 'channel', amountSat: 500_000 }),
      confirmChannelFunding: () =>
        review({ kind: 'channel', state: 'broadcast', amountSat: 500_000, txid: 'cd'.repeat(32) }),
    })
    render(<LightningMovesPanel client={client} accountId="main" />)
    fireEvent.change(screen.getByLabelText('Peer (node URI: public key@host:port)'), {
      target: { value: `02${'ab'.repeat(32)}@127.0.0.1:9735` },
    })
    fireEvent.change(screen.getByLabelText('Channel size (sat)'), { target: { value: '500000' } })
    fireEvent.click(screen.getByRole('button', { name: 'Review the channel funding' }))
    await screen.findByRole('heading', { name: 'Review the channel funding' })
    fireEvent.change(screen.getByLabelText('Your password'), { target: { value: 'pw' } })
    fireEvent.click(screen.getByRole('button', { name: 'Open the channel' }))
    await screen.findByText(/Sent 500,000 sat/)
    expect(calls.find((c) => c.name === 'prepareChannelFunding')!.input).toEqual({
      accountId: 'main',
      peer: `02${'ab'.repeat(32)}@127.0.0.1:9735`,
      capacitySat: 500_000,
      feeRateSatPerVb: 2,
    })
    expect(calls.find((c) => c.name === 'confirmChannelFunding')!.input).toEqual({
      reviewId: 'ab'.repeat(16),
      password: 'pw',
    })
  })

  it('moving coins from LND needs the owner to tick what will happen', async () => {
    const { client, calls } = fakeClient({
      fromLightning: () => ({ txid: 'ef'.repeat(32), address: 'bcrt1qmine' }),
    })
    render(<LightningMovesPanel client={client} accountId="main" />)
    fireEvent.change(screen.getByLabelText('Amount (sat)', { selector: '#from-ln-amount' }), {
      target: { value: '400000' },
    })
    const move = screen.getByRole('button', { name: 'Move from Lightning' }) as HTMLButtonElement
    expect(move.disabled).toBe(true)
    fireEvent.click(
      screen.getByLabelText(
        /Your Lightning node sends 400,000 sat to a new address of this wallet/,
      ),
    )
    fireEvent.click(move)
    await screen.findByText(/Sent by your Lightning node/)
    expect(calls.find((c) => c.name === 'fromLightning')!.input).toEqual({
      accountId: 'main',
      amountSat: 400_000,
      feeRateSatPerVb: 2,
    })
  })
})
