// SIMULATOR support — test-only. BOLT 11 payment requests, encoded and signed for real
// (https://github.com/lightning/bolts/blob/master/11-payment-encoding.md): bech32 without the
// 90-char limit, a 35-bit timestamp, tagged fields, and a recoverable secp256k1 signature over
// SHA256(hrp || data) from which the payee's node key is recovered.
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bech32 } from '@scure/base'

export type Bolt11Network = 'mainnet' | 'testnet4' | 'signet' | 'regtest'

const PREFIX: Record<Bolt11Network, string> = {
  mainnet: 'bc',
  testnet4: 'tb',
  signet: 'tbs',
  regtest: 'bcrt',
}

const TAG = { p: 1, h: 23, s: 16, d: 13, x: 6, c: 24, n: 19, f: 9, r: 3, '9': 5 } as const

export interface Bolt11Invoice {
  readonly network: Bolt11Network
  readonly amountMsat?: bigint
  readonly timestamp: number
  readonly paymentHash: string
  readonly paymentSecret: string
  readonly description?: string
  readonly descriptionHash?: string
  readonly expirySeconds: number
  readonly minFinalCltvExpiry: number
  /** Node public key (33-byte compressed, hex), recovered from the signature when decoding. */
  readonly payee: string
  readonly featureBits: readonly number[]
}

function numberToWords(n: number, minLen = 1): number[] {
  const words: number[] = []
  let v = n
  while (v > 0) {
    words.unshift(v & 31)
    v = Math.floor(v / 32)
  }
  while (words.length < minLen) words.unshift(0)
  return words
}

function wordsToNumber(words: readonly number[]): number {
  return words.reduce((acc, w) => acc * 32 + w, 0)
}

/** 5-bit → 8-bit with zero padding at the end (BOLT 11 signature preimage). */
function wordsToBytesPadded(words: readonly number[]): Uint8Array {
  const out: number[] = []
  let acc = 0
  let bits = 0
  for (const w of words) {
    acc = (acc << 5) | w
    bits += 5
    while (bits >= 8) {
      bits -= 8
      out.push((acc >> bits) & 0xff)
    }
  }
  if (bits > 0) out.push((acc << (8 - bits)) & 0xff)
  return Uint8Array.from(out)
}

function encodeAmount(msat: bigint): string {
  if (msat % 100_000_000_000n === 0n) return (msat / 100_000_000_000n).toString()
  if (msat % 100_000_000n === 0n) return `${msat / 100_000_000n}m`
  if (msat % 100_000n === 0n) return `${msat / 100_000n}u`
  if (msat % 100n === 0n) return `${msat / 100n}n`
  return `${msat * 10n}p`
}

function decodeAmount(s: string): bigint {
  const m = /^(\d+)([munp]?)$/.exec(s)
  if (!m) throw new Error('invalid amount')
  const n = BigInt(m[1]!)
  switch (m[2]) {
    case 'm':
      return n * 100_000_000n
    case 'u':
      return n * 100_000n
    case 'n':
      return n * 100n
    case 'p':
      if (n % 10n !== 0n) throw new Error('sub-millisatoshi amount')
      return n / 10n
    default:
      return n * 100_000_000_000n
  }
}

function featureWords(bits: readonly number[]): number[] {
  const max = Math.max(0, ...bits)
  const len = Math.ceil((max + 1) / 5)
  const words = new Array<number>(len).fill(0)
  for (const b of bits) words[len - 1 - Math.floor(b / 5)]! |= 1 << (b % 5)
  return words
}

