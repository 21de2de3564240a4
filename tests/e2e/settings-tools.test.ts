// The places hints send people to, in a real browser against the real Docker Engine: the wizard's
// folder step (why Next is off, a relative path, the folder browser), then Settings → Images
// (Download again, an offline bundle checked digest by digest and loaded into Docker) and
// Settings → Diagnostics (versions, Docker, a support bundle saved to a file without secrets).
// Services are the lifecycle TEST image standing in for the daemons (tests/images).
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stackModule } from '../../src/core/engine/stack-module'
import { systemModule } from '../../src/core/system/system-module'
import { backupModule } from '../../src/core/backup/backup-module'
import { hardwareModule } from '../../src/core/hardware/hardware-module'
import { reachModule } from '../../src/core/reach/reach-module'
import { ensureLanCertificate } from '../../src/core/reach/box-ca'
import { lanInterfaces } from '../../src/core/reach/lan'
import { boxKeyFor } from '../../src/core/secrets/box-key'
import { cleanupProject } from '../images/harness'
import { buildLifecycleImage, testLabels } from '../images/test-catalog'
import { e2eCatalog } from './e2e-catalog'
import {
  connectBrowser,
  newPage,
  pageErrors,
  setOwnerPassword,
  shot,
  startBox,
  type Box,
} from './harness'

