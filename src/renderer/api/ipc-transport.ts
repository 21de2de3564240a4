// Electron transport: calls and events cross the preload's contextBridge (no Node in the page).
import type { EngineEvent, EventTopic } from '../../shared/api/events'
import type { FlashboxBridge } from './bridge'
import { ApiError, type EventListener, type Transport } from './transport'

export function createIpcTransport(bridge: FlashboxBridge): Transport {
  const listeners = new Set<{ topics: Set<EventTopic> | null; fn: EventListener }>()
  let unlisten: (() => void) | null = null

  const dispatch = (event: EngineEvent) => {
    for (const l of listeners) {
      if (l.topics && !l.topics.has(event.topic)) continue
      try {
        l.fn(event)
      } catch (err) {
        console.error('event listener failed', err)
      }
    }
  }

  const call = async (domain: string, procedure: string, input: unknown) => {
    const r = await bridge.invoke(domain, procedure, input ?? {})
    if (r.ok) return r.value
    throw new ApiError(r.error)
  }

  return {
    kind: 'ipc',
    call,
    subscribe(topics, fn) {
      const entry = { topics: topics ? new Set(topics) : null, fn }
      listeners.add(entry)
      if (!unlisten) unlisten = bridge.onEvent(dispatch)
      return () => {
        listeners.delete(entry)
        if (listeners.size === 0 && unlisten) {
          unlisten()
          unlisten = null
        }
      }
    },
    followLogs(serviceId) {
      void call('stack', 'followLogs', { id: serviceId, follow: true }).catch(() => {})
      return () =>
        void call('stack', 'followLogs', { id: serviceId, follow: false }).catch(() => {})
    },
  }
}
