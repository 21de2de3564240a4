// Asking the running tor how far it got, over its control protocol (control-spec.txt §3.5
// AUTHENTICATE with the cookie, §3.9 GETINFO "status/bootstrap-phase" and "uptime").
// Tor listens on a Unix socket in its own data folder (torrc: ControlPort unix:…), never on a TCP
// port: tor runs on the host's network, where a TCP control port would be open to every local
// program and could clash with a port in use. The socket's folder is tor's private data folder
// (0700), and the cookie (32 random bytes tor writes at start, 0600 beside it) is asked for too.
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Where tor's control socket and cookie are on this computer. */
export interface TorControlFiles {
  readonly socket: string
  readonly cookie: string
}

/** The files in tor's data folder (`DataDirectory`) as `renderTorrc` names them. */
export function torControlFiles(torDataDir: string): TorControlFiles {
  return { socket: join(torDataDir, 'control'), cookie: join(torDataDir, 'control_auth_cookie') }
}

/** What tor says about its bootstrap: the parsed `status/bootstrap-phase` and its uptime. */
export interface TorBootstrapPhase {
  /** 0–100; 100 means tor reached the Tor network. */
  readonly progress: number
  readonly tag: string
  readonly summary: string
  /** Present when tor's last word was a problem (severity WARN/ERR). */
  readonly warning?: string
  /** Tor's reason code, e.g. NOROUTE, TIMEOUT, DONE. */
  readonly reason?: string
  /** "ignore" or "warn": whether tor itself thinks the owner should hear about it. */
  readonly recommendation?: string
  /** Seconds since this tor process started. */
  readonly uptimeSeconds: number
}

/** Keyword arguments of a control reply line: KEY=VALUE or KEY="quoted \"string\"" (§2.1). */
function keywords(line: string): Map<string, string> {
  const out = new Map<string, string>()
  const re = /([A-Z_]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g
  for (const m of line.matchAll(re))
    out.set(m[1]!, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!)
  return out
}

/** Parses `NOTICE BOOTSTRAP PROGRESS=… TAG=… SUMMARY="…" [WARNING="…" REASON=… …]`. */
export function parseBootstrapPhase(
  value: string,
  uptimeSeconds: number,
): TorBootstrapPhase | undefined {
  const m = /^(NOTICE|WARN|ERR)\s+BOOTSTRAP\s+(.*)$/.exec(value.trim())
  if (!m) return undefined
  const kw = keywords(m[2]!)
  const progress = Number(kw.get('PROGRESS'))
  if (!Number.isInteger(progress) || progress < 0 || progress > 100) return undefined
  const problem = m[1] !== 'NOTICE'
  return {
    progress,
    tag: kw.get('TAG') ?? '',
    summary: kw.get('SUMMARY') ?? '',
    ...(problem && kw.has('WARNING') ? { warning: kw.get('WARNING')! } : {}),
    ...(problem && kw.has('REASON') ? { reason: kw.get('REASON')! } : {}),
    ...(problem && kw.has('RECOMMENDATION') ? { recommendation: kw.get('RECOMMENDATION')! } : {}),
    uptimeSeconds,
  }
}

/** Why tor could not be asked: not running (no socket, nobody listening) or it answered oddly. */
export class TorControlError extends Error {
  constructor(
    message: string,
    readonly notRunning: boolean,
  ) {
    super(message)
  }
}

// sockaddr_un holds 108 bytes: a longer path is reached through a short link to it.
const MAX_SOCKET_PATH = 100

/** One short conversation with tor: authenticate, GETINFO, QUIT. Bounded by `timeoutMs`. */
export async function readTorBootstrapPhase(
  files: TorControlFiles,
  timeoutMs = 5_000,
): Promise<TorBootstrapPhase> {
  let cookie: Buffer
  try {
    cookie = readFileSync(files.cookie)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new TorControlError(`tor's control cookie cannot be read (${code})`, code === 'ENOENT')
  }
  let linkDir: string | undefined
  let path = files.socket
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    linkDir = mkdtempSync(join(tmpdir(), 'fb-tor-'))
    path = join(linkDir, 'c')
    symlinkSync(files.socket, path)
  }
  try {
    const reply = await converse(
      path,
      [`AUTHENTICATE ${cookie.toString('hex')}`, 'GETINFO status/bootstrap-phase uptime', 'QUIT'],
      timeoutMs,
    )
    const [auth, info] = reply
    if (!auth || !auth.startsWith('250'))
      throw new TorControlError(`tor refused the control cookie: ${auth ?? 'no answer'}`, false)
    const values = new Map<string, string>()
    for (const line of info ?? []) {
      const kv = /^250[- ]([a-z/-]+)=(.*)$/.exec(line)
      if (kv) values.set(kv[1]!, kv[2]!)
    }
    const uptime = Number(values.get('uptime'))
    const phase = parseBootstrapPhase(
      values.get('status/bootstrap-phase') ?? '',
      Number.isFinite(uptime) ? uptime : 0,
    )
    if (!phase) throw new TorControlError(`tor answered oddly: ${(info ?? []).join(' | ')}`, false)
    return phase
  } finally {
    if (linkDir) rmSync(linkDir, { recursive: true, force: true })
  }
}

/**
 * Sends each command and collects its reply lines (a reply ends with "NNN " — §2.3); the first
 * element holds the first reply as one string, the second the second reply's lines.
 */
function converse(
  path: string,
  commands: string[],
  timeoutMs: number,
): Promise<[string, string[]]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path })
    const replies: string[][] = []
    let current: string[] = []
    let buf = ''
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new TorControlError('tor did not answer on its control socket in time', false))
    }, timeoutMs)
    const finish = (err?: Error) => {
      clearTimeout(timer)
      sock.destroy()
      if (err) reject(err)
      else resolve([replies[0]?.join('\n') ?? '', replies[1] ?? []])
    }
    sock.setEncoding('utf8')
    sock.on('connect', () => sock.write(commands.map((c) => `${c}\r\n`).join('')))
    sock.on('data', (chunk: string) => {
      buf += chunk
      let nl: number
      while ((nl = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 2)
        current.push(line)
        if (/^\d{3} /.test(line)) {
          replies.push(current)
          current = []
          // A refused AUTHENTICATE closes the connection; stop at the first non-250 reply.
          if (!line.startsWith('250') || replies.length === commands.length) return finish()
        }
      }
    })
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const down = err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
      finish(new TorControlError(`tor's control socket: ${err.code ?? err.message}`, down))
    })
    sock.on('close', () => finish())
  })
}
