// NUT-01 mint keys: one private key per power-of-two amount, derived from the box's mint seed.
// Derivation (our choice; NUT-01 leaves it to the mint): BIP32 from the 64-byte seed at
//   m/129372'/0'/{unit index}'/{keyset index}'/{amount order}'
// so a rotation (next keyset index) gives fresh keys while every old keyset can be re-derived
// from the same seed and stays redeemable. https://github.com/cashubtc/nuts/blob/main/01.md
import { HDKey } from '@scure/bip32'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { sha256 } from '@noble/hashes/sha2.js'

export interface KeysetKeys {
  /** amount → private key (32 bytes) */
  readonly privateKeys: ReadonlyMap<number, Uint8Array>
  /** amount → compressed public key hex */
  readonly publicKeys: Readonly<Record<string, string>>
}

/** A stable small index per unit, from its name (no registry of units needed). */
export function unitIndex(unit: string): number {
  const h = sha256(new TextEncoder().encode(unit))
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) & 0x7fffffff
}

export function deriveKeysetKeys(
  seed: Uint8Array,
  unit: string,
  index: number,
  maxOrder: number,
): KeysetKeys {
  const root = HDKey.fromMasterSeed(seed)
  const base = root.derive(`m/129372'/0'/${unitIndex(unit)}'/${index}'`)
  const privateKeys = new Map<number, Uint8Array>()
  const publicKeys: Record<string, string> = {}
  for (let order = 0; order < maxOrder; order++) {
    const child = base.deriveChild(order + 0x80000000)
    const k = child.privateKey
    if (!k) throw new Error('key derivation failed')
    const amount = 2 ** order
    privateKeys.set(amount, k)
    publicKeys[String(amount)] = bytesToHex(secp256k1.getPublicKey(k, true))
  }
  return { privateKeys, publicKeys }
}
