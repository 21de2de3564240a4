// One data folder, one set of secrets: with the stack's data folder (settings.dataDir) apart from
// the engine's own folder — as the wizard suggests it — the dashboard's sync, the embedded relay
// and the embedded mint read their secrets, keys and certificates from the stack's data folder,
// where the containers get theirs, and never make a second set under the engine's folder.
// Docker is unreachable here (DOCKER_HOST points at a socket that does not exist).
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import { saveSettingsFile, stackModule } from '../../src/core/engine/stack-module'
import { silentLogger } from '../../src/core/log'
import { mintModule } from '../../src/core/mint/mint-module'
import { relayModule } from '../../src/core/relay/relay-module'
import { stackPaths } from '../../src/core/stack/paths'
import type { MintStatus } from '../../src/shared/api/mint'
import type { RelayStatus } from '../../src/shared/api/relay'
import { defaultSettings } from '../../src/shared/settings'

const ctx = { transport: 'internal' } as const

describe('the stack data folder apart from the engine folder', () => {
  let engineDir: string
  let stackDir: string
  let engine: Engine
  const dockerHost = process.env.DOCKER_HOST
  beforeAll(async () => {
    process.env.DOCKER_HOST = 'unix:///nonexistent/flashbox-test.sock'
    engineDir = mkdtempSync(join(tmpdir(), 'flashbox-engine-'))
    stackDir = mkdtempSync(join(tmpdir(), 'flashbox-stackdata-'))
    const s = defaultSettings(stackDir)
    // The mint on the regtest fake backend, so it starts without LND.
    saveSettingsFile(engineDir, { ...s, services: { ...s.services, lnd: false } })
    engine = await createEngine({
      dataDir: engineDir,
      log: silentLogger,
      modules: [stackModule(), relayModule({ port: 0 }), mintModule({ port: 0 })],
    })
  })
  afterAll(async () => {
    await engine?.stop()
    if (dockerHost === undefined) delete process.env.DOCKER_HOST
    else process.env.DOCKER_HOST = dockerHost
    rmSync(engineDir, { recursive: true, force: true })
    rmSync(stackDir, { recursive: true, force: true })
  })

  it('keeps secrets, keys and service data only in the settings’ data folder', async () => {
    // The dashboard's sync reads the stack secrets (bitcoind's RPC password, LND's certificate).
    await engine.call('stack', 'sync', {}, ctx)
    const relay = (await engine.call('relay', 'status', {}, ctx)) as RelayStatus
    expect(relay.running).toBe(true)
    const mint = (await engine.call('mint', 'status', {}, ctx)) as MintStatus
    expect(mint.running).toBe(true)

    const paths = stackPaths(stackDir)
    expect(existsSync(paths.stackSecrets)).toBe(true)
    expect(existsSync(paths.relay.key)).toBe(true)
    expect(existsSync(paths.relay.db)).toBe(true)
    expect(existsSync(join(paths.mint.dir, 'secrets', 'seed.key'))).toBe(true)
    // Nothing of the stack under the engine's own folder: no second secrets file, relay or mint.
    for (const name of ['secrets', 'relay', 'mint', 'lnd', 'stack'])
      expect(existsSync(join(engineDir, name)), name).toBe(false)
  })
})
