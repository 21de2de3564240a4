// The box's own public-facing services (relay, mint) run as their own processes, never inside the
// engine that holds the keys. A ServiceProcess starts one (through a launcher: Node's
// child_process.fork headless, Electron's utilityProcess in the desktop app — src/main adapts it),
// talks to it over its IPC port (`start`, `call` → `result`, `event`, `log`), and restarts it with
// a growing delay if it dies. Its state (pid, restarts, last exit) is what the dashboard shows.
import { fork } from 'node:child_process'
import { FlashError } from '../errors'
import type { Logger } from '../log'

/** One started child process, as a launcher hands it over. */
export interface ServiceChannel {
  readonly pid: number | undefined
  send(message: unknown): void
  onMessage(fn: (message: unknown) => void): void
  onExit(fn: (code: number | null, signal: string | null) => void): void
  kill(signal?: NodeJS.Signals): void
}

export interface ServiceLaunch {
  /** 'relay' | 'mint' — names the process (Electron's serviceName, logs). */
  readonly name: string
  /** The service's child entry as a file path (services/<name>/src/child.ts in a checkout). */
  readonly entry: string
}

export type ServiceLauncher = (launch: ServiceLaunch) => ServiceChannel

/** Headless: a Node child process (TypeScript sources through tsx's loader). */
export const nodeServiceLauncher: ServiceLauncher = ({ entry }) => {
  const child = fork(entry, [], {
    execArgv: entry.endsWith('.ts') ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  })
  return {
    get pid() {
      return child.pid
    },
    send: (m) => {
      if (child.connected) child.send(m as object)
    },
    onMessage: (fn) => child.on('message', fn),
    onExit: (fn) => child.once('exit', (code, signal) => fn(code, signal)),
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
  }
}

export interface ServiceProcessState {
  readonly running: boolean
  readonly pid?: number
  /** How often it was restarted after dying on its own. */
  readonly restarts: number
  readonly lastExit?: {
    readonly code: number | null
    readonly signal: string | null
    readonly at: string
  }
}

export interface ServiceProcessOptions {
  readonly launch: ServiceLaunch
  readonly launcher?: ServiceLauncher
  readonly log: Logger
  /** The `start` message's options (read again on every (re)start). */
  readonly startOptions: () => unknown
  /** Named events from the service (e.g. the relay's rejections). */
  readonly onEvent?: (name: string, data: unknown) => void
  /** After every start, death and restart (the module republishes its status). */
  readonly onState?: (state: ServiceProcessState) => void
  /** Restart delays: base × 2^n, at most max (ms). */
  readonly restartBaseMs?: number
  readonly restartMaxMs?: number
  /** How long a start or a call may take (ms). */
  readonly timeoutMs?: number
}

type FromChild =
  | { type: 'ready'; url: string }
  | { type: 'failed'; error: { message: string; code?: string } }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: { message: string; code?: string } }
  | { type: 'event'; name: string; data: unknown }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }

/** An error from the service's own process, with the errno-style code it reported. */
export class ServiceError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

export class ServiceProcess {
  private channel: ServiceChannel | undefined
  private url: string | undefined
  private nextId = 1
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >()
  private restarts = 0
  private lastExit: ServiceProcessState['lastExit']
  private restartTimer: NodeJS.Timeout | undefined
  private wanted = false
  private readonly launcher: ServiceLauncher

  constructor(private readonly opts: ServiceProcessOptions) {
    this.launcher = opts.launcher ?? nodeServiceLauncher
  }

  get state(): ServiceProcessState {
    return {
      running: this.url !== undefined,
      ...(this.url && this.channel?.pid ? { pid: this.channel.pid } : {}),
      restarts: this.restarts,
      ...(this.lastExit ? { lastExit: this.lastExit } : {}),
    }
  }

  /** The URL the service listens on, while it runs. */
  get serviceUrl(): string | undefined {
    return this.url
  }

  /** Start the process and wait until the service listens; throws ServiceError if it cannot. */
  async start(): Promise<string> {
    this.wanted = true
    return this.spawn()
  }

