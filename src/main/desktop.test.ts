// The Electron shell's decisions, tested without Electron: window security, who may call over
// IPC, what crosses back, the tray's words, and what quitting does.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { contentSecurityPolicy } from '../core/api/csp'
import { createEngine, type Engine } from '../core/engine/engine'
import type { EngineModuleFactory } from '../core/engine/module'
import { silentLogger } from '../core/log'
import type { ServiceStatus, StackStatus } from '../shared/api/stack'
import { createIpcDispatcher } from './ipc-dispatch'
import { defaultPreferences, openPreferences, type Preferences } from './preferences'
import { decideQuit } from './quit'
import { trayStatus } from './tray-status'
import { isTrustedRendererUrl, rendererEntry } from './trusted-url'
import { mainWindowOptions } from './window-options'

// Outside Electron, as here, electron-store works on an absolute folder; its `import electron`
// is Electron's own API only inside the app (under plain Node the package would fetch a binary).
vi.mock('electron', () => ({ default: {} }))

const indexFile = join(tmpdir(), 'flashbox-app', 'out', 'renderer', 'index.html')
const indexUrl = pathToFileURL(indexFile).href

describe('main window', () => {
  it('isolates and sandboxes the page with no Node', () => {
    const o = mainWindowOptions('/x/preload.cjs')
    expect(o.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      allowRunningInsecureContent: false,
      preload: '/x/preload.cjs',
    })
    expect(o.minWidth).toBeLessThanOrEqual(1024)
    expect(o.minHeight).toBeLessThanOrEqual(700)
  })

  it('has a strict CSP: no inline script, no eval, no framing, no foreign origins', () => {
    const csp = contentSecurityPolicy()
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).not.toContain('unsafe-eval')
    expect(csp).toContain("frame-ancestors 'none'")
    expect(contentSecurityPolicy({ connect: ['ws://localhost:5173'] })).toContain(
      "connect-src 'self' ws://localhost:5173",
    )
  })

  it('puts the same CSP in the renderer’s <meta> (frame-ancestors only works as a header)', () => {
    const html = readFileSync(join(import.meta.dirname, '../renderer/index.html'), 'utf8')
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]
    const header = contentSecurityPolicy()
      .split('; ')
      .filter((d) => !d.startsWith('frame-ancestors'))
      .join('; ')
    expect(meta).toBe(header)
  })

  it('trusts only its own renderer (file or dev server)', () => {
    const where = { indexFile }
    expect(isTrustedRendererUrl(indexUrl, where)).toBe(true)
    expect(isTrustedRendererUrl(`${indexUrl}#/service/lnd`, where)).toBe(true)
    expect(isTrustedRendererUrl(pathToFileURL('/etc/passwd').href, where)).toBe(false)
    expect(isTrustedRendererUrl('https://evil.example/', where)).toBe(false)
    expect(isTrustedRendererUrl('not a url', where)).toBe(false)
    const dev = { indexFile, devServerUrl: 'http://localhost:5173' }
    expect(isTrustedRendererUrl('http://localhost:5173/#/', dev)).toBe(true)
    expect(isTrustedRendererUrl('http://localhost:5174/', dev)).toBe(false)
    expect(rendererEntry(dev)).toEqual({ url: 'http://localhost:5173' })
    expect(rendererEntry(where)).toEqual({ file: indexFile })
  })
})

