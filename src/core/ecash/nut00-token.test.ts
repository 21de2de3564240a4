// NUT-00 tokens: the spec's V4 (cashuB) vectors decode to the spec's proofs, what the wallet
// encodes decodes back identically, and the API edge accepts tokens and rejects junk.
import { describe, expect, it } from 'vitest'
import {
  Amount,
  getDecodedToken,
  getEncodedToken,
  getTokenMetadata,
  type Token,
} from '@cashu/cashu-ts'
import {
  Bolt11Schema,
  CashuTokenSchema,
  MintUrlSchema,
  P2PKPubkeySchema,
} from '../../shared/api/ecash'
import vectors from './nut00-token.vectors.json'

const asToken = (t: (typeof vectors.v4)[number]['token']): Token => ({
  ...t,
  proofs: t.proofs.map((p) => ({ ...p, amount: Amount.from(p.amount) })),
})
const plain = (t: Token) =>
  JSON.parse(
    JSON.stringify({
      ...t,
      proofs: t.proofs.map((p) => ({ ...p, amount: Amount.from(p.amount).toNumber() })),
    }),
  )

describe('NUT-00 V4 tokens', () => {
  it.each(vectors.v4)('decodes the spec vector: $name', (v) => {
    const decoded = getDecodedToken(v.encoded, v.keysetIds)
    expect(plain(decoded)).toEqual(plain(asToken(v.token)))
    const meta = getTokenMetadata(v.encoded)
    expect(meta.mint).toBe(v.token.mint)
    expect(meta.amount.toNumber()).toBe(v.token.proofs.reduce((s, p) => s + p.amount, 0))
  })

  // CBOR map order is not significant (cashu-ts writes "m" first), so compare by meaning.
  it.each(vectors.v4)('encodes as cashuB base64url and decodes back identically: $name', (v) => {
    const encoded = getEncodedToken(asToken(v.token))
    expect(encoded).toMatch(/^cashuB[A-Za-z0-9_-]+$/)
    expect(encoded.replace(/=+$/, '').length).toBe(v.encoded.replace(/=+$/, '').length)
    expect(plain(getDecodedToken(encoded, v.keysetIds))).toEqual(plain(asToken(v.token)))
  })

  it('the edge schema accepts cashuB tokens, cashu: URIs and line-wrapped pastes', () => {
    const v = vectors.v4[0]!.encoded
    expect(CashuTokenSchema.parse(v)).toBe(v)
    expect(CashuTokenSchema.parse(`cashu:${v}`)).toBe(v)
    expect(CashuTokenSchema.parse(`  ${v.slice(0, 40)}\n${v.slice(40)}  `)).toBe(v)
  })

  it.each(['', 'hello', 'cashuC' + 'a'.repeat(40), 'cashuB', 'cashuB' + '!'.repeat(40)])(
    'the edge schema rejects %j',
    (bad) => {
      expect(CashuTokenSchema.safeParse(bad).success).toBe(false)
    },
  )
})

describe('edge validation of the other ecash inputs', () => {
  it('mint URLs: http(s) only, no credentials, trailing slash dropped', () => {
    expect(MintUrlSchema.parse('https://mint.example.com/')).toBe('https://mint.example.com')
    expect(MintUrlSchema.safeParse('ftp://mint.example.com').success).toBe(false)
    expect(MintUrlSchema.safeParse('https://user:pw@mint.example.com').success).toBe(false)
    expect(MintUrlSchema.safeParse('not a url').success).toBe(false)
  })

  it('invoices: bolt11 with or without lightning:, any case', () => {
    const inv =
      'lnbcrt10u1pjq9j5wpp5x0r0z7l0kq2k7kzcz4z6s0vz0xq3mh2n9m2x7r5v6f0x3q7k3k0qdqqcqzzsxqyz5vqsp5x0r0z7l0kq2k7kzcz4z6s0vz0xq3mh2n9m2x7r5v6f0x3q7k3k0q9qyyssq'
    expect(Bolt11Schema.parse(`lightning:${inv.toUpperCase()}`)).toBe(inv)
    expect(Bolt11Schema.safeParse('lnxyz123').success).toBe(false)
    expect(Bolt11Schema.safeParse('bitcoin:bc1qxyz').success).toBe(false)
  })

  it('P2PK keys: compressed or x-only hex', () => {
    expect(P2PKPubkeySchema.safeParse('02' + 'ab'.repeat(32)).success).toBe(true)
    expect(P2PKPubkeySchema.safeParse('ab'.repeat(32)).success).toBe(true)
    expect(P2PKPubkeySchema.safeParse('04' + 'ab'.repeat(32)).success).toBe(false)
    expect(P2PKPubkeySchema.safeParse('npub1xyz').success).toBe(false)
  })
})