const project = `fbe2e-tools-${process.pid}`
const bundleTag = `flashbox-test/e2e-bundle:${process.pid}`
let bundleId = ''

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`)
  return r.stdout.toString().trim()
}

describe('settings tools and the folder step', () => {
  let box: Box
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    const image = buildLifecycleImage()
    box = await startBox({
      modules: [
        stackModule({
          catalog: e2eCatalog(project, image),
          supervisor: { extraLabels: testLabels },
        }),
        systemModule(),
        // Settings also shows Backup, HSM and Reachability: their modules answer as in the app.
        backupModule(),
        hardwareModule(),
        // mDNS on a port of its own: the test announces nothing on the real 5353.
        reachModule({ mdnsPort: 20000 + (process.pid % 20000) }),
      ],
    })
    browser = await connectBrowser()
    page = await newPage(browser, 1280, 900)
  })

  afterAll(async () => {
    await browser?.close()
    await box?.close()
    cleanupProject(project)
    spawnSync('docker', ['image', 'rm', '-f', bundleTag])
    if (bundleId) spawnSync('docker', ['image', 'rm', '-f', bundleId])
  })

  it('the folder step says why Next is off, refuses a relative path plainly, and picks a folder in the browser', async () => {
    mkdirSync(join(box.dataDir, 'shop-data'))
    await page.goto(box.url)
    await setOwnerPassword(page, 'the owner of this little shop')
    await page.getByText(/Docker .* is running/).waitFor()
    await page.getByRole('button', { name: 'Next' }).click()
    await page.getByRole('radio', { name: /Regtest/ }).check()
    await page.getByRole('button', { name: 'Next' }).click()

    const folder = page.getByLabel('Where should Flash Box keep its data?')
    const next = page.getByRole('button', { name: 'Next' })
    await folder.fill('')
    await page.getByText('Next is not available yet: Choose a folder first.').waitFor()
    expect(await next.isDisabled()).toBe(true)

    await folder.fill('shop-data')
    await page.getByText(/“shop-data” is not a full path/).waitFor()
    expect(await next.isDisabled()).toBe(true)
    await page.waitForTimeout(600)
    expect(await page.getByText('There is enough room.').count()).toBe(0)
    await shot(page, 'tools-1-relative-path')

    // The web mode's folder browser: folders only, from the engine.
    await folder.fill(box.dataDir)
    await page.getByRole('button', { name: 'Choose…' }).click()
    const browserPanel = page.getByRole('group', { name: 'Choose where Flash Box keeps its data' })
    await browserPanel.getByRole('button', { name: 'shop-data' }).click()
    await browserPanel.getByText(join(box.dataDir, 'shop-data')).waitFor()
    await shot(page, 'tools-2-folder-browser')
    await browserPanel.getByRole('button', { name: 'Use this folder' }).click()
    expect(await folder.inputValue()).toBe(join(box.dataDir, 'shop-data'))
    await page.getByText('There is enough room.').waitFor()
    expect(await page.getByText('Next is not available yet', { exact: false }).count()).toBe(0)
    await next.click()

    await page.getByText('Instant, cheap payments over Lightning.', { exact: false }).waitFor()
    await page.getByRole('button', { name: 'Next' }).click()
    await page.getByRole('button', { name: 'Save and download' }).click()
    await page.getByText('Everything is downloaded.').waitFor({ timeout: 120_000 })
    expect(pageErrors(page)).toEqual([])
  })

  it('Settings → Images: Download again with progress, and an offline bundle checked and loaded', async () => {
    await page.goto(`${box.url}/#/settings/images`)
    await page.reload()
    await page.getByRole('heading', { name: 'Images', exact: true }).waitFor()
    const rows = page.locator('[data-image]')
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBeGreaterThan(0)
    await expect
      .poll(() => page.locator('[data-image][data-state="present"]').count())
      .toBe(await rows.count())
    await page.getByRole('button', { name: 'Download again' }).click()
    await page.getByText('Every image is here and matches its pinned digest.').waitFor({
      timeout: 120_000,
    })

    // A one-image offline bundle made here, then the image removed from Docker.
    const root = join(box.dataDir, 'bundle-src')
    mkdirSync(root)
    writeFileSync(join(root, 'hello.txt'), randomBytes(16).toString('hex'))
    sh('tar', ['-C', root, '-cf', join(box.dataDir, 'rootfs.tar'), '.'])
    sh('docker', [
      'import',
      '--change',
      'LABEL io.flashbox.test=1',
      join(box.dataDir, 'rootfs.tar'),
      bundleTag,
    ])
    bundleId = sh('docker', ['image', 'inspect', '--format', '{{.Id}}', bundleTag])
    const bundle = join(box.dataDir, 'usb-stick')
    mkdirSync(bundle)
    sh('docker', ['save', '-o', join(bundle, 'extra.tar'), bundleTag])
    writeFileSync(
      join(bundle, 'manifest.json'),
      JSON.stringify([
        { ref: `flashbox-test/e2e-bundle@${bundleId}`, file: 'extra.tar', imageId: bundleId },
      ]),
    )
    sh('docker', ['image', 'rm', '-f', bundleTag])
    expect(spawnSync('docker', ['image', 'inspect', bundleId]).status).not.toBe(0)

    await page.getByLabel('Offline bundle folder').fill(bundle)
    await page.getByRole('button', { name: 'Load the bundle' }).click()
    await page.getByText('Loaded 1 image; every digest matched.').waitFor({ timeout: 60_000 })
    expect(spawnSync('docker', ['image', 'inspect', bundleId]).status).toBe(0)
    await shot(page, 'tools-3-images')

    // A damaged copy is refused, in words, and the hint links back here.
    const bad = join(box.dataDir, 'bad-stick')
    mkdirSync(bad)
    writeFileSync(join(bad, 'extra.tar'), readFileSync(join(bundle, 'extra.tar')).subarray(0, 2048))
    writeFileSync(
      join(bad, 'manifest.json'),
      JSON.stringify([
        { ref: `flashbox-test/e2e-bundle@${bundleId}`, file: 'extra.tar', imageId: bundleId },
      ]),
    )
    await page.getByLabel('Offline bundle folder').fill(bad)
    await page.getByRole('button', { name: 'Load the bundle' }).click()
    const alert = page.getByRole('alert').filter({ hasText: 'extra.tar' })
    await alert.waitFor()
    expect(await alert.getByRole('link', { name: 'Settings → Images' }).getAttribute('href')).toBe(
      '#/settings/images',
    )
    // The refused load is an HTTP error answer, which the browser logs; nothing else may be.
    expect(pageErrors(page).filter((e) => !/status of 409/.test(e))).toEqual([])
    pageErrors(page).length = 0
  })

  it('Settings → Diagnostics: versions, Docker, and a support bundle saved to a file', async () => {
    await page.goto(`${box.url}/#/settings/diagnostics`)
    await page.getByRole('heading', { name: 'Diagnostics', exact: true }).waitFor()
    await page.getByText(/^Running, version /).waitFor()
    await page.getByText(process.versions.node, { exact: true }).waitFor()
    const out = join(box.dataDir, 'support.json')
    await page.getByLabel('Save the support bundle as').fill(out)
    await page.getByRole('button', { name: 'Save support bundle' }).click()
    await page.getByText(/^Saved to/).waitFor()
    await shot(page, 'tools-4-diagnostics')
    const saved = JSON.parse(readFileSync(out, 'utf8')) as {
      settings: { dataDir: string }
      diagnostics: { docker: { state: string } }
    }
    expect(saved.settings.dataDir).toBe(join(box.dataDir, 'shop-data'))
    expect(saved.diagnostics.docker.state).toBe('running')
    expect(readFileSync(out, 'utf8')).not.toMatch(/PRIVATE KEY-----/)
    expect(pageErrors(page)).toEqual([])
  })

  it('Settings → Reachability: LAN mode on a real interface, the certificate page QR and a pairing code', async () => {
    const iface = lanInterfaces().find((i) => i.addresses.some((a) => !a.includes(':')))
    if (!iface) {
      console.warn('LAN part skipped: this computer has no IPv4 interface besides loopback')
      return
    }
    const address = iface.addresses.find((a) => !a.includes(':'))!
    await page.goto(`${box.url}/#/settings/reachability`)
    await page.reload()
    await page.getByRole('heading', { name: 'Reachability', exact: true }).waitFor()
    await page.getByLabel('Serve the shop’s network').check()
    await page.getByLabel('Network connection').selectOption(iface.name)
    await page.getByLabel('Name on the network (.local)').fill(`e2e${process.pid}`)
    // High ports nobody here uses, so the port check passes.
    const base = 40000 + (process.pid % 5000) * 3
    await page.getByLabel('Shop port (HTTPS)').fill(String(base))
    await page.getByLabel('Owner’s pages port (HTTPS)').fill(String(base + 1))
    await page.getByLabel('Certificate page port (plain HTTP)').fill(String(base + 2))
    await page.getByRole('button', { name: 'Save reachability' }).click()
    await page.getByText('Saved.').waitFor()
    const panel = page.getByLabel('Shop network status')
    await panel.getByText(`https://e2e${process.pid}.local:${base}`).waitFor()
    // Before the stack has started, the certificate is not made yet, and the page says so.
    await panel.getByText('The shop network’s certificate is made when the stack starts.').waitFor()

    // What the stack's start does (the box key is open: the owner logged in).
    await ensureLanCertificate(
      boxKeyFor(box.dataDir),
      box.dataDir,
      join(box.dataDir, 'shop-data'),
      { name: `e2e${process.pid}`, address },
    )
    await page.reload()
    await panel.getByRole('img', { name: 'QR code: certificate install page' }).waitFor()
    await panel.getByRole('link', { name: `http://${address}:${base + 2}/` }).waitFor()
    await panel.getByText(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/).waitFor()
    await panel.getByRole('button', { name: 'New pairing code' }).click()
    await panel.getByText(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/).waitFor()
    await shot(page, 'tools-5-reachability-lan')
    expect(pageErrors(page)).toEqual([])
  })
})
