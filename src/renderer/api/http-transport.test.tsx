import { afterEach, describe, expect, it, vi } from 'vitest'
import { createHttpTransport } from './http-transport'
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
  close() {
    this.readyState = 3
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
    off()
    expect(ws.readyState).toBe(3)
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
