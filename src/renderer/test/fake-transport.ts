// TEST FAKE — an in-memory transport for renderer tests. Never used by the app: answers calls
// from handlers the test supplies and lets the test push engine events.
import type { EngineEvent, EventTopic } from '../../shared/api/events'
import type { UserError } from '../../shared/errors'
import { ApiError, type EventListener, type Transport } from '../api/transport'

type Handler = (input: unknown) => unknown

export class FakeTransportForTests implements Transport {
  readonly kind = 'test-fake' as const
  readonly calls: { domain: string; procedure: string; input: unknown }[] = []
  readonly following = new Map<string, number>()
  private readonly listeners = new Set<{ topics: Set<EventTopic> | null; fn: EventListener }>()

  constructor(private readonly handlers: Record<string, Handler> = {}) {}

  /** Answer `domain.procedure` with this function from now on. */
  on(name: string, handler: Handler): this {
    this.handlers[name] = handler
    return this
  }

  async call(domain: string, procedure: string, input: unknown): Promise<unknown> {
    this.calls.push({ domain, procedure, input })
    const h = this.handlers[`${domain}.${procedure}`]
    if (!h)
      throw new ApiError({
        code: 'api.unavailable',
        message: `The test fake has no answer for ${domain}.${procedure}.`,
        hint: 'Give the fake a handler.',
      })
    return h(input)
  }

  callsTo(name: string): unknown[] {
    return this.calls.filter((c) => `${c.domain}.${c.procedure}` === name).map((c) => c.input)
  }

  subscribe(topics: readonly EventTopic[] | null, fn: EventListener): () => void {
    const entry = { topics: topics ? new Set(topics) : null, fn }
    this.listeners.add(entry)
    return () => this.listeners.delete(entry)
  }

  followCalls = 0

  followLogs(serviceId: string): () => void {
    this.followCalls++
    this.following.set(serviceId, (this.following.get(serviceId) ?? 0) + 1)
    return () => this.following.set(serviceId, (this.following.get(serviceId) ?? 1) - 1)
  }

  /** Push an engine event to the subscribed components. */
  emit(event: EngineEvent): void {
    for (const l of this.listeners) if (!l.topics || l.topics.has(event.topic)) l.fn(event)
  }

  get listenerCount(): number {
    return this.listeners.size
  }
}

export const userError = (code: string, message: string, hint: string): ApiError =>
  new ApiError({ code, message, hint } satisfies UserError)
