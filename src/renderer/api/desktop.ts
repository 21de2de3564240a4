// Desktop-only preferences, answered by Electron's main process (domain `app`), not the engine.
import { transport } from './client'

export type StopOnQuit = 'ask' | 'always' | 'never'

export interface DesktopPreferences {
  readonly startAtLogin: boolean
  readonly stopStackOnQuit: StopOnQuit
}

export const desktop = {
  getPreferences: () =>
    transport().call('app', 'getPreferences', {}) as Promise<DesktopPreferences>,
  setPreferences: (p: Partial<DesktopPreferences>) =>
    transport().call('app', 'setPreferences', p) as Promise<DesktopPreferences>,
}
