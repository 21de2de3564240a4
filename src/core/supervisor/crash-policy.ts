// What to do when a container dies on its own: restart with exponential backoff (1 s, 2 s, 4 s …
// capped), and after too many crashes in a window stop trying and tell the user (crash-loop).
// A service that stays up long enough is forgiven its past crashes. Pure: time comes in as `now`.
export interface CrashPolicy {
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /** This many crashes within `windowMs` → crash-loop. */
  readonly maxCrashes: number
  readonly windowMs: number
  /** Running this long without a crash resets the backoff. */
  readonly stableAfterMs: number
}

export const defaultCrashPolicy: CrashPolicy = {
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxCrashes: 5,
  windowMs: 10 * 60_000,
  stableAfterMs: 2 * 60_000,
}

export interface CrashRecord {
  /** Times (ms) of recent crashes, oldest first. */
  readonly crashes: readonly number[]
  readonly restarts: number
  readonly nextRestartAt?: number
  readonly crashLoop: boolean
}

export const noCrashes: CrashRecord = { crashes: [], restarts: 0, crashLoop: false }

export function recordCrash(rec: CrashRecord, now: number, policy: CrashPolicy): CrashRecord {
  const crashes = [...rec.crashes.filter((t) => now - t < policy.windowMs), now]
  if (crashes.length >= policy.maxCrashes) {
    return { crashes, restarts: rec.restarts, crashLoop: true }
  }
  const delay = Math.min(policy.baseDelayMs * 2 ** (crashes.length - 1), policy.maxDelayMs)
  return { crashes, restarts: rec.restarts, nextRestartAt: now + delay, crashLoop: false }
}

export function recordRestart(rec: CrashRecord): CrashRecord {
  return { crashes: rec.crashes, restarts: rec.restarts + 1, crashLoop: rec.crashLoop }
}

/** Called while the container runs: forgive old crashes after a stable stretch. */
export function settle(
  rec: CrashRecord,
  runningSince: number,
  now: number,
  policy: CrashPolicy,
): CrashRecord {
  if (rec.crashes.length === 0 || rec.crashLoop) return rec
  const last = rec.crashes[rec.crashes.length - 1]!
  if (now - Math.max(runningSince, last) >= policy.stableAfterMs) {
    return { crashes: [], restarts: rec.restarts, crashLoop: false }
  }
  return rec
}
