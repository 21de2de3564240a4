// Headless mode's owner login. Inside Electron there is no login: the window is the owner.
import { isUserError } from '../../shared/errors'
import { httpJson } from './http-transport'
import { ApiError } from './transport'

export interface AuthState {
  /** False inside Electron (no login needed). */
  readonly required: boolean
  readonly passwordSet: boolean
  readonly authenticated: boolean
  /** The server was bound beyond this computer: first setup needs the code it printed. */
  readonly setupCodeRequired: boolean
  /** Reached over the shop's network from a device not paired yet: login needs a pairing code. */
  readonly pairingRequired: boolean
}

async function post(path: string, body: unknown): Promise<void> {
  const { status, json } = await httpJson(path, body)
  if (status >= 200 && status < 300) return
  if (isUserError(json)) throw new ApiError(json, status)
  throw new ApiError(
    {
      code: 'auth.failed',
      message: `The server answered with status ${status}.`,
      hint: 'Reload the page and try again.',
    },
    status,
  )
}

export const auth = {
  async state(): Promise<AuthState> {
    if (typeof window !== 'undefined' && window.flashbox)
      return {
        required: false,
        passwordSet: true,
        authenticated: true,
        setupCodeRequired: false,
        pairingRequired: false,
      }
    const { status, json } = await httpJson('/api/auth/state', undefined, 'GET')
    if (status !== 200 || !json || typeof json !== 'object') {
      throw new ApiError({
        code: 'auth.unreachable',
        message: 'Flash Box is not answering.',
        hint: 'Check that the Flash Box server is running, then reload this page.',
      })
    }
    const j = json as Partial<AuthState>
    return {
      required: true,
      passwordSet: j.passwordSet === true,
      authenticated: j.authenticated === true,
      setupCodeRequired: j.setupCodeRequired === true,
      pairingRequired: j.pairingRequired === true,
    }
  },
  setup: (password: string, setupCode?: string) =>
    post('/api/auth/setup', setupCode ? { password, setupCode } : { password }),
  login: (password: string, pairingCode?: string) =>
    post('/api/auth/login', pairingCode ? { password, pairingCode } : { password }),
  logout: () => post('/api/auth/logout', {}),
}
