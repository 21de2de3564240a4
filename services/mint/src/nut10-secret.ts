// NUT-10 well-known secrets: `[kind, {nonce, data, tags}]`, with tag validation.
// https://github.com/cashubtc/nuts/blob/main/10.md
export interface WellKnownSecret {
  kind: string
  nonce: string
  data: string
  tags: string[][]
}

/** The secret as a NUT-10 secret, undefined for a plain secret, or throws when malformed. */
export function parseWellKnownSecret(secret: string): WellKnownSecret | undefined {
  if (!secret.startsWith('[')) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(secret)
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string')
    return undefined
  const body = parsed[1] as Record<string, unknown> | null
  if (typeof body !== 'object' || body === null)
    throw new Error('NUT-10 secret body is not an object')
  if (typeof body.nonce !== 'string' || typeof body.data !== 'string')
    throw new Error('NUT-10 secret needs a string nonce and data')
  const tags = body.tags ?? []
  if (!Array.isArray(tags)) throw new Error('NUT-10 tags must be an array')
  for (const t of tags) {
    if (
      !Array.isArray(t) ||
      t.length === 0 ||
      t.some((v) => typeof v !== 'string' || v.length === 0)
    )
      throw new Error('NUT-10 tags must be non-empty arrays of non-empty strings')
  }
  return { kind: parsed[0], nonce: body.nonce, data: body.data, tags: tags as string[][] }
}
