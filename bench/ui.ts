// UI benchmark (`npm run bench:ui`): the renderer's initial download (gzip) and the time from
// navigation to an interactive dashboard in headless Chromium, against the real headless server
// and the real engine (stack module, settings saved on regtest in a temporary folder).
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

const RUNS = 7
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

  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const page = await context.newPage()
    await page.goto(`${api.url}/#/`)
    // Interactive: the dashboard's services are on screen and its buttons can be pressed.
    await page.locator('[data-service], [data-docker-state]').first().waitFor({ timeout: 60_000 })
    times.push(await page.evaluate(() => Math.round(performance.now())))
    await page.close()
  }
  times.sort((a, b) => a - b)
  console.log(`runs (ms): ${times.join(', ')}`)
  console.log(`initial JS: ${kb(initialJs)} gzip`)
  console.log(`time to interactive: ${times[Math.floor(times.length / 2)]} ms`)
} finally {
  await browser.close()
  await api.close()
  await engine.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
