// The mint as a child process of the engine: the public-facing mint never runs inside the process
// that holds the box's other keys. Started by the engine with Node's child_process.fork
// (headless) or Electron's utilityProcess (desktop); both give an IPC port. The engine sends
// `start` with startMint's options, then `call`s (control.ts) answered by `result`s; the mint
// reports `ready`, `event`s (changed quotes) and `log` lines (secrets masked here, in the mint's
// process). It stops on `stop`, SIGTERM, or when the engine goes away (the IPC channel closes).
import { mintControl, followQuotes, type MintControl } from './control'
import { startMint, type RunningMint, type StartMintOptions } from './index'
import { scrub, type Logger } from './log'
import { enginePort } from '../../shared/engine-port'

// `start` carries the secrets the engine hands over, never in the environment or the command
// line: `seedPassphrase`, and `internalSettlementKey` (hex) with `internalSettlementUrl` for
// internal settlement with the box (README "Internal settlement").
type ToChild =
  | { type: 'start'; options: Omit<StartMintOptions, 'log' | 'store'> }
  | { type: 'call'; id: number; op: keyof MintControl; args: unknown[] }
  | { type: 'stop' }

const port = enginePort('services/mint/src/child.ts')

function portLogger(scope: string): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (msg: string, fields?: Record<string, unknown>) => {
      if (level === 'debug') return
      port.send({
        type: 'log',
        level,
        msg: scrub(msg),
        ...(fields ? { fields: JSON.parse(scrub(JSON.stringify(fields))) as unknown } : {}),
      })
    }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (s) => portLogger(`${scope}:${s}`),
  }
}

let running: RunningMint | undefined
let control: MintControl | undefined
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
    startMint({ ...m.options, log: portLogger('mint') }).then(
      (r) => {
        running = r
        control = mintControl(r)
        followQuotes(r, (e) => port.send({ type: 'event', name: 'quote', data: e }))
        port.send({ type: 'ready', url: r.url })
      },
      (err: NodeJS.ErrnoException) => {
        port.send({ type: 'failed', error: { message: scrub(err.message), code: err.code } })
        void stop(1)
      },
    )
  } else if (m.type === 'call') {
    void (async () => {
      try {
        if (!control) throw new Error('the mint has not started')
        const fn = control[m.op] as (...a: unknown[]) => unknown
        port.send({ type: 'result', id: m.id, ok: true, value: await fn(...m.args) })
      } catch (err) {
        const e = err as NodeJS.ErrnoException
        port.send({
          type: 'result',
          id: m.id,
          ok: false,
          error: { message: scrub(e.message), code: e.code },
        })
      }
    })()
  } else if (m.type === 'stop') void stop(0)
})
port.onClose(() => void stop(0))
process.on('SIGTERM', () => void stop(0))
process.on('SIGINT', () => void stop(0))
