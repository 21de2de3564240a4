// NIP-57 Appendix D checks on zap requests, the receipt's shape, and LUD-06/12 callback checks.
import { createHash } from 'node:crypto'
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure'
import { describe, expect, it } from 'vitest'
import { LnurlError, metadataOf, parseCallback, payRequest } from './lud06-lnurl-pay'
import { validateZapRequest, zapReceipt } from './nip57-zaps'

const sender = generateSecretKey()
const recipient = getPublicKey(generateSecretKey())
const zapRequest = (tags: string[][], kind = 9734) =>
  JSON.stringify(
    finalizeEvent({ kind, created_at: Math.floor(Date.now() / 1000), content: 'gm', tags }, sender),
  )
const good = [
  ['p', recipient],
  ['relays', 'wss://relay.example', 'ws://127.0.0.1:7777'],
  ['amount', '21000'],
]

describe('zap requests (NIP-57 Appendix D)', () => {
  it('accepts a well-formed request and returns its recipient and relays', () => {
    const z = validateZapRequest(zapRequest(good), 21000)
    expect(z.recipient).toBe(recipient)
    expect(z.relays).toEqual(['wss://relay.example', 'ws://127.0.0.1:7777'])
  })

  it.each([
    ['a wrong kind', zapRequest(good, 1), /kind 9734/],
    ['no p tag', zapRequest(good.slice(1)), /exactly one recipient/],
    ['two p tags', zapRequest([...good, ['p', recipient]]), /exactly one recipient/],
    [
      'two e tags',
      zapRequest([...good, ['e', 'a'.repeat(64)], ['e', 'b'.repeat(64)]]),
      /at most one event/,
    ],
    ['no relays tag', zapRequest([good[0]!, good[2]!]), /relays/],
    ['another amount', zapRequest([good[0]!, good[1]!, ['amount', '5000']]), /amount tag/],
    ['a bad a tag', zapRequest([...good, ['a', 'not-a-coordinate']]), /coordinate/],
    ['two P tags', zapRequest([...good, ['P', recipient], ['P', recipient]]), /P tag/],
    ['not JSON', '{', /not JSON/],
  ])('refuses %s', (_what, json, why) => {
    expect(() => validateZapRequest(json, 21000)).toThrow(why)
  })

  it('refuses a request whose signature does not verify', () => {
    const ev = JSON.parse(zapRequest(good)) as { content: string }
    ev.content = 'changed'
    expect(() => validateZapRequest(JSON.stringify(ev), 21000)).toThrow(/signature/)
  })

  it('the receipt carries p, e, P, bolt11 and the request as description, signed by the zapper', () => {
    const zapper = generateSecretKey()
    const json = zapRequest([...good, ['e', 'e'.repeat(64)]])
    const r = zapReceipt(zapper, {
      zapRequestJson: json,
      bolt11: 'lnbcrt1x',
      paidAt: 1_700_000_000,
    })
    expect(verifyEvent(r)).toBe(true)
    expect(r.kind).toBe(9735)
    expect(r.pubkey).toBe(getPublicKey(zapper))
    expect(r.created_at).toBe(1_700_000_000)
    expect(r.tags).toContainEqual(['p', recipient])
    expect(r.tags).toContainEqual(['e', 'e'.repeat(64)])
    expect(r.tags).toContainEqual(['P', getPublicKey(sender)])
    expect(r.tags).toContainEqual(['bolt11', 'lnbcrt1x'])
    expect(r.tags).toContainEqual(['description', json])
  })
})

describe('LUD-06 callback and pay request', () => {
  const limits = { minSendableSat: 10, maxSendableSat: 1000 }
  it('takes an amount in range, a short comment and a zap request', () => {
    const q = new URLSearchParams({ amount: '21000', comment: 'thanks', nostr: '{}' })
    expect(parseCallback(q, limits)).toEqual({ amountMsat: 21000, comment: 'thanks', nostr: '{}' })
  })
  it.each([
    [{}, /missing/],
    [{ amount: '9999' }, /between 10 and 1000 sat/],
    [{ amount: '1000001' }, /between 10 and 1000 sat/],
    [{ amount: '12.5' }, /whole number/],
    [{ amount: '20000', comment: 'x'.repeat(256) }, /longer than 255/],
  ])('refuses %j', (q, why) => {
    let err: unknown
    try {
      parseCallback(new URLSearchParams(q as Record<string, string>), limits)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(LnurlError)
    expect((err as LnurlError).reason).toMatch(why)
    expect((err as LnurlError).httpStatus).toBe(400)
  })
  it('the metadata names the address, and the pay request allows zaps', () => {
    const p = payRequest({
      callback: 'https://box.example/lnurlp/pay/callback',
      address: 'pay@box.example',
      minSendableSat: 1,
      maxSendableSat: 5,
      zapperPubkey: 'f'.repeat(64),
    })
    expect(JSON.parse(p.metadata)).toEqual([
      ['text/plain', 'Payment to pay@box.example'],
      ['text/identifier', 'pay@box.example'],
    ])
    expect(p).toMatchObject({
      tag: 'payRequest',
      minSendable: 1000,
      maxSendable: 5000,
      allowsNostr: true,
      nostrPubkey: 'f'.repeat(64),
      commentAllowed: 255,
    })
    expect(createHash('sha256').update(metadataOf('pay@box.example')).digest('hex')).toHaveLength(
      64,
    )
  })
})