describe('IPC dispatch', () => {
  let dir: string
  let engine: Engine
  const follows: string[] = []
  let prefs: Preferences = { ...defaultPreferences }

  const testStack: EngineModuleFactory = () => ({
    name: 'stack',
    start: async () => {},
    stop: async () => {},
    handlers: {
      status: async () => ({ setupComplete: false }),
      // Fails like a bug would, with internals in the message.
      start: async () => {
        throw new Error('ECONNREFUSED /var/run/docker.sock password=hunter2')
      },
      followLogs: async (i: { id: string; follow: boolean }) => {
        follows.push(`${i.id}:${i.follow}`)
      },
    } as never,
  })

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flashbox-ipc-'))
    engine = await createEngine({ dataDir: dir, log: silentLogger, modules: [testStack] })
  })
  afterAll(async () => {
    await engine.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const make = () =>
    createIpcDispatcher({
      engine,
      isTrusted: (url) => isTrustedRendererUrl(url, { indexFile }),
      app: {
        getPreferences: () => prefs,
        setPreferences: (p) => (prefs = { ...prefs, ...p }),
      },
    })
  const win = (id = 1) => ({ id, url: indexUrl, isMainFrame: true })

  it('answers our window through the engine', async () => {
    const r = await make().dispatch(win(), 'stack', 'status', {})
    expect(r).toEqual({ ok: true, value: { setupComplete: false } })
  })

  it('refuses other pages and subframes', async () => {
    const d = make()
    const foreign = await d.dispatch(
      { id: 1, url: 'https://evil.example/', isMainFrame: true },
      'stack',
      'status',
      {},
    )
    expect(foreign).toMatchObject({ ok: false, error: { code: 'ipc.untrusted' } })
    const frame = await d.dispatch({ ...win(), isMainFrame: false }, 'stack', 'status', {})
    expect(frame).toMatchObject({ ok: false, error: { code: 'ipc.untrusted' } })
  })

  it('lets only {code,message,hint} cross back, never internals', async () => {
    const d = make()
    const bug = await d.dispatch(win(), 'stack', 'start', {})
    expect(bug.ok).toBe(false)
    if (bug.ok) return
    expect(Object.keys(bug.error).sort()).toEqual(['code', 'hint', 'message'])
    expect(bug.error.code).toBe('internal')
    expect(JSON.stringify(bug)).not.toMatch(/hunter2|docker\.sock|ECONNREFUSED/)

    const unknown = await d.dispatch(win(), 'stack', 'nope', {})
    expect(unknown).toMatchObject({ ok: false, error: { code: 'api.unknown_procedure' } })
    const weird = await d.dispatch(win(), { toString: () => 'stack' }, '../x', {})
    expect(weird).toMatchObject({ ok: false, error: { code: 'api.unknown_procedure' } })
    const bad = await d.dispatch(win(), 'stack', 'startService', { id: '' })
    expect(bad).toMatchObject({ ok: false, error: { code: 'api.bad_input' } })
  })

  it('keeps desktop preferences in the main process, validated', async () => {
    const d = make()
    const set = await d.dispatch(win(), 'app', 'setPreferences', { stopStackOnQuit: 'always' })
    expect(set).toMatchObject({ ok: true, value: { stopStackOnQuit: 'always' } })
    const bad = await d.dispatch(win(), 'app', 'setPreferences', { stopStackOnQuit: 'explode' })
    expect(bad).toMatchObject({ ok: false, error: { code: 'api.bad_input' } })
    const get = await d.dispatch(win(), 'app', 'getPreferences', {})
    expect(get).toMatchObject({ ok: true, value: { stopStackOnQuit: 'always' } })
  })

  it('opens the system folder dialog for our window only, with validated options', async () => {
    const asked: { title: string; defaultPath?: string }[] = []
    const d = createIpcDispatcher({
      engine,
      isTrusted: (url) => isTrustedRendererUrl(url, { indexFile }),
      app: {
        getPreferences: () => prefs,
        setPreferences: (p) => (prefs = { ...prefs, ...p }),
        pickFolder: async (o) => {
          asked.push(o)
          return o.defaultPath ? `${o.defaultPath}/picked` : null
        },
      },
    })
    const picked = await d.dispatch(win(), 'app', 'pickFolder', {
      title: 'Choose where Flash Box keeps its data',
      defaultPath: '/srv',
    })
    expect(picked).toEqual({ ok: true, value: '/srv/picked' })
    expect(await d.dispatch(win(), 'app', 'pickFolder', { title: 'x' })).toEqual({
      ok: true,
      value: null,
    })
    const bad = await d.dispatch(win(), 'app', 'pickFolder', { title: '' })
    expect(bad).toMatchObject({ ok: false, error: { code: 'api.bad_input' } })
    const foreign = await d.dispatch(
      { id: 1, url: 'https://evil.example/', isMainFrame: true },
      'app',
      'pickFolder',
      { title: 'x' },
    )
    expect(foreign).toMatchObject({ ok: false, error: { code: 'ipc.untrusted' } })
    expect(asked).toHaveLength(2)
  })

  it('follows logs once for several windows and stops when the last one closes', async () => {
    follows.length = 0
    const d = make()
    await d.dispatch(win(1), 'stack', 'followLogs', { id: 'lnd', follow: true })
    await d.dispatch(win(2), 'stack', 'followLogs', { id: 'lnd', follow: true })
    expect(follows).toEqual(['lnd:true'])
    await d.dispatch(win(1), 'stack', 'followLogs', { id: 'lnd', follow: false })
    expect(follows).toEqual(['lnd:true'])
    d.release(2)
    await expect.poll(() => follows).toEqual(['lnd:true', 'lnd:false'])
  })
})

