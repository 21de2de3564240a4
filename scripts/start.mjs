// `npm start`: the headless engine (`serve`) on the project's pinned Node, with no extra setup.
// Arguments pass through (`npm start -- --port 9000`). Stopping `npm start` stops the engine:
// SIGINT/SIGTERM/SIGHUP are forwarded to it, and so is the end of our parent — npm runs this
// script under `sh -c`, and when npm forwards SIGTERM the shell dies without passing it on, so
// the signal never reaches us; a parent that is gone is taken as SIGTERM.
import { spawn, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')
const parent = process.ppid
// The web UI is built on first start (and again when its sources changed), so `npm start` on a
// fresh checkout serves a complete app with no extra step.
const built = spawnSync(
  process.execPath,
  [tsx, join(root, 'scripts', 'build-renderer.ts'), '--if-stale'],
  {
    cwd: root,
    stdio: 'inherit',
  },
)
if (built.status !== 0) {
  console.error('Flash Box: building the user interface failed; the engine starts without it.')
}
// The engine is our direct child (tsx as a loader, not its CLI, which would add a process that
// signals must cross).
const child = spawn(
  process.execPath,
  ['--import', 'tsx', join(root, 'src', 'cli', 'serve.ts'), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
    env: process.env,
  },
)
let forwarded = false
const forward = (sig) => {
  forwarded = true
  if (child.exitCode === null && child.signalCode === null) child.kill(sig)
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => forward(sig))
const orphaned = setInterval(() => {
  if (process.ppid !== parent && !forwarded) forward('SIGTERM')
}, 500)
orphaned.unref()
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
