// Desktop-only preferences, answered by Electron's main process (domain `app`), not the engine.
import { transport } from './client'

export type StopOnQuit = 'ask' | 'always' | 'never'

export interface DesktopPreferences {
  readonly startAtLogin: boolean
  readonly stopStackOnQuit: StopOnQuit
}

/** True inside the desktop app (the Electron window), false in a browser. */
export const isDesktop = () => typeof window !== 'undefined' && Boolean(window.flashbox)

export const desktop = {
  /** The system's folder dialog (desktop only); null when the user cancels. */
  pickFolder: (title: string, defaultPath?: string) =>
    transport().call('app', 'pickFolder', {
      title,
      ...(defaultPath ? { defaultPath } : {}),
    }) as Promise<string | null>,
  getPreferences: () =>
    transport().call('app', 'getPreferences', {}) as Promise<DesktopPreferences>,
  setPreferences: (p: Partial<DesktopPreferences>) =>
    transport().call('app', 'setPreferences', p) as Promise<DesktopPreferences>,
}
