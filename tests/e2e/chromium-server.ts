// The e2e project's one Chromium (vitest globalSetup): started once before the first e2e file and
// closed after the last, in Vitest's own process. Each file connects to it (harness.ts,
// connectBrowser) and gets its own browser contexts, dropped when the file disconnects, instead of
// starting and stopping a Chromium of its own.
import { chromium } from 'playwright-core'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared Chromium's Playwright endpoint; '' when there is none. */
    chromiumWsEndpoint: string
  }
}

export const chromiumLaunchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
  ],
}

export default async function setup(project: TestProject) {
  const server = await chromium.launchServer(chromiumLaunchOptions)
  project.provide('chromiumWsEndpoint', server.wsEndpoint())
  return () => server.close()
}
