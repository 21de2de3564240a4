import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type {
  WalletAccountView,
  WalletCoin,
  WalletStatus,
  WalletTransaction,
} from '../../../shared/api/wallet'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import WalletPage from './WalletPage'

afterEach(cleanup)

const account: WalletAccountView = {
  id: 'wpkh-0',
  name: 'SegWit 0',
  network: 'regtest',
  kind: 'wpkh',
  source: 'seed',
  account: 0,
  receiveDescriptor: "wpkh([73c5da0a/84'/1'/0']tpubX/0/*)#abcdefgh",
  changeDescriptor: "wpkh([73c5da0a/84'/1'/0']tpubX/1/*)#abcdefgh",
  xpub: 'tpubX',
  origin: { masterFingerprint: '73c5da0a', path: "m/84'/1'/0'" },
  gapLimit: 20,
  createdAt: '2026-12-01T10:00:00.000Z',
  balance: { confirmedSat: 250_000, unconfirmedSat: 0, frozenSat: 0 },
}
const status = (over: Partial<WalletStatus> = {}): WalletStatus => ({
  connection: 'ready',
  seed: { stored: true, hasPassphrase: false },
  accounts: [account],
  tipHeight: 120,
  notices: [],
  ...over,
})
const ADDRESS = 'bcrt1qcr8te4kr609gcawutmrza0j4xv80jy8zeqchgx'
const tx = (over: Partial<WalletTransaction> = {}): WalletTransaction => ({
  accountId: 'wpkh-0',
  txid: 'ab'.repeat(32),
  status: 'confirmed',
  height: 110,
  confirmations: 11,
  firstSeen: '2026-12-01T10:00:00.000Z',
  blockTime: '2026-12-01T10:05:00.000Z',
  receivedSat: 250_000,
  sentSat: 0,
  netSat: 250_000,
  vsize: 141,
  feeSat: 282,
  feeRate: 2,
  rbf: false,
  inputs: [{ txid: 'cd'.repeat(32), vout: 1, valueSat: 250_282, mine: false }],
  outputs: [
    { vout: 0, valueSat: 250_000, address: ADDRESS, scriptPubKey: '0014', mine: true, chain: 0 },
  ],
  label: 'Invoice #7',
  hex: '00',
  ...over,
})
const coin: WalletCoin = {
  accountId: 'wpkh-0',
  txid: 'ab'.repeat(32),
  vout: 0,
  outpoint: `${'ab'.repeat(32)}:0`,
  valueSat: 250_000,
  address: ADDRESS,
  scriptPubKey: '0014',
  derivation: {
    kind: 'wpkh',
    chain: 0,
    index: 0,
    masterFingerprint: '73c5da0a',
    path: "m/84'/1'/0'/0/0",
    pubkey: '02' + '11'.repeat(32),
    descriptor: 'wpkh(x)',
  },
  height: 110,
  confirmations: 11,
  verified: true,
  coinbase: false,
  frozen: false,
  label: 'Invoice #7',
  firstSeen: '2026-12-01T10:05:00.000Z',
}

function setup(handlers: Record<string, (input: unknown) => unknown> = {}) {
  const fake = new FakeTransportForTests({
    'wallet.status': () => status(),
    'wallet.history': () => [tx()],
    'wallet.coins': () => [coin],
    ...handlers,
  })
  setTransport(fake)
  render(<WalletPage params={{}} />)
  return fake
}

