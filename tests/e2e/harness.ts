// End-to-end harness: the real engine with the stack module (on a TEST catalog when given) behind
// the real headless server (startHttpApi, as `serve` runs it), the built renderer, and Debian's
// Chromium driven by playwright-core. Screenshots go to test-artifacts/e2e (gitignored).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { inject } from 'vitest'
import { startHttpApi, type HttpApi } from '../../src/core/api/http/server'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import type { EngineModuleFactory } from '../../src/core/engine/module'
import { stackModule, type StackModuleOptions } from '../../src/core/engine/stack-module'
import { createLogger, silentLogger } from '../../src/core/log'
import { basicChecks } from '../../src/core/stack/catalog'
import type { Settings } from '../../src/shared/settings'
import { testLabels, testPlan } from '../images/test-catalog'
import { buildRenderer, repoRoot } from '../../scripts/build-renderer'
import { chromiumLaunchOptions } from './chromium-server'

export const artifacts = join(repoRoot, 'test-artifacts', 'e2e')

/**
 * The stack module on an empty TEST catalog: no containers (the page under test is the subject),
 * its Compose project named `project` and labelled as a test's, for cleanupProject.
 */
export function noContainersStack(project: string): EngineModuleFactory {
  return stackModule({
    catalog: {
      info: () => [],
      check: async (s) => basicChecks(s, 2 ** 30),
      render: async (s) => testPlan(project, s.dataDir, []),
    },
    supervisor: { extraLabels: testLabels },
  })
}

/** A startBox `prepare` that saves these settings as the engine's settings.json. */
export function saveSettings(settings: Settings): (dataDir: string) => void {
  return (dataDir) => writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(settings))
}

export interface Box {
  readonly url: string
  readonly engine: Engine
  readonly dataDir: string
  close(): Promise<void>
}

export async function startBox(
  opts: {
    stack?: StackModuleOptions
    modules?: EngineModuleFactory[]
    /** Runs on the engine's data folder before the engine starts (e.g. saved settings). */
    prepare?: (dataDir: string) => void | Promise<void>
  } = {},
): Promise<Box> {
  const staticDir = await buildRenderer()
  const dataDir = mkdtempSync(join(tmpdir(), 'flashbox-e2e-'))
  await opts.prepare?.(dataDir)
  const log = process.env.FLASHBOX_TEST_LOG ? createLogger('e2e') : silentLogger
  const engine = await createEngine({
    dataDir,
    log,
    modules: opts.modules ?? [stackModule(opts.stack)],
  })
  let api: HttpApi
  try {
    api = await startHttpApi(engine, { host: '127.0.0.1', port: 0, dataDir, staticDir, log })
  } catch (err) {
    await engine.stop()
    throw err
  }
  return {
    url: api.url,
    engine,
    dataDir,
    async close() {
      await api.close()
      await engine.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** A Chromium of the caller's own (outside Vitest, e.g. bench/ui.ts); `close()` stops it. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch(chromiumLaunchOptions)
}

/**
 * For a test file: the e2e project's shared Chromium (chromium-server.ts), or one of the file's
 * own where there is none (run outside the e2e project). `close()` ends the file's use of it: its
 * contexts and pages go, and an own Chromium stops.
 */
export function connectBrowser(): Promise<Browser> {
  const endpoint = inject('chromiumWsEndpoint')
  return endpoint ? chromium.connect(endpoint) : launchBrowser()
}

export async function newPage(browser: Browser, width = 1024, height = 700): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } })
  const page = await context.newPage()
  page.setDefaultTimeout(30_000)
  // Any error the page throws fails the test that looks at `errors`.
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  ;(page as Page & { errors: string[] }).errors = errors
  return page
}

export const pageErrors = (page: Page): string[] => (page as Page & { errors: string[] }).errors

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(artifacts, { recursive: true })
  const path = join(artifacts, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/** Owner password setup through the UI (headless first run). */
export async function setOwnerPassword(page: Page, password: string): Promise<void> {
  await page.getByRole('heading', { name: 'Welcome to Flash Box' }).waitFor()
  await page.getByLabel('Owner password').fill(password)
  await page.getByLabel('Type it again').fill(password)
  await page.getByRole('button', { name: 'Set the password' }).click()
}
