// Login sessions: random 256-bit tokens, kept only as SHA-256 digests in memory (a restart logs
// everyone out). A session ends after idling, and in any case after its maximum age.
import { createHash, randomBytes } from 'node:crypto'

export interface SessionOptions {
  readonly idleMs: number
  readonly maxAgeMs: number
  readonly maxSessions: number
  readonly now?: () => number
}

interface Session {
  readonly id: string
  readonly createdAt: number
  lastSeen: number
}

const digest = (token: string) => createHash('sha256').update(token).digest('base64url')

export class Sessions {
  private readonly byDigest = new Map<string, Session>()
  private readonly now: () => number

  constructor(private readonly opts: SessionOptions) {
    this.now = opts.now ?? Date.now
  }

  /** Returns the token for the cookie; only its digest is kept. */
  create(): { token: string; id: string } {
    this.sweep()
    while (this.byDigest.size >= this.opts.maxSessions) {
      const oldest = this.byDigest.keys().next().value
      if (oldest === undefined) break
      this.byDigest.delete(oldest)
    }
    const token = randomBytes(32).toString('base64url')
    const id = randomBytes(8).toString('hex')
    const t = this.now()
    this.byDigest.set(digest(token), { id, createdAt: t, lastSeen: t })
    return { token, id }
  }

  /** The session's id when the token is valid (and refreshes its idle timer). */
  check(token: string | undefined): string | null {
    if (!token || token.length > 128) return null
    const key = digest(token)
    const s = this.byDigest.get(key)
    if (!s) return null
    const t = this.now()
    if (t - s.lastSeen > this.opts.idleMs || t - s.createdAt > this.opts.maxAgeMs) {
      this.byDigest.delete(key)
      return null
    }
    s.lastSeen = t
    return s.id
  }

  /** Whether a session id is still alive (without refreshing it). */
  alive(id: string): boolean {
    const t = this.now()
    for (const s of this.byDigest.values())
      if (s.id === id)
        return t - s.lastSeen <= this.opts.idleMs && t - s.createdAt <= this.opts.maxAgeMs
    return false
  }

  destroy(token: string | undefined): string | null {
    if (!token) return null
    const key = digest(token)
    const s = this.byDigest.get(key)
    this.byDigest.delete(key)
    return s?.id ?? null
  }

  private sweep(): void {
    const t = this.now()
    for (const [k, s] of this.byDigest)
      if (t - s.lastSeen > this.opts.idleMs || t - s.createdAt > this.opts.maxAgeMs)
        this.byDigest.delete(k)
  }
}