describe('Wallet page', () => {
  it('receive: a new address with its BIP21 link and QR; a deposit from the mempool shows at once', async () => {
    const fake = setup({
      'wallet.receive': () => ({
        address: ADDRESS,
        index: 0,
        uri: `bitcoin:${ADDRESS}?amount=0.0025&label=Rent`,
        qr: 'data:image/svg+xml;base64,PHN2Zy8+',
        label: 'Rent',
      }),
    })
    expect(await screen.findByText(/up to date · block 120/)).toBeTruthy()
    expect(screen.getByText('250,000 sat')).toBeTruthy()
    fireEvent.change(screen.getByLabelText('Amount (sat, optional)'), {
      target: { value: '250000' },
    })
    fireEvent.change(screen.getByLabelText('Label (only you see it)'), {
      target: { value: 'Rent' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'New address' }))
    expect(await screen.findByText(`bitcoin:${ADDRESS}?amount=0.0025&label=Rent`)).toBeTruthy()
    expect(fake.callsTo('wallet.receive')).toEqual([
      { accountId: 'wpkh-0', amountSat: 250_000, label: 'Rent' },
    ])
    expect(screen.getByRole('img', { name: /QR code of bitcoin:/ })).toBeTruthy()
    expect(screen.getByText('Waiting for a payment…')).toBeTruthy()
    act(() =>
      fake.emit({
        topic: 'wallet',
        type: 'transaction',
        accountId: 'wpkh-0',
        transaction: tx({ status: 'unconfirmed', confirmations: 0, height: 0 }),
      }),
    )
    expect(await screen.findByText('Received 250,000 sat — waiting for confirmation.')).toBeTruthy()
  })

  it('history: rows with amount, status, label; search asks the engine; a reorg notice is shown', async () => {
    const fake = setup()
    await screen.findByText(/up to date/)
    fireEvent.click(screen.getByRole('tab', { name: 'History' }))
    const row = (await screen.findByText('Invoice #7')).closest('tr')!
    expect(within(row).getByText('+250,000 sat')).toBeTruthy()
    expect(within(row).getByText(/confirmed \(11 conf\.\)/)).toBeTruthy()
    // A deposit's fee, paid by its sender, with its rate; the detail shows the inputs' values.
    expect(within(row).getByText('282 sat (2 sat/vB), paid by the sender')).toBeTruthy()
    fireEvent.click(within(row).getByRole('button', { name: `Details of ${'ab'.repeat(32)}` }))
    const detail = await screen.findByLabelText(`Transaction ${'ab'.repeat(32)}`)
    expect(within(detail).getByText('282 sat (2 sat/vB), paid by the sender')).toBeTruthy()
    expect(within(detail).getByText('250,282 sat')).toBeTruthy()
    expect(within(detail).getByText('141 vB')).toBeTruthy()
    fireEvent.change(screen.getByLabelText(/Search/), { target: { value: 'rent' } })
    await act(async () => {})
    expect(fake.callsTo('wallet.history').at(-1)).toEqual({ accountId: 'wpkh-0', search: 'rent' })
    act(() =>
      fake.emit({
        topic: 'wallet',
        type: 'status',
        status: status({
          notices: [
            {
              at: '2026-12-01T11:00:00.000Z',
              accountId: 'wpkh-0',
              txid: 'ab'.repeat(32),
              kind: 'unconfirmed',
              message:
                'Transaction abab… lost its confirmation: its block is no longer part of the chain.',
            },
          ],
        }),
      }),
    )
    expect(await screen.findByText(/lost its confirmation/)).toBeTruthy()
  })

  it('coins: freeze a coin', async () => {
    const fake = setup({
      'wallet.setFrozen': (i) => ({ ...coin, frozen: (i as { frozen: boolean }).frozen }),
    })
    await screen.findByText(/up to date/)
    fireEvent.click(screen.getByRole('tab', { name: 'Coins' }))
    fireEvent.click(await screen.findByRole('button', { name: 'Freeze' }))
    await act(async () => {})
    expect(fake.callsTo('wallet.setFrozen')).toEqual([
      { accountId: 'wpkh-0', outpoint: coin.outpoint, frozen: true },
    ])
  })

  it('no seed yet: the setup form creates one with the owner password', async () => {
    const fake = setup({
      'wallet.status': () =>
        status({ seed: { stored: false, hasPassphrase: false }, accounts: [] }),
      'wallet.createSeed': () => status(),
    })
    fireEvent.change(await screen.findByLabelText('Owner password'), {
      target: { value: 'hunter2hunter2' },
    })
    fireEvent.click(screen.getByRole('button', { name: 'Create wallet' }))
    await act(async () => {})
    expect(fake.callsTo('wallet.createSeed')).toEqual([{ password: 'hunter2hunter2' }])
  })
})
