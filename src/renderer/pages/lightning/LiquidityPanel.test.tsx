import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { LightningStatus } from '../../../shared/api/lightning'
import type {
  ChannelLiquidityView,
  LiquidityView,
  RebalanceAttemptView,
  RebalancePreview,
} from '../../../shared/api/liquidity'
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
const band = { minOutboundPercent: 20, maxOutboundPercent: 80 }
const channel = (id: string, localSat: number, remoteSat: number): ChannelLiquidityView => {
  const p = (localSat * 100) / (localSat + remoteSat)
  return {
    id,
    peerPublicKey: '03' + id.replace(/x/g, '').padStart(64, '0'),
    active: true,
    capacitySat: localSat + remoteSat,
    localSat,
    remoteSat,
    outboundPercent: p,
    band,
    bandIsOwn: false,
    position: p < 20 ? 'below' : p > 80 ? 'above' : 'within',
    receivableSat: Math.max(0, remoteSat - 6000),
    sendableSat: Math.max(0, localSat - 6000),
  }
}
const view = (over: Partial<LiquidityView> = {}): LiquidityView => ({
  settings: {
    defaultBand: band,
    bands: {},
    schedule: {
      enabled: false,
      everyMinutes: 60,
      dailyFeeBudgetSat: 100,
      maxFeePpm: 500,
      maxAmountSat: 100_000,
    },
    lowInboundSat: 100_000,
  },
  channels: [channel('101x1x0', 594_000, 0), channel('102x1x0', 0, 594_000)],
  receivableSat: 588_000,
  sendableSat: 588_000,
  advice: [],
  outOfBand: ['101x1x0', '102x1x0'],
  feesLast24hSat: 0,
  ...over,
})
const preview: RebalancePreview = {
  outChannel: '101x1x0',
  inChannel: '102x1x0',
  amountSat: 100_000,
  maxFeeSat: 50,
  reason: 'channel 101x1x0 has 100% on your side, above its band 20–80%',
  route: {
    feeSat: 3,
    feeMsat: '2200',
    hops: [
      { channel: '101x1x0', publicKey: '02' + 'b'.repeat(64), feeSat: 2 },
      { channel: '103x1x0', publicKey: '02' + 'c'.repeat(64), feeSat: 1 },
      { channel: '102x1x0', publicKey: '02' + 'a'.repeat(64), feeSat: 0 },
    ],
  },
}
const attempt: RebalanceAttemptView = {
  id: 1,
  at: '2026-12-05T07:00:00.000Z',
  trigger: 'owner',
  reason: 'Asked for by you.',
  outChannel: '101x1x0',
  inChannel: '102x1x0',
  amountSat: 100_000,
  maxFeeSat: 50,
  feeSat: 3,
  hops: preview.route!.hops,
  result: 'succeeded',
}

async function open(handlers: Record<string, (input: unknown) => unknown> = {}) {
  const fake = new FakeTransportForTests({
    'lightning.status': () => status,
    'lightning.balances': () => ({
      onchainSat: 0,
      onchainPendingSat: 0,
      channelsLocalSat: 0,
      channelsRemoteSat: 0,
      channelsPendingSat: 0,
    }),
    'lightning.liquidity': () => view(),
    'lightning.rebalanceLog': () => [],
    ...handlers,
  })
  setTransport(fake)
  render(<LightningPage params={{}} />)
  fireEvent.click(await screen.findByRole('tab', { name: 'Liquidity' }))
  await screen.findByRole('heading', { name: /You can receive 588,000 sat right now/ })
  return fake
}

