// The secret scanner of the at-rest tests: every file under a folder searched for each secret in
// its usual encodings (text; bytes as hex, HEX, base64 and raw — a database page holds raw bytes).
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export function allFiles(root: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(root)) {
    const p = join(root, name)
    if (statSync(p).isDirectory()) out.push(...allFiles(p))
    else out.push(p)
  }
  return out
}

/** Every file under `root` that holds one of the secrets: "<name> (<encoding>) in <file>". */
export function findInClear(root: string, secrets: Record<string, Uint8Array | string>): string[] {
  const needles: [string, Buffer][] = []
  for (const [name, v] of Object.entries(secrets)) {
    if (typeof v === 'string') {
      needles.push([name, Buffer.from(v)])
      continue
    }
    const b = Buffer.from(v)
    needles.push([`${name} (hex)`, Buffer.from(b.toString('hex'))])
    needles.push([`${name} (HEX)`, Buffer.from(b.toString('hex').toUpperCase())])
    needles.push([`${name} (base64)`, Buffer.from(b.toString('base64').slice(0, 40))])
    needles.push([`${name} (raw)`, b])
  }
  const hits: string[] = []
  for (const f of allFiles(root)) {
    const content = readFileSync(f)
    for (const [name, n] of needles) if (content.includes(n)) hits.push(`${name} in ${f}`)
  }
  return hits
}
