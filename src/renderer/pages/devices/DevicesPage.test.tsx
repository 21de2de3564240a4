import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import type {
  DevicesOverview,
  HsmStatus,
  SavedVaultView,
  VaultSpendReview,
  VaultView,
} from '../../../shared/api/hardware'
import DevicesPage, { parseKeyExpression } from './DevicesPage'
import { HSM_KEY, hsmUnconfigured, hsmUnlocked } from '../../test/hsm-fixtures'

afterEach(cleanup)

const overview: DevicesOverview = {
  usbAvailable: true,
  devices: [
    {
      id: '1-1',
      model: 'ledger',
      modelName: 'Ledger Nano S Plus',
      vendorId: 0x2c97,
      productId: 0x5011,
      state: 'permission',
      stateText: 'Flash Box is not allowed to open it.',
      support: 'Signing with a Ledger over USB is not built yet.',
    },
    {
      id: '1-2',
      model: 'trezor',
      modelName: 'Trezor Model T / Safe',
      vendorId: 0x1209,
      productId: 0x53c1,
      state: 'busy',
      stateText:
        'In use by trezor-suite. Close it (usually Trezor Suite or Trezor Bridge) and try again.',
      support: 'Trezor Bridge',
    },
  ],
  udevCommand: 'sudo install -m 0644 /x/51-flash-box-signers.rules /etc/udev/rules.d/',
}
const TPUB =
  'tpubDEaMHmpLpDb3MJ5fSQmE1dRkTYKC7DNyBMcQ3XWp8V9tPxZgxqn2DDiCDbsPXfEFLiuaP5xGRdhkXDN8ajjYaW3ThHF9Re3qvtUNHZzqG9Q'

function transport(hsm: HsmStatus) {
  return new FakeTransportForTests({
    'hardware.devices': () => overview,
    'hardware.hsmStatus': () => hsm,
    'hardware.vaults': () => [],
  })
}

