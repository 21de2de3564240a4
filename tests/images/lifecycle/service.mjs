// Test-only stand-in for a stack service's lifecycle (NOT bitcoind/LND: those simulators live in
// tests/simulators). It behaves like a daemon the supervisor must handle with care:
//   READY_AFTER_MS  becomes healthy (creates /tmp/ready, checked by health.mjs) after a delay
//   STOP_DELAY_MS   on SIGTERM keeps flushing this long before a clean exit 0
//   CRASH_AFTER_MS  exits with code 3 after this long (a crash)
//   PORT            serves HTTP "ok" there
//   DATA_DIR        appends `start`/`stop` lines to DATA_DIR/events.log (survives containers)
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'

const name = process.env.SERVICE_NAME ?? 'service'
const dataDir = process.env.DATA_DIR ?? '/data'
const num = (k) => (process.env[k] ? Number(process.env[k]) : undefined)
const log = (msg) => console.log(`${name}: ${msg}`)
const record = (what) => {
  try {
    mkdirSync(dataDir, { recursive: true })
    appendFileSync(`${dataDir}/events.log`, `${new Date().toISOString()} ${what}\n`)
  } catch (err) {
    console.error(`${name}: cannot write ${dataDir}: ${err.message}`)
  }
}

record('start')
log(`starting (pid ${process.pid})`)
const readyAfter = num('READY_AFTER_MS') ?? 0
setTimeout(() => {
  writeFileSync('/tmp/ready', 'ok')
  log('ready')
}, readyAfter)

const port = num('PORT')
const server = port
  ? createServer((_req, res) => res.end(`${name} ok\n`)).listen(port, '0.0.0.0')
  : undefined

const crashAfter = num('CRASH_AFTER_MS')
if (crashAfter !== undefined) {
  setTimeout(() => {
    console.error(`${name}: simulated crash`)
    record('crash')
    process.exit(3)
  }, crashAfter)
}

// Keeps the event loop alive like a daemon's main loop.
const tick = setInterval(() => {}, 60_000)

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  record('sigterm')
  log('SIGTERM received, flushing')
  setTimeout(
    () => {
      record('stop')
      log('clean shutdown')
      clearInterval(tick)
      server?.close()
      process.exit(0)
    },
    num('STOP_DELAY_MS') ?? 0,
  )
})
