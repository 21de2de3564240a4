// The leftover-process check finds a process a test started and did not end, also once its
// parent is gone (an orphan, as the relay of the SIGKILL durability test was).
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { MARK, processesMarked } from '../setup/marked-processes'

const waitExit = (pid: number) =>
  expect
    .poll(
      () => {
        try {
          process.kill(pid, 0)
          return true
        } catch {
          return false
        }
      },
      { timeout: 5000 },
    )
    .toBe(false)

describe.runIf(process.platform === 'linux')('marked processes', () => {
  it('finds an orphaned grandchild by its mark, and no longer once it has ended', async () => {
    const mark = `probe-${process.pid}-${Date.now()}`
    // A shell that starts `sleep` in the background and exits at once: the sleep is orphaned.
    const sh = spawn('sh', ['-c', 'sleep 30 & echo $!'], {
      env: { ...process.env, [MARK]: mark },
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    let out = ''
    sh.stdout.on('data', (d) => (out += String(d)))
    await new Promise((r) => sh.once('exit', r))
    const pid = Number(out.trim())
    expect(pid).toBeGreaterThan(0)
    const found = processesMarked(mark)
    expect(found.map((p) => p.pid)).toEqual([pid])
    expect(found[0]!.command).toBe('sleep 30')
    expect(processesMarked('some-other-mark')).toEqual([])
    process.kill(pid, 'SIGKILL')
    await waitExit(pid)
    expect(processesMarked(mark)).toEqual([])
  })
})
