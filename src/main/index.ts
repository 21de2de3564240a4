// Electron wiring only: every decision lives in the plain modules beside this file (tested
// without Electron). The engine runs here, in the main process; the window is a sandboxed page.
import { join } from 'node:path'
import {
  BrowserWindow,
  Menu,
  Tray,
  app,
  dialog,
  ipcMain,
  nativeImage,
  session,
  shell,
  utilityProcess,
  type OpenDialogOptions,
} from 'electron'
import { contentSecurityPolicy } from '../core/api/csp'
import { followFrontDoor } from '../core/api/http/front-door-upstream'
import { createEngine, type Engine } from '../core/engine/engine'
import { toUserError } from '../core/errors'
import { defaultModules } from '../core/engine/modules'
import { safeStorageKeychain } from './safe-storage-keychain'
import { createLogger } from '../core/log'
import type { StackStatus } from '../shared/api/stack'
import { CALL_CHANNEL, EVENT_CHANNEL } from '../preload/bridge-types'
import { createIpcDispatcher } from './ipc-dispatch'
import { openPreferences, type Preferences } from './preferences'
import { utilityProcessLauncher } from './service-launcher'
import { decideQuit, quitDialog } from './quit'
import { trayStatus } from './tray-status'
import { isTrustedRendererUrl, rendererEntry, type RendererLocation } from './trusted-url'
import { mainWindowOptions } from './window-options'

const log = createLogger('desktop')

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  main().catch((err: unknown) => {
    // Say it in words and leave; never a stack trace in a dialog.
    const ue = toUserError(err)
    log.error('Flash Box could not start', {
      error: err instanceof Error ? err.message : String(err),
    })
    dialog.showErrorBox('Flash Box could not start', `${ue.message}\n\n${ue.hint}`)
    app.exit(1)
  })
}

