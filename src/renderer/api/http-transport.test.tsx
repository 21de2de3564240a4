import { afterEach, describe, expect, it, vi } from 'vitest'
import { createHttpTransport, IDLE_CLOSE_MS } from './http-transport'
import type { ConnectionState } from './transport'
import { ApiError } from './transport'

/** TEST FAKE of the browser's WebSocket: records what the page sends, lets the test answer. */
class FakeSocketForTests {
  static readonly OPEN = 1
  static last: FakeSocketForTests | null = null
  readyState = 0
  sent: unknown[] = []
  onopen: (() => void) | null = null
  onmessage: ((m: { data: string }) => void) | null = null
  onclose: ((e: { code: number }) => void) | null = null
  constructor(readonly url: string) {
    FakeSocketForTests.last = this
  }
  send(text: string) {
    this.sent.push(JSON.parse(text))
  }
  closedWith: number | undefined
  close(code = 1005) {
    this.readyState = 3
    this.closedWith = code
  }
  /** The browser reports the end of the socket later, as it does for real. */
  ended(code = 1000) {
    this.onclose?.({ code })
  }
  open() {
    this.readyState = 1
    this.onopen?.()
  }
}

afterEach(() => {
  vi.unstubAllGlobals()
  FakeSocketForTests.last = null
})

describe('HTTP + WebSocket transport', () => {
  it('POSTs JSON to /api/call and maps error bodies to ApiError; 401 tells the app', async () => {
    const requests: { url: string; init: RequestInit }[] = []
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      requests.push({ url, init })
      if (url.endsWith('/status'))
        return new Response(JSON.stringify({ result: { desired: 'running' } }), { status: 200 })
      return new Response(
        JSON.stringify({
          code: 'auth.required',
          message: 'You are not logged in.',
          hint: 'Log in.',
        }),
        { status: 401 },
      )
    })
    const t = createHttpTransport()
    const lost = vi.fn()
    t.onUnauthorized(lost)
    await expect(t.call('stack', 'status', {})).resolves.toEqual({ desired: 'running' })
    expect(requests[0]!.url).toBe('/api/call/stack/status')
    expect(requests[0]!.init).toMatchObject({
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    const err = await t.call('stack', 'start', {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ code: 'auth.required', status: 401, hint: 'Log in.' })
    expect(lost).toHaveBeenCalledTimes(1)
  })

  it('says nothing is wrong while nothing listens, and a late close of an old socket does not clobber the new one', () => {
    vi.useFakeTimers()
    try {
      vi.stubGlobal('WebSocket', FakeSocketForTests)
      const t = createHttpTransport()
      const states: ConnectionState[] = []
      t.onConnection((s) => states.push(s))
      // The dashboard listens, then the owner opens a page that listens to nothing (Settings).
      const off = t.subscribe(['stack'], () => {})
      const first = FakeSocketForTests.last!
      first.open()
      off()
      // A page change: the next page subscribes at once, on the same socket.
      const off2 = t.subscribe(['relay'], () => {})
      expect(FakeSocketForTests.last).toBe(first)
      off2()
      vi.advanceTimersByTime(IDLE_CLOSE_MS)
      expect(first.closedWith).toBe(1000)
      first.ended(1000)
      expect(states).toEqual(['open', 'idle'])
      // A minute on that page: no "Connection lost", no reconnect attempts.
      vi.advanceTimersByTime(60_000)
      expect(FakeSocketForTests.last).toBe(first)
      expect(states).toEqual(['open', 'idle'])

      // Back to a listening page while the old socket's close is still on its way.
      const off3 = t.subscribe(['stack'], () => {})
      off3()
      vi.advanceTimersByTime(IDLE_CLOSE_MS)
      const second = FakeSocketForTests.last!
      t.subscribe(['stack'], () => {})
      const third = FakeSocketForTests.last!
      expect(third).not.toBe(second)
      third.open()
      second.ended(1000) // late: must not mark the live socket as lost
      expect(states.at(-1)).toBe('open')
      vi.advanceTimersByTime(60_000)
      expect(FakeSocketForTests.last).toBe(third)
      expect(states).not.toContain('closed')

      // A real loss while listening is reported and retried.
      third.ended(1006)
      expect(states.at(-1)).toBe('closed')
      vi.advanceTimersByTime(500)
      expect(FakeSocketForTests.last).not.toBe(third)
      expect(states.at(-1)).toBe('connecting')
      FakeSocketForTests.last!.open()
      expect(states.at(-1)).toBe('open')
    } finally {
      vi.useRealTimers()
    }
  })

  it('opens one socket on first subscribe, asks for its topics, follows logs, and routes events', () => {
    vi.stubGlobal('WebSocket', FakeSocketForTests)
    const t = createHttpTransport()
    const got: unknown[] = []
    const off = t.subscribe(['stack'], (e) => got.push(e))
    const ws = FakeSocketForTests.last!
    expect(ws.url).toBe(`ws://${location.host}/api/events`)
    const unfollow = t.followLogs('lnd')
    ws.open()
    expect(ws.sent).toEqual([
      { type: 'subscribe', topics: ['stack'] },
      { type: 'followLogs', id: 'lnd', follow: true },
    ])
    ws.onmessage!({
      data: JSON.stringify({ type: 'event', event: { topic: 'stack', type: 'sync', sync: {} } }),
    })
    ws.onmessage!({ data: JSON.stringify({ type: 'event', event: { topic: 'relay', type: 'x' } }) })
    ws.onmessage!({ data: 'not json' })
    expect(got).toEqual([{ topic: 'stack', type: 'sync', sync: {} }])
    unfollow()
    expect(ws.sent.at(-1)).toEqual({ type: 'followLogs', id: 'lnd', follow: false })
    vi.useFakeTimers()
    try {
      off()
      expect(ws.readyState).toBe(1) // kept a moment for the next page
      vi.advanceTimersByTime(IDLE_CLOSE_MS)
      expect(ws.readyState).toBe(3)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a socket closed for a lost session (4401) tells the app to show the login', () => {
    vi.stubGlobal('WebSocket', FakeSocketForTests)
    const t = createHttpTransport()
    const lost = vi.fn()
    t.onUnauthorized(lost)
    t.subscribe(null, () => {})
    FakeSocketForTests.last!.open()
    FakeSocketForTests.last!.onclose!({ code: 4401 })
    expect(lost).toHaveBeenCalledTimes(1)
  })
})
