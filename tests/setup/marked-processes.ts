// Processes carrying a mark in their environment (tests/setup/no-leftover-processes.ts).
import { readFileSync, readdirSync } from 'node:fs'

export const MARK = 'FLASHBOX_TEST_PROCESS_MARK'

export interface MarkedProcess {
  readonly pid: number
  readonly command: string
}

/** Live processes of this user whose environment carries `MARK=value`. */
export function processesMarked(value: string): MarkedProcess[] {
  const needle = Buffer.from(`\0${MARK}=${value}\0`)
  const out: MarkedProcess[] = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    let env: Buffer
    let stat: string
    try {
      env = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${pid}/environ`)])
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      continue // gone, or another user's
    }
    if (!env.includes(needle)) continue
    // A zombie has exited; its parent only has not reaped it yet.
    if (/^\d+ \(.*\) Z /s.test(stat)) continue
    let command: string
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
    } catch {
      continue
    }
    // esbuild's long-lived service belongs to a bundler library inside this worker (vite, tsx's
    // API) and ends with it; it is not a process a test started.
    if (/\besbuild\b.*--service=/.test(command)) continue
    out.push({ pid, command })
  }
  return out
}