describe('Lightning page → Liquidity', () => {
  it('shows what can be received, each channel as a bar against its band, and the alert', async () => {
    await open()
    expect(screen.getByRole('alert').textContent).toMatch(
      /2 channels are out of their bands: 101x1x0 \(100% on your side\)/,
    )
    const bars = screen.getAllByRole('img')
    expect(bars.map((b) => b.getAttribute('aria-label'))).toEqual([
      '100% on your side, band 20–80%',
      '0% on your side, band 20–80%',
    ])
    expect(screen.queryByRole('note', { name: 'How to receive more' })).toBeNull()
  })

  it('advises when inbound runs low, and a live event updates the section', async () => {
    const fake = await open()
    act(() =>
      fake.emit({
        topic: 'lightning',
        type: 'liquidity',
        liquidity: view({
          receivableSat: 5_000,
          outOfBand: [],
          advice: [
            { kind: 'ask_peer', text: 'Ask a well-connected node to open a channel to yours.' },
            { kind: 'open_channel', text: 'Open a channel (Lightning → Channels).' },
            { kind: 'loop_out', text: 'Swap sats to on-chain (a loop out).' },
          ],
        }),
      }),
    )
    await screen.findByRole('heading', { name: /You can receive 5,000 sat right now/ })
    const note = screen.getByRole('note', { name: 'How to receive more' })
    expect(within(note).getAllByRole('listitem')).toHaveLength(3)
    expect(screen.queryByRole('alert')).toBeNull()
  })

  it('dry run first, shows route and cost; money moves only after confirming', async () => {
    const fake = await open({
      'lightning.previewRebalance': () => preview,
      'lightning.rebalance': () => attempt,
    })
    fireEvent.click(screen.getByRole('button', { name: 'Suggest from the bands' }))
    const dry = await screen.findByLabelText('Dry run')
    expect(dry.textContent).toMatch(/Moves 100,000 sat from 101x1x0 to 102x1x0 for 3 sat in fees/)
    expect(within(dry).getAllByRole('listitem')).toHaveLength(3)
    expect(fake.callsTo('lightning.previewRebalance')).toEqual([{}])
    expect(fake.callsTo('lightning.rebalance')).toEqual([])

    fireEvent.click(within(dry).getByRole('button', { name: 'Rebalance…' }))
    expect(fake.callsTo('lightning.rebalance')).toEqual([])
    fireEvent.click(screen.getByRole('button', { name: 'Yes, rebalance' }))
    await screen.findByText('Moved 100,000 sat for 3 sat in fees.')
    expect(fake.callsTo('lightning.rebalance')).toEqual([
      {
        outChannel: '101x1x0',
        inChannel: '102x1x0',
        amountSat: 100_000,
        maxFeeSat: 50,
        confirmed: true,
      },
    ])
  })

  it('sets a channel’s own band', async () => {
    const fake = await open({
      'lightning.setLiquiditySettings': (s) => view({ settings: s as LiquidityView['settings'] }),
    })
    fireEvent.click(screen.getAllByRole('button', { name: 'Change band' })[0]!)
    fireEvent.change(screen.getByLabelText('Band of 101x1x0: lowest % on your side'), {
      target: { value: '40' },
    })
    fireEvent.change(screen.getByLabelText('Band of 101x1x0: highest % on your side'), {
      target: { value: '100' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Save band' }))
    await screen.findAllByRole('button', { name: 'Change band' })
    const [saved] = fake.callsTo('lightning.setLiquiditySettings') as LiquidityView['settings'][]
    expect(saved!.bands).toEqual({ '101x1x0': { minOutboundPercent: 40, maxOutboundPercent: 100 } })
  })

  it('turning the schedule on asks first, with the daily budget', async () => {
    const fake = await open({
      'lightning.setLiquiditySettings': (s) => view({ settings: s as LiquidityView['settings'] }),
    })
    fireEvent.click(screen.getByLabelText('Rebalance on a schedule, within the budget below'))
    fireEvent.change(screen.getByLabelText('Daily fee budget (sat, any 24 hours)'), {
      target: { value: '40' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Save' }))
    const ask = await screen.findByRole('alertdialog')
    expect(ask.textContent).toMatch(/up to 40 sat in fees in any 24 hours/)
    expect(fake.callsTo('lightning.setLiquiditySettings')).toEqual([])
    fireEvent.click(screen.getByRole('button', { name: 'Yes, turn the schedule on' }))
    await screen.findByText(/On: at most one rebalance every 60 minutes/)
    const [saved] = fake.callsTo('lightning.setLiquiditySettings') as LiquidityView['settings'][]
    expect(saved!.schedule).toMatchObject({ enabled: true, dailyFeeBudgetSat: 40 })
  })

  it('lists every attempt with why, route, fee and result', async () => {
    await open({
      'lightning.rebalanceLog': () => [
        attempt,
        {
          ...attempt,
          id: 2,
          trigger: 'schedule',
          reason: 'channel 101x1x0 has 90% on your side, above its band 20–80%',
          result: 'refused',
          feeSat: undefined,
          hops: [],
          detail: 'No route back to your node within the fee limit of 5 sat.',
        },
      ],
    })
    const table = (await screen.findByRole('heading', { name: 'Rebalance log' })).parentElement!
    const rows = within(table).getAllByRole('row').slice(1)
    expect(rows).toHaveLength(2)
    expect(rows[0]!.textContent).toMatch(/by you.*101x1x0 → 103x1x0 → 102x1x0.*3 sat.*Moved/)
    expect(rows[1]!.textContent).toMatch(/by the schedule.*above its band.*Refused.*fee limit/)
  })
})
