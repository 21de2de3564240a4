// The whole first-run story against the real Docker Engine: complete the wizard, watch the stack
// come up healthy, read a service's logs, then stop its container from outside (as a crash) and
// see the restart, and a crash loop raised as an alert the owner can act on.
// Services are H2's lifecycle TEST image standing in for the daemons (tests/images).
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupProject } from '../images/harness'
import { buildLifecycleImage, testLabels } from '../images/test-catalog'
import { repoRoot } from '../../scripts/build-renderer'
import { e2eCatalog } from './e2e-catalog'
import { connectBrowser, newPage, setOwnerPassword, shot, startBox, type Box } from './harness'
import { startSimulatedSync, type SimulatedSync } from './sync-simulators'

const project = `fbe2e-${process.pid}`
const ids = ['bitcoind', 'electrs', 'lnd', 'mint']

function containerOf(service: string): string {
  const r = spawnSync('docker', [
    'ps',
    '-q',
    '--filter',
    `label=io.flashbox.project=${project}`,
    '--filter',
    `label=io.flashbox.service=${service}`,
  ])
  return r.stdout.toString().trim()
}

const card = (page: Page, id: string) => page.locator(`[data-service="${id}"]`)

async function waitState(page: Page, id: string, state: string, timeout = 90_000) {
  await page.locator(`[data-service="${id}"][data-state="${state}"]`).waitFor({ timeout })
}

