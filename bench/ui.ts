// UI benchmark (`npm run bench:ui`): the renderer's initial download (gzip) and the time from
// navigation to an interactive dashboard in headless Chromium, against the real headless server
// and the real engine (stack module, settings saved on regtest in a temporary folder).
// It prints where the time goes (median per phase: HTML, initial script, first API call, answers,
// first paint, interactive; and the first run's API calls and event socket on a timeline).
// BENCH_UI_RUNS sets the number of page loads (default 7).
// Run it on a quiet machine; numbers from a loaded one say little.
// A measurement script, not a test: it prints numbers and asserts nothing.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { startHttpApi } from '../src/core/api/http/server'
import { createEngine } from '../src/core/engine/engine'
import { stackModule } from '../src/core/engine/stack-module'
import { silentLogger } from '../src/core/log'
import { defaultSettings } from '../src/shared/settings'
import { buildRenderer } from '../scripts/build-renderer'
import { e2eCatalog } from '../tests/e2e/e2e-catalog'
import { launchBrowser } from '../tests/e2e/harness'

const RUNS = Number(process.env.BENCH_UI_RUNS ?? 7)
const PASSWORD = 'benchmark owner password'
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`

const out = await buildRenderer(true)
const html = readFileSync(join(out, 'index.html'), 'utf8')
const initial = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+\.(?:js|css))"/g)].map(
  (m) => m[1]!,
)
const gz = (f: string) => gzipSync(readFileSync(join(out, f)), { level: 9 }).length
const initialJs = initial.filter((f) => f.endsWith('.js')).reduce((n, f) => n + gz(f), 0)
const initialCss = initial.filter((f) => f.endsWith('.css')).reduce((n, f) => n + gz(f), 0)
const lazy = readdirSync(join(out, 'assets'))
  .map((f) => `assets/${f}`)
  .filter((f) => f.endsWith('.js') && !initial.includes(f))
  .map((f) => ({ f, size: gz(f) }))
  .sort((a, b) => b.size - a.size)
console.log(`initial files: ${initial.join(', ')}`)
console.log(`initial CSS: ${kb(initialCss)} gzip`)
for (const l of lazy.slice(0, 5)) console.log(`lazy chunk ${l.f}: ${kb(l.size)} gzip`)

const dataDir = mkdtempSync(join(tmpdir(), 'flashbox-bench-ui-'))
// The services are a TEST catalog over the lifecycle image (never started here): the dashboard
// renders the same whatever the catalog, and this keeps the bench independent of image pulls.
const testImage = {
  tag: 'flashbox-test/lifecycle:bench',
  repository: 'flashbox-test/lifecycle',
  version: 'bench',
  id: `sha256:${'0'.repeat(64)}`,
} as const
const engine = await createEngine({
  dataDir,
  log: silentLogger,
  modules: [stackModule({ catalog: e2eCatalog(`fbbench-${process.pid}`, testImage) })],
})
const api = await startHttpApi(engine, { dataDir, log: silentLogger, staticDir: out })
const browser = await launchBrowser()
try {
  const check = (await engine.call(
    'stack',
    'saveSettings',
    defaultSettings(join(dataDir, 'stack')),
    { transport: 'internal' },
  )) as { ok: boolean; problems: { message: string }[] }
  if (!check.ok)
    console.log(
      `note: settings not saved (${check.problems[0]?.message}); the wizard is measured instead`,
    )

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const setup = await context.request.post(`${api.url}/api/auth/setup`, {
    headers: { origin: api.url, 'content-type': 'application/json' },
    data: { password: PASSWORD },
  })
  if (!setup.ok()) throw new Error(`owner setup failed: ${setup.status()}`)

  // Where the time goes: the page records when its event socket opened; the rest comes from the
  // browser's own navigation and resource timings.
  // (Page code is passed as text: this file is type-checked for Node, without the DOM's types.)
  await context.addInitScript({
    content: `
      // Interactive is stamped in the page, the moment the first service card is in the DOM
      // (not when the harness notices it, a protocol round trip later).
      const seen = new MutationObserver(() => {
        if (document.querySelector('[data-service], [data-docker-state]')) {
          performance.mark('interactive')
          seen.disconnect()
        }
      })
      seen.observe(document, { childList: true, subtree: true })
      const Native = window.WebSocket
      window.WebSocket = class extends Native {
        constructor(url, protocols) {
          super(url, protocols)
          const opened = performance.now()
          this.addEventListener('open', () =>
            performance.measure('websocket', { start: opened, end: performance.now() }),
          )
        }
      }
    `,
  })
  const times: number[] = []
  const phases: Record<string, number>[] = []
  for (let i = 0; i < RUNS; i++) {
    const page = await context.newPage()
    await page.goto(`${api.url}/#/`)
    // Interactive: the dashboard's services are on screen and its buttons can be pressed.
    await page.locator('[data-service], [data-docker-state]').first().waitFor({ timeout: 60_000 })
    const r = (await page.evaluate(`((initial) => {
      const nav = performance.getEntriesByType('navigation')[0]
      const res = performance.getEntriesByType('resource')
      const ws = performance.getEntriesByName('websocket')[0]
      const fcp = performance.getEntriesByName('first-contentful-paint')[0]
      const api = res.filter((e) => e.name.includes('/api/'))
      return {
        now: Math.round(performance.getEntriesByName('interactive')[0].startTime),
        html: nav.responseEnd,
        scripts: Math.max(0, ...res.filter((e) => initial.some((f) => e.name.endsWith('/' + f))).map((e) => e.responseEnd)),
        lazy: Math.max(0, ...res.filter((e) => /[.]js$/.test(e.name) && !initial.some((f) => e.name.endsWith('/' + f))).map((e) => e.responseEnd)),
        firstApi: Math.min(...api.map((e) => e.startTime)),
        api: api.map((e) => ({
          name: new URL(e.name).pathname.replace('/api/call/', ''),
          start: e.startTime,
          end: e.responseEnd,
        })),
        wsStart: ws ? ws.startTime : null,
        wsEnd: ws ? ws.startTime + ws.duration : null,
        fcp: fcp ? fcp.startTime : null,
      }
    })(${JSON.stringify(initial)})`)) as {
      now: number
      html: number
      scripts: number
      lazy: number
      firstApi: number
      api: { name: string; start: number; end: number }[]
      wsStart: number | null
      wsEnd: number | null
      fcp: number | null
    }
    times.push(r.now)
    const apiEnd = Math.max(0, ...r.api.filter((a) => a.end <= r.now).map((a) => a.end))
    phases.push({
      'HTML received': r.html,
      'initial JS and CSS received': r.scripts,
      'lazy chunks received (0: none)': r.lazy,
      'first API call sent (JS parsed and run)': r.firstApi,
      'last API answer before interactive': apiEnd,
      'first contentful paint': r.fcp ?? NaN,
      interactive: r.now,
    })
    if (i === 0) {
      console.log('first run, API calls (ms from navigation start):')
      for (const a of r.api)
        console.log(
          `  ${a.name.padEnd(28)} ${a.start.toFixed(0).padStart(5)} → ${a.end.toFixed(0)}`,
        )
      if (r.wsStart !== null)
        console.log(
          `  ${'event WebSocket'.padEnd(28)} ${r.wsStart.toFixed(0).padStart(5)} → ${r.wsEnd!.toFixed(0)}`,
        )
    }
    await page.close()
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  console.log('breakdown (median over runs, ms from navigation start):')
  for (const k of Object.keys(phases[0]!))
    console.log(
      `  ${k.padEnd(42)} ${median(phases.map((p) => p[k]!))
        .toFixed(0)
        .padStart(6)}`,
    )
  times.sort((a, b) => a - b)
  console.log(`runs (ms): ${times.join(', ')}`)
  console.log(`initial JS: ${kb(initialJs)} gzip`)
  // Baseline from the same runs: when the initial script has been downloaded, parsed and run
  // (its first API call leaves) — the floor for any page built from this bundle. The ratio says
  // how much waiting for data and rendering adds on top.
  const tti = times[Math.floor(times.length / 2)]!
  const floor = median(phases.map((p) => p['first API call sent (JS parsed and run)']!))
  console.log(`script-ready floor (same runs): ${floor.toFixed(0)} ms`)
  console.log(
    `time to interactive: ${tti} ms (${(tti / floor).toFixed(2)}× the script-ready floor)`,
  )
} finally {
  await browser.close()
  await api.close()
  await engine.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
