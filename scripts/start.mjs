// `npm start`: the headless engine (`serve`) on the project's pinned Node, with no extra setup.
// Arguments pass through (`npm start -- --port 9000`); SIGINT/SIGTERM are forwarded so the engine
// shuts down cleanly.
import { spawn, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')
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
const child = spawn(
  process.execPath,
  [tsx, join(root, 'src', 'cli', 'serve.ts'), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
    env: process.env,
  },
)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
