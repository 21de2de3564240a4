// NUT-23 bolt11: the request/response shapes of the bolt11 payment method, and BOLT-11 invoice
// encoding/decoding (signed with secp256k1, bech32 from @scure/base) used by the fake Lightning
// backend to issue real-format invoices and by the mint to read melt requests.
// https://github.com/cashubtc/nuts/blob/main/23.md · https://github.com/lightning/bolts/blob/master/11-payment-encoding.md
import { bech32 } from '@scure/base'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes, concatBytes } from '@noble/hashes/utils.js'
import { z } from 'zod'
import { BlindedMessageSchema, ProofSchema, UnitSchema } from './nut00-models'

export const MAX_INVOICE_LENGTH = 7089

export const MintQuoteBolt11RequestSchema = z.object({
  amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  unit: UnitSchema,
  description: z.string().max(639).optional().nullable(),
  pubkey: z.string().optional().nullable(),
})

export const MeltQuoteBolt11RequestSchema = z.object({
  request: z.string().min(1).max(MAX_INVOICE_LENGTH),
  unit: UnitSchema,
  options: z
    .object({
      amountless: z
        .object({ amount_msat: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) })
        .optional(),
    })
    .optional()
    .nullable(),
})

export const MeltBolt11RequestSchema = z.object({
  quote: z.string().min(1).max(128),
  inputs: z.array(ProofSchema).min(1).max(10_000),
  outputs: z.array(BlindedMessageSchema).max(10_000).optional().nullable(),
  prefer_async: z.boolean().optional().nullable(),
})

export type Network = 'mainnet' | 'testnet' | 'testnet4' | 'signet' | 'regtest'

const HRP_PREFIX: Record<Network, string> = {
  mainnet: 'lnbc',
  testnet: 'lntb',
  testnet4: 'lntb',
  signet: 'lntbs',
  regtest: 'lnbcrt',
}

export interface Bolt11Invoice {
  network: string
  amountMsat: number | null
  timestamp: number
  paymentHash: string
  paymentSecret: string | null
  description: string | null
  descriptionHash: string | null
  expirySeconds: number
  minFinalCltvExpiry: number
  payeePubkey: string
}

// --- encoding helpers -------------------------------------------------------------------------

function intToWords(value: number, length?: number): number[] {
  const words: number[] = []
  let v = value
  while (v > 0) {
    words.unshift(v & 31)
    v = Math.floor(v / 32)
  }
  if (length !== undefined) while (words.length < length) words.unshift(0)
  if (words.length === 0) words.push(0)
  return words
}

function wordsToInt(words: readonly number[]): number {
  let v = 0
  for (const w of words) v = v * 32 + w
  return v
}

function tagged(tag: string, words: number[]): number[] {
  const tagCode = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'.indexOf(tag)
  return [tagCode, ...intToWords(words.length, 2), ...words]
}

function wordsToBytesPadded(words: readonly number[]): Uint8Array {
  // BOLT-11 signs the data part as bytes, zero-padded to a byte boundary.
  const bits = words.length * 5
  const out = new Uint8Array(Math.ceil(bits / 8))
  let acc = 0
  let accBits = 0
  let i = 0
  for (const w of words) {
    acc = (acc << 5) | w
    accBits += 5
    while (accBits >= 8) {
      accBits -= 8
      out[i++] = (acc >> accBits) & 0xff
    }
    acc &= (1 << accBits) - 1
  }
  if (accBits > 0) out[i] = (acc << (8 - accBits)) & 0xff
  return out
}

function amountToHrp(msat: number): string {
  // 1 msat = 10 pico-BTC.
  let value = BigInt(msat) * 10n
  const units = ['p', 'n', 'u', 'm']
  let unit = 0
  while (unit < units.length - 1 && value % 1000n === 0n) {
    value /= 1000n
    unit++
  }
  return `${value}${units[unit]}`
}

