import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  MAX_CLOCK_SKEW_SEC,
  signSettlementRequest,
  verifySettlementRequest,
} from './internal-settlement-auth'

const key = randomBytes(32)
const now = 1_780_000_000
const path = '/internal/settlement/v1/pay'
const body = JSON.stringify({ payment_hash: 'ab'.repeat(32), bolt11: 'lnbcrt1', amount_msat: 1000 })

describe('internal settlement request signing', () => {
  it('signs hex HMAC-SHA256 over ts, METHOD, pathname and body', () => {
    const headers = signSettlementRequest(key, 'post', path, body, now)
    expect(headers['x-flashbox-timestamp']).toBe(String(now))
    const expected = createHmac('sha256', key)
      .update(`${now}\nPOST\n${path}\n${body}`)
      .digest('hex')
    expect(headers['x-flashbox-signature']).toBe(expected)
  })

  it('accepts a good signature, in a plain record, Node headers or fetch Headers', () => {
    const headers = signSettlementRequest(key, 'POST', path, body, now)
    expect(verifySettlementRequest(key, 'POST', path, body, headers, now)).toBe(true)
    expect(verifySettlementRequest(key, 'POST', path, body, new Headers({ ...headers }), now)).toBe(
      true,
    )
    const upper = {
      'X-Flashbox-Timestamp': headers['x-flashbox-timestamp'],
      'X-Flashbox-Signature': headers['x-flashbox-signature'].toUpperCase(),
    }
    expect(verifySettlementRequest(key, 'POST', path, body, upper, now)).toBe(true)
  })

  it('refuses a wrong key', () => {
    const headers = signSettlementRequest(randomBytes(32), 'POST', path, body, now)
    expect(verifySettlementRequest(key, 'POST', path, body, headers, now)).toBe(false)
    expect(verifySettlementRequest(new Uint8Array(0), 'POST', path, body, headers, now)).toBe(false)
  })

  it('refuses an altered body, path or method', () => {
    const headers = signSettlementRequest(key, 'POST', path, body, now)
    expect(verifySettlementRequest(key, 'POST', path, body + ' ', headers, now)).toBe(false)
    expect(
      verifySettlementRequest(key, 'POST', path.replace('pay', 'status'), body, headers, now),
    ).toBe(false)
    expect(verifySettlementRequest(key, 'PUT', path, body, headers, now)).toBe(false)
    const tampered = { ...headers, 'x-flashbox-timestamp': String(now + 1) }
    expect(verifySettlementRequest(key, 'POST', path, body, tampered, now)).toBe(false)
  })

  it('accepts a timestamp within ±120 s and refuses a stale or future one', () => {
    const headers = signSettlementRequest(key, 'POST', path, body, now)
    expect(
      verifySettlementRequest(key, 'POST', path, body, headers, now + MAX_CLOCK_SKEW_SEC),
    ).toBe(true)
    expect(
      verifySettlementRequest(key, 'POST', path, body, headers, now - MAX_CLOCK_SKEW_SEC),
    ).toBe(true)
    expect(
      verifySettlementRequest(key, 'POST', path, body, headers, now + MAX_CLOCK_SKEW_SEC + 1),
    ).toBe(false)
    expect(
      verifySettlementRequest(key, 'POST', path, body, headers, now - MAX_CLOCK_SKEW_SEC - 1),
    ).toBe(false)
  })

  it('refuses missing or malformed headers', () => {
    const headers = signSettlementRequest(key, 'POST', path, body, now)
    expect(verifySettlementRequest(key, 'POST', path, body, {}, now)).toBe(false)
    expect(
      verifySettlementRequest(
        key,
        'POST',
        path,
        body,
        { 'x-flashbox-signature': headers['x-flashbox-signature'] },
        now,
      ),
    ).toBe(false)
    expect(
      verifySettlementRequest(
        key,
        'POST',
        path,
        body,
        { 'x-flashbox-timestamp': headers['x-flashbox-timestamp'] },
        now,
      ),
    ).toBe(false)
    const short = { ...headers, 'x-flashbox-signature': headers['x-flashbox-signature'].slice(2) }
    expect(verifySettlementRequest(key, 'POST', path, body, short, now)).toBe(false)
    const notHex = { ...headers, 'x-flashbox-signature': 'zz'.repeat(32) }
    expect(verifySettlementRequest(key, 'POST', path, body, notHex, now)).toBe(false)
    const badTs = { ...headers, 'x-flashbox-timestamp': `${now}.5` }
    expect(verifySettlementRequest(key, 'POST', path, body, badTs, now)).toBe(false)
    const twice = { ...headers, 'x-flashbox-signature': [headers['x-flashbox-signature']] }
    expect(verifySettlementRequest(key, 'POST', path, body, twice, now)).toBe(false)
  })
})