async function main(): Promise<void> {
  let win: BrowserWindow | null = null
  let tray: Tray | null = null
  let lastStatus: StackStatus | null = null
  let quitting = false

  const resources = app.isPackaged
    ? process.resourcesPath
    : join(import.meta.dirname, '../../resources')
  const where: RendererLocation = {
    indexFile: join(import.meta.dirname, '../renderer/index.html'),
    ...(process.env.ELECTRON_RENDERER_URL && !app.isPackaged
      ? { devServerUrl: process.env.ELECTRON_RENDERER_URL }
      : {}),
  }
  // <userData>/preferences.json, through electron-store.
  const preferences = openPreferences()
  let prefs: Preferences = preferences.get()

  const setPreferences = (patch: Partial<Preferences>): Preferences => {
    prefs = preferences.set(patch)
    if (patch.startAtLogin !== undefined)
      app.setLoginItemSettings({ openAtLogin: prefs.startAtLogin })
    return prefs
  }

  app.on('second-instance', () => {
    if (!win) return
    if (win.isMinimized()) win.restore()
    win.show()
    win.focus()
  })

  // Nothing navigates away, opens windows, or embeds other pages.
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (ev, url) => {
      if (!isTrustedRendererUrl(url, where)) ev.preventDefault()
    })
    contents.on('will-redirect', (ev, url) => {
      if (!isTrustedRendererUrl(url, where)) ev.preventDefault()
    })
    contents.on('will-attach-webview', (ev) => ev.preventDefault())
    contents.setWindowOpenHandler(({ url }) => {
      // Links to documentation open in the user's browser, never inside the app.
      if (url.startsWith('https://')) void shell.openExternal(url)
      return { action: 'deny' }
    })
  })

  await app.whenReady()

  const csp = where.devServerUrl
    ? contentSecurityPolicy({
        connect: [new URL(where.devServerUrl).origin.replace('http', 'ws')],
        devServer: true,
      })
    : contentSecurityPolicy()
  session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
    cb({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': [csp],
        'X-Content-Type-Options': ['nosniff'],
      },
    })
  })
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, cb) => cb(false))
  session.defaultSession.setPermissionCheckHandler(() => false)

  const dataDir = process.env.FLASHBOX_DATA_DIR ?? join(app.getPath('userData'), 'data')
  // The relay and the mint run as utility processes, never inside this process (it holds the keys).
  const eng: Engine = await createEngine({
    dataDir,
    log,
    modules: defaultModules,
    serviceLauncher: utilityProcessLauncher(utilityProcess, import.meta.dirname),
    // The owner may keep the box key in the OS keychain (Settings → Backup) to start unattended.
    keychain: safeStorageKeychain(app.getPath('userData')),
  })

  // Caddy's owner door on the LAN (and the public routes the engine answers) lead to the
  // engine's HTTP server on loopback: it runs while the front door exists.
  const frontDoorUpstream = followFrontDoor(eng, {
    dataDir,
    staticDir: join(import.meta.dirname, '../renderer'),
    log,
  })
  void frontDoorUpstream.reconcile()

  const dispatcher = createIpcDispatcher({
    engine: eng,
    isTrusted: (url) => isTrustedRendererUrl(url, where),
    app: {
      getPreferences: () => prefs,
      setPreferences,
      pickFolder: async ({ title, defaultPath }) => {
        const parent = BrowserWindow.getFocusedWindow()
        const options: OpenDialogOptions = {
          title,
          ...(defaultPath ? { defaultPath } : {}),
          properties: ['openDirectory', 'createDirectory'],
        }
        const r = parent
          ? await dialog.showOpenDialog(parent, options)
          : await dialog.showOpenDialog(options)
        return r.canceled ? null : (r.filePaths[0] ?? null)
      },
    },
  })
  ipcMain.handle(CALL_CHANNEL, (e, domain: unknown, procedure: unknown, input: unknown) =>
    dispatcher.dispatch(
      {
        id: e.sender.id,
        url: e.senderFrame?.url ?? '',
        isMainFrame:
          e.senderFrame != null &&
          e.senderFrame.processId === e.sender.mainFrame.processId &&
          e.senderFrame.routingId === e.sender.mainFrame.routingId,
      },
      domain,
      procedure,
      input,
    ),
  )

  const refreshStatus = async () => {
    try {
      lastStatus = (await eng.call('stack', 'status', {}, { transport: 'internal' })) as StackStatus
    } catch {
      lastStatus = null
    }
    updateTray()
  }
  let refreshTimer: ReturnType<typeof setTimeout> | null = null
  eng.events.subscribe((event) => {
    if (win && !win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, event)
    if (event.topic === 'stack' && (event.type === 'service' || event.type === 'status')) {
      refreshTimer ??= setTimeout(() => {
        refreshTimer = null
        void refreshStatus()
      }, 500)
    }
  })

  const createWindow = () => {
    win = new BrowserWindow(
      mainWindowOptions(
        join(import.meta.dirname, '../preload/index.cjs'),
        join(resources, 'icon.png'),
      ),
    )
    const id = win.webContents.id
    win.webContents.on('destroyed', () => dispatcher.release(id))
    // A reload starts a new page: the old page's log streams are released (hash routes are
    // in-page navigations and keep them).
    win.webContents.on('did-navigate', () => dispatcher.release(id))
    win.once('ready-to-show', () => win?.show())
    win.on('closed', () => {
      win = null
    })
    const entry = rendererEntry(where)
    if ('url' in entry) void win.loadURL(entry.url)
    else void win.loadFile(entry.file)
  }

  function updateTray() {
    if (!tray) return
    const s = trayStatus(lastStatus)
    tray.setToolTip(s.text)
    const icon = nativeImage.createFromPath(
      join(
        resources,
        s.tone === 'unknown'
          ? 'tray.png'
          : `tray-${s.tone === 'attention' ? 'attention' : s.tone}.png`,
      ),
    )
    if (!icon.isEmpty()) tray.setImage(icon)
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: s.text, enabled: false },
        { type: 'separator' },
        { label: 'Open Flash Box', click: () => (win ? win.show() : createWindow()) },
        { label: 'Quit', click: () => app.quit() },
      ]),
    )
  }

  createWindow()
  tray = new Tray(nativeImage.createFromPath(join(resources, 'tray.png')))
  tray.on('click', () => (win ? win.show() : createWindow()))
  await refreshStatus()
  app.setLoginItemSettings({ openAtLogin: prefs.startAtLogin })

  app.on('activate', () => {
    if (!win) createWindow()
  })
  // The services run on without the window; the tray keeps Flash Box reachable.
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin' && !tray) app.quit()
  })

  app.on('before-quit', (ev) => {
    if (quitting) return
    ev.preventDefault()
    void (async () => {
      let decision = decideQuit({
        preference: prefs.stopStackOnQuit,
        stackRunning: lastStatus?.desired === 'running',
      })
      if (decision === 'ask') {
        const r = await dialog.showMessageBox({
          type: 'question',
          message: quitDialog.message,
          detail: quitDialog.detail,
          buttons: [...quitDialog.buttons],
          defaultId: 1,
          cancelId: 2,
          checkboxLabel: quitDialog.checkbox,
        })
        const answer = quitDialog.answers[r.response] ?? 'cancel'
        decision = decideQuit({ preference: prefs.stopStackOnQuit, stackRunning: true, answer })
        if (r.checkboxChecked && answer !== 'cancel')
          setPreferences({ stopStackOnQuit: answer === 'stop' ? 'always' : 'never' })
      }
      if (decision === 'cancel') return
      quitting = true
      if (decision === 'stop-then-quit') {
        tray?.setToolTip('Flash Box — stopping the services…')
        try {
          await eng.call('stack', 'stop', {}, { transport: 'internal' })
        } catch (err) {
          log.error('could not stop the stack cleanly', {
            error: err instanceof Error ? err.message : String(err),
          })
        }
      }
      await frontDoorUpstream.stop()
      await eng.stop()
      app.exit(0)
    })()
  })
}
