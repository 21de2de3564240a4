import { describe, expect, it } from 'vitest'
import { getToken } from 'nostr-tools/nip98'
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure'
import { checkHttpAuth } from './nip98'
import type { NostrEvent } from './nip01'

const sk = generateSecretKey()
const url = 'http://127.0.0.1:7777/'
const body = { method: 'listbannedpubkeys', params: [] }
const raw = Buffer.from(JSON.stringify(body))
const sign = (e: Parameters<typeof finalizeEvent>[0]) => finalizeEvent(e, sk)
const check = (
  header: string | undefined,
  over: Partial<Parameters<typeof checkHttpAuth>[0]> = {},
) =>
  checkHttpAuth({
    header,
    method: 'POST',
    body: raw,
    isThisUrl: (u) => u === url,
    verify: (e: NostrEvent) => verifyEvent({ ...e }),
    now: Math.floor(Date.now() / 1000),
    ...over,
  })

describe('NIP-98 for NIP-86', () => {
  it('accepts a token made by nostr-tools and names its signer', async () => {
    const header = await getToken(url, 'POST', sign, true, body)
    expect(check(header)).toEqual({ ok: true, pubkey: getPublicKey(sk) })
  })

  it('refuses a wrong URL, method, payload, an old token or no token', async () => {
    const header = await getToken(url, 'POST', sign, true, body)
    expect(check(header, { isThisUrl: () => false })).toMatchObject({ ok: false })
    expect(check(header, { method: 'GET' })).toMatchObject({ ok: false })
    expect(check(header, { body: Buffer.from('{}') })).toMatchObject({ ok: false })
    expect(check(header, { now: Math.floor(Date.now() / 1000) + 600 })).toMatchObject({ ok: false })
    expect(check(undefined)).toMatchObject({ ok: false })
    expect(check('Nostr !!!')).toMatchObject({ ok: false })
    const noPayload = await getToken(url, 'POST', sign, true)
    expect(check(noPayload)).toMatchObject({ ok: false, why: expect.stringMatching(/payload/) })
  })
})
