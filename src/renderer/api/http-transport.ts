// Headless transport: calls are POST /api/call/<domain>/<procedure> with a JSON body, events
// arrive over one WebSocket at /api/events. The session is an HttpOnly cookie the browser sends
// by itself; this code never sees it.
import type { EngineEvent, EventTopic } from '../../shared/api/events'
import { isUserError } from '../../shared/errors'
import { ApiError, type ConnectionState, type EventListener, type Transport } from './transport'

export interface HttpTransport extends Transport {
  /** Called when the server says the session is gone (401): the app shows the login page. */
  onUnauthorized(fn: () => void): () => void
  onConnection(fn: (state: ConnectionState) => void): () => void
  /** Close the event socket (after logout). */
  disconnect(): void
}

export async function httpJson(
  path: string,
  body: unknown,
  method: 'GET' | 'POST' = 'POST',
): Promise<{ status: number; json: unknown }> {
  let res: Response
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
      ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
    })
  } catch {
    throw new ApiError({
      code: 'transport.offline',
      message: 'Flash Box is not answering.',
      hint: 'Check that the Flash Box server is running and that this computer can reach it.',
    })
  }
  let json: unknown
  try {
    json = await res.json()
  } catch {
    json = null
  }
  return { status: res.status, json }
}

/** How long the event socket stays open with nothing listening (a page change). */
export const IDLE_CLOSE_MS = 10_000

export function createHttpTransport(base = ''): HttpTransport {
  const listeners = new Set<{ topics: Set<EventTopic> | null; fn: EventListener }>()
  const unauthorized = new Set<() => void>()
  const connection = new Set<(s: ConnectionState) => void>()
  const follows = new Map<string, number>()
  let socket: WebSocket | null = null
  let retry = 0
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let wanted = false

  const setState = (s: ConnectionState) => {
    for (const fn of connection) fn(s)
  }

  const topicsWanted = (): EventTopic[] | null => {
    const all = new Set<EventTopic>()
    for (const l of listeners) {
      if (!l.topics) return null
      for (const t of l.topics) all.add(t)
    }
    return [...all]
  }

  const send = (msg: unknown) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg))
  }

  // Components subscribe and unsubscribe in bursts (a page mounting): tell the server once.
  let topicsQueued = false
  const sendTopics = () => {
    if (topicsQueued) return
    topicsQueued = true
    queueMicrotask(() => {
      topicsQueued = false
      send({ type: 'subscribe', topics: topicsWanted() })
    })
  }

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

  // A page change unsubscribes everything and the next page subscribes again a moment later:
  // the socket stays open that long instead of being torn down and rebuilt on every navigation.
  let idleTimer: ReturnType<typeof setTimeout> | null = null
  let lost = false

  const connect = () => {
    if (socket || !wanted) return
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
    const ws = new WebSocket(`${proto}//${location.host}${base}/api/events`)
    socket = ws
    // Only a socket that was lost is news; the first connect and one after idling are not.
    if (lost) setState('connecting')
    ws.onopen = () => {
      if (socket !== ws) return
      retry = 0
      lost = false
      setState('open')
      send({ type: 'subscribe', topics: topicsWanted() })
      for (const id of follows.keys()) send({ type: 'followLogs', id, follow: true })
    }
    ws.onmessage = (m) => {
      if (socket !== ws) return
      let msg: unknown
      try {
        msg = JSON.parse(String(m.data))
      } catch {
        return
      }
      if (msg && typeof msg === 'object' && (msg as { type?: unknown }).type === 'event') {
        dispatch((msg as { event: EngineEvent }).event)
      }
    }
    ws.onclose = (ev) => {
      // A socket we closed or replaced ends later: it must not clear or judge the current one.
      if (socket !== ws) return
      socket = null
      // 4401: the server closed us because the session ended.
      if (ev.code === 4401) {
        setState('closed')
        for (const fn of unauthorized) fn()
        return
      }
      if (!wanted) {
        setState('idle')
        return
      }
      lost = true
      setState('closed')
      const delay = Math.min(15_000, 500 * 2 ** retry++)
      retryTimer = setTimeout(() => {
        retryTimer = null
        connect()
      }, delay)
    }
  }

  const closeIdle = () => {
    idleTimer = null
    if (wanted || !socket) return
    const ws = socket
    socket = null
    ws.close(1000)
    setState('idle')
  }

  const ensure = () => {
    wanted = listeners.size > 0 || follows.size > 0
    if (wanted) {
      if (idleTimer) clearTimeout(idleTimer)
      idleTimer = null
      connect()
    } else if (socket && !idleTimer) {
      idleTimer = setTimeout(closeIdle, IDLE_CLOSE_MS)
    }
  }

  return {
    kind: 'http',
    async call(domain, procedure, input) {
      const { status, json } = await httpJson(
        `${base}/api/call/${encodeURIComponent(domain)}/${encodeURIComponent(procedure)}`,
        input ?? {},
      )
      if (status >= 200 && status < 300) return (json as { result?: unknown } | null)?.result
      if (status === 401) for (const fn of unauthorized) fn()
      if (isUserError(json)) throw new ApiError(json, status)
      throw new ApiError(
        {
          code: 'transport.http',
          message: `The server answered with status ${status}.`,
          hint: 'Reload the page. If it keeps happening, restart the Flash Box server.',
        },
        status,
      )
    },
    subscribe(topics, fn) {
      const entry = { topics: topics ? new Set(topics) : null, fn }
      listeners.add(entry)
      ensure()
      sendTopics()
      return () => {
        listeners.delete(entry)
        sendTopics()
        ensure()
      }
    },
    followLogs(serviceId) {
      const n = follows.get(serviceId) ?? 0
      follows.set(serviceId, n + 1)
      ensure()
      if (n === 0) send({ type: 'followLogs', id: serviceId, follow: true })
      return () => {
        const left = (follows.get(serviceId) ?? 1) - 1
        if (left > 0) follows.set(serviceId, left)
        else {
          follows.delete(serviceId)
          send({ type: 'followLogs', id: serviceId, follow: false })
        }
        ensure()
      }
    },
    onUnauthorized(fn) {
      unauthorized.add(fn)
      return () => unauthorized.delete(fn)
    },
    onConnection(fn) {
      connection.add(fn)
      return () => connection.delete(fn)
    },
    disconnect() {
      wanted = false
      if (retryTimer) clearTimeout(retryTimer)
      if (idleTimer) clearTimeout(idleTimer)
      retryTimer = idleTimer = null
      const ws = socket
      socket = null
      ws?.close(1000)
      setState('idle')
    },
  }
}
