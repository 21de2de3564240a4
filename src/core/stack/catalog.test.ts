import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { defaultSettings } from '../../shared/settings'
import { stackSecretsPath } from '../secrets/stack-secrets'
import { stackCatalog } from './catalog'

const root = mkdtempSync(join(tmpdir(), 'flashbox-catalog-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('stackCatalog', () => {
  const catalog = stackCatalog({ machine: { memoryBytes: 8 * 1024 ** 3, cpus: 2 } })

  it('checks settings against the real data folder', async () => {
    const settings = defaultSettings(join(root, 'box'))
    const check = await catalog.check(settings)
    expect(check.problems).toEqual([])
    expect(check.ok).toBe(true)
    expect(check.disk.path).toBe(join(root, 'box'))
    expect(check.disk.freeBytes).toBeGreaterThan(0)
    expect(check.disk.neededBytes).toBeGreaterThan(0)
    const bad = await catalog.check({ ...settings, dataDir: '/dev/null/box' })
    expect(bad.ok).toBe(false)
    expect(bad.problems.map((p) => p.code)).toContain('settings.data_dir_not_writable')
  })

  it('renders with the box’s secrets, created once under the data folder', async () => {
    const settings = defaultSettings(join(root, 'box2'))
    const plan = await catalog.render(settings)
    expect(plan.services.map((s) => s.id)).toEqual(['bitcoind', 'electrs', 'lnd'])
    expect(statSync(stackSecretsPath(settings.dataDir)).mode & 0o777).toBe(0o600)
    const again = await catalog.render(settings)
    expect(again).toEqual(plan)
    expect(catalog.info(null).map((i) => i.id)).toContain('btcpay')
  })
})
