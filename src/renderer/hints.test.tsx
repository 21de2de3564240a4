// Every hint in the code points at something that exists. The test reads every source file, takes
// each string that names a place ("Settings → Images", "Settings → Services → Run inside the app")
// or a button ("Download again"), opens the Settings page as the app renders it, and fails on a
// place or button that is not there. Comments are not hints and are not held to this.
import { cleanup, render, screen, within } from '@testing-library/react'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Settings } from '../shared/settings'
import { setTransport } from './api/client'
import SettingsPage from './pages/settings/SettingsPage'
import { sectionHeadingId, sectionSlug } from './pages/settings/sections'
import { HintText, SETTINGS_PLACE } from './shell/common'
import { FakeTransportForTests } from './test/fake-transport'
import { catalog } from './test/fixtures'

const sources = {
  ...import.meta.glob('/src/**/*.{ts,tsx}', { query: '?raw', import: 'default', eager: true }),
  ...import.meta.glob('/services/**/src/**/*.ts', {
    query: '?raw',
    import: 'default',
    eager: true,
  }),
} as Record<string, string>

/** String literals ('…', "…", `…`) of a source file, comments removed first. */
function stringLiterals(code: string): string[] {
  const noComments = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
  const out: string[] = []
  for (const m of noComments.matchAll(
    /'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\]|\\.)*)`/g,
  ))
    out.push(m[1] ?? m[2] ?? m[3] ?? '')
  return out
}

interface Hint {
  readonly file: string
  readonly text: string
}

const hints: Hint[] = Object.entries(sources)
  .filter(([file]) => !/\.test\.tsx?$/.test(file) && !file.includes('/test/'))
  .flatMap(([file, code]) =>
    stringLiterals(code)
      .filter((t) => /Settings → |Download again|Run inside the app/.test(t))
      .map((text) => ({ file, text })),
  )

const saved: Settings = {
  network: 'regtest',
  dataDir: '/srv/flashbox/stack',
  prune: { enabled: false },
  dbcache: 'auto',
  txindex: false,
  services: { electrs: true, lnd: true, relay: true, mint: true, btcpay: false },
  ownServices: 'container',
}

beforeAll(async () => {
  setTransport(
    new FakeTransportForTests({
      'stack.getSettings': () => saved,
      'stack.catalog': () => catalog,
      'system.images': () => ({
        dockerReachable: true,
        planned: true,
        images: [],
        bundleImages: 0,
      }),
      'system.diagnostics': () => ({
        versions: { flashBox: '0.1.0', node: '24.0.0', platform: 'linux', arch: 'x64' },
        docker: {
          state: 'running',
          version: '28.0.0',
          host: 'unix:///var/run/docker.sock',
          os: 'linux',
        },
        engineDataDir: '/srv/flashbox',
        stackDataDir: '/srv/flashbox/stack',
        recentProblems: [],
        suggestedBundlePath: '/home/owner/flashbox-support.json',
      }),
    }),
  )
  render(<SettingsPage params={{}} />)
  await screen.findByRole('button', { name: 'Save' })
})
afterAll(cleanup)

function section(title: string): HTMLElement {
  const slug = sectionSlug(title)
  if (!slug) throw new Error(`there is no Settings section “${title}”`)
  const heading = document.getElementById(sectionHeadingId(slug))
  if (!heading || heading.textContent !== title)
    throw new Error(`Settings shows no “${title}” heading`)
  return heading.closest('section, form') as HTMLElement
}

/** A control, label, legend, term or heading with exactly this text inside `root`. */
function findInside(root: HTMLElement, text: string): boolean {
  return (
    within(root).queryAllByText(text, { exact: true }).length > 0 ||
    within(root).queryAllByRole('button', { name: text }).length > 0 ||
    within(root).queryAllByLabelText(text, { exact: false }).length > 0
  )
}

describe('every hint points at something that exists', () => {
  it('finds the hints (the scan itself works)', () => {
    expect(hints.length).toBeGreaterThan(8)
    expect(hints.some((h) => h.file.endsWith('supervisor/images.ts'))).toBe(true)
    expect(hints.some((h) => h.text.includes('Settings → Services → Run inside the app'))).toBe(
      true,
    )
    // Comments are not hints.
    expect(stringLiterals("// Settings → plan\nconst x = 'Settings → Images'")).toEqual([
      'Settings → Images',
    ])
  })

  it('every “Settings → …” place is a section of Settings, and its item is in that section', () => {
    const dangling: string[] = []
    for (const h of hints) {
      for (const m of h.text.matchAll(SETTINGS_PLACE)) {
        const [, title, ...items] = m[0].split(' → ').map((p) => p.trim())
        try {
          const root = section(title!)
          for (const item of items)
            if (!findInside(root, item)) throw new Error(`no “${item}” in Settings → ${title}`)
        } catch (err) {
          dangling.push(`${h.file}: “${m[0]}” — ${(err as Error).message}`)
        }
      }
    }
    expect(dangling).toEqual([])
  })

  it('every hint that says to press “Download again” says where, and the button is there', () => {
    const nowhere = hints
      .filter((h) => h.text !== 'Download again' && h.text.includes('Download again'))
      .filter((h) => !h.text.includes('Settings → Images'))
      .map((h) => `${h.file}: ${h.text}`)
    expect(nowhere).toEqual([])
    expect(within(section('Images')).getByRole('button', { name: 'Download again' })).toBeTruthy()
  })

  it('“Run inside the app” is a choice under Settings → Services', () => {
    const radio = within(section('Services')).getByRole('radio', { name: /Run inside the app/ })
    expect(radio).toBeTruthy()
  })

  it('hints link to the place they name', () => {
    render(
      <p data-testid="hint">
        <HintText text="Press Download again in Settings → Images, or see Settings → Diagnostics." />
      </p>,
    )
    const links = within(screen.getByTestId('hint')).getAllByRole('link')
    expect(links.map((a) => [a.textContent, a.getAttribute('href')])).toEqual([
      ['Settings → Images', '#/settings/images'],
      ['Settings → Diagnostics', '#/settings/diagnostics'],
    ])
  })
})
