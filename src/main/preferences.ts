// Desktop preferences (not the stack's settings): start at login, what quitting does.
// A small JSON file under Electron's userData, validated on read, replaced atomically on write.
import { readFileSync } from 'node:fs'
import { writeFileAtomicSync } from '../core/atomic-file'
import { z } from 'zod'

export const PreferencesSchema = z.object({
  startAtLogin: z.boolean().default(false),
  stopStackOnQuit: z.enum(['ask', 'always', 'never']).default('ask'),
})
export type Preferences = z.infer<typeof PreferencesSchema>
export const PreferencesPatchSchema = PreferencesSchema.partial().strict()

export const defaultPreferences: Preferences = { startAtLogin: false, stopStackOnQuit: 'ask' }

export function loadPreferences(file: string): Preferences {
  try {
    const r = PreferencesSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')))
    return r.success ? r.data : { ...defaultPreferences }
  } catch {
    return { ...defaultPreferences }
  }
}

export function savePreferences(file: string, prefs: Preferences): void {
  writeFileAtomicSync(file, JSON.stringify(prefs, null, 2) + '\n', 0o600)
}
