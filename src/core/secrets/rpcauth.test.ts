import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { generateRpcauthSalt, rpcauthMatches, rpcauthValue } from './rpcauth'

const salt = 'cb77f0957de88ff388cf817ddbc7273e'
const password = 'correct horse battery staple'

describe('rpcauth (share/rpcauth/rpcauth.py)', () => {
  it('matches the line rpcauth.py prints for a fixed salt and password', () => {
    // Computed with Python's hmac module exactly as rpcauth.py does:
    //   hmac.new(salt.encode('utf-8'), password.encode('utf-8'), 'SHA256').hexdigest()
    expect(`rpcauth=${rpcauthValue('alice', password, salt)}`).toBe(
      'rpcauth=alice:cb77f0957de88ff388cf817ddbc7273e$babdb9a7b301c645e9e68ad8af96e290066581db801f14648472f096664f4b5d',
    )
  })

  it('keys the HMAC with the salt text, not the bytes the hex encodes', () => {
    const byText = createHmac('sha256', salt).update(password).digest('hex')
    const byBytes = createHmac('sha256', Buffer.from(salt, 'hex')).update(password).digest('hex')
    expect(rpcauthValue('alice', password, salt)).toBe(`alice:${salt}$${byText}`)
    expect(rpcauthValue('alice', password, salt)).not.toContain(byBytes)
  })

  it('verifies like bitcoind: right user and password only', () => {
    const line = rpcauthValue('lnd', password, salt)
    expect(rpcauthMatches(line, 'lnd', password)).toBe(true)
    expect(rpcauthMatches(line, 'lnd', password + 'x')).toBe(false)
    expect(rpcauthMatches(line, 'electrs', password)).toBe(false)
  })

  it('makes 16-byte hex salts and refuses malformed input', () => {
    const s = generateRpcauthSalt()
    expect(s).toMatch(/^[0-9a-f]{32}$/)
    expect(generateRpcauthSalt()).not.toBe(s)
    expect(() => rpcauthValue('a:b', password, salt)).toThrow()
    expect(() => rpcauthValue('alice', password, 'xyz')).toThrow()
  })
})
