// The desktop app starts the box's own services (relay, mint) as Electron utility processes: their
// own OS processes, sandboxed from the window, with a message port to the engine. The bundled
// child entries are built beside the main process (electron.vite.config.ts: `<name>-service.js`).
// Electron itself is passed in, so only src/main/index.ts imports it.
import { join } from 'node:path'
import type { ServiceChannel, ServiceLauncher } from '../core/services/service-process'

/** The part of Electron's `utilityProcess` used here. */
export interface UtilityProcessApi {
  fork(
    modulePath: string,
    args?: string[],
    options?: { serviceName?: string; stdio?: 'inherit' | 'pipe' | 'ignore' },
  ): UtilityChild
}

export interface UtilityChild {
  readonly pid: number | undefined
  postMessage(message: unknown): void
  on(event: 'message', fn: (message: unknown) => void): unknown
  once(event: 'exit', fn: (code: number) => void): unknown
  kill(): boolean
}

export function utilityProcessLauncher(
  utilityProcess: UtilityProcessApi,
  mainDir: string,
): ServiceLauncher {
  return ({ name }) => {
    const child = utilityProcess.fork(join(mainDir, `${name}-service.js`), [], {
      serviceName: `Flash Box ${name}`,
      stdio: 'inherit',
    })
    let exited = false
    child.once('exit', () => (exited = true))
    const channel: ServiceChannel = {
      get pid() {
        return child.pid
      },
      send: (m) => {
        if (!exited) child.postMessage(m)
      },
      onMessage: (fn) => void child.on('message', fn),
      // Electron reports the exit code only; a kill shows as a non-zero code.
      onExit: (fn) => void child.once('exit', (code) => fn(code, null)),
      kill: () => {
        if (!exited) child.kill()
      },
    }
    return channel
  }
}
