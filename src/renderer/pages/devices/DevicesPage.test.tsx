import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { setTransport } from '../../api/client'
import { FakeTransportForTests, userError } from '../../test/fake-transport'
import type { DevicesOverview, HsmStatus, VaultView } from '../../../shared/api/hardware'
import DevicesPage, { parseKeyExpression } from './DevicesPage'

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
const unconfigured: HsmStatus = {
  configured: false,
  pinRemembered: false,
  unlocked: false,
  wrongPins: 0,
}
const KEY = '02' + 'ab'.repeat(32)
const unlocked: HsmStatus = {
  configured: true,
  modulePath: '/usr/lib/softhsm/libsofthsm2.so',
  tokenSerial: 'abc123',
  keyLabel: 'flash-box-vault',
  pinRemembered: false,
  unlocked: true,
  key: { publicKey: KEY, fingerprint: 'd34db33f' },
  wrongPins: 0,
  pinState: 'ok',
}
const TPUB =
  'tpubDEaMHmpLpDb3MJ5fSQmE1dRkTYKC7DNyBMcQ3XWp8V9tPxZgxqn2DDiCDbsPXfEFLiuaP5xGRdhkXDN8ajjYaW3ThHF9Re3qvtUNHZzqG9Q'

function transport(hsm: HsmStatus) {
  return new FakeTransportForTests({
    'hardware.devices': () => overview,
    'hardware.hsmStatus': () => hsm,
  })
}

describe('Devices page', () => {
  it('lists devices with their state and the udev command; a plug event refreshes the list', async () => {
    const t = transport(unconfigured)
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

  it('sets the HSM up: finds tokens, sends module/token/key/PIN once, clears the PIN; shows a wrong PIN', async () => {
    const t = transport(unconfigured).on('hardware.hsmTokens', () => [
      {
        slotId: '7',
        label: 'box',
        serial: 'abc123',
        model: 'SoftHSM v2',
        manufacturer: 'SoftHSM project',
        pin: 'ok',
      },
    ])
    let tries = 0
    t.on('hardware.hsmSetup', () => {
      if (tries++ === 0)
        throw userError(
          'hsm.pin_incorrect',
          'The HSM refused the PIN.',
          'Type the PIN again in Devices → HSM.',
        )
      return unlocked
    })
    setTransport(t)
    render(<DevicesPage params={{}} />)
    fireEvent.click(await screen.findByRole('button', { name: 'Find tokens' }))
    const pin = await screen.findByLabelText('PIN')
    fireEvent.change(pin, { target: { value: '1111' } })
    const submit = screen.getByRole('button', { name: /Set up/ })
    fireEvent.click(submit)
    expect(await screen.findByText('The HSM refused the PIN.')).toBeTruthy()
    fireEvent.change(screen.getByLabelText('PIN'), { target: { value: '123456' } })
    fireEvent.click(screen.getByRole('button', { name: /Set up/ }))
    expect(await screen.findByText('Unlocked')).toBeTruthy()
    expect(t.callsTo('hardware.hsmSetup').at(-1)).toEqual({
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
      tokenSerial: 'abc123',
      keyLabel: 'flash-box-vault',
      pin: '123456',
      rememberPin: false,
    })
    expect(screen.getByText(KEY)).toBeTruthy()
    expect(document.body.textContent).not.toContain('123456')
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
    const t = transport(unlocked).on('hardware.vaultPreview', () => view)
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
      { kind: 'fixed', name: 'HSM', fingerprint: 'd34db33f', publicKey: KEY },
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

  it('parses key expressions with their origin and nothing else', () => {
    expect(parseKeyExpression('x', `[AABBCCDD/48h/0h/0h/2h]${TPUB}`)?.fingerprint).toBe('aabbccdd')
    expect(parseKeyExpression('x', TPUB)).toBeUndefined()
    expect(parseKeyExpression('x', `[aabbccdd]${TPUB}/0/*`)).toBeUndefined()
  })
})
