// The support bundle: what someone helping the owner needs (versions, Docker, settings, service
// states, alerts, the services' configuration and the recent log), in one JSON file — with every
// secret the box holds taken out. Redaction does not trust that secrets were kept out upstream:
// it reads every secret file the box has (0600 files and `secrets/` folders, in the engine's folder
// and the services' data folder) and removes each value wherever it appears, then removes
// private-key shapes (PEM keys, nsec, ncryptsec) by pattern.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { scrub } from '../log'

const MIN_SECRET_LENGTH = 12
const MAX_FILE_BYTES = 1024 * 1024
const MAX_FILES = 5000
/** Files that are 0600 for privacy but hold no secret values (and whose words must stay). */
const NOT_SECRET = new Set(['settings.json', 'desired-state.json', 'manifest.json'])
/** Big data folders no secret lives in. */
const SKIP_DIRS = new Set(['blocks', 'chainstate', 'indexes', 'graph', 'node_modules'])

export const REDACTED = '‹redacted›'

function stringsIn(value: unknown, out: Set<string>): void {
  if (typeof value === 'string') {
    if (value.length >= MIN_SECRET_LENGTH) out.add(value)
    // PEM and multi-line values: each long line too (a log may show one line of it).
    for (const line of value.split(/\r?\n/))
      if (line.trim().length >= MIN_SECRET_LENGTH) out.add(line.trim())
  } else if (Array.isArray(value)) for (const v of value) stringsIn(v, out)
  else if (value && typeof value === 'object')
    for (const v of Object.values(value)) stringsIn(v, out)
}

function secretValuesOfFile(path: string, out: Set<string>): void {
  let buf: Buffer
  try {
    buf = readFileSync(path)
  } catch {
    return
  }
  const text = buf.toString('utf8')
  if (text.includes('\uFFFD')) {
    // Binary (a macaroon, a key): it could only appear encoded.
    out.add(buf.toString('hex'))
    out.add(buf.toString('base64'))
    return
  }
  try {
    stringsIn(JSON.parse(text), out)
  } catch {
    stringsIn(text, out)
    // key=value files (rpcauth, passwords in conf files): the values on their own.
    for (const m of text.matchAll(/^[^=#\n]+=(.+)$/gm)) stringsIn(m[1]!.trim(), out)
  }
}

/** Every secret value found in the box's secret files under these folders. */
export function collectSecretValues(roots: readonly string[]): Set<string> {
  const out = new Set<string>()
  let files = 0
  const walk = (dir: string, depth: number, inSecrets: boolean) => {
    if (depth > 5 || files > MAX_FILES) return
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const path = join(dir, e.name)
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(path, depth + 1, inSecrets || e.name === 'secrets')
        continue
      }
      if (!e.isFile() || NOT_SECRET.has(e.name)) continue
      files++
      let st
      try {
        st = statSync(path)
      } catch {
        continue
      }
      if (st.size > MAX_FILE_BYTES) continue
      const private0600 = (st.mode & 0o077) === 0
      if (
        inSecrets ||
        private0600 ||
        /\.(key|macaroon|pem|cookie)$/.test(e.name) ||
        basename(path) === '.cookie'
      )
        secretValuesOfFile(path, out)
    }
  }
  for (const r of new Set(roots)) walk(r, 0, false)
  return out
}

const PATTERNS: readonly RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /nsec1[02-9ac-hj-np-z]{20,}/g,
  /ncryptsec1[02-9ac-hj-np-z]{20,}/g,
]

/** `text` with every secret value and private-key shape replaced; and how many were found. */
export function redactSecrets(
  text: string,
  secrets: ReadonlySet<string>,
): { text: string; removed: number } {
  let removed = 0
  // Key shapes first: a value pass could cut a PEM block's BEGIN line and hide the rest from it.
  let out = text
  for (const re of PATTERNS) {
    out = out.replace(re, () => {
      removed++
      return REDACTED
    })
  }
  out = scrub(out)
  const longestFirst = [...secrets].sort((a, b) => b.length - a.length)
  for (const s of longestFirst) {
    // JSON.stringify escapes some characters: look for the escaped form too.
    for (const form of new Set([s, JSON.stringify(s).slice(1, -1)])) {
      if (out.includes(form)) {
        out = out.split(form).join(REDACTED)
        removed++
      }
    }
  }
  return { text: out, removed }
}
