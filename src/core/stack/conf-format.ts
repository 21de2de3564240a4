// Writers for the config file formats the stack's programs read: INI-style `key=value` with
// `[section]` headers (bitcoin.conf, lnd.conf) and TOML (electrs). Values are validated on the
// way in: a newline or a stray quote in a value would smuggle in another option.
export type ConfValue = string | number | boolean
export type ConfEntry = readonly [key: string, value: ConfValue]

export interface ConfSection {
  /** Omitted for the top of the file. */
  readonly name?: string
  readonly entries: readonly ConfEntry[]
}

function check(key: string, value: ConfValue): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new Error(`invalid config key ${JSON.stringify(key)}`)
  const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value)
  if (/[\r\n\0]/.test(text)) throw new Error(`config value for ${key} contains a line break`)
  return text
}

/** `key=value` lines under optional `[section]` headers. Booleans become 1/0. */
export function renderIni(header: string, sections: readonly ConfSection[]): string {
  const out: string[] = [header.trimEnd()]
  for (const s of sections) {
    if (s.entries.length === 0 && s.name) continue
    out.push('')
    if (s.name) out.push(`[${s.name}]`)
    for (const [k, v] of s.entries) out.push(`${k}=${check(k, v)}`)
  }
  return out.join('\n') + '\n'
}

/** LND's go-flags INI wants true/false rather than 1/0. */
export function renderLndIni(header: string, sections: readonly ConfSection[]): string {
  return renderIni(
    header,
    sections.map((s) => ({
      ...s,
      entries: s.entries.map(([k, v]): ConfEntry => [k, typeof v === 'boolean' ? String(v) : v]),
    })),
  )
}

function tomlString(s: string): string {
  return JSON.stringify(s) // a TOML basic string is a JSON string for the characters we allow
}

/** Flat TOML: `key = "string"` / `key = 123` / `key = true`. */
export function renderToml(header: string, entries: readonly ConfEntry[]): string {
  const out: string[] = [header.trimEnd()]
  for (const [k, v] of entries) {
    check(k, v)
    out.push(`${k} = ${typeof v === 'string' ? tomlString(v) : String(v)}`)
  }
  return out.join('\n') + '\n'
}
