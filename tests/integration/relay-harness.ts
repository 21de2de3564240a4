// Test harness for the relay tests: a temporary relay and a raw WebSocket client that lets a test
// look at every frame (OK prefixes, CLOSED reasons, NOTICEs) — nostr-tools hides some of those.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { useWebSocketImplementation } from 'nostr-tools/relay'
import { startRelay, type RunningRelay } from '../../services/relay/src/index'
import type { RelayOptions } from '../../services/relay/src/relay'
import type { NostrEvent } from '../../services/relay/src/nip01'

useWebSocketImplementation(WebSocket)

export const now = (): number => Math.floor(Date.now() / 1000)

export interface TestRelay extends RunningRelay {
  readonly dir: string
  readonly dbPath: string
  stop(): Promise<void>
}

export async function tempRelay(opts: Partial<RelayOptions> = {}): Promise<TestRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'flashbox-relay-'))
  const dbPath = join(dir, 'relay.db')
  const r = await startRelay({
    port: 0,
    host: '127.0.0.1',
    dbPath,
    ...opts,
    // Tests publish quickly from one address; rate limits get their own tests.
    policies: {
      rateLimits: {
        eventsPerConnection: null,
        eventsPerPubkey: null,
        eventsPerIp: null,
        queriesPerConnection: null,
        queriesPerIp: null,
      },
      ...opts.policies,
    },
  })
  return {
    ...r,
    dir,
    dbPath,
    async stop() {
      await r.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface Key {
  readonly sk: Uint8Array
  readonly pk: string
}
export const newKey = (): Key => {
  const sk = generateSecretKey()
  return { sk, pk: getPublicKey(sk) }
}

export function sign(
  key: Key,
  t: { kind: number; content?: string; tags?: string[][]; created_at?: number },
): NostrEvent {
  return finalizeEvent(
    {
      kind: t.kind,
      content: t.content ?? '',
      tags: t.tags ?? [],
      created_at: t.created_at ?? now(),
    },
    key.sk,
  ) as NostrEvent
}

/** A raw client: send frames, await frames matching a predicate. */
export class RawClient {
  readonly frames: unknown[][] = []
  private waiters: { pred: (m: unknown[]) => boolean; resolve: (m: unknown[]) => void }[] = []
  challenge = ''
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      let m: unknown
      try {
        m = JSON.parse(String(d))
      } catch {
        return
      }
      if (!Array.isArray(m)) return
      if (m[0] === 'AUTH') this.challenge = String(m[1])
      this.frames.push(m)
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m as unknown[])) return true
        w.resolve(m as unknown[])
        return false
      })
    })
  }

  static async open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url)
    const c = new RawClient(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    await c.next((m) => m[0] === 'AUTH')
    return c
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg))
  }

  /** Resolves with the first frame (already received or future) matching `pred`. */
  next(pred: (m: unknown[]) => boolean, timeoutMs = 15_000): Promise<unknown[]> {
    const seen = this.frames.find(pred)
    if (seen) {
      this.frames.splice(this.frames.indexOf(seen), 1)
      return Promise.resolve(seen)
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a frame')), timeoutMs)
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(t)
          this.frames.splice(this.frames.indexOf(m), 1)
          resolve(m)
        },
      })
    })
  }

  /** EVENT → [accepted, message]. */
  async publish(ev: NostrEvent | Record<string, unknown>): Promise<[boolean, string]> {
    this.send(['EVENT', ev])
    const ok = await this.next((m) => m[0] === 'OK' && m[1] === (ev as { id: string }).id)
    return [ok[2] as boolean, ok[3] as string]
  }

  /** REQ until EOSE → events; or the CLOSED reason. */
  async req(subId: string, ...filters: unknown[]): Promise<NostrEvent[] | { closed: string }> {
    this.send(['REQ', subId, ...filters])
    const events: NostrEvent[] = []
    for (;;) {
      const m = await this.next(
        (f) => (f[0] === 'EVENT' || f[0] === 'EOSE' || f[0] === 'CLOSED') && f[1] === subId,
      )
      if (m[0] === 'EOSE') return events
      if (m[0] === 'CLOSED') return { closed: String(m[2]) }
      events.push(m[2] as NostrEvent)
    }
  }

  async query(...filters: unknown[]): Promise<NostrEvent[]> {
    const id = 'q' + Math.random().toString(36).slice(2, 10)
    const r = await this.req(id, ...filters)
    // A one-shot query: close it so long tests stay under the per-connection subscription cap.
    if (Array.isArray(r)) this.send(['CLOSE', id])
    if (!Array.isArray(r)) throw new Error(`subscription closed: ${r.closed}`)
    return r
  }

  async count(...filters: unknown[]): Promise<number | { closed: string }> {
    const id = 'c' + Math.random().toString(36).slice(2, 10)
    this.send(['COUNT', id, ...filters])
    const m = await this.next((f) => (f[0] === 'COUNT' || f[0] === 'CLOSED') && f[1] === id)
    return m[0] === 'COUNT' ? (m[2] as { count: number }).count : { closed: String(m[2]) }
  }

  async auth(key: Key, relayUrl: string): Promise<[boolean, string]> {
    const ev = sign(key, {
      kind: 22242,
      tags: [
        ['relay', relayUrl],
        ['challenge', this.challenge],
      ],
    })
    this.send(['AUTH', ev])
    const ok = await this.next((m) => m[0] === 'OK' && m[1] === ev.id)
    return [ok[2] as boolean, ok[3] as string]
  }

  close(): void {
    this.ws.close()
  }
}
