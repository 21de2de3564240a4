// The desktop app's engine HTTP server for the front door, without Electron: a real engine with
// the reach module, the real HTTP server on loopback. It runs while LAN mode (or another way in)
// is on, follows a save of Settings → Reachability at once, moves with the port, stops when the
// front door is off, and says plainly when its port is taken.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultSettings, type Settings } from '../../../shared/settings'
import { createEngine, type Engine } from '../../engine/engine'
import { saveSettingsFile } from '../../engine/stack-module'
import { silentLogger } from '../../log'
import { reachModule } from '../../reach/reach-module'
import { followFrontDoor, type FrontDoorUpstream } from './front-door-upstream'

const CTX = { transport: 'internal' } as const
let dir = ''
let engine: Engine
let upstream: FrontDoorUpstream | undefined
let blocker: Server | undefined

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

async function answers(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/api/health`, {
      signal: AbortSignal.timeout(3_000),
    })
    return r.status === 200 && ((await r.json()) as { ok: boolean }).ok
  } catch {
    return false
  }
}

const settingsWith = (reach: Settings['reach']): Settings => ({
  ...defaultSettings(join(dir, 'stack')),
  ...(reach ? { reach } : {}),
})

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'front-door-upstream-'))
  engine = await createEngine({ dataDir: dir, log: silentLogger, modules: [reachModule()] })
})
afterEach(async () => {
  await upstream?.stop()
  upstream = undefined
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()))
  blocker = undefined
  await engine.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('the engine’s HTTP server behind the front door (desktop app)', () => {
  it('runs on loopback while LAN mode is on, and stops when it is turned off', async () => {
    const port = await freePort()
    const lan = { interface: 'eth-shop', name: 'shop', port: 8443, ownerPort: 8444, caPort: 8090 }
    saveSettingsFile(dir, settingsWith(undefined))
    upstream = followFrontDoor(engine, { dataDir: dir, log: silentLogger })
    await upstream.reconcile()
    expect(upstream.url).toBeUndefined()
    expect(await answers(port)).toBe(false)

    saveSettingsFile(dir, settingsWith({ frontDoorPort: 8480, enginePort: port, lan }))
    await upstream.reconcile()
    expect(upstream.url).toBe(`http://127.0.0.1:${port}`)
    expect(await answers(port)).toBe(true)
    // The same server the front door's owner site leads to: the LAN door's login wants a
    // paired device (the owner password is not even set here).
    const viaDoor = await fetch(`http://127.0.0.1:${port}/api/auth/state`, {
      headers: { 'x-flashbox-door': 'owner-lan' },
    })
    expect(viaDoor.status).toBe(200)

    // LAN mode off, nothing else on: the server stops.
    saveSettingsFile(dir, settingsWith({ frontDoorPort: 8480, enginePort: port }))
    await upstream.reconcile()
    expect(upstream.url).toBeUndefined()
    expect(await answers(port)).toBe(false)
  })

  it('follows a save in Settings → Reachability at once, and moves with the port', async () => {
    saveSettingsFile(dir, settingsWith(undefined))
    upstream = followFrontDoor(engine, { dataDir: dir, log: silentLogger })
    await upstream.reconcile()
    const [a, b] = [await freePort(), await freePort()]
    const publicAddress = {
      baseUrl: 'https://shop.example.com',
      tlsBeforeBox: true,
      proxyAddresses: [],
    }
    // The public address needs no interface, so the real save path works anywhere.
    await engine.call('reach', 'save', { frontDoorPort: 8480, enginePort: a, publicAddress }, CTX)
    await upstream.reconcile() // waits for the pass the save's event queued
    expect(await answers(a)).toBe(true)

    await engine.call('reach', 'save', { frontDoorPort: 8480, enginePort: b, publicAddress }, CTX)
    await upstream.reconcile()
    expect(upstream.url).toBe(`http://127.0.0.1:${b}`)
    expect(await answers(b)).toBe(true)
    expect(await answers(a)).toBe(false)

    await engine.call('reach', 'save', { frontDoorPort: 8480, enginePort: b }, CTX)
    await upstream.reconcile()
    expect(await answers(b)).toBe(false)
  })

  it('says plainly when another program holds the port, and starts once it is free', async () => {
    blocker = createServer()
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as AddressInfo).port
    saveSettingsFile(
      dir,
      settingsWith({
        frontDoorPort: 8480,
        enginePort: port,
        lan: { interface: 'eth-shop', name: 'shop', port: 8443, ownerPort: 8444, caPort: 8090 },
      }),
    )
    upstream = followFrontDoor(engine, { dataDir: dir, log: silentLogger })
    await upstream.reconcile()
    expect(upstream.url).toBeUndefined()
    expect(upstream.problem?.code).toBe('reach.engine_port_taken')
    expect(upstream.problem?.message).toMatch(
      new RegExp(`^Another program already uses port ${port} on this computer`),
    )
    await new Promise<void>((r) => blocker!.close(() => r()))
    blocker = undefined
    await upstream.reconcile()
    expect(upstream.problem).toBeUndefined()
    expect(await answers(port)).toBe(true)
    await upstream.stop()
    expect(await answers(port)).toBe(false)
  })
})
