// Waiting in the integration tests: ask again until the answer comes, or fail with what was awaited.

export interface EventuallyOptions {
  /** How long to keep asking (default 30 s). */
  ms?: number
  /** Pause between two asks (default 100 ms). */
  everyMs?: number
  /** Ask again when `fn` throws (the last error is in the timeout message); default: fail at once. */
  retryErrors?: boolean
}

/**
 * Calls `fn` until it gives something other than `undefined`, `null` or `false`, and returns it.
 * A number is `{ ms }`.
 */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  what: string,
  options: EventuallyOptions | number = {},
): Promise<Exclude<T, undefined | null | false>> {
  const {
    ms = 30_000,
    everyMs = 100,
    retryErrors = false,
  } = typeof options === 'number' ? { ms: options } : options
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined && v !== null && v !== false)
        return v as Exclude<T, undefined | null | false>
    } catch (err) {
      if (!retryErrors) throw err
      last = err
    }
    if (Date.now() > end)
      throw new Error(
        `timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      )
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
