// Every test file must end the processes it started. Each file gets a mark in the environment
// that every process it spawns inherits (spawned with `...process.env`, as every test here does);
// after the file's own afterAll hooks, any live process still carrying the mark fails the file,
// named with its command line — an orphan survives its parent, so looking for descendants would
// miss exactly the processes that leak. Linux only (/proc); elsewhere the check is skipped.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { afterAll, beforeAll } from 'vitest'
import { MARK, processesMarked } from './marked-processes'

const enabled = process.platform === 'linux' && existsSync('/proc/self/environ')
let mark = ''

beforeAll(() => {
  if (!enabled) return
  mark = randomBytes(8).toString('hex')
  process.env[MARK] = mark
})

afterAll(async () => {
  if (!enabled || !mark) return
  // Processes killed in the file's afterAll may take a moment to exit.
  const deadline = Date.now() + 10_000
  let left = processesMarked(mark)
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200))
    left = processesMarked(mark)
  }
  delete process.env[MARK]
  if (left.length > 0)
    throw new Error(
      `This test file left ${left.length} process(es) running:\n` +
        left.map((p) => `  pid ${p.pid}: ${p.command.slice(0, 300)}`).join('\n') +
        '\nEnd every process a test starts (and wait for it to exit) in afterAll.',
    )
}, 20_000)
