// First run in a browser, without Docker: the owner sets a password, logs in again later, and the
// wizard's first step finds no Docker and says how to fix it. The page runs under the strict CSP
// without a single console error.
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connectBrowser,
  newPage,
  pageErrors,
  setOwnerPassword,
  shot,
  startBox,
  type Box,
} from './harness'

const PASSWORD = 'a calm and long owner password'

describe('first run (no Docker)', () => {
  let box: Box
  let browser: Browser
  const savedDockerHost = process.env.DOCKER_HOST

  beforeAll(async () => {
    // Point the engine at a Docker that is not there.
    process.env.DOCKER_HOST = 'unix:///nonexistent/flashbox-e2e-docker.sock'
    box = await startBox()
    browser = await connectBrowser()
  })

  afterAll(async () => {
    await browser?.close()
    await box?.close()
    if (savedDockerHost === undefined) delete process.env.DOCKER_HOST
    else process.env.DOCKER_HOST = savedDockerHost
  })

  it('sets the owner password, then the wizard explains that Docker is missing', async () => {
    const page = await newPage(browser)
    await page.goto(box.url)
    await page.getByRole('heading', { name: 'Welcome to Flash Box' }).waitFor()
    await shot(page, 'first-run-1-owner-password')

    // Too short is refused before anything is sent.
    await page.getByLabel('Owner password').fill('short')
    await page.getByLabel('Type it again').fill('short')
    await page.getByRole('button', { name: 'Set the password' }).click()
    await page.getByText('Use at least 10 characters.').waitFor()

    await setOwnerPassword(page, PASSWORD)
    await page.getByRole('heading', { name: 'Step 1 of 6: Docker' }).waitFor()
    const cookies = await page.context().cookies()
    const session = cookies.find((c) => c.name === 'flashbox_session')
    expect(session?.httpOnly).toBe(true)
    expect(session?.sameSite).toBe('Strict')

    // Docker is not reachable: what happened, and how to fix it on Linux.
    const problem = page.locator('[data-docker-state]')
    await problem.waitFor()
    expect(['not-running', 'not-installed']).toContain(
      await problem.getAttribute('data-docker-state'),
    )
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/Docker/)
    await page.getByRole('heading', { name: /Start Docker|Install Docker Engine/ }).waitFor()
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true)
    await shot(page, 'first-run-2-docker-missing')

    // "Check again" asks again (and still finds nothing).
    await page.getByRole('button', { name: 'Check again' }).click()
    await page.getByRole('button', { name: 'Check again' }).isEnabled()
    expect(pageErrors(page)).toEqual([])
    await page.context().close()
  })

  it('asks a returning visitor to log in, refuses a wrong password, accepts the right one', async () => {
    const page = await newPage(browser)
    await page.goto(box.url)
    await page.getByRole('heading', { name: 'Log in to Flash Box' }).waitFor()
    await page.getByLabel('Owner password').fill('not the password')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByText('That password is not right.').waitFor()
    await shot(page, 'first-run-3-wrong-password')

    await page.getByLabel('Owner password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Step 1 of 6: Docker' }).waitFor()
    // The only console errors allowed are none (a CSP violation would show up here).
    expect(pageErrors(page).filter((e) => !/401/.test(e))).toEqual([])
    await page.context().close()
  })
})
