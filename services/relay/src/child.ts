// The relay as a child process of the engine: the public-facing relay never runs inside the
// process that holds the box's keys. Started by the engine with Node's child_process.fork
// (headless) or Electron's utilityProcess (desktop); both give an IPC port. The engine sends
// `start` with the relay's options, then `call`s (control.ts) answered by `result`s; the relay
// reports `ready`, `event`s (rejections) and `log` lines. It stops on `stop`, SIGTERM, or when the
// engine goes away (the IPC channel closes), so it never outlives the engine.
import { startRelay, type RunningRelay } from './index'
import { relayControl, type RelayControl } from './control'
import type { RelayOptions } from './relay'
import { enginePort } from '../../shared/engine-port'

type ToChild =
  | { type: 'start'; options: Omit<RelayOptions, 'log' | 'onSecret'> & { port: number } }
  | { type: 'call'; id: number; op: keyof RelayControl; args: unknown[] }
  | { type: 'stop' }

const port = enginePort('services/relay/src/child.ts')
const secrets = new Set<string>()
const scrub = (text: string) => {
  let out = text
  for (const s of secrets) out = out.split(s).join('‹redacted›')
  return out
}
const logAt =
  (level: 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) =>
    port.send({
      type: 'log',
      level,
      msg: scrub(msg),
      ...(fields ? { fields: JSON.parse(scrub(JSON.stringify(fields))) as unknown } : {}),
    })
const log = { info: logAt('info'), warn: logAt('warn'), error: logAt('error') }

let running: RunningRelay | undefined
let control: RelayControl | undefined
let stopping = false

async function stop(code = 0): Promise<never> {
  if (!stopping) {
    stopping = true
    await running?.close().catch(() => {})
  }
  process.exit(code)
}

port.onMessage((raw) => {
  const m = raw as ToChild
  if (m.type === 'start') {
    if (running) return
    startRelay({ ...m.options, log, onSecret: (s) => secrets.add(s) }).then(
      (r) => {
        running = r
        control = relayControl(r)
        r.relay.onRejection((rejection) =>
          port.send({ type: 'event', name: 'rejection', data: rejection }),
        )
        port.send({ type: 'ready', url: r.url })
      },
      (err: NodeJS.ErrnoException) => {
        port.send({ type: 'failed', error: { message: scrub(err.message), code: err.code } })
        void stop(1)
      },
    )
  } else if (m.type === 'call') {
    try {
      if (!control) throw new Error('the relay has not started')
      const fn = control[m.op] as (...a: unknown[]) => unknown
      port.send({ type: 'result', id: m.id, ok: true, value: fn(...m.args) })
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      port.send({
        type: 'result',
        id: m.id,
        ok: false,
        error: { message: scrub(e.message), code: e.code },
      })
    }
  } else if (m.type === 'stop') void stop(0)
})
port.onClose(() => void stop(0))
process.on('SIGTERM', () => void stop(0))
process.on('SIGINT', () => void stop(0))