const svc = (id: string, state: ServiceStatus['state']): ServiceStatus => ({
  id,
  displayName: id === 'lnd' ? 'Lightning (LND)' : id,
  description: '',
  state,
  enabled: true,
  restarts: 0,
  ports: [],
})
const stack = (
  services: ServiceStatus[],
  desired: 'running' | 'stopped' = 'running',
): StackStatus => ({
  setupComplete: true,
  desired,
  docker: { state: 'running', host: 'unix:///var/run/docker.sock', os: 'linux' },
  services,
  alerts: [],
})

describe('tray status', () => {
  it('says what is going on in plain words', () => {
    expect(trayStatus(null).tone).toBe('unknown')
    expect(trayStatus(stack([svc('bitcoind', 'healthy'), svc('relay', 'embedded')]))).toEqual({
      tone: 'ok',
      text: 'Flash Box — all 2 services running',
    })
    expect(trayStatus(stack([svc('bitcoind', 'healthy'), svc('lnd', 'crash-loop')]))).toEqual({
      tone: 'attention',
      text: 'Flash Box — Lightning (LND) needs attention',
    })
    expect(trayStatus(stack([svc('bitcoind', 'healthy'), svc('lnd', 'starting')])).tone).toBe(
      'busy',
    )
    expect(trayStatus(stack([svc('bitcoind', 'stopped')], 'stopped'))).toEqual({
      tone: 'stopped',
      text: 'Flash Box — stopped',
    })
    const noDocker = { ...stack([]), docker: { state: 'not-running', host: '', os: 'linux' } }
    expect(trayStatus(noDocker as StackStatus).text).toContain('Docker is not running')
  })
})

describe('quitting', () => {
  it('stops the stack only when the user wants it', () => {
    expect(decideQuit({ preference: 'ask', stackRunning: false })).toBe('quit')
    expect(decideQuit({ preference: 'ask', stackRunning: true })).toBe('ask')
    expect(decideQuit({ preference: 'always', stackRunning: true })).toBe('stop-then-quit')
    expect(decideQuit({ preference: 'never', stackRunning: true })).toBe('quit')
    expect(decideQuit({ preference: 'ask', stackRunning: true, answer: 'stop' })).toBe(
      'stop-then-quit',
    )
    expect(decideQuit({ preference: 'ask', stackRunning: true, answer: 'keep' })).toBe('quit')
    expect(decideQuit({ preference: 'always', stackRunning: true, answer: 'cancel' })).toBe(
      'cancel',
    )
  })

  it('remembers preferences in a file (electron-store, 0600) and survives a damaged one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flashbox-prefs-'))
    try {
      const prefs = openPreferences({ cwd: dir })
      const file = join(dir, 'preferences.json')
      expect(prefs.path).toBe(file)
      expect(prefs.get()).toEqual(defaultPreferences)
      expect(prefs.set({ startAtLogin: true, stopStackOnQuit: 'never' })).toEqual({
        startAtLogin: true,
        stopStackOnQuit: 'never',
      })
      expect(statSync(file).mode & 0o777).toBe(0o600)
      expect(openPreferences({ cwd: dir }).get()).toEqual({
        startAtLogin: true,
        stopStackOnQuit: 'never',
      })
      // A value that does not fit falls back to its default; the others are kept.
      writeFileSync(file, JSON.stringify({ startAtLogin: 'yes please', stopStackOnQuit: 'always' }))
      expect(openPreferences({ cwd: dir }).get()).toEqual({
        startAtLogin: false,
        stopStackOnQuit: 'always',
      })
      // Not JSON at all: moved aside, not thrown away, and the defaults start again.
      writeFileSync(file, '{ "startAtLogin": "yes please"')
      expect(openPreferences({ cwd: dir }).get()).toEqual(defaultPreferences)
      const aside = readdirSync(dir).filter((n) => n.startsWith('preferences.damaged-'))
      expect(aside).toHaveLength(1)
      expect(readFileSync(join(dir, aside[0]!), 'utf8')).toContain('yes please')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
