// Sessions expire, the throttle forgets, hosts and origins are matched strictly.
import { describe, expect, it } from 'vitest'
import { LoginThrottle } from './login-throttle'
import { hostAllowed, parseHostHeader, sameOrigin } from './origin'
import { Sessions } from './sessions'
import { safePath } from './static-files'

describe('sessions', () => {
  it('expire after idling and after their maximum age', () => {
    let now = 0
    const s = new Sessions({ idleMs: 1000, maxAgeMs: 5000, maxSessions: 10, now: () => now })
    const { token } = s.create()
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    now = 900
    expect(s.check(token)).not.toBeNull()
    now = 1800 // used at 900, so still within the idle limit
    expect(s.check(token)).not.toBeNull()
    now = 2900 // idle 1100 ms
    expect(s.check(token)).toBeNull()

    const b = s.create().token
    for (now = 3000; now < 8000; now += 900) expect(s.check(b)).not.toBeNull()
    now = 8100 // busy, but older than the maximum age
    expect(s.check(b)).toBeNull()
  })

  it('refuses unknown, destroyed and oversized tokens, and keeps a bounded number', () => {
    const s = new Sessions({ idleMs: 1e6, maxAgeMs: 1e6, maxSessions: 2 })
    const a = s.create().token
    expect(s.check(undefined)).toBeNull()
    expect(s.check('x'.repeat(500))).toBeNull()
    expect(s.check(a + 'x')).toBeNull()
    s.destroy(a)
    expect(s.check(a)).toBeNull()
    const one = s.create().token
    s.create()
    s.create()
    expect(s.check(one)).toBeNull() // the oldest went
  })
})

describe('login throttle', () => {
  it('allows max failures per window per address, then says how long to wait', () => {
    let now = 0
    const t = new LoginThrottle({ max: 3, windowMs: 60_000, maxTracked: 100, now: () => now })
    for (let i = 0; i < 3; i++) {
      expect(t.retryAfter('1.2.3.4')).toBe(0)
      t.fail('1.2.3.4')
      now += 1000
    }
    expect(t.retryAfter('1.2.3.4')).toBe(57) // the first failure ages out at 60 s
    expect(t.retryAfter('5.6.7.8')).toBe(0)
    now = 61_000
    expect(t.retryAfter('1.2.3.4')).toBe(0)
    t.succeed('1.2.3.4')
    expect(t.retryAfter('1.2.3.4')).toBe(0)
  })
})

describe('host and origin', () => {
  const loopback = { bindHost: '127.0.0.1', port: 8347, allowedHosts: [] }
  const everywhere = { bindHost: '0.0.0.0', port: 8347, allowedHosts: ['box.example.com'] }

  it('accepts only names of this server', () => {
    expect(hostAllowed('127.0.0.1:8347', loopback)).toBe(true)
    expect(hostAllowed('localhost:8347', loopback)).toBe(true)
    expect(hostAllowed('[::1]:8347', loopback)).toBe(true)
    expect(hostAllowed('127.0.0.1:9999', loopback)).toBe(false)
    expect(hostAllowed('evil.example:8347', loopback)).toBe(false)
    expect(hostAllowed(undefined, loopback)).toBe(false)
    expect(hostAllowed('a b', loopback)).toBe(false)
    // Bound everywhere: IP literals name this machine; DNS names only when listed.
    expect(hostAllowed('192.168.1.20:8347', everywhere)).toBe(true)
    expect(hostAllowed('rebind.evil.example:8347', everywhere)).toBe(false)
    expect(hostAllowed('box.example.com', everywhere)).toBe(true)
    expect(parseHostHeader('[fe80::1]:443')).toEqual({ name: 'fe80::1', port: 443 })
  })

  it('matches Origin to the Host the request used', () => {
    expect(sameOrigin('http://127.0.0.1:8347', '127.0.0.1:8347')).toBe(true)
    expect(sameOrigin('https://box.example.com', 'box.example.com')).toBe(true)
    expect(sameOrigin('http://[::1]:8347', '[::1]:8347')).toBe(true)
    expect(sameOrigin('http://127.0.0.1:8348', '127.0.0.1:8347')).toBe(false)
    expect(sameOrigin('http://evil.example', '127.0.0.1:8347')).toBe(false)
    expect(sameOrigin('null', '127.0.0.1:8347')).toBe(false)
    expect(sameOrigin(undefined, '127.0.0.1:8347')).toBe(false)
    expect(sameOrigin('file://', '127.0.0.1:8347')).toBe(false)
  })
})

describe('static files', () => {
  it('never leave the UI folder', () => {
    expect(safePath('/srv/ui', '/index.html')).toBe('/srv/ui/index.html')
    expect(safePath('/srv/ui', '/assets/a.js')).toBe('/srv/ui/assets/a.js')
    expect(safePath('/srv/ui', '/../etc/passwd')).toBe('/srv/ui/etc/passwd')
    expect(safePath('/srv/ui', '/%2e%2e/%2e%2e/etc/passwd')).not.toMatch(/^\/etc/)
    expect(safePath('/srv/ui', '/.env')).toBeNull()
    expect(safePath('/srv/ui', '/a%00.js')).toBeNull()
    expect(safePath('/srv/ui', '/%E0%A4%A')).toBeNull()
  })
})
