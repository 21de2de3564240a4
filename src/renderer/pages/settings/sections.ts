// The sections of Settings, in page order. Hints name them as "Settings → <title>" and link to
// `#/settings/<slug>`; the hint test (hints.test.tsx) holds every hint in the code to this list.
export const settingsSections = [
  { slug: 'stack', title: 'Your stack' },
  { slug: 'services', title: 'Services' },
  { slug: 'reachability', title: 'Reachability' },
  { slug: 'images', title: 'Images' },
  { slug: 'backup', title: 'Backup' },
  { slug: 'hsm', title: 'HSM' },
  { slug: 'diagnostics', title: 'Diagnostics' },
] as const

export type SettingsSlug = (typeof settingsSections)[number]['slug']

export function sectionSlug(title: string): SettingsSlug | undefined {
  return settingsSections.find((s) => s.title.toLowerCase() === title.trim().toLowerCase())?.slug
}

export const sectionHeadingId = (slug: SettingsSlug) => `settings-${slug}`
