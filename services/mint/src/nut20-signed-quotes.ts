// NUT-20 signed mint quotes: a quote created with a pubkey is only minted with a BIP-340
// signature by that key. Two messages are accepted:
//   amended (checked first, what cashu-ts ≥ 4 sends): SHA-256 over the domain tag
//     "Cashu_MintQuoteSig_v1", then u32be-length-prefixed quote id, and for each output its
//     length-prefixed big-endian minimal amount bytes and length-prefixed B_ bytes;
//   legacy (the text of 20.md): SHA-256(quote ‖ B_0 ‖ … ‖ B_n) over the UTF-8 strings.
// BIP-340 verification on libsecp256k1 (WebAssembly, tiny-secp256k1).
// https://github.com/cashubtc/nuts/blob/main/20.md
import * as ecc from 'tiny-secp256k1'
import { sha256 } from '@noble/hashes/sha2.js'
import { hexToBytes } from '@noble/hashes/utils.js'
import type { BlindedMessage } from './nut00-models'

const DOMAIN = new TextEncoder().encode('Cashu_MintQuoteSig_v1')

function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n, false)
  return b
}

function amountBytes(amount: number): Uint8Array {
  if (amount === 0) return new Uint8Array()
  let hex = BigInt(amount).toString(16)
  if (hex.length % 2) hex = '0' + hex
  return hexToBytes(hex)
}

export function amendedMessageDigest(
  quote: string,
  outputs: readonly Pick<BlindedMessage, 'amount' | 'B_'>[],
): Uint8Array {
  const h = sha256.create()
  h.update(DOMAIN)
  const q = new TextEncoder().encode(quote)
  h.update(u32be(q.length))
  h.update(q)
  for (const o of outputs) {
    const a = amountBytes(o.amount)
    h.update(u32be(a.length))
    h.update(a)
    const b = hexToBytes(o.B_)
    h.update(u32be(b.length))
    h.update(b)
  }
  return h.digest()
}

export function legacyMessage(
  quote: string,
  outputs: readonly Pick<BlindedMessage, 'B_'>[],
): Uint8Array {
  let msg = quote
  for (const o of outputs) msg += o.B_
  return new TextEncoder().encode(msg)
}

export function isValidQuotePubkey(pubkey: string): boolean {
  return /^0[23][0-9a-fA-F]{64}$/.test(pubkey)
}

/** Verify a mint request signature: amended message first, the legacy message as fallback. */
export function verifyMintQuoteSignature(
  pubkey: string,
  quote: string,
  outputs: readonly Pick<BlindedMessage, 'amount' | 'B_'>[],
  signature: string,
): boolean {
  if (!isValidQuotePubkey(pubkey) || !/^[0-9a-fA-F]{128}$/.test(signature)) return false
  const xonly = hexToBytes(pubkey.slice(2))
  const sig = hexToBytes(signature)
  try {
    if (!ecc.isXOnlyPoint(xonly)) return false
    if (ecc.verifySchnorr(amendedMessageDigest(quote, outputs), xonly, sig)) return true
    return ecc.verifySchnorr(sha256(legacyMessage(quote, outputs)), xonly, sig)
  } catch {
    return false
  }
}
