import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LoginPage, OwnerPasswordPage } from './AuthPages'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

/** TEST FAKE of the server's auth endpoints, via a stubbed fetch. */
function stubFetch(answer: (path: string, body: unknown) => { status: number; json: unknown }) {
  const calls: { path: string; body: unknown }[] = []
  vi.stubGlobal('fetch', async (path: string, init: RequestInit) => {
    const body = init.body ? JSON.parse(String(init.body)) : undefined
    calls.push({ path, body })
    const a = answer(path, body)
    return new Response(JSON.stringify(a.json), { status: a.status })
  })
  return calls
}

describe('owner password', () => {
  it('checks length and confirmation before sending, then sets it', async () => {
    const calls = stubFetch(() => ({ status: 200, json: { ok: true } }))
    const done = vi.fn()
    render(<OwnerPasswordPage setupCodeRequired={false} onDone={done} />)
    const pw = screen.getByLabelText('Owner password')
    const again = screen.getByLabelText('Type it again')
    fireEvent.change(pw, { target: { value: 'short' } })
    fireEvent.click(screen.getByRole('button', { name: 'Set the password' }))
    expect(screen.getByRole('alert').textContent).toBe('Use at least 10 characters.')
    fireEvent.change(pw, { target: { value: 'a long enough password' } })
    fireEvent.change(again, { target: { value: 'a different password' } })
    fireEvent.click(screen.getByRole('button', { name: 'Set the password' }))
    expect(screen.getByRole('alert').textContent).toBe('The two passwords are not the same.')
    expect(calls).toEqual([])
    fireEvent.change(again, { target: { value: 'a long enough password' } })
    fireEvent.click(screen.getByRole('button', { name: 'Set the password' }))
    await waitFor(() => expect(done).toHaveBeenCalled())
    expect(calls).toEqual([
      { path: '/api/auth/setup', body: { password: 'a long enough password' } },
    ])
  })

  it('asks for the setup code when the server is exposed', () => {
    render(<OwnerPasswordPage setupCodeRequired onDone={() => {}} />)
    expect(screen.getByLabelText('Setup code')).toBeTruthy()
  })
})

describe('login', () => {
  it('shows the server’s message and hint when throttled', async () => {
    stubFetch(() => ({
      status: 429,
      json: {
        code: 'auth.too_many_attempts',
        message: 'Too many wrong passwords.',
        hint: 'Wait 15 minutes and try again.',
      },
    }))
    const done = vi.fn()
    render(<LoginPage onDone={done} />)
    fireEvent.change(screen.getByLabelText('Owner password'), { target: { value: 'guess' } })
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }))
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toContain('Too many wrong passwords.')
    expect(alert.textContent).toContain('Wait 15 minutes and try again.')
    expect(done).not.toHaveBeenCalled()
  })

  it('on a device new to the box (shop network) asks for the pairing code too and sends it', async () => {
    const calls = stubFetch(() => ({ status: 200, json: { ok: true } }))
    const done = vi.fn()
    render(<LoginPage onDone={done} pairingRequired />)
    fireEvent.change(screen.getByLabelText('Owner password'), {
      target: { value: 'correct horse battery' },
    })
    const button = screen.getByRole('button', { name: 'Log in' }) as HTMLButtonElement
    expect(button.disabled).toBe(true) // no code yet
    fireEvent.change(screen.getByLabelText('Pairing code'), { target: { value: '7kq2-m9xd' } })
    fireEvent.click(button)
    await waitFor(() => expect(done).toHaveBeenCalled())
    expect(calls[0]).toEqual({
      path: '/api/auth/login',
      body: { password: 'correct horse battery', pairingCode: '7kq2-m9xd' },
    })
  })
})