export function encodeBolt11(
  inv: Omit<Bolt11Invoice, 'payee'> & { readonly nodeSecretKey: Uint8Array },
): string {
  const hrp = `ln${PREFIX[inv.network]}${inv.amountMsat ? encodeAmount(inv.amountMsat) : ''}`
  const tagged = (tag: number, words: number[]) => [
    tag,
    ...numberToWords(words.length, 2),
    ...words,
  ]
  const data: number[] = [
    ...numberToWords(inv.timestamp, 7),
    ...tagged(TAG.p, bech32.toWords(Buffer.from(inv.paymentHash, 'hex'))),
    ...tagged(TAG.s, bech32.toWords(Buffer.from(inv.paymentSecret, 'hex'))),
    ...(inv.descriptionHash
      ? tagged(TAG.h, bech32.toWords(Buffer.from(inv.descriptionHash, 'hex')))
      : tagged(TAG.d, bech32.toWords(Buffer.from(inv.description ?? '', 'utf8')))),
    ...tagged(TAG.x, numberToWords(inv.expirySeconds)),
    ...tagged(TAG.c, numberToWords(inv.minFinalCltvExpiry)),
    ...tagged(TAG['9'], featureWords(inv.featureBits)),
  ]
  const hash = sha256(new Uint8Array([...Buffer.from(hrp, 'utf8'), ...wordsToBytesPadded(data)]))
  const rec = secp256k1.sign(hash, inv.nodeSecretKey, { prehash: false, format: 'recovered' })
  // noble: [recovery, r, s]; BOLT 11: r || s || recovery
  const sig = new Uint8Array([...rec.subarray(1), rec[0]!])
  return bech32.encode(hrp, [...data, ...bech32.toWords(sig)], false)
}

export function decodeBolt11(request: string): Bolt11Invoice {
  const { prefix, words } = bech32.decode(request.toLowerCase() as `${string}1${string}`, false)
  const m = /^ln(bcrt|bc|tbs|tb)(\d+[munp]?)?$/.exec(prefix)
  if (!m) throw new Error('unknown BOLT 11 prefix')
  const network = (Object.entries(PREFIX).find(([, p]) => p === m[1])?.[0] ??
    'mainnet') as Bolt11Network
  if (words.length < 7 + 104) throw new Error('too short')
  const data = words.slice(0, words.length - 104)
  const sigWords = words.slice(words.length - 104)
  const sigBytes = bech32.fromWords(sigWords)
  const hash = sha256(new Uint8Array([...Buffer.from(prefix, 'utf8'), ...wordsToBytesPadded(data)]))
  const recovered = new Uint8Array([sigBytes[64]!, ...sigBytes.subarray(0, 64)])
  const payee = Buffer.from(
    secp256k1.recoverPublicKey(recovered, hash, { prehash: false }),
  ).toString('hex')
  const timestamp = wordsToNumber(data.slice(0, 7))
  let pos = 7
  const fields: Partial<Record<number, number[]>> = {}
  while (pos < data.length) {
    const tag = data[pos]!
    const len = wordsToNumber(data.slice(pos + 1, pos + 3))
    fields[tag] ??= data.slice(pos + 3, pos + 3 + len)
    pos += 3 + len
  }
  const bytes = (tag: number) => {
    const w = fields[tag]
    return w ? Buffer.from(bech32.fromWordsUnsafe(w) ?? []) : undefined
  }
  const paymentHash = bytes(TAG.p)
  if (!paymentHash || paymentHash.length !== 32) throw new Error('missing payment hash')
  const featureWordsArr = fields[TAG['9']] ?? []
  const featureBits: number[] = []
  featureWordsArr.forEach((w, i) => {
    for (let b = 0; b < 5; b++)
      if (w & (1 << b)) featureBits.push((featureWordsArr.length - 1 - i) * 5 + b)
  })
  return {
    network,
    ...(m[2] ? { amountMsat: decodeAmount(m[2]) } : {}),
    timestamp,
    paymentHash: paymentHash.toString('hex'),
    paymentSecret: bytes(TAG.s)?.toString('hex') ?? '',
    ...(fields[TAG.d] ? { description: bytes(TAG.d)!.toString('utf8') } : {}),
    ...(fields[TAG.h] ? { descriptionHash: bytes(TAG.h)!.toString('hex') } : {}),
    expirySeconds: wordsToNumber(fields[TAG.x] ?? numberToWords(3600)),
    minFinalCltvExpiry: wordsToNumber(fields[TAG.c] ?? numberToWords(18)),
    payee,
    featureBits: featureBits.sort((a, b) => a - b),
  }
}
