// A k-of-n P2WSH cold-storage vault, wsh(sortedmulti(k, …)) (BIP383 sortedmulti, BIP67 key order),
// from cosigners of two kinds:
// - an extended key at a BIP48 path ([fp/48h/coin'/account'/2h]xpub), ranged over /<0;1>/*;
// - a fixed key ([fp]02…): what an HSM gives, since PKCS#11 has no BIP32. Its key origin is its
//   own key fingerprint (HASH160(pubkey)[0:4], as BIP32 fingerprints a key).
// A fixed key appears unchanged in every address of the vault. Addresses still differ, because at
// least one cosigner must be an extended key (checked below); but once coins are spent, the
// fixed key in each witness script links those spends to one another on chain. Per-address tweaks
// of the HSM key are not done: signing for P + t·G needs d + t, and a token that keeps d inside
// cannot add t to it (ECDSA by d cannot be turned into ECDSA by d + t without the nonce).
import { HDKey } from '@scure/bip32'
import { ripemd160 } from '@noble/hashes/legacy.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { payments, networks, type Network } from 'bitcoinjs-lib'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { FlashError } from '../../errors'
import type { Cosigner, VaultNetwork } from '../../../shared/api/hardware'
import { withChecksum } from './bip380-checksum'

export interface Vault {
  name: string
  threshold: number
  cosigners: Cosigner[]
  network: VaultNetwork
}

export const HARDENED = 0x80000000

export function bitcoinNetwork(network: VaultNetwork): Network {
  return network === 'mainnet'
    ? networks.bitcoin
    : network === 'regtest'
      ? networks.regtest
      : networks.testnet
}

/** BIP32 version bytes for the network's xpub/tpub. */
export function xpubVersions(network: VaultNetwork): { public: number; private: number } {
  return network === 'mainnet'
    ? { public: 0x0488b21e, private: 0x0488ade4 }
    : { public: 0x043587cf, private: 0x04358394 }
}

/** A key's BIP32 fingerprint: the first 4 bytes of HASH160(compressed public key), hex. */
export function keyFingerprint(publicKey: Uint8Array): string {
  return bytesToHex(ripemd160(sha256(publicKey)).subarray(0, 4))
}