describe('stack on the real Docker Engine', () => {
  let box: Box
  let browser: Browser
  let page: Page
  let sync: SimulatedSync

  beforeAll(async () => {
    const image = buildLifecycleImage()
    // A node still in initial block download: long enough to outlast the test.
    sync = await startSimulatedSync({ headers: 20_000, blocksPerSecond: 40 })
    box = await startBox({
      stack: {
        sync: () => sync.current(),
        catalog: e2eCatalog(project, image),
        supervisor: {
          extraLabels: testLabels,
          // Two crashes in ten minutes make a crash loop, so the test sees one quickly.
          crashPolicy: {
            baseDelayMs: 500,
            maxDelayMs: 2000,
            maxCrashes: 2,
            windowMs: 10 * 60_000,
            stableAfterMs: 10 * 60_000,
          },
        },
      },
    })
    sync.attach(box.engine.events)
    browser = await connectBrowser()
    page = await newPage(browser, 1280, 800)
  })

  afterAll(async () => {
    await browser?.close()
    await box?.close()
    await sync?.close()
    cleanupProject(project)
  })

  it('completes the wizard and brings every service up healthy', async () => {
    await page.goto(box.url)
    await setOwnerPassword(page, 'the owner of this little shop')

    // 1. Docker
    await page.getByText(/Docker .* is running/).waitFor()
    await shot(page, 'stack-1-docker')
    await page.getByRole('button', { name: 'Next' }).click()

    // 2. Network
    await page.getByRole('radio', { name: /Regtest/ }).check()
    await page.getByRole('button', { name: 'Next' }).click()

    // 3. Storage, with the free-space check
    await page.getByLabel('Where should Flash Box keep its data?').fill(join(box.dataDir, 'stack'))
    await page.getByText('There is enough room.').waitFor()
    await shot(page, 'stack-2-storage')
    await page.getByRole('button', { name: 'Next' }).click()

    // 4. Services
    await page.getByText('Instant, cheap payments over Lightning.', { exact: false }).waitFor()
    await shot(page, 'stack-3-services')
    await page.getByRole('button', { name: 'Next' }).click()

    // 5. Save and download (the images are local: progress completes at once)
    await page.getByRole('button', { name: 'Save and download' }).click()
    await page.getByText('Everything is downloaded.').waitFor({ timeout: 120_000 })
    await shot(page, 'stack-4-download')
    await page.getByRole('button', { name: 'Next' }).click()

    // 6. Start
    await page.getByRole('button', { name: 'Start Flash Box' }).click()
    await page.getByRole('button', { name: 'Open the dashboard' }).click()

    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
    for (const id of ids) await waitState(page, id, 'healthy')
    await page.getByText('All 4 services are running.').waitFor()

    // Sync, from the simulated node in IBD: blocks of headers, verification, time left.
    await page.getByRole('heading', { name: /^Bitcoin \(/ }).waitFor()
    await page.getByText(/^[\d,]+ of 20,000$/).waitFor()
    await page.getByText('Catching up with the network').waitFor()
    await page.getByText(/^about /).waitFor({ timeout: 60_000 })
    const first = Number(
      (await page.getByText(/^[\d,]+ of 20,000$/).textContent())!.split(' ')[0]!.replace(/,/g, ''),
    )
    await expect
      .poll(
        async () =>
          Number(
            (await page.getByText(/^[\d,]+ of 20,000$/).textContent())!
              .split(' ')[0]!
              .replace(/,/g, ''),
          ),
        { timeout: 30_000 },
      )
      .toBeGreaterThan(first)
    await page.getByRole('progressbar', { name: 'Indexed' }).waitFor()
    const path = await shot(page, 'stack-5-dashboard-healthy')
    // The README's screenshot is refreshed on request only, so a test run leaves the tree clean.
    if (process.env.UPDATE_README_SCREENSHOT === '1') {
      mkdirSync(join(repoRoot, 'docs'), { recursive: true })
      copyFileSync(path, join(repoRoot, 'docs', 'dashboard.png'))
    }
  })

  it('is keyboard navigable, has a dark theme, and fits 1024×700', async () => {
    await page.setViewportSize({ width: 1024, height: 700 })
    await page.goto(`${box.url}/#/`)
    await waitState(page, 'bitcoind', 'healthy')
    // The first Tab reaches the skip link; Enter puts focus on the page's content.
    await page.keyboard.press('Tab')
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content')
    await page.keyboard.press('Enter')
    expect(await page.evaluate('document.activeElement?.id')).toBe('main')
    // Tabbing on reaches the service cards, with a visible focus ring.
    let reached = false
    for (let i = 0; i < 15 && !reached; i++) {
      await page.keyboard.press('Tab')
      reached = await page.evaluate(
        "document.activeElement?.getAttribute('data-service') === 'bitcoind'",
      )
    }
    expect(reached).toBe(true)
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')
    expect(outline).not.toBe('none')
    // Nothing spills sideways at the smallest supported window.
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(
      true,
    )

    await page.getByRole('button', { name: /Change theme/ }).click()
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark')
    await shot(page, 'stack-5b-dashboard-dark-1024')
    // Back to following the system.
    await page.getByRole('button', { name: /Change theme/ }).click()
    await page.getByRole('button', { name: /Change theme/ }).click()
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('shows a service’s live logs, searchable', async () => {
    await card(page, 'lnd').click()
    await page.getByRole('heading', { name: 'Lightning (LND)' }).waitFor()
    const logs = page.getByTestId('log-view')
    await expect.poll(() => logs.textContent(), { timeout: 30_000 }).toContain('lnd: ready')
    await page.getByLabel('Search the logs').fill('ready')
    await page.getByText(/^1 of \d+ lines$/).waitFor()
    await shot(page, 'stack-6-logs')
    await page.getByLabel('Search the logs').fill('')

    // Resource charts (uplot, loaded only here) from the stats samples.
    await page.getByRole('tab', { name: 'Resources' }).click()
    await page.getByText(/Now: CPU/).waitFor({ timeout: 60_000 })
    for (const name of [/^CPU \(%\) over time; latest \d+ %$/, /^Memory over time; latest /]) {
      expect(await page.getByRole('img', { name }).locator('canvas').count()).toBe(1)
    }
    await shot(page, 'stack-7-resources')
    await page.getByRole('tab', { name: 'Configuration' }).click()
    await page.getByText('Environment').waitFor()
  })

  it('restarts a service stopped from outside, and raises a crash loop as an alert', async () => {
    await page.getByRole('link', { name: 'Dashboard' }).first().click()
    await waitState(page, 'lnd', 'healthy')

    // Stopped behind Flash Box's back: a crash; it comes back by itself.
    const first = containerOf('lnd')
    expect(first).not.toBe('')
    expect(spawnSync('docker', ['stop', '-t', '2', first]).status).toBe(0)
    await card(page, 'lnd').getByText('Restarted 1 time').waitFor({ timeout: 60_000 })
    await waitState(page, 'lnd', 'healthy')
    await shot(page, 'stack-8-restarted')

    // Again, killed: the second crash in the window is a crash loop → an alert with what to do.
    expect(spawnSync('docker', ['kill', containerOf('lnd')]).status).toBe(0)
    await waitState(page, 'lnd', 'crash-loop', 60_000)
    const alert = page.getByRole('alert').filter({ hasText: 'keeps crashing' })
    await alert.waitFor()
    expect(await alert.textContent()).toContain('Open its logs to see why')
    await shot(page, 'stack-9-crash-loop-alert')

    // The owner follows the alert to the service and restarts it.
    await alert.getByRole('link', { name: 'Open Lightning (LND)' }).click()
    await page.getByRole('heading', { name: 'Lightning (LND)' }).waitFor()
    await page.getByRole('button', { name: 'Restart' }).click()
    await page
      .locator('[data-testid="service-state"][data-state="healthy"]')
      .waitFor({ timeout: 90_000 })
  })
})