describe('Devices page', () => {
  it('lists devices with their state and the udev command; a plug event refreshes the list', async () => {
    const t = transport(hsmUnconfigured)
    setTransport(t)
    render(<DevicesPage params={{}} />)
    const list = await screen.findByRole('list', { name: 'Devices found' })
    expect(within(list).getByText('Ledger Nano S Plus')).toBeTruthy()
    expect(within(list).getByText('Needs permission')).toBeTruthy()
    expect(within(list).getByText(/In use by trezor-suite/)).toBeTruthy()
    expect(screen.getByLabelText('udev command').textContent).toContain('/etc/udev/rules.d/')
    act(() =>
      t.emit({
        topic: 'hardware',
        type: 'devices',
        overview: {
          usbAvailable: false,
          devices: [],
          note: 'This computer shows Flash Box no USB devices.',
        },
      }),
    )
    expect(await screen.findByText(/no USB devices/)).toBeTruthy()
    expect(screen.queryByRole('list', { name: 'Devices found' })).toBeNull()
  })

  it('shows the HSM’s state and links to Settings → HSM, where it is set up', async () => {
    setTransport(transport(hsmUnlocked))
    render(<DevicesPage params={{}} />)
    const hsm = await screen.findByRole('region', { name: 'HSM' })
    expect(await within(hsm).findByText('Unlocked')).toBeTruthy()
    expect(within(hsm).getByText('d34db33f')).toBeTruthy()
    expect(within(hsm).getByRole('link', { name: 'Settings → HSM' }).getAttribute('href')).toBe(
      '#/settings/hsm',
    )
    expect(screen.queryByLabelText('PIN')).toBeNull()
  })

  it('vault wizard: HSM key + two pasted keys → the vault, its descriptor and what cannot be exported', async () => {
    const view: VaultView = {
      name: 'savings',
      threshold: 2,
      cosigners: [],
      network: 'regtest',
      descriptor: 'wsh(sortedmulti(2,...))#abcdefgh',
      receiveDescriptor: 'r',
      changeDescriptor: 'c',
      firstAddresses: ['bcrt1qfirst', 'bcrt1qsecond', 'bcrt1qthird'],
      exportLimits: [
        'A BIP388 wallet policy … need an extended public key (xpub) for every cosigner.',
      ],
    }
    const t = transport(hsmUnlocked).on('hardware.vaultPreview', () => view)
    setTransport(t)
    render(<DevicesPage params={{}} />)
    const show = await screen.findByRole('button', { name: 'Show the vault' })
    expect((show as HTMLButtonElement).disabled).toBe(true)
    fireEvent.change(screen.getByLabelText(/Hardware wallet key/), {
      target: { value: `[aabbccdd/48h/1h/0h/2h]${TPUB}` },
    })
    fireEvent.change(screen.getByLabelText(/Backup key/), { target: { value: 'not a key' } })
    expect(screen.getByRole('alert').textContent).toMatch(/not a key with its origin/)
    fireEvent.change(screen.getByLabelText(/Backup key/), {
      target: { value: `[11223344/48'/1'/0'/2']${TPUB}` },
    })
    fireEvent.click(show)
    expect(await screen.findByLabelText('Descriptor')).toBeTruthy()
    expect(screen.getByText('bcrt1qfirst')).toBeTruthy()
    expect(screen.getByText(/need an extended public key/)).toBeTruthy()
    const input = t.callsTo('hardware.vaultPreview')[0] as { cosigners: unknown[] }
    expect(input.cosigners).toEqual([
      { kind: 'fixed', name: 'HSM', fingerprint: 'd34db33f', publicKey: HSM_KEY },
      {
        kind: 'xpub',
        name: 'Hardware wallet',
        fingerprint: 'aabbccdd',
        path: 'm/48h/1h/0h/2h',
        xpub: TPUB,
      },
      {
        kind: 'xpub',
        name: 'Backup key',
        fingerprint: '11223344',
        path: "m/48'/1'/0'/2'",
        xpub: TPUB,
      },
    ])
  })

  it('a kept vault: balance and coins from the sync; spend → signatures → review → broadcast only on confirm', async () => {
    const kept: SavedVaultView = {
      id: 'vault-00112233aabbccdd',
      name: 'savings',
      threshold: 2,
      cosigners: [{ kind: 'fixed', name: 'HSM', fingerprint: 'd34db33f', publicKey: HSM_KEY }],
      network: 'regtest',
      descriptor: 'wsh(sortedmulti(2,...))#abcdefgh',
      receiveDescriptor: 'r',
      changeDescriptor: 'c',
      firstAddresses: ['bcrt1qfirst'],
      exportLimits: [],
      sync: { state: 'ready', tipHeight: 200 },
      balance: { confirmedSat: 600_000, unconfirmedSat: 50_000 },
      coins: [
        {
          outpoint: 'aa:0',
          valueSat: 600_000,
          address: 'bcrt1qfirst',
          chain: 0,
          index: 0,
          confirmations: 3,
          held: false,
        },
      ],
      history: [],
      receive: { index: 1, address: 'bcrt1qsecond' },
    }
    const unsigned: VaultSpendReview = {
      id: '0'.repeat(32),
      vaultId: kept.id,
      state: 'unsigned',
      psbt: 'cHNidP8BAAAA',
      coins: [{ outpoint: 'aa:0', valueSat: 600_000 }],
      inputSat: 600_000,
      outputs: [
        { address: 'bcrt1qbob', valueSat: 500_000, change: false },
        { address: 'bcrt1qchange', valueSat: 99_600, change: true },
      ],
      feeSat: 400,
      feeRate: 2.02,
      vsize: 198,
      offline: false,
      createdAt: '2026-12-05T12:00:00.000Z',
      updatedAt: '2026-12-05T12:00:00.000Z',
    }
    const signed: VaultSpendReview = {
      ...unsigned,
      state: 'signed',
      feeSat: 380,
      feeRate: 2.0,
      vsize: 190,
      outputs: [unsigned.outputs[0]!, { ...unsigned.outputs[1]!, valueSat: 99_620 }],
      txid: 'ee'.repeat(32),
      hex: '02000000',
    }
    const t = transport(hsmUnlocked)
      .on('hardware.vaults', () => [kept])
      .on('hardware.vaultSpends', () => [])
      .on('hardware.vaultSpendPrepare', () => unsigned)
      .on('hardware.hsmSignPsbt', () => ({
        psbt: 'cHNidP8BAAAB',
        signedInputs: [0],
        normalisedHighS: 0,
      }))
      .on('hardware.vaultSpendFinalize', () => signed)
      .on('hardware.vaultSpendBroadcast', () => ({ ...signed, state: 'broadcast' }))
    setTransport(t)
    render(<DevicesPage params={{}} />)
    const balance = await screen.findByLabelText('Vault balance')
    expect(balance.textContent).toMatch(/600,000 sat.*50,000 sat.*bcrt1qsecond/)
    expect(screen.getByLabelText('Vault coins').textContent).toMatch(/600,000 sat.*3 confirmations/)
    fireEvent.change(screen.getByLabelText('Pay to'), { target: { value: 'bcrt1qbob' } })
    fireEvent.change(screen.getByLabelText('Amount (sat)'), { target: { value: '500000' } })
    fireEvent.click(screen.getByRole('button', { name: 'Build the spend' }))
    fireEvent.click(await screen.findByRole('button', { name: 'Sign with the HSM' }))
    await screen.findByLabelText('Signatures collected')
    fireEvent.click(screen.getByRole('button', { name: 'Combine and check the signatures' }))
    const review = await screen.findByLabelText('Spend review')
    expect(review.textContent).toMatch(
      /Pays500,000 sat to bcrt1qbob.*Change back to the vault99,620 sat to bcrt1qchange.*Fee380 sat.*Fee rate2 sat\/vB \(190 vB\)/,
    )
    expect(t.callsTo('hardware.vaultSpendFinalize')).toEqual([
      { spendId: unsigned.id, psbts: ['cHNidP8BAAAB'] },
    ])
    // Nothing is broadcast before the owner confirms.
    expect(t.callsTo('hardware.vaultSpendBroadcast')).toEqual([])
    fireEvent.click(screen.getByRole('button', { name: 'Broadcast through the box’s node' }))
    expect(await screen.findByText(/Sent through the box’s node: e{64}/)).toBeTruthy()
    expect(t.callsTo('hardware.vaultSpendBroadcast')).toEqual([{ spendId: unsigned.id }])
  })

  it('parses key expressions with their origin and nothing else', () => {
    expect(parseKeyExpression('x', `[AABBCCDD/48h/0h/0h/2h]${TPUB}`)?.fingerprint).toBe('aabbccdd')
    expect(parseKeyExpression('x', TPUB)).toBeUndefined()
    expect(parseKeyExpression('x', `[aabbccdd]${TPUB}/0/*`)).toBeUndefined()
  })
})
