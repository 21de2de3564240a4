// The first screen's data, asked for the moment the page's script runs: the login state and the
// stack's status (which decides wizard or dashboard, and which the dashboard shows). Without
// this, each answer waited for the component that needed it to render: login state → setup
// gate's status → the dashboard's own status, three round trips with renders in between.
// An early answer is handed out at most `uses` times and only while it is fresh (a few seconds,
// the page's first render); after that, and on every refresh, the engine is asked again.
const FRESH_MS = 3000

interface Early {
  readonly at: number
  readonly answer: Promise<unknown>
  failed: boolean
  uses: number
}

const early = new Map<string, Early>()

/** Ask now; the next `uses` calls of `firstAnswer(key, …)` pick the answer up while it is fresh. */
export function askEarly<T>(key: string, load: () => Promise<T>, uses = 1): void {
  const entry: Early = { at: Date.now(), answer: load(), failed: false, uses }
  // A failed early answer is never handed out: its consumer asks again (e.g. after logging in).
  entry.answer.catch(() => {
    entry.failed = true
  })
  early.set(key, entry)
}

/** The early answer for `key` if there is a fresh one that has not failed, else `load()`. */
export function firstAnswer<T>(key: string, load: () => Promise<T>): Promise<T> {
  const e = early.get(key)
  if (e && !e.failed && e.uses > 0 && Date.now() - e.at < FRESH_MS) {
    if (--e.uses === 0) early.delete(key)
    return e.answer as Promise<T>
  }
  early.delete(key)
  return load()
}