function hrpToMsat(amount: string): number {
  const m = /^(\d+)([munp]?)$/.exec(amount)
  if (!m) throw new Error('bad amount')
  const n = BigInt(m[1]!)
  // value in pico-BTC
  const factor: Record<string, bigint> = {
    '': 1_000_000_000_000n,
    m: 1_000_000_000n,
    u: 1_000_000n,
    n: 1_000n,
    p: 1n,
  }
  const pico = n * factor[m[2] ?? '']!
  if (pico % 10n !== 0n) throw new Error('sub-millisatoshi amount')
  const msat = pico / 10n
  if (msat > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('amount too large')
  return Number(msat)
}

export interface EncodeInvoice {
  network: Network
  amountMsat: number | null
  paymentHash: string
  paymentSecret: string
  description: string
  expirySeconds: number
  timestamp?: number
  minFinalCltvExpiry?: number
  /** Node private key (32 bytes) that signs the invoice. */
  nodeKey: Uint8Array
}

export function encodeBolt11(inv: EncodeInvoice): string {
  const hrp = HRP_PREFIX[inv.network] + (inv.amountMsat ? amountToHrp(inv.amountMsat) : '')
  const timestamp = inv.timestamp ?? Math.floor(Date.now() / 1000)
  const words: number[] = [...intToWords(timestamp, 7)]
  words.push(...tagged('p', bech32.toWords(hexToBytes(inv.paymentHash))))
  words.push(...tagged('s', bech32.toWords(hexToBytes(inv.paymentSecret))))
  words.push(...tagged('d', bech32.toWords(new TextEncoder().encode(inv.description))))
  words.push(...tagged('x', intToWords(inv.expirySeconds)))
  words.push(...tagged('c', intToWords(inv.minFinalCltvExpiry ?? 18)))
  // Feature bits: var_onion_optin (8, required) and payment_secret (14, required).
  words.push(...tagged('9', intToWords((1 << 8) | (1 << 14))))
  const digest = sha256(concatBytes(new TextEncoder().encode(hrp), wordsToBytesPadded(words)))
  const sig = secp256k1.sign(digest, inv.nodeKey, { prehash: false, format: 'recovered' })
  const sigBytes = concatBytes(sig.subarray(1), sig.subarray(0, 1))
  words.push(...bech32.toWords(sigBytes))
  return bech32.encode(hrp, words, false)
}

export function decodeBolt11(invoice: string): Bolt11Invoice {
  if (invoice.length > MAX_INVOICE_LENGTH) throw new Error('invoice too long')
  const text = invoice.toLowerCase().replace(/^lightning:/, '')
  const { prefix, words } = bech32.decode(text as `${string}1${string}`, false)
  const m = /^ln(bcrt|bc|tbs|tb|sb)(\d+[munp]?)?$/.exec(prefix)
  if (!m) throw new Error('not a bolt11 invoice')
  const amountMsat = m[2] ? hrpToMsat(m[2]) : null
  if (words.length < 7 + 104) throw new Error('invoice too short')
  const data = words.slice(0, -104)
  const sigBytes = bech32.fromWords(words.slice(-104))
  const timestamp = wordsToInt(data.slice(0, 7))
  let paymentHash: string | null = null
  let paymentSecret: string | null = null
  let description: string | null = null
  let descriptionHash: string | null = null
  let expirySeconds = 3600
  let minFinalCltvExpiry = 18
  let payee: string | null = null
  let i = 7
  while (i < data.length) {
    const tag = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'[data[i]!]
    const len = wordsToInt(data.slice(i + 1, i + 3))
    const field = data.slice(i + 3, i + 3 + len)
    if (field.length !== len) throw new Error('truncated field')
    i += 3 + len
    const bytes = () => bech32.fromWordsUnsafe(field) ?? new Uint8Array()
    switch (tag) {
      case 'p':
        if (len === 52) paymentHash = bytesToHex(bytes().subarray(0, 32))
        break
      case 's':
        if (len === 52) paymentSecret = bytesToHex(bytes().subarray(0, 32))
        break
      case 'd':
        description = new TextDecoder().decode(bytes())
        break
      case 'h':
        if (len === 52) descriptionHash = bytesToHex(bytes().subarray(0, 32))
        break
      case 'x':
        expirySeconds = wordsToInt(field)
        break
      case 'c':
        minFinalCltvExpiry = wordsToInt(field)
        break
      case 'n':
        if (len === 53) payee = bytesToHex(bytes().subarray(0, 33))
        break
      default:
        break
    }
  }
  if (!paymentHash) throw new Error('invoice has no payment hash')
  const digest = sha256(concatBytes(new TextEncoder().encode(prefix), wordsToBytesPadded(data)))
  const recovered = concatBytes(sigBytes.subarray(64, 65), sigBytes.subarray(0, 64))
  if (payee) {
    const ok = secp256k1.verify(sigBytes.subarray(0, 64), digest, hexToBytes(payee), {
      prehash: false,
      lowS: false,
    })
    if (!ok) throw new Error('invoice signature does not match its payee')
  } else {
    payee = bytesToHex(secp256k1.recoverPublicKey(recovered, digest, { prehash: false }))
  }
  return {
    network: m[1]!,
    amountMsat,
    timestamp,
    paymentHash,
    paymentSecret,
    description,
    descriptionHash,
    expirySeconds,
    minFinalCltvExpiry,
    payeePubkey: payee,
  }
}
