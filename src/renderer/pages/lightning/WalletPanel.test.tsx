// The Lightning wallet on a restored box: the owner's password opens the backed-up words and
// channel backup, with what happens to the channels said before and after.
import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { LightningStatus } from '../../../shared/api/lightning'
import { setTransport } from '../../api/client'
import { FakeTransportForTests } from '../../test/fake-transport'
import { WalletSetup } from './WalletPanel'

afterEach(cleanup)

const base: LightningStatus = {
  wallet: 'waiting_for_owner',
  vault: true,
  seed: { stored: true, confirmed: true },
  macaroons: [],
}

describe('Lightning wallet restore', () => {
  it('asks for the password to restore, and says the channels close to recover the funds', async () => {
    const restored: LightningStatus = {
      ...base,
      wallet: 'starting',
      restore: { needsPassword: false, restoredAt: '2026-12-05T10:00:00.000Z', channels: 2 },
    }
    const fake = new FakeTransportForTests({ 'lightning.protectSeed': () => restored })
    setTransport(fake)
    const onChange = vi.fn()
    render(
      <WalletSetup status={{ ...base, restore: { needsPassword: true } }} onChange={onChange} />,
    )
    expect(screen.getByRole('heading', { name: 'Restore your Lightning wallet' })).toBeTruthy()
    expect(screen.getByText(/its channels cannot be reopened/)).toBeTruthy()
    fireEvent.change(screen.getByLabelText('Your password'), { target: { value: 'owner pw' } })
    fireEvent.click(screen.getByRole('button', { name: 'Restore the wallet' }))
    await vi.waitFor(() => expect(onChange).toHaveBeenCalledWith(restored))
    expect(fake.callsTo('lightning.protectSeed')).toEqual([{ password: 'owner pw' }])

    cleanup()
    render(<WalletSetup status={restored} onChange={onChange} />)
    expect(
      screen.getByRole('heading', { name: 'Lightning wallet restored from your backup' }),
    ).toBeTruthy()
    expect(screen.getByText(/named 2 channels/)).toBeTruthy()
    expect(screen.getByText(/asked each peer to close its channel/)).toBeTruthy()
  })

  it('a new box still creates its wallet', () => {
    setTransport(new FakeTransportForTests({}))
    render(<WalletSetup status={base} onChange={() => undefined} />)
    expect(screen.getByRole('heading', { name: 'Create your Lightning wallet' })).toBeTruthy()
    expect(screen.queryByText(/Restore/)).toBeNull()
  })
})
