// `npm start`: the headless engine (`serve`) on the project's pinned Node, with no extra setup.
// Arguments pass through (`npm start -- --port 9000`); SIGINT/SIGTERM are forwarded so the engine
// shuts down cleanly.
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')
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