/** "m/48h/1h/0h/2h" → BIP32 indexes; accepts h and ' for hardened. */
export function parsePath(path: string): number[] {
  const parts = path.split('/')
  if (parts[0] !== 'm') throw new Error(`a derivation path starts with m: ${path}`)
  return parts.slice(1).map((p) => {
    const m = /^(\d+)(['h]?)$/.exec(p)
    if (!m) throw new Error(`bad derivation step ${p} in ${path}`)
    const n = Number(m[1])
    if (n >= HARDENED) throw new Error(`derivation step too large in ${path}`)
    return m[2] ? n + HARDENED : n
  })
}

function originPath(path: string): string {
  return parsePath(path)
    .map((i) => (i >= HARDENED ? `/${i - HARDENED}h` : `/${i}`))
    .join('')
}

function extendedKey(c: Extract<Cosigner, { kind: 'xpub' }>, network: VaultNetwork): HDKey {
  try {
    return HDKey.fromExtendedKey(c.xpub, xpubVersions(network))
  } catch (err) {
    throw new FlashError(
      'vault.bad_xpub',
      `The extended public key of “${c.name}” is not a valid ${network === 'mainnet' ? 'xpub' : 'tpub'}.`,
      'Copy it again from the device or wallet that made it; it must be for the same network as the box.',
      { cause: err },
    )
  }
}

// The /0 and /1 nodes of each extended key, kept: decoding an xpub and one derivation step cost
// milliseconds in pure JS, and a vault derives the same two nodes for every address it touches.
const chainNodes = new Map<string, HDKey>()
function chainNode(c: Extract<Cosigner, { kind: 'xpub' }>, network: VaultNetwork, chain: 0 | 1) {
  const id = `${network}/${c.xpub}/${chain}`
  let node = chainNodes.get(id)
  if (!node) {
    node = extendedKey(c, network).deriveChild(chain)
    if (chainNodes.size >= 256) chainNodes.clear()
    chainNodes.set(id, node)
  }
  return node
}

/** Checks a vault's shape; throws a FlashError naming the problem. */
const checkedVaults = new WeakSet<Vault>()

export function checkVault(vault: Vault): void {
  // Checked once per vault object: every address derivation calls this (vaults are not mutated).
  if (checkedVaults.has(vault)) return
  const n = vault.cosigners.length
  if (n < 2 || n > 15 || vault.threshold < 1 || vault.threshold > n)
    throw new FlashError(
      'vault.bad_threshold',
      `A vault needs 2 to 15 keys and a threshold between 1 and the number of keys (got ${vault.threshold} of ${n}).`,
      'Choose how many keys must sign, then add that many keys or more.',
    )
  if (!vault.cosigners.some((c) => c.kind === 'xpub'))
    throw new FlashError(
      'vault.no_extended_key',
      'At least one key of the vault must be an extended public key (xpub), or every address would be the same.',
      'Add a hardware wallet or a backup key; the HSM key alone cannot make new addresses.',
    )
  const seen = new Set<string>()
  for (const c of vault.cosigners) {
    const id = c.kind === 'xpub' ? extendedKey(c, vault.network).publicExtendedKey : c.publicKey
    if (c.kind === 'fixed') {
      try {
        secp256k1.Point.fromHex(c.publicKey)
      } catch (err) {
        throw new FlashError(
          'vault.bad_key',
          `The key of “${c.name}” is not a valid public key.`,
          'Read the key from the HSM again in Settings → HSM.',
          { cause: err },
        )
      }
      if (c.publicKey.length !== 66 || keyFingerprint(hexToBytes(c.publicKey)) !== c.fingerprint)
        throw new FlashError(
          'vault.bad_key',
          `The key of “${c.name}” must be a compressed key whose fingerprint is its own.`,
          'Read the key from the HSM again in Settings → HSM.',
        )
    }
    if (seen.has(id))
      throw new FlashError(
        'vault.duplicate_key',
        `“${c.name}” is the same key as another cosigner.`,
        'Each key of the vault must come from a different device or backup.',
      )
    seen.add(id)
  }
  checkedVaults.add(vault)
}

function keyExpression(c: Cosigner, suffix: string): string {
  if (c.kind === 'fixed') return `[${c.fingerprint}]${c.publicKey}`
  return `[${c.fingerprint}${originPath(c.path)}]${c.xpub}${suffix}`
}

/**
 * The vault's output descriptor with its checksum: `chain` 0 (receive), 1 (change), or
 * 'multipath' for BIP389's `<0;1>` (one line for both, as Bitcoin Core 29+ and Sparrow read it).
 */
export function vaultDescriptor(vault: Vault, chain: 0 | 1 | 'multipath'): string {
  checkVault(vault)
  const suffix = chain === 'multipath' ? '/<0;1>/*' : `/${chain}/*`
  const keys = vault.cosigners.map((c) => keyExpression(c, suffix)).join(',')
  return withChecksum(`wsh(sortedmulti(${vault.threshold},${keys}))`)
}

export interface KeyAtIndex {
  publicKey: Uint8Array
  fingerprint: Uint8Array
  /** The full path from the cosigner's master key (m for a fixed key). */
  path: string
}

export interface VaultAddress {
  address: string
  chain: 0 | 1
  index: number
  /** The output script, P2WSH. */
  script: Uint8Array
  witnessScript: Uint8Array
  /** One per cosigner, in the vault's order (not the sorted script order). */
  keys: KeyAtIndex[]
}

/** Address `index` on `chain` (0 receive, 1 change). */
export function vaultAddress(vault: Vault, chain: 0 | 1, index: number): VaultAddress {
  checkVault(vault)
  if (!Number.isInteger(index) || index < 0 || index >= HARDENED)
    throw new Error(`address index out of range: ${index}`)
  const keys: KeyAtIndex[] = vault.cosigners.map((c) => {
    if (c.kind === 'fixed')
      return {
        publicKey: hexToBytes(c.publicKey),
        fingerprint: hexToBytes(c.fingerprint),
        path: 'm',
      }
    const child = chainNode(c, vault.network, chain).deriveChild(index)
    return {
      publicKey: child.publicKey!,
      fingerprint: hexToBytes(c.fingerprint),
      // BIP174 paths as bip174 encodes them: ' for hardened (it would read 48h as 48).
      path: `${c.path.replace(/h/g, "'")}/${chain}/${index}`,
    }
  })
  const sorted = keys.map((k) => k.publicKey).sort((a, b) => compareBytes(a, b))
  const network = bitcoinNetwork(vault.network)
  const redeem = payments.p2ms({ m: vault.threshold, pubkeys: sorted, network })
  const p2wsh = payments.p2wsh({ redeem, network })
  return {
    address: p2wsh.address!,
    chain,
    index,
    script: p2wsh.output!,
    witnessScript: redeem.output!,
    keys,
  }
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}
