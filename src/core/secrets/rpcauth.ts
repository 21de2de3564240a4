// bitcoind `rpcauth=` lines, computed exactly as Bitcoin Core's share/rpcauth/rpcauth.py does:
//   salt = token_hex(16)                                  (32 hex characters)
//   hmac = HMAC-SHA256(key = salt.encode('utf-8'), msg = password.encode('utf-8')).hexdigest()
//   print(f'rpcauth={username}:{salt}${hmac}')
// Note the key is the salt's hex *text*, not the 16 bytes it encodes. bitcoind stores only this
// line; the password stays with the one client that uses it.
import { createHmac, randomBytes } from 'node:crypto'

const USER = /^[A-Za-z0-9_-]{1,64}$/
const SALT = /^[0-9a-f]{32}$/

/** The value of `rpcauth=` (without the `rpcauth=` prefix): `user:salt$hmac`. */
export function rpcauthValue(user: string, password: string, salt: string): string {
  if (!USER.test(user)) throw new Error('rpcauth user must be 1-64 characters of [A-Za-z0-9_-]')
  if (!SALT.test(salt)) throw new Error('rpcauth salt must be 32 lowercase hex characters')
  const hmac = createHmac('sha256', Buffer.from(salt, 'utf8'))
    .update(Buffer.from(password, 'utf8'))
    .digest('hex')
  return `${user}:${salt}$${hmac}`
}

/** A fresh 16-byte salt, hex, like rpcauth.py's `generate_salt(16)`. */
export function generateRpcauthSalt(): string {
  return randomBytes(16).toString('hex')
}

/** Checks a password against an rpcauth value the way bitcoind does (constant-time compare). */
export function rpcauthMatches(value: string, user: string, password: string): boolean {
  const m = /^([^:]+):([0-9a-f]{32})\$([0-9a-f]{64})$/.exec(value)
  if (!m || m[1] !== user) return false
  const expected = rpcauthValue(user, password, m[2]!)
  return expected.length === value.length && timingSafe(expected, value)
}

function timingSafe(a: string, b: string): boolean {
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
