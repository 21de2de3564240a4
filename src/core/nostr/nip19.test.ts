import { describe, expect, it } from 'vitest'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import * as nip19codec from 'nostr-tools/nip19'
import { decodePubkey, decodeReference, naddr, nevent, npub, nprofile } from './nip19'

const pk = getPublicKey(generateSecretKey())
const id = 'a'.repeat(64)

describe('NIP-19 round trips', () => {
  it('npub', () => {
    const r = decodeReference(npub(pk))
    expect(r).toMatchObject({ type: 'npub', pubkey: pk })
    // NIP-19 spec example.
    expect(npub('7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e')).toBe(
      'npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg',
    )
  })
  it('nprofile with relays, and nostr: URIs', () => {
    const code = nprofile(pk, ['wss://r.example.com'])
    expect(decodeReference(`nostr:${code}`)).toMatchObject({
      type: 'nprofile',
      pubkey: pk,
      relays: ['wss://r.example.com'],
    })
    expect(decodePubkey(code)).toEqual({ pubkey: pk, relays: ['wss://r.example.com'] })
  })
  it('nevent and naddr', () => {
    expect(
      decodeReference(nevent(id, { author: pk, kind: 14, relays: ['wss://a'] })),
    ).toMatchObject({
      type: 'nevent',
      eventId: id,
      pubkey: pk,
      kind: 14,
    })
    expect(decodeReference(naddr({ identifier: 'shop', pubkey: pk, kind: 30017 }))).toMatchObject({
      type: 'naddr',
      identifier: 'shop',
      pubkey: pk,
      kind: 30017,
    })
  })
  it('hex keys; refuses secrets, garbage and non-people as recipients', () => {
    expect(decodeReference(pk.toUpperCase())).toMatchObject({ type: 'hex', pubkey: pk })
    expect(() => decodeReference(nip19codec.nsecEncode(generateSecretKey()))).toThrow(/secret key/)
    expect(() => decodeReference('npub1notreally')).toThrow(/not a Nostr address/)
    expect(() => decodePubkey(nevent(id, {}))).toThrow(/not to a person/)
  })
})
