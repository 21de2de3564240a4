// The mint's own logging, so the service stands alone (it runs as its own process and container):
// one line per entry on stdout, secrets masked. Known secret values (the seed, its passphrase,
// LND's macaroon) are registered with `redact()` and replaced wherever they appear; fields whose
// names look secret are masked too. The engine's Logger (src/core/log.ts) fits this interface.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(scope: string): Logger
}

const secretValues = new Set<string>()
const SECRET_KEY = /pass(word)?|secret|seed|mnemonic|macaroon|privkey|private_?key|token/i

/** Register a secret value so it is masked in every log line of this process from now on. */
export function redact(secret: string): void {
  if (secret.length >= 6) secretValues.add(secret)
}

export function scrub(text: string): string {
  let out = text
  for (const s of secretValues) if (out.includes(s)) out = out.split(s).join('‹redacted›')
  return out
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

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/** Lines `<time> <level> [<scope>] <message> <fields as JSON>` on stdout, from `level` up. */
export function createLogger(scope = 'mint', level?: LogLevel): Logger {
  const min = order[level ?? (process.env.FLASHBOX_LOG_LEVEL as LogLevel) ?? 'info'] ?? 20
  const write = (l: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[l] < min) return
    const f = fields && Object.keys(fields).length ? ' ' + JSON.stringify(scrubFields(fields)) : ''
    process.stdout.write(`${new Date().toISOString()} ${l} [${scope}] ${scrub(msg)}${f}\n`)
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (s) => createLogger(`${scope}:${s}`, level),
  }
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
}
