// BIP329 wallet labels (https://github.com/bitcoin/bips/blob/master/bip-0329.mediawiki): one JSON
// object per line, {type, ref, label, origin?, spendable?}. The wallet writes `tx`, `addr`,
// `output` (with `spendable: false` for a frozen coin) and one `xpub` line naming the account;
// it reads every type and keeps the ones it shows (tx, addr, output), counting the rest as skipped.
import { z } from 'zod'
import type { Bip329Record } from './types'

const RecordSchema = z.object({
  type: z.enum(['tx', 'addr', 'pubkey', 'input', 'output', 'xpub']),
  ref: z.string().min(1).max(256),
  label: z.string().max(255).optional(),
  origin: z.string().max(1024).optional(),
  spendable: z.boolean().optional(),
})

export function exportBip329(records: readonly Bip329Record[]): string {
  return records
    .map((r) => {
      const o: Record<string, unknown> = { type: r.type, ref: r.ref }
      if (r.label !== undefined) o.label = r.label
      if (r.origin !== undefined) o.origin = r.origin
      if (r.type === 'output' && r.spendable !== undefined) o.spendable = r.spendable
      return JSON.stringify(o)
    })
    .join('\n')
    .concat(records.length ? '\n' : '')
}

export interface Bip329Import {
  readonly records: readonly Bip329Record[]
  /** Lines that are not valid BIP329 records (bad JSON, unknown type, wrong fields). */
  readonly invalid: number
}

/** Parses BIP329 JSON Lines; invalid lines are counted, never fatal (the spec says to skip them). */
export function parseBip329(jsonl: string): Bip329Import {
  const records: Bip329Record[] = []
  let invalid = 0
  for (const line of jsonl.split(/\r?\n/)) {
    if (!line.trim()) continue
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch {
      invalid++
      continue
    }
    const r = RecordSchema.safeParse(json)
    if (!r.success) {
      invalid++
      continue
    }
    const { type, ref, label, origin, spendable } = r.data
    records.push({
      type,
      ref,
      ...(label !== undefined ? { label } : {}),
      ...(origin !== undefined ? { origin } : {}),
      ...(spendable !== undefined ? { spendable } : {}),
    })
  }
  return { records, invalid }
}
