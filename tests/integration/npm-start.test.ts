// `npm start` stops when npm is told to stop: SIGTERM to npm ends the engine and every process
// under it (npm → sh → scripts/start.mjs → serve). Docker is unreachable here on purpose.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const dataDir = mkdtempSync(join(tmpdir(), 'flashbox-npm-start-'))
let npm: ChildProcess | undefined

/** Live (non-zombie) processes in a process group. */
function groupMembers(pgid: number): { pid: number; command: string }[] {
  const out: { pid: number; command: string }[] = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      // Fields after "(comm)": state ppid pgrp …
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(pgrp) !== pgid || state === 'Z') continue
      out.push({ pid, command: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') })
    } catch {
      // gone meanwhile
    }
  }
  return out
}

afterAll(async () => {
  // Whatever the outcome, nothing of this test keeps running.
  if (npm?.pid) {
    for (const p of groupMembers(npm.pid)) {
      try {
        process.kill(p.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  rmSync(dataDir, { recursive: true, force: true })
})

describe.runIf(process.platform === 'linux')('npm start', () => {
  it('stops the engine when npm gets SIGTERM', async () => {
    npm = spawn('npm', ['start', '--', '--data-dir', dataDir, '--port', '0'], {
      cwd: root,
      // Its own process group, so the test can see every process under npm (also orphans).
      detached: true,
      env: {
        ...process.env,
        DOCKER_HOST: 'unix:///nonexistent/flashbox-test.sock',
        FLASHBOX_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const pgid = npm.pid!
    let out = ''
    npm.stdout!.on('data', (d) => (out += String(d)))
    npm.stderr!.on('data', (d) => (out += String(d)))
    const url = await new Promise<string>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`npm start did not come up:\n${out}`)), 150_000)
      const look = () => {
        const m = /Flash Box: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
        if (m) {
          clearTimeout(t)
          res(m[1]!)
        }
      }
      npm!.stdout!.on('data', look)
      npm!.once('exit', (code) => rej(new Error(`npm start exited with ${code}:\n${out}`)))
    })
    expect((await fetch(`${url}/`)).status).toBeLessThan(500)
    expect(groupMembers(pgid).some((p) => p.command.includes('src/cli/serve.ts'))).toBe(true)

    npm.kill('SIGTERM')
    await expect
      .poll(() => groupMembers(pgid).map((p) => p.command), { timeout: 30_000, interval: 250 })
      .toEqual([])
    await expect(fetch(`${url}/`)).rejects.toThrow()
  })
})
