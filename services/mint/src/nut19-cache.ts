// NUT-19 cached responses: a replayed swap/mint/melt gets the stored response instead of an
// error, so a wallet that lost the answer to a network cut recovers it. The key is
// sha256(method ‖ path ‖ canonical JSON body); entries live in the store (they survive restarts).
// https://github.com/cashubtc/nuts/blob/main/19.md
import { createHash } from 'node:crypto'

export const CACHED_ENDPOINTS = [
  { method: 'POST', path: '/v1/mint/bolt11' },
  { method: 'POST', path: '/v1/melt/bolt11' },
  { method: 'POST', path: '/v1/swap' },
]

const cached = new Set(CACHED_ENDPOINTS.map((e) => `${e.method} ${e.path}`))

export function isCachedEndpoint(method: string, path: string): boolean {
  return cached.has(`${method} ${path}`)
}

/** Canonical JSON: object keys sorted, so the same request in another key order hits. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(value)
}

export function cacheKey(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path} ${canonical(body)}`)
    .digest('hex')
}
