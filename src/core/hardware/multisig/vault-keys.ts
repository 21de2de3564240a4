// A vault as the wallet's sync sees it: an account whose addresses are the vault's
// wsh(sortedmulti(k, …)) scripts on the receive (/0/*) and change (/1/*) branches, so the box
// follows the vault through the same Electrum sync as its own wallet (subscriptions, gap limit,
// Merkle-checked confirmations; src/core/wallet/wallet-sync.ts).
import { createHash } from 'node:crypto'
import { bytesToHex } from '@noble/hashes/utils.js'
import { electrumScriptHash, type DerivedAddress } from '../../wallet/account'
import type { AddressDeriver } from '../../wallet/wallet-sync'
import type { WalletAccount, WalletChain } from '../../wallet/types'
import { vaultAddress, vaultDescriptor, type Vault } from './vault'

/** A vault the box keeps and follows on chain. */
export interface SavedVault extends Vault {
  /** "vault-" and the first 16 hex of SHA-256 of its multipath descriptor: one id per vault. */
  readonly id: string
  readonly createdAt: string
}

export function vaultId(vault: Vault): string {
  const d = vaultDescriptor(vault, 'multipath')
  return `vault-${createHash('sha256').update(d).digest('hex').slice(0, 16)}`
}

/** Unused addresses watched past the last used one on each branch, as the wallet does. */
export const VAULT_GAP_LIMIT = 20

/**
 * The record the wallet store keeps for a vault. Its descriptors are the vault's; `kind`, `xpub`
 * and `origin` are fields of the single-key record type, filled from the vault's first extended
 * key only so the record is complete — the vault's addresses come from VaultKeys, never from them.
 */
export function vaultAccount(vault: SavedVault): WalletAccount {
  const first = vault.cosigners.find((c) => c.kind === 'xpub')
  if (!first || first.kind !== 'xpub') throw new Error('a vault has at least one extended key')
  return {
    id: vault.id,
    name: vault.name,
    network: vault.network,
    kind: 'wpkh',
    source: 'watch-only',
    receiveDescriptor: vaultDescriptor(vault, 0),
    changeDescriptor: vaultDescriptor(vault, 1),
    xpub: first.xpub,
    origin: { masterFingerprint: first.fingerprint, path: first.path.replace(/h/g, "'") },
    gapLimit: VAULT_GAP_LIMIT,
    createdAt: vault.createdAt,
  }
}

/** Derives the vault's P2WSH addresses for the sync. */
export class VaultKeys implements AddressDeriver {
  private readonly bodies: readonly [string, string]

  constructor(private readonly vault: Vault) {
    this.bodies = [
      vaultDescriptor(vault, 0).split('#')[0]!,
      vaultDescriptor(vault, 1).split('#')[0]!,
    ]
  }

  derive(chain: WalletChain, index: number): DerivedAddress {
    const a = vaultAddress(this.vault, chain, index)
    const first = a.keys[0]!
    return {
      address: a.address,
      scriptPubKey: bytesToHex(a.script),
      scriptHash: electrumScriptHash(a.script),
      derivation: {
        kind: 'wpkh',
        chain,
        index,
        masterFingerprint: bytesToHex(first.fingerprint),
        path: first.path,
        pubkey: bytesToHex(first.publicKey),
        descriptor: this.bodies[chain].replaceAll('/*', `/${index}`),
      },
    }
  }
}
