// SIMULATOR — test-only. Request and parameter shapes as electrs (v0.11.1) accepts them: serde turns
// `params` into a fixed-length tuple per method (src/electrum.rs `Params::parse`), so a missing,
// extra or mistyped parameter is JSON-RPC -32602 "invalid params" — before anything else is
// looked at, even while the index is still being built.

export class ElectrumError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

export const PARSE_ERROR = new ElectrumError(-32700, 'parse error')
export const INVALID_REQUEST = new ElectrumError(-32600, 'invalid request')
export const METHOD_NOT_FOUND = new ElectrumError(-32601, 'method not found')
export const INVALID_PARAMS = new ElectrumError(-32602, 'invalid params')
/** electrs RpcError::UnavailableIndex: the initial index is not ready yet. */
export const UNAVAILABLE_INDEX = new ElectrumError(-32603, 'unavailable index')

/** electrs RpcError::BadRequest (anyhow errors of the handler): code 1. */
export const badRequest = (message: string) => new ElectrumError(1, message)
/** electrs RpcError::DaemonError: bitcoind's RPC error message, code 2. */
export const daemonError = (message: string) => new ElectrumError(2, message)

export type Kind = 'usize' | 'u16' | 'string' | 'bool' | 'hash'

const checkers: Record<Kind, (v: unknown) => boolean> = {
  usize: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
  u16: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff,
  string: (v) => typeof v === 'string',
  bool: (v) => typeof v === 'boolean',
  // ScriptHash / Txid: 32 bytes from hex (the hex crate takes either case).
  hash: (v) => typeof v === 'string' && /^[0-9a-fA-F]{64}$/.test(v),
}

/** `params` as a tuple of exactly these kinds (serde's tuple), else -32602. */
export function tuple(params: unknown, kinds: readonly Kind[]): unknown[] {
  if (!Array.isArray(params) || params.length !== kinds.length) throw INVALID_PARAMS
  params.forEach((v, i) => {
    if (!checkers[kinds[i]!](v)) throw INVALID_PARAMS
  })
  return params.map((v, i) => (kinds[i] === 'hash' ? (v as string).toLowerCase() : v))
}

/** serde's untagged enum: the first tuple shape that fits. */
export function oneOf(params: unknown, shapes: readonly (readonly Kind[])[]): unknown[] {
  for (const kinds of shapes) {
    try {
      return tuple(params, kinds)
    } catch {
      // next shape
    }
  }
  throw INVALID_PARAMS
}

/** electrs' VersionRequest: a single version or [min, max] (Rust Debug form in its errors). */
export type VersionRequest = { single: string } | { min: string; max: string }

export function versionParams(params: unknown): { client: string; request: VersionRequest } {
  if (!Array.isArray(params) || params.length !== 2 || typeof params[0] !== 'string')
    throw INVALID_PARAMS
  const v: unknown = params[1]
  if (typeof v === 'string') return { client: params[0], request: { single: v } }
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'string'))
    return { client: params[0], request: { min: v[0] as string, max: v[1] as string } }
  throw INVALID_PARAMS
}

export function debugVersionRequest(r: VersionRequest): string {
  return 'single' in r
    ? `Single(${JSON.stringify(r.single)})`
    : `MinMax(${JSON.stringify(r.min)}, ${JSON.stringify(r.max)})`
}

/** electrs parse_version: dot-separated unsigned integers. */
export function parseVersion(v: string): number[] | undefined {
  const parts = v.split('.')
  return parts.every((p) => /^\d+$/.test(p)) ? parts.map(Number) : undefined
}

/** Lexicographic, like Rust's Vec<usize> ordering. */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}
