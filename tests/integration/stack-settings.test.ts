// The setup wizard starts from the engine's suggestion: the defaults with a data folder on this
// machine (beside the engine's own files), while no settings are saved; the engine keeps running
// without Docker (DOCKER_HOST points at a socket that does not exist).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { stackModule } from '../../src/core/engine/stack-module'
import { silentLogger } from '../../src/core/log'
import { SettingsSchema } from '../../src/shared/settings'

describe('stack settings before setup', () => {
  let dir: string
  let engine: Engine
  const dockerHost = process.env.DOCKER_HOST
  beforeAll(async () => {
    process.env.DOCKER_HOST = 'unix:///nonexistent/flashbox-test.sock'
    dir = mkdtempSync(join(tmpdir(), 'flashbox-settings-'))
    engine = await createEngine({ dataDir: dir, log: silentLogger, modules: [stackModule()] })
  })
  afterAll(async () => {
    await engine?.stop()
    if (dockerHost === undefined) delete process.env.DOCKER_HOST
    else process.env.DOCKER_HOST = dockerHost
    rmSync(dir, { recursive: true, force: true })
  })

  it('has no saved settings, and suggests valid defaults under the data folder', async () => {
    expect(await engine.call('stack', 'getSettings', {}, { transport: 'internal' })).toBeNull()
    const suggested = SettingsSchema.parse(
      await engine.call('stack', 'suggestedSettings', {}, { transport: 'internal' }),
    )
    expect(suggested.dataDir).toBe(join(dir, 'stack'))
    expect(suggested.network).toBe('regtest')
  })
})
