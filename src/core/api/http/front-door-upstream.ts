// The engine's HTTP server as the front door's upstream, in the desktop app. Caddy forwards the
// owner's door on the LAN and the public routes the engine answers (NIP-05, the Lightning address,
// LNURL, Boltcard) to 127.0.0.1:<reach.enginePort> (src/core/stack/caddy.ts). `npm run serve`
// always runs that server; the desktop app talks to its window over IPC and runs it only while
// the front door exists (LAN mode, a public address or Tor on in Settings → Reachability).
// Level-triggered: each pass reads the saved settings and converges (start, move, stop); a pass
// runs at start, whenever Reachability is saved, and every `intervalMs` as a backstop.
// A port it cannot open is the owner's to hear: each change is a `reach/engine-server` event,
// which the reach module shows in Settings → Reachability and on the dashboard until it binds.
import type { Engine } from '../../engine/engine'
import { loadSettings } from '../../engine/stack-module'
import { FlashError, toUserError } from '../../errors'
import type { Logger } from '../../log'
import { frontDoorEnabled } from '../../stack/caddy'
import { startHttpApi, type HttpApi, type HttpApiOptions } from './server'

export interface FrontDoorUpstreamOptions {
  /** The engine's data folder (where settings.json is). */
  readonly dataDir: string
  /** The built renderer served to the owner over the LAN door (the desktop app's own copy). */
  readonly staticDir?: string
  readonly log?: Logger
  /** Backstop pass interval (default 30 s). */
  readonly intervalMs?: number
  /** Only for tests: where the server starts (default startHttpApi on 127.0.0.1). */
  readonly start?: (engine: Engine, opts: HttpApiOptions) => Promise<HttpApi>
}

export interface FrontDoorUpstream {
  /** One pass now: start, move or stop the server to match the saved settings. */
  reconcile(): Promise<void>
  /** Where it listens now (`http://127.0.0.1:8347`), if it runs. */
  readonly url: string | undefined
  /** Why it does not run although the front door needs it (e.g. the port is taken). */
  readonly problem: FlashError | undefined
  stop(): Promise<void>
}

export function followFrontDoor(engine: Engine, opts: FrontDoorUpstreamOptions): FrontDoorUpstream {
  const log = (opts.log ?? engine.log).child('front-door-upstream')
  const start = opts.start ?? startHttpApi
  let running: { port: number; api: HttpApi } | undefined
  let problem: FlashError | undefined
  let stopped = false
  // Passes never overlap: a save during a pass just queues one more.
  let chain: Promise<void> = Promise.resolve()

  const wantedPort = (): number | undefined => {
    let settings
    try {
      settings = loadSettings(opts.dataDir)
    } catch {
      return running?.port // a settings file being rewritten: keep what runs
    }
    if (!settings || !frontDoorEnabled(settings)) return undefined
    return settings.reach!.enginePort
  }

  let told = ''
  const tell = (): void => {
    const now = problem ? problem.message : ''
    if (now === told) return
    told = now
    engine.events.publish({
      topic: 'reach',
      type: 'engine-server',
      ...(problem ? { problem: toUserError(problem) } : {}),
    })
  }

  const pass = async (): Promise<void> => {
    await converge()
    tell()
  }

  const converge = async (): Promise<void> => {
    const port = stopped ? undefined : wantedPort()
    if (running && running.port !== port) {
      const old = running
      running = undefined
      await old.api.close().catch(() => {})
      log.info(
        `stopped the engine's HTTP server on port ${old.port} (the front door no longer needs it there)`,
      )
    }
    problem = undefined
    if (port === undefined || running) return
    try {
      const api = await start(engine, {
        host: '127.0.0.1',
        port,
        dataDir: opts.dataDir,
        ...(opts.staticDir ? { staticDir: opts.staticDir } : {}),
        log: opts.log ?? engine.log,
      })
      running = { port, api }
      log.info(`the engine's HTTP server runs for the front door: ${api.url}`)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      problem = new FlashError(
        'reach.engine_port_taken',
        code === 'EADDRINUSE'
          ? `Another program already uses port ${port} on this computer (perhaps “npm run serve”), so the shop’s devices cannot reach the owner’s pages, Nostr names or the Lightning address through Flash Box.`
          : `Flash Box could not open port ${port} on this computer for the front door (${code ?? (err as Error).message}).`,
        code !== 'EADDRINUSE'
          ? 'Flash Box tries again within a minute; if this stays, restart Flash Box.'
          : `Close the program that uses port ${port} (\`sudo ss -ltnp 'sport = :${port}'\` on Linux, \`lsof -nP -iTCP:${port} -sTCP:LISTEN\` on macOS, or \`netstat -ano | findstr :${port}\` on Windows shows which); Flash Box tries again within a minute.`,
        { cause: err },
      )
      log.warn(problem.message)
    }
  }

  const reconcile = (): Promise<void> => {
    chain = chain.then(pass, pass)
    return chain
  }

  const unsubscribe = engine.events.subscribe(
    (e) => e.topic === 'reach' && e.type === 'saved' && void reconcile(),
    ['reach'],
  )
  const timer = setInterval(() => void reconcile(), opts.intervalMs ?? 30_000)
  timer.unref()

  return {
    reconcile,
    get url() {
      return running?.api.url
    },
    get problem() {
      return problem
    },
    async stop() {
      stopped = true
      clearInterval(timer)
      unsubscribe()
      await reconcile()
    },
  }
}
