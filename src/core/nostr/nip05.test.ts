import { describe, expect, it } from 'vitest'
import { nip05Response, parseNip05, verifyNip05, type Fetch } from './nip05'

const A = 'b0635d6a9851d3aed0cd6c495b282167acf761729078d975fc341b22650b07b9'
const B = '0'.repeat(63) + '1'

describe('nip05Response', () => {
  it('answers a name with its key, CORS open, relays when known', () => {
    const r = nip05Response({ bob: A, shop: B }, 'bob', { [A]: ['wss://relay.example.com'] })
    expect(r.status).toBe(200)
    expect(r.headers['access-control-allow-origin']).toBe('*')
    expect(JSON.parse(r.body)).toEqual({
      names: { bob: A },
      relays: { [A]: ['wss://relay.example.com'] },
    })
  })
  it('answers unknown names with an empty list, and all names without a query', () => {
    expect(JSON.parse(nip05Response({ bob: A }, 'alice').body)).toEqual({ names: {} })
    expect(JSON.parse(nip05Response({ bob: A, shop: B }, null).body).names).toEqual({
      bob: A,
      shop: B,
    })
    expect(JSON.parse(nip05Response({ bob: A }, 'BOB').body).names).toEqual({ bob: A })
  })
  it('refuses malformed names and drops invalid configured entries', () => {
    expect(nip05Response({ bob: A }, '../etc').status).toBe(400)
    expect(JSON.parse(nip05Response({ 'Bad Name': A, ok: 'xyz' }, null).body).names).toEqual({})
  })
})

describe('verifyNip05', () => {
  const server: Fetch = async (url, init) => {
    expect(init.redirect).toBe('manual')
    const u = new URL(url)
    const body = nip05Response({ bob: A, _: B }, u.searchParams.get('name'))
    return new Response(body.body, { status: body.status })
  }
  it('accepts a matching key and refuses another one', async () => {
    expect(parseNip05('example.com')).toEqual({ name: '_', domain: 'example.com' })
    await expect(verifyNip05('bob@example.com', A, { fetch: server })).resolves.toEqual({
      valid: true,
    })
    const wrong = await verifyNip05('bob@example.com', B, { fetch: server })
    expect(wrong.valid).toBe(false)
    const missing = await verifyNip05('carol@example.com', A, { fetch: server })
    expect(missing.valid).toBe(false)
  })
  it('treats redirects as not verified', async () => {
    const redirect: Fetch = async () => new Response('', { status: 302 })
    expect((await verifyNip05('bob@example.com', A, { fetch: redirect })).valid).toBe(false)
  })
})
