// `serve`: the headless engine as a long-running process (`npm run serve`, `npm start`).
// It starts every engine module (the stack supervisor, and the relay and mint embedded), serves
// the HTTP + WebSocket API when this build has it, and shuts down cleanly on SIGINT/SIGTERM.
// Containers keep running when it exits: the next start adopts them.
import { existsSync, mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import type { StackStatus } from '../shared/api/stack'
import { createEngine, type Engine } from '../core/engine/engine'
import { defaultModules } from '../core/engine/modules'
import { createLogger } from '../core/log'

const INTERNAL = { transport: 'internal' } as const

const ArgsSchema = z.object({
  dataDir: z.string().min(1).max(4096),
  host: z.string().min(1).max(255),
  port: z.coerce.number().int().min(0).max(65_535),
})

const usage = `Usage: npm run serve -- [--data-dir DIR] [--host 127.0.0.1] [--port 8347]

  --data-dir DIR   where the box keeps everything (default $FLASHBOX_DATA_DIR or ~/.flashbox)
  --host HOST      address of the HTTP API (default 127.0.0.1; anything else exposes the box)
  --port PORT      port of the HTTP API (default 8347)
`

export interface ServeOptions {
  readonly dataDir: string
  readonly host: string
  readonly port: number
}

export function parseServeArgs(argv: readonly string[], env = process.env): ServeOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'data-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) return 'help'
  const parsed = ArgsSchema.safeParse({
    dataDir: values['data-dir'] ?? env.FLASHBOX_DATA_DIR ?? resolve(homedir(), '.flashbox'),
    host: values.host ?? '127.0.0.1',
    port: values.port ?? '8347',
  })
  if (!parsed.success) {
    const first = parsed.error.issues[0]!
    throw new Error(`--${String(first.path[0])}: ${first.message}`)
  }
  return { ...parsed.data, dataDir: resolve(parsed.data.dataDir) }
}

interface HttpApiModule {
  startHttpApi(
    engine: Engine,
    opts: { host: string; port: number; dataDir: string },
  ): Promise<{ url: string; close(): Promise<void> }>
}

/** The HTTP + WebSocket API (src/core/api/http), when this build includes it. */
async function loadHttpApi(): Promise<HttpApiModule | undefined> {
  const here = dirname(fileURLToPath(import.meta.url))
  const path = resolve(here, '..', 'core', 'api', 'http', 'server.ts')
  if (!existsSync(path)) return undefined
  const mod = (await import(pathToFileURL(path).href)) as Partial<HttpApiModule>
  return typeof mod.startHttpApi === 'function' ? (mod as HttpApiModule) : undefined
}

export async function serve(opts: ServeOptions): Promise<{ stop(): Promise<void> }> {
  const log = createLogger('serve')
  try {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new Error(
      `cannot create the data folder ${opts.dataDir} (${(err as NodeJS.ErrnoException).code}): choose another with --data-dir or FLASHBOX_DATA_DIR`,
      { cause: err },
    )
  }
  log.info(`data folder: ${opts.dataDir}`)
  const engine = await createEngine({ dataDir: opts.dataDir, log, modules: defaultModules })

  try {
    const status = (await engine.call('stack', 'status', {}, INTERNAL)) as StackStatus
    const d = status.docker
    if (d.state === 'running') log.info(`docker: running (${d.version ?? '?'} at ${d.host})`)
    else {
      log.warn(`docker: ${d.state} — ${d.problem?.message ?? ''}`)
      if (d.problem) log.warn(`docker: what to do: ${d.problem.hint}`)
      log.warn('docker: running what works without it (embedded relay and mint)')
    }
    if (!status.setupComplete)
      log.info('stack: not set up yet (default: regtest); open the app to set it up')
    else log.info(`stack: desired ${status.desired}; ${status.services.length} services`)
  } catch (err) {
    log.warn(`stack status unavailable: ${(err as Error).message}`)
  }

  let http: { url: string; close(): Promise<void> } | undefined
  const httpApi = await loadHttpApi()
  if (httpApi) {
    try {
      http = await httpApi.startHttpApi(engine, {
        host: opts.host,
        port: opts.port,
        dataDir: opts.dataDir,
      })
      log.info(`Flash Box is running: ${http.url}`)
      process.stdout.write(`\n  Flash Box: ${http.url}\n\n`)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      await engine.stop()
      if (code === 'EADDRINUSE') {
        throw new Error(
          `port ${opts.port} on ${opts.host} is already in use (is Flash Box already running?): stop the other program or choose another port with --port`,
          { cause: err },
        )
      }
      throw err
    }
  } else {
    log.info('Flash Box engine is running (this build has no HTTP API; headless only)')
  }

  return {
    async stop() {
      await http?.close().catch(() => {})
      await engine.stop()
    },
  }
}

async function main(): Promise<void> {
  let opts: ServeOptions | 'help'
  try {
    opts = parseServeArgs(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`serve: ${(err as Error).message}\n\n${usage}`)
    process.exit(2)
  }
  if (opts === 'help') {
    process.stdout.write(usage)
    return
  }
  let running: { stop(): Promise<void> }
  try {
    running = await serve(opts)
  } catch (err) {
    process.stderr.write(`serve: ${(err as Error).message}\n`)
    process.exit(1)
  }
  // Keeps the process alive; the engine's own timers are unref'd.
  const keepAlive = setInterval(() => {}, 1 << 30)
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) {
      process.stderr.write(`serve: ${signal} again, exiting now\n`)
      process.exit(1)
    }
    stopping = true
    process.stdout.write(`serve: ${signal}: shutting down (containers keep running)\n`)
    running
      .stop()
      .then(() => {
        clearInterval(keepAlive)
        process.stdout.write('serve: stopped cleanly\n')
        process.exit(0)
      })
      .catch((err: unknown) => {
        process.stderr.write(`serve: error while stopping: ${(err as Error).message}\n`)
        process.exit(1)
      })
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void main()
}
