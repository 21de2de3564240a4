// AES-128 as NTAG 424 DNA uses it (NT4H2421Gx §9.1): ECB for single blocks, CBC without padding
// for secure messaging, and AES-CMAC (NIST SP 800-38B, RFC 4493) as the MAC and the key-derivation
// PRF (session keys, SUN session keys, Boltcard deterministic keys).
//
// AES itself is Node's (OpenSSL); CMAC is @noble/ciphers' (Node exposes none). Both are checked
// against RFC 4493's examples and NXP AN12196's tables (aes-cmac.test.ts, ntag424-*.test.ts).
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { cmac } from '@noble/ciphers/aes.js'

export type Bytes = Uint8Array

const BLOCK = 16
const ZERO_IV = new Uint8Array(BLOCK)

function checkKey(key: Bytes): void {
  if (key.length !== 16) throw new RangeError('AES-128 key must be 16 bytes')
}

function run(
  mode: 'aes-128-ecb' | 'aes-128-cbc',
  encrypt: boolean,
  key: Bytes,
  iv: Bytes | null,
  data: Bytes,
): Bytes {
  checkKey(key)
  if (data.length % BLOCK !== 0) throw new RangeError('AES data must be whole 16-byte blocks')
  const c = encrypt ? createCipheriv(mode, key, iv) : createDecipheriv(mode, key, iv)
  c.setAutoPadding(false)
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]))
}

/** AES-128-ECB encryption of whole blocks (no padding). */
export const aesEcbEncrypt = (key: Bytes, data: Bytes): Bytes =>
  run('aes-128-ecb', true, key, null, data)

/** AES-128-CBC encryption of whole blocks (no padding); the IV defaults to zeros. */
export const aesCbcEncrypt = (key: Bytes, data: Bytes, iv: Bytes = ZERO_IV): Bytes =>
  run('aes-128-cbc', true, key, iv, data)

/** AES-128-CBC decryption of whole blocks (no padding); the IV defaults to zeros. */
export const aesCbcDecrypt = (key: Bytes, data: Bytes, iv: Bytes = ZERO_IV): Bytes =>
  run('aes-128-cbc', false, key, iv, data)

/** AES-CMAC (RFC 4493): the full 16-byte tag. */
export function aesCmac(key: Bytes, message: Bytes): Bytes {
  checkKey(key)
  return cmac(key, message)
}

/** NTAG 424's 8-byte MACt: the odd-indexed bytes (1, 3, … 15) of the CMAC (NT4H2421Gx §9.1.3). */
export function truncateMac(mac: Bytes): Bytes {
  const out = new Uint8Array(8)
  for (let i = 0; i < 8; i++) out[i] = mac[2 * i + 1]!
  return out
}

/** Padding method 2 (ISO/IEC 9797-1): 0x80 then zeros to a whole block, always adding one byte. */
export function padM2(data: Bytes): Bytes {
  const out = new Uint8Array((Math.floor(data.length / BLOCK) + 1) * BLOCK)
  out.set(data)
  out[data.length] = 0x80
  return out
}

/** Removes padding method 2; undefined when the padding is malformed. */
export function unpadM2(data: Bytes): Bytes | undefined {
  let i = data.length - 1
  while (i >= 0 && data[i] === 0) i--
  if (i < 0 || data[i] !== 0x80 || data.length - i > BLOCK) return undefined
  return data.subarray(0, i)
}

export function concat(...parts: readonly Bytes[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Constant-time comparison of two byte strings of equal length. */
export function equalBytes(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false
  let d = 0
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!
  return d === 0
}

export const hex = (b: Bytes): string => Buffer.from(b).toString('hex')
export const fromHex = (s: string): Bytes => {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new RangeError('not hex')
  return new Uint8Array(Buffer.from(s, 'hex'))
}