  private spawn(): Promise<string> {
    const ch = this.launcher(this.opts.launch)
    this.channel = ch
    const log = this.opts.log
    return new Promise<string>((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => {
        if (settled) return
        settled = true
        ch.kill('SIGKILL')
        reject(new ServiceError(`${this.opts.launch.name} did not start in time`, 'ETIMEDOUT'))
      }, this.opts.timeoutMs ?? 60_000)
      ch.onMessage((raw) => {
        const m = raw as FromChild
        switch (m.type) {
          case 'ready':
            this.url = m.url
            if (!settled) {
              settled = true
              clearTimeout(timer)
              resolve(m.url)
            }
            this.opts.onState?.(this.state)
            break
          case 'failed':
            if (!settled) {
              settled = true
              clearTimeout(timer)
              reject(new ServiceError(m.error.message, m.error.code))
            }
            break
          case 'result': {
            const p = this.pending.get(m.id)
            if (!p) break
            this.pending.delete(m.id)
            clearTimeout(p.timer)
            if (m.ok) p.resolve(m.value)
            else p.reject(new ServiceError(m.error.message, m.error.code))
            break
          }
          case 'event':
            this.opts.onEvent?.(m.name, m.data)
            break
          case 'log':
            log[m.level](m.msg, m.fields)
            break
        }
      })
      ch.onExit((code, signal) => {
        const wasRunning = this.url !== undefined
        if (this.channel === ch) {
          this.channel = undefined
          this.url = undefined
        }
        this.lastExit = { code, signal, at: new Date().toISOString() }
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer)
          p.reject(new ServiceError(`${this.opts.launch.name} stopped`, 'ESRCH'))
          this.pending.delete(id)
        }
        if (!settled) {
          settled = true
          clearTimeout(timer)
          reject(new ServiceError(`${this.opts.launch.name} exited (${signal ?? code})`, 'ECHILD'))
          return
        }
        this.opts.onState?.(this.state)
        if (this.wanted && wasRunning) this.scheduleRestart(code, signal)
      })
      ch.send({ type: 'start', options: this.opts.startOptions() })
    })
  }

  private scheduleRestart(code: number | null, signal: string | null): void {
    const delay = Math.min(
      (this.opts.restartBaseMs ?? 500) * 2 ** Math.min(this.restarts, 10),
      this.opts.restartMaxMs ?? 30_000,
    )
    this.opts.log.warn(`${this.opts.launch.name} process died; restarting`, {
      code,
      signal,
      inMs: delay,
    })
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined
      if (!this.wanted) return
      this.restarts++
      this.spawn().catch((err: Error) => {
        this.opts.log.error(`${this.opts.launch.name} could not restart`, { error: err.message })
        this.opts.onState?.(this.state)
        if (this.wanted) this.scheduleRestart(null, null)
      })
    }, delay)
    this.restartTimer.unref()
  }

  /** Ask the running service; rejects with ServiceError (or FlashError if it is not running). */
  call<T>(op: string, ...args: unknown[]): Promise<T> {
    const ch = this.channel
    if (!ch || !this.url)
      return Promise.reject(
        new FlashError(
          `${this.opts.launch.name}.not_running`,
          `The ${this.opts.launch.name} is not running.`,
          'It restarts by itself; try again in a moment.',
        ),
      )
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new ServiceError(`${this.opts.launch.name} did not answer`, 'ETIMEDOUT'))
      }, this.opts.timeoutMs ?? 60_000)
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
      ch.send({ type: 'call', id, op, args })
    })
  }

  /** Stop the process (SIGTERM after a `stop` message; SIGKILL if it lingers) and wait for it. */
  async stop(graceMs = 10_000): Promise<void> {
    this.wanted = false
    if (this.restartTimer) clearTimeout(this.restartTimer)
    this.restartTimer = undefined
    const ch = this.channel
    if (!ch) return
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => ch.kill('SIGKILL'), graceMs)
      ch.onExit(() => {
        clearTimeout(kill)
        resolve()
      })
      ch.send({ type: 'stop' })
      ch.kill('SIGTERM')
    })
    this.channel = undefined
    this.url = undefined
  }
}
