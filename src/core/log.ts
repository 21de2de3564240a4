// Structured logging with secret redaction. Secrets (seeds, macaroons, passwords, mint keys,
// nsec) must never reach a log line: known secret values are registered with `redact()` and
// replaced wherever they appear; fields whose names look secret are masked too.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(scope: string): Logger
}

const secretValues = new Set<string>()
const SECRET_KEY =
  /pass(word)?|secret|seed|mnemonic|macaroon|nsec|privkey|private_?key|token|rpcauth|cookie/i

/** Register a secret value so it is masked in every log line from now on. */
export function redact(secret: string): void {
  if (secret.length >= 6) secretValues.add(secret)
}

export function scrub(text: string): string {
  let out = text
  for (const s of secretValues) if (out.includes(s)) out = out.split(s).join('‹redacted›')
  return out.replace(/nsec1[02-9ac-hj-np-z]{20,}/g, 'nsec1‹redacted›')
}

function scrubFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = '‹redacted›'
    else if (typeof v === 'string') out[k] = scrub(v)
    else if (v instanceof Error) out[k] = scrub(v.message)
    else out[k] = v
  }
  return out
}

export interface LogSink {
  (line: {
    level: LogLevel
    scope: string
    msg: string
    time: string
    fields?: Record<string, unknown>
  }): void
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface RecentLogLine {
  readonly level: LogLevel
  readonly scope: string
  readonly msg: string
  readonly time: string
  readonly fields?: Record<string, unknown>
}

// The last lines of this process's log (already scrubbed), for Settings → Diagnostics and the
// support bundle: a bounded ring, so a long-running box never grows it.
const RECENT_MAX = 2000
const recent: RecentLogLine[] = []

function remember(line: RecentLogLine): void {
  recent.push(line)
  if (recent.length > RECENT_MAX) recent.splice(0, recent.length - RECENT_MAX)
}

/** The most recent log lines at `min` level or above, oldest first. */
export function recentLogLines(min: LogLevel = 'info', limit = RECENT_MAX): RecentLogLine[] {
  const out = recent.filter((l) => order[l.level] >= order[min])
  return out.slice(Math.max(0, out.length - limit))
}

export function createLogger(
  scope = 'flashbox',
  opts: { level?: LogLevel; sink?: LogSink } = {},
): Logger {
  const min = order[opts.level ?? (process.env.FLASHBOX_LOG_LEVEL as LogLevel) ?? 'info'] ?? 20
  const sink: LogSink =
    opts.sink ??
    ((line) => {
      const f =
        line.fields && Object.keys(line.fields).length ? ' ' + JSON.stringify(line.fields) : ''
      const out = `${line.time} ${line.level.padEnd(5)} [${line.scope}] ${line.msg}${f}\n`
      ;(line.level === 'error' || line.level === 'warn' ? process.stderr : process.stdout).write(
        out,
      )
    })
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return
    const line = {
      level,
      scope,
      msg: scrub(msg),
      time: new Date().toISOString(),
      ...(fields ? { fields: scrubFields(fields) } : {}),
    }
    remember(line)
    sink(line)
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (s) => createLogger(`${scope}:${s}`, { ...opts, level: opts.level ?? undefined }),
  }
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
}
