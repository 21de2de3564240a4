// SIMULATOR harness — the REAL PC/SC stack for tests: Debian's pcscd (pcsc-lite) in the
// foreground with its own reader.conf.d naming only vsmartcard's vpcd driver on a free port, so a
// virtual card (ntag424-card-process.ts, in a process of its own) can connect as vpicc and every
// PC/SC client (the box's `smartcard` binding) sees a reader with a card on it.
//
// pcscd's socket and pid file are fixed at build time (/run/pcscd), so two pcscd cannot share a
// machine. Where it may (root, as in CI), each pcscd here runs in a mount namespace of its own with
// a private directory over /run/pcscd, and this process's PC/SC clients are pointed at its socket
// (PCSCLITE_CSOCK_NAME, read by libpcsclite on its first call): test runs side by side, or a
// system pcscd, do not meet. Otherwise it uses /run/pcscd and refuses to start when another pcscd
// is alive. pcscd's output goes to a file, never through this process's event loop.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const VPCD_DRIVER = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so'
const RUN_DIR = '/run/pcscd'
const PID_FILE = `${RUN_DIR}/pcscd.pid`

export interface PcscdVpcd {
  /** vpcd's port for the first slot (the virtual card connects here). */
  readonly port: number
  /** The PC/SC name of that slot's reader. */
  readonly readerName: string
  /** pcscd's client socket (also set as PCSCLITE_CSOCK_NAME in this process). */
  readonly socket: string
  /** pcscd's process id (tests stop or kill it to see how the box copes). */
  readonly pid: number
  /** pcscd's output so far (for failure messages). */
  log(): string
  stop(): Promise<void>
}

/** Why the PC/SC stack cannot run here, or undefined when it can. */
export function pcscUnavailableReason(): string | undefined {
  if (!existsSync('/usr/sbin/pcscd')) return 'pcscd is not installed (apt-get install pcscd)'
  if (!existsSync(VPCD_DRIVER)) return 'vpcd is not installed (apt-get install vsmartcard-vpcd)'
  return undefined
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** True when pcscd can get a /run/pcscd of its own (a private mount namespace). */
function canIsolate(): boolean {
  if (process.getuid?.() !== 0) return false
  mkdirSync(RUN_DIR, { recursive: true })
  return spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ port, host: '127.0.0.1' })
    c.once('connect', () => {
      // Not a card: leave at once (vpcd treats the connection as a card until it closes).
      c.destroy()
      resolve(true)
    })
    c.once('error', () => resolve(false))
  })
}

export async function startPcscdWithVpcd(): Promise<PcscdVpcd> {
  const why = pcscUnavailableReason()
  if (why) throw new Error(why)
  const isolated = canIsolate()
  if (!isolated && existsSync(PID_FILE)) {
    const pid = Number(readFileSync(PID_FILE, 'utf8').trim())
    if (pid > 0 && alive(pid))
      throw new Error(`another pcscd (pid ${pid}) is running; pcscd can run only once per machine`)
  }
  // vpcd opens two slots, on `port` and `port + 1`.
  let port = 0
  for (let i = 0; i < 20 && !port; i++) {
    const p = await freePort()
    if (p < 65535 && (await portFree(p + 1))) port = p
  }
  if (!port) throw new Error('no two free ports for vpcd')
  const dir = mkdtempSync(join(tmpdir(), 'flashbox-pcscd-'))
  const confDir = join(dir, 'reader.conf.d')
  const runDir = join(dir, 'run')
  mkdirSync(confDir)
  mkdirSync(runDir)
  const friendly = 'Flash Box test vpcd'
  writeFileSync(
    join(confDir, 'vpcd'),
    [
      `FRIENDLYNAME "${friendly}"`,
      `DEVICENAME   /dev/null:0x${port.toString(16)}`,
      `LIBPATH      ${VPCD_DRIVER}`,
      `CHANNELID    0x${port.toString(16)}`,
      '',
    ].join('\n'),
  )
  const logFile = join(dir, 'pcscd.log')
  const logFd = openSync(logFile, 'w')
  const pcscd = ['pcscd', '--foreground', '--info', '--config', confDir]
  const child: ChildProcess = isolated
    ? spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          `mount --bind "$0" ${RUN_DIR} && exec "$@"`,
          runDir,
          ...pcscd,
        ],
        { env: { ...process.env }, stdio: ['ignore', logFd, logFd] },
      )
    : spawn(pcscd[0]!, pcscd.slice(1), { env: { ...process.env }, stdio: ['ignore', logFd, logFd] })
  closeSync(logFd)
  const socket = isolated ? join(runDir, 'pcscd.comm') : `${RUN_DIR}/pcscd.comm`
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8')
    } catch {
      return ''
    }
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT')
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(t)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 15_000
  while (!(log().includes('daemon ready') && (await listening(port)))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const out = log()
      await stop()
      throw new Error(`pcscd did not start with vpcd on port ${port}:\n${out.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  process.env.PCSCLITE_CSOCK_NAME = socket
  return { port, readerName: `${friendly} 00 00`, socket, pid: child.pid!, log, stop }
}
