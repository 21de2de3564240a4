// The channel between a service running as the engine's child and the engine: Electron's
// utilityProcess (desktop) gives `process.parentPort`; Node's child_process.fork (headless) gives
// `process.send` and an IPC channel. Either way the service sends and receives plain messages,
// and learns when the engine has gone (so it never outlives it).

export interface EnginePort {
  send(message: unknown): void
  onMessage(fn: (message: unknown) => void): void
  /** Called when the engine goes away (the IPC channel closes). */
  onClose(fn: () => void): void
}

/** The port to the engine; throws (naming `file`) when this process was not started by one. */
export function enginePort(file: string): EnginePort {
  const utility = (
    process as unknown as {
      parentPort?: {
        postMessage(m: unknown): void
        on(ev: 'message', fn: (e: { data: unknown }) => void): void
      }
    }
  ).parentPort
  if (utility)
    return {
      send: (m) => utility.postMessage(m),
      onMessage: (fn) => utility.on('message', (e) => fn(e.data)),
      // Electron ends a utility process with the app.
      onClose: () => {},
    }
  if (process.send)
    return {
      send: (m) => {
        if (process.connected) process.send!(m)
      },
      onMessage: (fn) => process.on('message', fn),
      onClose: (fn) => process.on('disconnect', fn),
    }
  throw new Error(`${file} runs only as a child process of the engine`)
}
