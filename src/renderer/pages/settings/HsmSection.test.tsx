import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { setTransport } from '../../api/client'
import { FakeTransportForTests, userError } from '../../test/fake-transport'
import type { HsmStatus } from '../../../shared/api/hardware'
import { HsmSection } from './HsmSection'
import { HSM_KEY, hsmUnconfigured, hsmUnlocked } from '../../test/hsm-fixtures'

afterEach(cleanup)

function transport(hsm: HsmStatus) {
  return new FakeTransportForTests({ 'hardware.hsmStatus': () => hsm })
}

describe('Settings → HSM', () => {
  it('sets the HSM up: finds tokens, sends module/token/key/PIN once, clears the PIN; shows a wrong PIN', async () => {
    const t = transport(hsmUnconfigured).on('hardware.hsmTokens', () => [
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
          'Type the PIN again in Settings → HSM.',
        )
      return hsmUnlocked
    })
    setTransport(t)
    render(<HsmSection />)
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
    expect(screen.getByText(HSM_KEY)).toBeTruthy()
    expect(document.body.textContent).not.toContain('123456')
  })
})
