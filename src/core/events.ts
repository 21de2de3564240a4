// The engine's typed event bus: domains publish, the API transports (IPC, WebSocket) subscribe.
import type { EngineEvent, EventTopic } from '../shared/api/events'

type Listener = (event: EngineEvent) => void

export class EventBus {
  private readonly listeners = new Set<{ topics: Set<EventTopic> | null; fn: Listener }>()

  publish(event: EngineEvent): void {
    for (const l of this.listeners) {
      if (l.topics && !l.topics.has(event.topic)) continue
      try {
        l.fn(event)
      } catch {
        // A broken subscriber must never break the publisher.
      }
    }
  }

  /** Subscribe to some topics (or all, when omitted). Returns the unsubscribe function. */
  subscribe(fn: Listener, topics?: readonly EventTopic[]): () => void {
    const entry = { topics: topics ? new Set(topics) : null, fn }
    this.listeners.add(entry)
    return () => this.listeners.delete(entry)
  }
}
