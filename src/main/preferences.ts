// Desktop preferences (not the stack's settings): start at login, what quitting does. Kept with
// electron-store (a JSON file under Electron's userData, written atomically, 0600), validated on
// every read: a value that does not fit falls back to its default, and a file that is not JSON
// is moved aside (preferences.damaged-<time>.json, so nothing the user wrote is lost) and the
// defaults start again.
import { renameSync } from 'node:fs'
import Store from 'electron-store'
import { z } from 'zod'

export const PreferencesSchema = z.object({
  startAtLogin: z.boolean().default(false),
  stopStackOnQuit: z.enum(['ask', 'always', 'never']).default('ask'),
})
export type Preferences = z.infer<typeof PreferencesSchema>
export const PreferencesPatchSchema = PreferencesSchema.partial().strict()

export const defaultPreferences: Preferences = { startAtLogin: false, stopStackOnQuit: 'ask' }

export interface PreferencesStore {
  /** The file the preferences live in. */
  readonly path: string
  get(): Preferences
  set(patch: Partial<Preferences>): Preferences
}

export interface PreferencesStoreOptions {
  /** Absolute folder of the file; default Electron's userData (only inside Electron). */
  readonly cwd?: string
}

export function openPreferences(opts: PreferencesStoreOptions = {}): PreferencesStore {
  const open = () =>
    new Store<Preferences>({
      name: 'preferences',
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      defaults: defaultPreferences,
      configFileMode: 0o600,
      clearInvalidConfig: false,
    })
  let store: Store<Preferences>
  try {
    store = open()
  } catch (err) {
    const path = (err as Error).message.match(/`([^`]+)` is not valid JSON/)?.[1]
    if (!path) throw err
    renameSync(path, path.replace(/\.json$/, `.damaged-${Date.now()}.json`))
    store = open()
  }
  const get = (): Preferences => {
    const raw = store.store as Record<string, unknown>
    const out = { ...defaultPreferences }
    for (const key of Object.keys(PreferencesSchema.shape) as (keyof Preferences)[]) {
      const field = PreferencesSchema.shape[key].safeParse(raw[key])
      if (field.success) (out as Record<string, unknown>)[key] = field.data
    }
    return out
  }
  return {
    path: store.path,
    get,
    set(patch) {
      const next = PreferencesSchema.parse({ ...get(), ...patch })
      store.set(next)
      return next
    },
  }
}
