// One client for the whole API, whatever carries it. `api.stack.status({})` becomes
// transport.call('stack', 'status', {}). The transport is chosen once, at startup:
// the preload's bridge inside Electron, HTTP + WebSocket to the same origin in a browser.
import type { AppClient } from '../../shared/api/contract'
import type { EngineEvent, EventTopic } from '../../shared/api/events'
import { createHttpTransport } from './http-transport'
import { createIpcTransport } from './ipc-transport'
import type { Transport } from './transport'

let current: Transport | null = null

function pickTransport(): Transport {
  if (typeof window !== 'undefined' && window.flashbox) return createIpcTransport(window.flashbox)
  return createHttpTransport()
}

export function transport(): Transport {
  current ??= pickTransport()
  return current
}

/** Replace the transport (tests use the in-memory test fake; nothing else should). */
export function setTransport(t: Transport): void {
  current = t
}

const domainProxies = new Map<string, unknown>()

function domainProxy(domain: string): unknown {
  let p = domainProxies.get(domain)
  if (!p) {
    p = new Proxy(
      {},
      {
        get: (_t, procedure) =>
          typeof procedure === 'string' && procedure !== 'then'
            ? (input: unknown) => transport().call(domain, procedure, input ?? {})
            : undefined,
      },
    )
    domainProxies.set(domain, p)
  }
  return p
}

/** The typed API client: `await api.stack.status({})`. Errors are ApiError {code,message,hint}. */
export const api: AppClient = new Proxy({} as AppClient, {
  // `then` stays undefined so the client is never mistaken for a promise.
  get: (_t, domain) =>
    typeof domain === 'string' && domain !== 'then' ? domainProxy(domain) : undefined,
})

/** Listen to engine events; returns the unsubscribe function. */
export function subscribe(
  topics: readonly EventTopic[] | null,
  fn: (event: EngineEvent) => void,
): () => void {
  return transport().subscribe(topics, fn)
}

export function followLogs(serviceId: string): () => void {
  return transport().followLogs(serviceId)
}
