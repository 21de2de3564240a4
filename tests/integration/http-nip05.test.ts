// NIP-05 on the headless server: `/.well-known/nostr.json?name=` answers without a session (it is
// public by design, with open CORS), from the nostr module's configured names.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHttpApi, type HttpApi } from '../../src/core/api/http/server'
import { createEngine, type Engine } from '../../src/core/engine/engine'
import type { EngineModuleFactory } from '../../src/core/engine/module'
import { silentLogger } from '../../src/core/log'
import { nip05Response } from '../../src/core/nostr/nip05'

const shop = 'a'.repeat(64)

/** A test module in the nostr module's place, answering from a fixed name table. */
const nostrNames: EngineModuleFactory = () =>
  Object.assign(
    { name: 'nostr', start: async () => {}, stop: async () => {}, handlers: {} as never },
    { nip05Response: (name: string | null) => nip05Response({ shop }, name) },
  )

describe('headless server: NIP-05', () => {
  let dir: string
  let engine: Engine
  let api: HttpApi
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flashbox-nip05-'))
    engine = await createEngine({ dataDir: dir, log: silentLogger, modules: [nostrNames] })
    api = await startHttpApi(engine, { host: '127.0.0.1', port: 0, dataDir: dir })
  })
  afterAll(async () => {
    await api?.close()
    await engine?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers a known name without a session, with open CORS', async () => {
    const res = await fetch(`${api.url}/.well-known/nostr.json?name=shop`)
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(await res.json()).toEqual({ names: { shop } })
  })

  it('answers an unknown name with no names, and a malformed one with 400', async () => {
    const unknown = await fetch(`${api.url}/.well-known/nostr.json?name=other`)
    expect(await unknown.json()).toEqual({ names: {} })
    const bad = await fetch(`${api.url}/.well-known/nostr.json?name=${encodeURIComponent('<x>')}`)
    expect(bad.status).toBe(400)
  })
})
